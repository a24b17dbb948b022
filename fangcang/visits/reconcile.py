"""Reconciliation: compare visits with the registry and queue the discrepancies.

Runs on every new visit (``record_visit``) and on demand (``reconcile``). Work is done in
batches of visits with set queries (houses, people registered there, candidates for the
people seen, other registrations of the same ID numbers), so reconciling a hundred thousand
visits costs a few hundred queries, not a few per visit.

Re-running is safe: a finding whose fingerprint (type, house, person) already has an open
discrepancy, or was already decided for the same visit, is not queued again.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from .. import db
from ..access import Scope
from ..models import (
    Discrepancy,
    DiscrepancyStatus,
    DiscrepancyType,
    House,
    MatchMethod,
    Person,
    Visit,
    VisitResident,
)
from ..timeutil import now_local
from .checks import CHECKS, Check, Finding, HouseContext, SeenResident, run_checks
from .matching import (
    SCAN_PAIRS,
    Observed,
    RegistryLookup,
    normalize_id,
    normalize_name,
    people_by_birth_initial,
    people_where,
)

BATCH = 2000
_METHOD_VALUE = {m: m.value for m in MatchMethod}  # stored text of each method


@dataclass
class ReconcileResult:
    visits: int = 0
    created: int = 0
    by_type: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def fingerprint(house_id: str, f: Finding) -> str:
    """Identity of a finding across reconciliations. A duplicate registration concerns two
    houses, so it is keyed by the pair of records alone (visits to either house agree)."""
    if f.person_key.startswith("pair:"):
        return f"{f.type}|{f.person_key}"
    return f"{f.type}|{house_id}|{f.person_key}"


def latest_visit_ids(session: Session, scope: Scope) -> list[int]:
    """The newest visit of each visited house in ``scope``."""
    newest = (
        select(Visit.house_id, func.max(Visit.visited_at).label("at"))
        .where(scope.clause(Visit.community_id))
        .group_by(Visit.house_id)
        .subquery()
    )
    rows = session.execute(
        select(func.max(Visit.id))
        .join(newest, (Visit.house_id == newest.c.house_id) & (Visit.visited_at == newest.c.at))
        .group_by(Visit.house_id)
    )
    return sorted(r[0] for r in rows)


def reconcile(
    session: Session,
    scope: Scope,
    *,
    visit_ids: Sequence[int] | None = None,
    checks: list[Check] | None = None,
    now: datetime | None = None,
    progress: Callable[[float, str], None] | None = None,
    pause: Callable[[Session], None] | None = None,
) -> ReconcileResult:
    """Reconcile visits with the registry and queue new discrepancies (caller commits).

    Parameters
    ----------
    session : Session
    scope : Scope
        Only visits to houses inside the scope are reconciled.
    visit_ids : sequence of int, optional
        The visits to reconcile; default: the newest visit of every visited house in scope.
    checks : list of Check, optional
        Default ``checks.CHECKS``.
    now : datetime, optional
        Creation time of new discrepancies (default: now, local).
    progress : callable, optional
        ``progress(fraction, "reconcile")`` after each batch.
    pause : callable, optional
        ``pause(session)`` after each batch of ``BATCH`` visits, which then bumps the data
        version itself: a caller that reconciles many visits while others write commits
        there (``fangcang.demo.builder.let_writers_in``), so that each batch is one short
        transaction (on SQLite it holds the write lock only for its writes, which come after
        its reads and matching). A batch is all or nothing: its visits' ``reconciled_at``
        is set with its matches and discrepancies, so a caller resuming after an
        interruption passes the visits without it. Without ``pause`` everything is in the
        caller's transaction.

    Returns
    -------
    ReconcileResult
        Visits reconciled, discrepancies created (by type) and the time taken.
    """
    t0 = time.perf_counter()
    now = now or now_local()
    if visit_ids is None:
        visit_ids = latest_visit_ids(session, scope)
    visit_ids = sorted(set(int(v) for v in visit_ids))
    result = ReconcileResult()
    pre = _one_pass(session, visit_ids) if len(visit_ids) > BATCH else _OnePass()
    for i in range(0, len(visit_ids), BATCH):
        chunk = visit_ids[i : i + BATCH]
        before = result.visits
        _reconcile_batch(
            session, scope, chunk, checks or CHECKS, now, result, pre, fresh=pause is not None
        )
        if pause is not None:
            if result.visits > before:
                db.bump_data_version(session)
            pause(session)
        if progress:
            progress(min(1.0, (i + len(chunk)) / len(visit_ids)), "reconcile")
    if result.visits and pause is None:
        db.bump_data_version(session)
    result.seconds = time.perf_counter() - t0
    return result


@dataclass
class _OnePass:
    """Registry records loaded once for all batches of a large reconciliation (None: each
    batch queries its own)."""

    births: dict[tuple, list] | None = None
    doubled: set[str] | None = None


def _one_pass(session: Session, visit_ids: list[int]) -> _OnePass:
    """What the batches of ``visit_ids`` would each search for, searched once.

    - Birth-date candidates for the people seen without an ID number
      (``matching.people_by_birth_initial``), when there are enough of them for one pass
      over the people table to pay; those seen with an ID number that turns out to be
      unknown are left to their batch.
    - The ID numbers held by more than one record (one grouping of the people table's ID
      number index), of which each batch looks up the numbers registered at its houses
      (was a grouped search of those numbers per batch).

    The ID numbers seen are not searched here: nearly all are settled by the records
    registered at the visited house (``RegistryLookup.load``), and finding which ones are
    not costs the database more than the few per batch that remain.
    """
    if session.autoflush:
        session.flush()  # as Session.execute would (rows are read on the Core connection)
    conn = session.connection()
    pairs = set()
    q = select(VisitResident.name, VisitResident.id_number, VisitResident.birth_date).where(
        VisitResident.visit_id.in_(bindparam("ids", expanding=True)),
        VisitResident.birth_date.is_not(None),
    )
    for i in range(0, len(visit_ids), 500):
        for name, id_number, birth in conn.execute(q, {"ids": visit_ids[i : i + 500]}):
            initial = normalize_name(name)[:1] if name else ""
            if normalize_id(id_number) is None and initial:
                pairs.add((birth, initial))
    births = people_by_birth_initial(session, pairs) if len(pairs) >= SCAN_PAIRS else None
    doubled = set(
        conn.scalars(
            select(Person.id_number)
            .where(Person.id_number.is_not(None))
            .group_by(Person.id_number)
            .having(func.count() > 1)
        )
    )
    return _OnePass(births, doubled)


def _reconcile_batch(
    session: Session,
    scope: Scope,
    visit_ids: list[int],
    checks: list[Check],
    now: datetime,
    result: ReconcileResult,
    pre: _OnePass,
    fresh: bool = False,
) -> None:
    """Reconcile one batch: reads and matching first, then the writes (``fresh``: in a
    transaction of their own, see below)."""
    # Plain rows on the Core connection, not ORM objects nor ORM-wrapped rows: a batch is
    # thousands of visits and the ORM's per-row bookkeeping would dominate the time. Pending
    # changes first, as Session.execute would.
    if session.autoflush:
        session.flush()
    conn = session.connection()
    # In id order: the discrepancies are queued (and numbered) in the order of their visits,
    # on PostgreSQL as on SQLite, however the rows lie in the table.
    visits = conn.execute(
        select(Visit.id, Visit.house_id, Visit.observed_use, Visit.observed_count)
        .where(Visit.id.in_(visit_ids), scope.clause(Visit.community_id))
        .order_by(Visit.id)
    ).all()
    if not visits:
        return
    ids = [v.id for v in visits]
    residents: dict[int, list] = {}
    for r in conn.execute(
        select(
            VisitResident.id,
            VisitResident.visit_id,
            VisitResident.name,
            VisitResident.id_number,
            VisitResident.phone,
            VisitResident.birth_date,
        )
        .where(VisitResident.visit_id.in_(ids))
        .order_by(VisitResident.id)
    ):
        residents.setdefault(r.visit_id, []).append(r)
    house_ids = {v.house_id for v in visits}
    houses = {
        h.house_id: h
        for h in conn.execute(
            select(House.house_id, House.community_id, House.use, House.registered_residents).where(
                House.house_id.in_(sorted(house_ids))
            )
        )
    }
    registered: dict[str, list] = {}
    for c in people_where(session, Person.house_id, house_ids):
        registered.setdefault(c.house_id, []).append(c)

    observed_of = {}
    seen_at = []  # the visited house of each observed person, in observed_of's order
    for v in visits:
        for r in residents.get(v.id, ()):
            observed_of[r.id] = Observed(r.name, r.id_number, r.phone, r.birth_date)
            seen_at.append(v.house_id)
    lookup = RegistryLookup.load(
        session,
        list(observed_of.values()),
        houses=seen_at,
        registered=registered,
        births=pre.births,
    )
    matched_ids = set()
    matches = {}
    match_rows = []
    for v in visits:
        for r in residents.get(v.id, ()):
            m = lookup.match(observed_of[r.id], prefer_house=v.house_id)
            matches[r.id] = m
            if m.found:
                matched_ids.add(m.person_id)
            match_rows.append((m.person_id, _METHOD_VALUE[m.method], m.confidence, r.id))
    # The matched records themselves (to know where they are registered); most are
    # registered at the visited houses and already loaded.
    people = {c.person_id: c for lst in registered.values() for c in lst}
    missing = matched_ids - people.keys()
    people.update({c.person_id: c for c in people_where(session, Person.person_id, missing)})
    # Other registrations of the ID numbers registered at the visited houses: first find the
    # few ID numbers held by more than one record, then load just those records.
    reg_ids = {c.id_number for lst in registered.values() for c in lst if c.id_number}
    id_values = sorted(reg_ids | {i[:-1] + "x" for i in reg_ids if i.endswith("X")})
    if pre.doubled is not None:
        doubled = {i for i in id_values if i in pre.doubled}
    else:
        doubled = set()
        twice = (
            select(Person.id_number)
            .where(Person.id_number.in_(bindparam("ids", expanding=True)))
            .group_by(Person.id_number)
            .having(func.count() > 1)
        )
        for i in range(0, len(id_values), 500):
            doubled.update(session.scalars(twice, {"ids": id_values[i : i + 500]}))
    elsewhere_all: dict[str, list] = {}
    for c in people_where(session, Person.id_number, doubled):
        if c.house_id:
            elsewhere_all.setdefault(normalize_id(c.id_number), []).append(c)

    findings: list[tuple] = []
    for v in visits:
        house = houses.get(v.house_id)
        if house is None:  # the house left the registry since the visit: nothing to compare
            continue
        regs = tuple(sorted(registered.get(v.house_id, ()), key=lambda c: c.person_id))
        seen = tuple(
            SeenResident(
                r.id, observed_of[r.id], matches[r.id], people.get(matches[r.id].person_id)
            )
            for r in residents.get(v.id, ())
        )
        # Only the few ID numbers held twice have records elsewhere.
        elsewhere = {}
        for c in regs:
            if c.id_number and c.id_number in elsewhere_all:
                there = tuple(o for o in elsewhere_all[c.id_number] if o.house_id != v.house_id)
                if there:
                    elsewhere[c.id_number] = there
        ctx = HouseContext(
            visit_id=v.id,
            house_id=v.house_id,
            community_id=house.community_id,
            registered_use=house.use,
            registered_count=house.registered_residents,
            observed_use=v.observed_use,
            observed_count=v.observed_count,
            registered=regs,
            seen=seen,
            elsewhere=elsewhere,
        )
        for f in run_checks(ctx, checks):
            findings.append((v, f, fingerprint(v.house_id, f)))

    prints = {fp for _, _, fp in findings}
    existing_open: set[str] = set()
    decided_for_visit: set[tuple[str, int]] = set()
    fps = sorted(prints)
    for i in range(0, len(fps), 500):
        for fp, status, vid in conn.execute(
            select(Discrepancy.fingerprint, Discrepancy.status, Discrepancy.visit_id).where(
                Discrepancy.fingerprint.in_(fps[i : i + 500])
            )
        ):
            if status == DiscrepancyStatus.OPEN:
                existing_open.add(fp)
            else:
                decided_for_visit.add((fp, vid))
    rows = []
    queued: set[str] = set()
    for v, f, fp in findings:
        if fp in existing_open or fp in queued or (fp, v.id) in decided_for_visit:
            continue
        queued.add(fp)
        rows.append(
            {
                "type": f.type,
                "status": DiscrepancyStatus.OPEN,
                "community_id": houses[v.house_id].community_id,
                "house_id": v.house_id,
                "visit_id": v.id,
                "person_id": f.person_id,
                "visit_resident_id": f.visit_resident_id,
                "target_table": f.target_table,
                "target_id": f.target_id,
                "field": f.field,
                "old_value": f.old_value,
                "new_value": f.new_value,
                "confidence": f.confidence,
                "detail": json.dumps(f.detail, ensure_ascii=False, sort_keys=True, default=str),
                "fingerprint": fp,
                "created_at": now,
            }
        )
        result.by_type[DiscrepancyType(f.type)] += 1
    # The writes, last: on SQLite a transaction takes the write lock at its first write and
    # holds it to the commit, so everything above (reads and matching) runs without it.
    # ``fresh`` (a caller committing each batch): end the transaction the reads may have
    # opened (a temporary table's rows, ``people_by_birth_initial``) first; on SQLite its
    # first write would otherwise fail at once ("database is locked") whenever another
    # connection committed since its first read, as a sign-in does every few seconds.
    if fresh:
        session.commit()
        conn = session.connection()
    session.flush()
    if match_rows:
        # One executemany of plain tuples on the driver (strings and floats only): SQLAlchemy's
        # per-row parameter processing would cost more than the update itself.
        mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        sql = (
            f"UPDATE visit_residents SET matched_person_id = {mark}, match_method = {mark}, "  # noqa: S608 (placeholders only)
            f"match_confidence = {mark} WHERE id = {mark}"
        )
        conn.exec_driver_sql(sql, match_rows)
    session.execute(update(Visit).where(Visit.id.in_(ids)).values(reconciled_at=now))
    if rows:  # Core executemany: the ORM's bulk insert splits rows by which values are None
        session.execute(insert(Discrepancy.__table__), rows)
    result.visits += len(visits)
    result.created += len(rows)
