"""The discrepancy queue: open -> confirmed (the registry correction is applied) or dismissed.

Nothing in the registry changes except through ``confirm``; every change it makes is kept in
``registry_changes`` (old value, new value, who, when) and audited as ``registry.correct``.
"""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import aggregates, audit, db
from ..access import Scope
from ..models import (
    Discrepancy,
    DiscrepancyStatus,
    DiscrepancyType,
    Gender,
    House,
    HouseUse,
    Person,
    RegistryChange,
    ResidenceType,
)
from ..privacy import mask_frame
from ..timeutil import now_local

#: Source department written on records created by confirming a visit (云入户).
VISIT_SOURCE = "visits"


class StaleDiscrepancy(ValueError):
    """The registry changed since the discrepancy was found; reconcile again."""


def _get_open(session: Session, scope: Scope, discrepancy_id: int) -> Discrepancy:
    d = session.get(Discrepancy, int(discrepancy_id), with_for_update=True)
    if d is None:
        raise ValueError(f"discrepancy {discrepancy_id} does not exist")
    scope.check(d.community_id)
    if d.status != DiscrepancyStatus.OPEN:
        raise ValueError(f"discrepancy {discrepancy_id} is already {d.status.value}")
    return d


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return str(value)


def _gender_from_id(id_number: str | None) -> Gender:
    if id_number and len(id_number) == 18 and id_number[16].isdigit():
        return Gender.MALE if int(id_number[16]) % 2 else Gender.FEMALE
    return Gender.UNKNOWN


def _set_field(
    session: Session, d: Discrepancy, obj, table: str, record_id: str, name: str, new, now, actor
) -> RegistryChange:
    old = getattr(obj, name)
    setattr(obj, name, new)
    change = RegistryChange(
        at=now,
        actor=actor,
        discrepancy_id=d.id,
        table_name=table,
        record_id=record_id,
        field=name,
        old_value=_text(old),
        new_value=_text(new),
    )
    session.add(change)
    return change


def _apply(session: Session, d: Discrepancy, actor: str, now: datetime) -> list[RegistryChange]:
    changes: list[RegistryChange] = []
    if d.target_table == "houses":
        house = session.get(House, d.target_id, with_for_update=True)
        if house is None:
            raise StaleDiscrepancy(f"house {d.target_id} is no longer in the registry")
        current = _text(getattr(house, d.field))
        if current != d.old_value:
            raise StaleDiscrepancy(
                f"house {d.target_id} {d.field} is now {current!r}, not {d.old_value!r} as when "
                "the discrepancy was found; reconcile again"
            )
        new = HouseUse(d.new_value) if d.field == "use" else int(d.new_value)
        changes.append(
            _set_field(session, d, house, "houses", house.house_id, d.field, new, now, actor)
        )
        house.updated_at = now
    elif d.target_table == "people" and d.field == "new":
        record = json.loads(d.new_value)
        if record.get("id_number") and session.scalar(
            select(Person.person_id).where(Person.id_number == record["id_number"]).limit(1)
        ):
            raise StaleDiscrepancy(
                "a person with this ID number is in the registry now; reconcile again"
            )
        person_id = f"V{d.id:08d}"
        person = Person(
            person_id=person_id,
            name=record["name"],
            id_number=record.get("id_number"),
            phone=record.get("phone"),
            gender=_gender_from_id(record.get("id_number")),
            birth_date=date.fromisoformat(record["birth_date"])
            if record.get("birth_date")
            else None,
            residence_type=ResidenceType(record["residence_type"]),
            community_id=record["community_id"],
            house_id=record["house_id"],
            source=VISIT_SOURCE,
            updated_at=now,
        )
        session.add(person)
        changes.append(
            RegistryChange(
                at=now,
                actor=actor,
                discrepancy_id=d.id,
                table_name="people",
                record_id=person_id,
                field="new",
                old_value=None,
                new_value=d.new_value,
            )
        )
        session.add(changes[-1])
        d.target_id = person_id
    elif d.target_table == "people" and d.field == "house_id":
        person = session.get(Person, d.target_id, with_for_update=True)
        if person is None:
            raise StaleDiscrepancy(f"person {d.target_id} is no longer in the registry")
        if person.house_id != d.old_value:
            raise StaleDiscrepancy(
                f"person {d.target_id} is now registered at {person.house_id!r}, not "
                f"{d.old_value!r} as when the discrepancy was found; reconcile again"
            )
        changes.append(
            _set_field(
                session, d, person, "people", person.person_id, "house_id", d.new_value, now, actor
            )
        )
        if d.new_value is not None:
            house = session.get(House, d.new_value)
            if house is not None and house.community_id != person.community_id:
                changes.append(
                    _set_field(
                        session,
                        d,
                        person,
                        "people",
                        person.person_id,
                        "community_id",
                        house.community_id,
                        now,
                        actor,
                    )
                )
        person.updated_at = now
    else:
        raise ValueError(f"discrepancy {d.id} has an unknown correction {d.target_table}.{d.field}")
    return changes


