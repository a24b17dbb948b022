"""Every core model round-trips on the migrated schema, on every backend."""

from datetime import date, datetime

from sqlalchemy import select

from fangcang import db
from fangcang.models import (
    Event,
    EventKind,
    EventStatus,
    HouseUse,
    Incident,
    IncidentCategory,
    KeyPersonType,
    ObjectKind,
    ObjectRecord,
    Person,
    PlaceKind,
    PlaceSubtype,
    ResidenceType,
)


def test_migrations_match_models(engine):
    """The schema the migrations build is the schema the models describe."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from fangcang.models import Base

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert db.current_revision(engine) == db.head_revision()


def test_upgrade_is_idempotent_and_keeps_data(engine, session, factory):
    c = factory.community(name="沿江社区")
    session.commit()
    db.upgrade(engine)
    assert session.scalar(select(db.Meta).where(db.Meta.key == "x")) is None
    session.expire_all()
    assert session.get(type(c), c.community_id).name == "沿江社区"


def test_core_records_round_trip(session, factory):
    c = factory.community()
    h = factory.house(
        c,
        use=HouseUse.GROUP_RENTAL,
        registered_residents=7,
        last_checked=date(2026, 10, 1),
        check_interval_days=30,
    )
    p = factory.person(
        c,
        house_id=h.house_id,
        residence_type=ResidenceType.FLOATING,
        key_person_type=KeyPersonType.DRUGS,
        id_number="330302199001011234",
        birth_date=date(1990, 1, 1),
        last_visit=date(2026, 9, 1),
        visit_interval_days=90,
    )
    pl = factory.place(c, kind=PlaceKind.REGULATED_TRADE, subtype=PlaceSubtype.PAWNSHOP)
    session.add(
        ObjectRecord(
            object_id="OB1",
            kind=ObjectKind.EBIKE,
            community_id=c.community_id,
            recorded_at=datetime(2026, 1, 1),
            updated_at=datetime(2026, 1, 1),
        )
    )
    session.add(
        Event(
            event_id="E1",
            kind=EventKind.DISPUTE,
            status=EventStatus.OPEN,
            occurred_at=datetime(2026, 2, 1, 8),
            community_id=c.community_id,
            updated_at=datetime(2026, 2, 1),
        )
    )
    factory.incident(
        c,
        datetime(2026, 3, 1, 23, 59),
        IncidentCategory.CRIMINAL,
        "theft",
        loss_yuan=1200.5,
        alcohol_related=True,
    )
    session.commit()
    session.expunge_all()

    person = session.get(Person, p.person_id)
    assert person.residence_type is ResidenceType.FLOATING
    assert person.key_person_type is KeyPersonType.DRUGS
    assert person.birth_date == date(1990, 1, 1)
    assert session.get(type(h), h.house_id).use is HouseUse.GROUP_RENTAL
    assert session.get(type(pl), pl.place_id).subtype is PlaceSubtype.PAWNSHOP
    inc = session.scalars(select(Incident)).one()
    assert inc.category is IncidentCategory.CRIMINAL
    assert inc.occurred_at == datetime(2026, 3, 1, 23, 59)
    assert inc.loss_yuan == 1200.5 and inc.alcohol_related is True
    assert session.get(Event, "E1").status is EventStatus.OPEN
    assert session.get(ObjectRecord, "OB1").kind is ObjectKind.EBIKE


def test_data_version_bumps(session):
    assert db.data_version(session) == 0
    assert db.bump_data_version(session) == 1
    assert db.bump_data_version(session) == 2
    session.commit()
    assert db.data_version(session) == 2
