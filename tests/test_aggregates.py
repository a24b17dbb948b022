"""Pre-aggregated tables (fangcang.aggregates): local-time days/months, factor rules, and
equality with a direct count of the records."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select, text

from fangcang import aggregates
from fangcang.importer import import_bundle
from fangcang.importer.example import write_example_bundle
from fangcang.models import (
    AggFactor,
    AggIncidentDay,
    AggIncidentHour,
    AggPopulation,
    AggRecords,
    Community,
    HouseUse,
    IncidentCategory,
    KeyPersonType,
    PlaceKind,
    PlaceSubtype,
    ResidenceType,
)


def _rows(session, model, *cols):
    rows = session.execute(select(*[getattr(model, c) for c in cols]))
    return sorted((tuple(r) for r in rows), key=lambda r: tuple(str(v) for v in r))


def test_month_boundaries_are_local_calendar_days_and_months(session, factory):
    c = factory.community()
    factory.incident(c, datetime(2025, 1, 31, 23, 59), IncidentCategory.CRIMINAL)
    factory.incident(c, datetime(2025, 2, 1, 0, 0), IncidentCategory.CRIMINAL)
    factory.incident(c, datetime(2025, 2, 28, 23, 59, 59), IncidentCategory.CRIMINAL)
    aggregates.rebuild(session)
    days = _rows(session, AggIncidentDay, "day", "n")
    assert days == [(date(2025, 1, 31), 1), (date(2025, 2, 1), 1), (date(2025, 2, 28), 1)]
    hours = _rows(session, AggIncidentHour, "month", "dow", "hour", "n")
    # 2025-01-31 is a Friday (dow 4), 2025-02-01 a Saturday (5), 2025-02-28 a Friday (4)
    assert hours == [
        (date(2025, 1, 1), 4, 23, 1),
        (date(2025, 2, 1), 4, 23, 1),
        (date(2025, 2, 1), 5, 0, 1),
    ]


def test_incident_day_sums_alcohol_and_loss(session, factory):
    c = factory.community()
    day = datetime(2026, 3, 5, 10, 0)
    factory.incident(c, day, subtype="theft", loss_yuan=100.0, alcohol_related=True)
    factory.incident(c, day.replace(hour=22), subtype="theft", loss_yuan=50.5)
    factory.incident(c, day, subtype="assault")
    aggregates.rebuild(session)
    got = _rows(session, AggIncidentDay, "subtype", "n", "n_alcohol", "loss_yuan")
    assert got == [("assault", 1, 0, 0.0), ("theft", 2, 1, 150.5)]


def test_factor_rules(session, factory):
    c = factory.community()
    factory.person(
        c, key_person_type=KeyPersonType.DRUGS, last_visit=date(2026, 9, 1), visit_interval_days=30
    )
    factory.person(c, key_person_type=KeyPersonType.MENTAL)  # never visited, no interval
    factory.person(c)  # not a key person
    factory.house(c, use=HouseUse.RENTAL, last_checked=date(2026, 8, 1), check_interval_days=90)
    factory.house(c, use=HouseUse.GROUP_RENTAL)
    factory.house(c, use=HouseUse.SELF_OCCUPIED)
    factory.place(
        c,
        kind=PlaceKind.VENUE,
        subtype=PlaceSubtype.KTV,
        last_inspected=date(2026, 10, 1),
        inspection_interval_days=30,
    )
    factory.place(c, kind=PlaceKind.REGULATED_TRADE, subtype=PlaceSubtype.PAWNSHOP)
    # dangerous goods takes precedence over the kind, even for an enterprise
    factory.place(c, kind=PlaceKind.ENTERPRISE, subtype=PlaceSubtype.DANGEROUS_GOODS)
    factory.place(c, kind=PlaceKind.VENUE, subtype=PlaceSubtype.DANGEROUS_GOODS)
    factory.place(c, kind=PlaceKind.ENTERPRISE, subtype=PlaceSubtype.FACTORY)  # not a factor
    aggregates.rebuild(session)
    got = _rows(session, AggFactor, "kind", "checked_on", "interval_days", "n")
    got = [(k.value, d, i, n) for k, d, i, n in got]
    assert sorted(got, key=str) == sorted(
        [
            ("key_person", date(2026, 9, 1), 30, 1),
            ("key_person", None, 0, 1),
            ("rental_house", date(2026, 8, 1), 90, 1),
            ("group_rental_house", None, 0, 1),
            ("venue", date(2026, 10, 1), 30, 1),
            ("regulated_trade", None, 0, 1),
            ("dangerous_goods", None, 0, 2),
        ],
        key=str,
    )


def test_rebuild_replaces_old_rows(session, factory):
    c = factory.community()
    factory.incident(c, datetime(2026, 1, 1, 1, 0))
    factory.person(c, residence_type=ResidenceType.FLOATING)
    aggregates.rebuild(session)
    session.execute(text("DELETE FROM incidents"))
    session.execute(text("DELETE FROM people"))
    out = aggregates.rebuild(session)
    assert out["agg_incident_day"] == 0 and out["agg_population"] == 0
    assert session.scalars(select(AggRecords)).all() == []


def _random_records(factory, rng):
    comms = [
        factory.community(bbox=(120.6 + i * 0.01, 28.0, 120.61 + i * 0.01, 28.01)) for i in range(3)
    ]
    cats = list(IncidentCategory)
    for _ in range(150):
        c = comms[rng.integers(0, 3)]
        t = datetime(2025, 1, 1) + pd.Timedelta(minutes=int(rng.integers(0, 60 * 24 * 500)))
        factory.incident(
            c,
            t.to_pydatetime() if hasattr(t, "to_pydatetime") else t,
            category=cats[rng.integers(0, len(cats))],
            subtype=["", "theft", "assault"][rng.integers(0, 3)],
            loss_yuan=float(rng.integers(0, 500)),
            alcohol_related=bool(rng.integers(0, 2)),
            source=["110", "反诈"][rng.integers(0, 2)],
        )
    for _ in range(60):
        c = comms[rng.integers(0, 3)]
        factory.person(
            c,
            residence_type=list(ResidenceType)[rng.integers(0, 3)],
            key_person_type=[None, KeyPersonType.DRUGS][rng.integers(0, 2)],
            source=["户籍", "流动"][rng.integers(0, 2)],
        )
    for _ in range(20):
        factory.house(comms[rng.integers(0, 3)], use=list(HouseUse)[rng.integers(0, 5)])


def test_aggregates_equal_a_direct_count(engine, session, factory, tmp_path, monkeypatch):
    monkeypatch.setenv("FANGCANG_REPORTS_DIR", str(tmp_path / "reports"))
    _random_records(factory, np.random.default_rng(7))
    session.commit()
    # ... plus an imported bundle, so the import path's rebuild is what we check
    result = import_bundle(engine, write_example_bundle(tmp_path / "b"))
    assert result.ok, result.report
    session.expire_all()
    inc = pd.read_sql("SELECT * FROM incidents", session.connection())
    inc["occurred_at"] = pd.to_datetime(inc["occurred_at"])
    inc["day"] = inc["occurred_at"].dt.date
    direct = (
        inc.groupby(["community_id", "day", "category", "subtype"])
        .agg(
            n=("incident_id", "size"),
            n_alcohol=("alcohol_related", "sum"),
            loss_yuan=("loss_yuan", "sum"),
        )
        .reset_index()
    )
    agg = pd.DataFrame(
        _rows(
            session,
            AggIncidentDay,
            "community_id",
            "day",
            "category",
            "subtype",
            "n",
            "n_alcohol",
            "loss_yuan",
        ),
        columns=["community_id", "day", "category", "subtype", "n", "n_alcohol", "loss_yuan"],
    )
    agg["category"] = agg["category"].map(str)
    direct = direct.sort_values(list(direct.columns[:4])).reset_index(drop=True)
    agg = agg.sort_values(list(agg.columns[:4])).reset_index(drop=True)
    assert len(agg) == len(direct) and agg["n"].sum() == len(inc)
    assert list(map(tuple, agg.iloc[:, :4].astype(str).values)) == list(
        map(tuple, direct.iloc[:, :4].astype(str).values)
    )
    assert list(agg["n"]) == list(direct["n"])
    assert list(agg["n_alcohol"]) == [int(x) for x in direct["n_alcohol"]]
    assert np.allclose(agg["loss_yuan"], direct["loss_yuan"])

    hours = pd.DataFrame(
        _rows(session, AggIncidentHour, "community_id", "month", "dow", "hour", "n"),
        columns=["community_id", "month", "dow", "hour", "n"],
    )
    inc["month"] = inc["occurred_at"].dt.to_period("M").dt.start_time.dt.date
    inc["dow"] = inc["occurred_at"].dt.day_of_week
    inc["hour"] = inc["occurred_at"].dt.hour
    direct_h = inc.groupby(["community_id", "month", "dow", "hour"]).size()
    got_h = hours.groupby(["community_id", "month", "dow", "hour"])["n"].sum()
    assert got_h.to_dict() == direct_h.to_dict()

    people = pd.read_sql("SELECT * FROM people", session.connection())
    direct_p = people.groupby(["community_id", "residence_type"]).size().to_dict()
    got_p = {
        (c, str(r)): n
        for c, r, n in _rows(session, AggPopulation, "community_id", "residence_type", "n")
    }
    assert got_p == direct_p

    recs = {
        (k, s, c): n
        for k, s, c, n in _rows(session, AggRecords, "kind", "source", "community_id", "n")
    }
    for kind, table in aggregates.RECORD_TABLES.items():
        frame = pd.read_sql(f"SELECT source, community_id FROM {table}", session.connection())
        direct_r = frame.groupby(["source", "community_id"]).size().to_dict()
        assert {(s, c): n for (k, s, c), n in recs.items() if k == kind} == direct_r
    key_persons = int(people["key_person_type"].notna().sum())
    got_kp = sum(n for k, n in _rows(session, AggFactor, "kind", "n") if k.value == "key_person")
    assert got_kp == key_persons > 0


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_plan_fills_every_aggregate_table(dialect):
    sql = " ".join(" ".join(q.split()) for _, step in aggregates._plan(dialect) for q in step)
    for model in aggregates.TABLES:
        assert f"INSERT INTO {model.__tablename__} " in sql
    with pytest.raises(ValueError, match="sqlite and postgresql"):
        aggregates._plan("mysql")


def _agg_rows(session) -> dict:
    out = {}
    for model in aggregates.TABLES:
        cols = [c.name for c in model.__table__.columns if c.name != "id"]
        rows = session.execute(select(*[model.__table__.c[c] for c in cols])).all()
        out[model.__tablename__] = sorted(tuple(str(v) for v in r) for r in rows)
    return out


def test_rebuild_of_some_communities_matches_a_full_rebuild(session, factory):
    rng = np.random.default_rng(7)
    _random_records(factory, rng)
    aggregates.rebuild(session)
    communities = sorted(session.scalars(select(Community.community_id)))
    # Change records of one community only, then refresh just that community.
    changed = communities[0]
    session.execute(
        text("UPDATE people SET residence_type = 'overseas' WHERE community_id = :c"),
        {"c": changed},
    )
    session.execute(text("DELETE FROM incidents WHERE community_id = :c"), {"c": changed})
    aggregates.rebuild(session, communities=[changed])
    partial = _agg_rows(session)
    aggregates.rebuild(session)
    assert partial == _agg_rows(session)
    pop = session.execute(
        select(AggPopulation.residence_type).where(AggPopulation.community_id == changed)
    ).scalars()
    assert {p.value for p in pop} == {"overseas"}
    with pytest.raises(ValueError, match="at least one community"):
        aggregates.rebuild(session, communities=[])
