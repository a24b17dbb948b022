"""The discrepancy queue: open -> confirmed (the registry correction is applied) or dismissed.

Nothing in the registry changes except through ``confirm``; every change it makes is kept in
``registry_changes`` (old value, new value, who, when) and audited as ``registry.correct``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
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


def _apply(
    session: Session, d: Discrepancy, actor: str, now: datetime, taken_ids: set[str]
) -> list[RegistryChange]:
    """Apply ``d``'s correction to the registry rows ``_lock_targets`` loaded (read from the
    session's identity map, so a correction sees the ones applied before it in the same
    batch). ``taken_ids``: ID numbers in the registry (new persons added here join it)."""
    changes: list[RegistryChange] = []
    if d.target_table == "houses":
        house = session.get(House, d.target_id)
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
        if record.get("id_number") and record["id_number"] in taken_ids:
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
        if person.id_number:
            taken_ids.add(person.id_number)
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
        person = session.get(Person, d.target_id)
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


@dataclass(frozen=True)
class Decision:
    """One decision on an open discrepancy, for ``decide``.

    ``confirm`` True applies the registry correction, False dismisses (``reason`` required).
    ``stale_reason``: when a confirmation finds the registry changed since the discrepancy was
    found (``StaleDiscrepancy``), dismiss it with this reason instead; ``None`` leaves it open
    and lists it in ``Decided.stale``. ``now``: the decision time (default: now, local).
    """

    discrepancy_id: int
    confirm: bool
    reason: str = ""
    now: datetime | None = None
    stale_reason: str | None = None


@dataclass
class Decided:
    """What ``decide`` did: ids confirmed and dismissed (in order), the registry changes of
    each confirmed id, and the confirmations left open because they were stale (id and why)."""

    confirmed: list[int] = field(default_factory=list)
    dismissed: list[int] = field(default_factory=list)
    changes: dict[int, list[RegistryChange]] = field(default_factory=dict)
    stale: list[tuple[int, str]] = field(default_factory=list)


_IN_CHUNK = 500  # values per IN (...) list


def _load_open(session: Session, scope: Scope, ids: list[int]) -> dict[int, Discrepancy]:
    """The discrepancies ``ids``, locked; raises before anything changes if one is unknown,
    outside ``scope`` or already decided (in the order given)."""
    found: dict[int, Discrepancy] = {}
    for i in range(0, len(ids), _IN_CHUNK):
        for d in session.scalars(
            select(Discrepancy)
            .where(Discrepancy.id.in_(ids[i : i + _IN_CHUNK]))
            .with_for_update()
            .execution_options(populate_existing=True)
        ):
            found[d.id] = d
    for discrepancy_id in ids:
        d = found.get(discrepancy_id)
        if d is None:
            raise ValueError(f"discrepancy {discrepancy_id} does not exist")
        scope.check(d.community_id)
        if d.status != DiscrepancyStatus.OPEN:
            raise ValueError(f"discrepancy {discrepancy_id} is already {d.status.value}")
    return found


def _lock_targets(session: Session, ds: list[Discrepancy]) -> tuple[list, set[str], dict[str, set]]:
    """Load (and lock) the registry rows the confirmations ``ds`` read or change, in a few
    set queries, into the session; return the ID numbers of the new persons that are already
    in the registry and the records to track for the aggregates (``aggregates.track``). The
    loaded rows are returned too: the caller holds them while it applies the corrections."""
    house_ids = {d.target_id for d in ds if d.target_table == "houses" and d.target_id}
    person_ids = {d.target_id for d in ds if d.target_table == "people" and d.field == "house_id"}
    person_ids.discard(None)
    # A person moved to a house: that house's community is read.
    house_ids |= {
        d.new_value
        for d in ds
        if d.target_table == "people" and d.field == "house_id" and d.new_value is not None
    }
    new_ids = set()
    new_people = set()
    for d in ds:
        if d.target_table == "people" and d.field == "new":
            record = json.loads(d.new_value)
            if record.get("id_number"):
                new_ids.add(record["id_number"])
            new_people.add(f"V{d.id:08d}")
    rows: list = []  # held: the identity map keeps only weak references
    for model, key, values in (
        (House, House.house_id, sorted(house_ids)),
        (Person, Person.person_id, sorted(person_ids)),
    ):
        for i in range(0, len(values), _IN_CHUNK):
            rows.extend(
                session.scalars(
                    select(model).where(key.in_(values[i : i + _IN_CHUNK])).with_for_update()
                )
            )
    taken: set[str] = set()
    values = sorted(new_ids)
    for i in range(0, len(values), _IN_CHUNK):
        taken.update(
            session.scalars(
                select(Person.id_number).where(Person.id_number.in_(values[i : i + _IN_CHUNK]))
            )
        )
    changed_houses = {d.target_id for d in ds if d.target_table == "houses" and d.target_id}
    track: dict[str, set] = {}
    if changed_houses:
        track["houses"] = changed_houses
    if person_ids or new_people:
        track["people"] = person_ids | new_people
    return rows, taken, track


def decide(session: Session, scope: Scope, decisions: Sequence[Decision], *, actor: str) -> Decided:
    """Confirm or dismiss many open discrepancies in one go (caller commits).

    The same as calling ``confirm`` and ``dismiss`` for each decision in order (each
    confirmation sees the corrections applied before it; a stale one raises nothing and is
    dismissed with ``stale_reason`` or left open), with the work done in bulk: the
    discrepancies and the registry rows they correct are loaded and locked with a few set
    queries, the audit entries are appended in one step (``audit.log_many``), the aggregates
    follow the corrected records once (``aggregates.track``) and the data version is bumped
    once. What an officer's single decision and the demo's hundreds run is this function.

    Raises
    ------
    ValueError
        No actor, a dismissal without a reason, an id given twice, or an unknown or already
        decided discrepancy: nothing is changed.
    ScopeError
        A discrepancy's community is outside ``scope`` (nothing is changed).
    """
    if not actor:
        raise ValueError("deciding a discrepancy needs the deciding user")
    ids = [int(x.discrepancy_id) for x in decisions]
    if len(set(ids)) != len(ids):
        raise ValueError("each discrepancy can be decided once per batch")
    for x in decisions:
        if not x.confirm and not (x.reason or "").strip():
            raise ValueError("dismissing a discrepancy needs a reason")
    out = Decided()
    if not decisions:
        return out
    found = _load_open(session, scope, ids)
    to_confirm = [found[int(x.discrepancy_id)] for x in decisions if x.confirm]
    _held, taken, tracked = _lock_targets(session, to_confirm)
    entries: list[dict] = []
    with aggregates.track(session, tracked) if tracked else nullcontext():
        for x in decisions:
            d = found[int(x.discrepancy_id)]
            now = x.now or now_local()
            reason = x.reason
            if x.confirm:
                try:
                    changes = _apply(session, d, actor, now, taken)
                except StaleDiscrepancy as exc:
                    if x.stale_reason is None:
                        out.stale.append((d.id, str(exc)))
                        continue
                    reason = x.stale_reason
                else:
                    d.status = DiscrepancyStatus.CONFIRMED
                    d.decided_by = actor
                    d.decided_at = now
                    d.reason = reason or None
                    out.confirmed.append(d.id)
                    out.changes[d.id] = changes
                    entries.append(
                        {
                            "action": "registry.correct",
                            "target": f"{d.target_table}:{d.target_id}",
                            "detail": {
                                "discrepancy": d.id,
                                "type": d.type.value,
                                "changes": [
                                    {"field": c.field, "old": c.old_value, "new": c.new_value}
                                    for c in changes
                                ],
                            },
                        }
                    )
                    continue
            d.status = DiscrepancyStatus.DISMISSED
            d.decided_by = actor
            d.decided_at = now
            d.reason = reason.strip()
            out.dismissed.append(d.id)
            entries.append(
                {
                    "action": "discrepancy.dismiss",
                    "target": f"discrepancy:{d.id}",
                    "detail": {"type": d.type.value, "house": d.house_id, "reason": d.reason},
                }
            )
        session.flush()
    audit.log_many(session, actor=actor, entries=entries)
    if entries:
        db.bump_data_version(session)
    return out


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
    ``registry.correct`` in the same transaction, the aggregates of the corrected record
    follow it and the data version is bumped (``decide`` with one decision).

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
    done = decide(
        session,
        scope,
        [Decision(int(discrepancy_id), True, reason=reason, now=now)],
        actor=actor,
    )
    if done.stale:
        raise StaleDiscrepancy(done.stale[0][1])
    return done.changes[int(discrepancy_id)]


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
    decide(
        session,
        scope,
        [Decision(int(discrepancy_id), False, reason=reason, now=now)],
        actor=actor,
    )
    return session.get(Discrepancy, int(discrepancy_id))


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