def confirm(
    session: Session,
    scope: Scope,
    discrepancy_id: int,
    *,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
) -> list[RegistryChange]:
    """Confirm an open discrepancy: apply exactly its registry correction (caller commits).

    The old values are kept in ``registry_changes``; the confirmation is audited as
    ``registry.correct`` in the same transaction and the data version is bumped.

    Raises
    ------
    ValueError
        Unknown or already decided discrepancy; ``StaleDiscrepancy`` when the registry value
        is no longer the one the discrepancy was found against (nothing is changed).
    ScopeError
        The discrepancy's community is outside ``scope``.
    """
    if not actor:
        raise ValueError("confirming needs the confirming user")
    now = now or now_local()
    d = _get_open(session, scope, discrepancy_id)
    changes = _apply(session, d, actor, now)
    d.status = DiscrepancyStatus.CONFIRMED
    d.decided_by = actor
    d.decided_at = now
    d.reason = reason or None
    session.flush()
    audit.log(
        session,
        actor=actor,
        action="registry.correct",
        target=f"{d.target_table}:{d.target_id}",
        detail={
            "discrepancy": d.id,
            "type": d.type.value,
            "changes": [
                {"field": c.field, "old": c.old_value, "new": c.new_value} for c in changes
            ],
        },
    )
    # The dashboards read the aggregates: refresh the communities this correction touched.
    touched = {d.community_id} | {
        v for c in changes if c.field == "community_id" for v in (c.old_value, c.new_value)
    }
    aggregates.rebuild(session, communities=touched, tables=[d.target_table])
    db.bump_data_version(session)
    return changes


def dismiss(
    session: Session,
    scope: Scope,
    discrepancy_id: int,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> Discrepancy:
    """Dismiss an open discrepancy with a reason; the registry is not touched (caller commits)."""
    if not actor:
        raise ValueError("dismissing needs the dismissing user")
    if not (reason or "").strip():
        raise ValueError("dismissing a discrepancy needs a reason")
    d = _get_open(session, scope, discrepancy_id)
    d.status = DiscrepancyStatus.DISMISSED
    d.decided_by = actor
    d.decided_at = now or now_local()
    d.reason = reason.strip()
    session.flush()
    audit.log(
        session,
        actor=actor,
        action="discrepancy.dismiss",
        target=f"discrepancy:{d.id}",
        detail={"type": d.type.value, "house": d.house_id, "reason": d.reason},
    )
    db.bump_data_version(session)
    return d


def discrepancy_queue(
    session: Session,
    scope: Scope,
    *,
    community_id: str | None = None,
    status: DiscrepancyStatus | None = DiscrepancyStatus.OPEN,
    types: list[DiscrepancyType] | None = None,
    limit: int = 500,
) -> pd.DataFrame:
    """Discrepancies in ``scope`` (newest first), personal columns masked.

    Columns: id, type, status, community_id, house_id, address, person_id, name, target_table,
    target_id, field, old_value, new_value, confidence, created_at, decided_by, decided_at, reason, visit_id.
    Names, addresses and ID numbers inside ``new_value`` of new persons are masked.
    """
    q = (
        select(
            Discrepancy.id,
            Discrepancy.type,
            Discrepancy.status,
            Discrepancy.community_id,
            Discrepancy.house_id,
            House.address,
            Discrepancy.person_id,
            Person.name,
            Discrepancy.target_table,
            Discrepancy.target_id,
            Discrepancy.field,
            Discrepancy.old_value,
            Discrepancy.new_value,
            Discrepancy.confidence,
            Discrepancy.created_at,
            Discrepancy.decided_by,
            Discrepancy.decided_at,
            Discrepancy.reason,
            Discrepancy.visit_id,
        )
        .join(House, House.house_id == Discrepancy.house_id, isouter=True)
        .join(Person, Person.person_id == Discrepancy.person_id, isouter=True)
        .where(scope.clause(Discrepancy.community_id))
        .order_by(Discrepancy.created_at.desc(), Discrepancy.id.desc())
        .limit(limit)
    )
    if community_id:
        q = q.where(Discrepancy.community_id == community_id)
    if status is not None:
        q = q.where(Discrepancy.status == DiscrepancyStatus(status))
    if types:
        q = q.where(Discrepancy.type.in_([DiscrepancyType(t) for t in types]))
    df = pd.DataFrame(session.execute(q).all(), columns=[c.name for c in q.selected_columns])
    if df.empty:
        return df
    df["type"] = df["type"].map(lambda v: DiscrepancyType(v).value)
    df["status"] = df["status"].map(lambda v: DiscrepancyStatus(v).value)
    new_people = df["field"] == "new"
    if new_people.any():
        parsed = df.loc[new_people, "new_value"].map(json.loads)
        df.loc[new_people, "name"] = parsed.map(lambda r: r.get("name"))
        df.loc[new_people, "new_value"] = parsed.map(_mask_new_person)
    return mask_frame(df)


def _mask_new_person(record: dict) -> str:
    masked = mask_frame(pd.DataFrame([record]))
    keep = ["name", "id_number", "phone", "birth_date"]
    row = masked.iloc[0]
    return " ".join(str(row[k]) for k in keep if k in row and row[k])


def registry_changes(session: Session, scope: Scope, limit: int = 200) -> pd.DataFrame:
    """Recent registry corrections in ``scope``: what changed, from what, by whom, when."""
    q = (
        select(
            RegistryChange.at,
            RegistryChange.actor,
            RegistryChange.table_name,
            RegistryChange.record_id,
            RegistryChange.field,
            RegistryChange.old_value,
            RegistryChange.new_value,
            Discrepancy.type,
            Discrepancy.community_id,
        )
        .join(Discrepancy, Discrepancy.id == RegistryChange.discrepancy_id)
        .where(scope.clause(Discrepancy.community_id))
        .order_by(RegistryChange.id.desc())
        .limit(limit)
    )
    df = pd.DataFrame(session.execute(q).all(), columns=[c.name for c in q.selected_columns])
    if not df.empty:
        df["type"] = df["type"].map(lambda v: DiscrepancyType(v).value)
        new = df["field"] == "new"
        df.loc[new, "new_value"] = df.loc[new, "new_value"].map(
            lambda s: _mask_new_person(json.loads(s))
        )
    return df
