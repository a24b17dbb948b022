"""The demo district's household visits.

About a quarter of the houses are visited over the last year. What officers see agrees with
the registry, except in about 8% of the visits, which carry one planted difference each, of
every type: a different use, a different head count, a resident registered at another house,
an unregistered floating resident, a registered resident or a key person not seen, and the
same person registered at two houses (a second record from another department). Some people
are identified by ID number, others by name with phone or birth date (a few with a one
character typo in the name, which the fuzzy match still finds). Then everything is
reconciled and older discrepancies are decided (confirmed or dismissed), so the queue holds
open, confirmed and dismissed items.

The dashboard is open meanwhile (the demo fills in after the accounts): everything is written
in short transactions with the demo's progress (meta ``demo_visits``), and a rerun after an
interruption resumes (``demo_extend``).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import (
    String,
    bindparam,
    delete,
    func,
    insert,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session

from .. import aggregates, db
from ..access import Scope
from ..models import (
    Community,
    Discrepancy,
    DiscrepancyStatus,
    DiscrepancyType,
    Gender,
    House,
    HouseUse,
    Person,
    ResidenceType,
    Visit,
    VisitResident,
)
from .matching import Candidate, people_where
from .queue import Decision, decide
from .reconcile import reconcile

log = logging.getLogger(__name__)

VISITED_SHARE = 0.25
PLANTED_SHARE = 0.08
NOBODY_HOME_SHARE = 0.04
#: Planted difference types and their weights.
PLANTED = [
    (DiscrepancyType.USE_DIFFERS, 0.20),
    (DiscrepancyType.COUNT_DIFFERS, 0.12),
    (DiscrepancyType.NOT_REGISTERED_HERE, 0.14),
    (DiscrepancyType.UNREGISTERED, 0.20),
    (DiscrepancyType.NOT_SEEN, 0.14),
    (DiscrepancyType.KEY_PERSON_NOT_SEEN, 0.08),
    (DiscrepancyType.DUPLICATE_REGISTRATION, 0.12),
]
#: At most this many discrepancies are decided (each is an audited transaction step).
MAX_DECISIONS = {"small": 400, "full": 1500}
DUPLICATE_SOURCE = "人社局"
DEMO_ACTOR = "demo"
#: ``visits.source`` of the demo's visits (how a rerun knows that a build made before the
#: progress was kept completed the extension).
DEMO_SOURCE = "demo"
DISMISS_REASONS = [
    "核实为临时探亲，实际居住情况与登记一致",
    "租客短期外出，登记信息无误",
    "走访时信息记录有误",
    "已由户籍部门另行处理",
]
_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程"
)
_GIVEN = list(
    "伟强磊军勇杰涛斌超明辉刚建华平俊峰浩宇晨鹏飞鑫宏亮芳娜敏静丽艳婷雪琳慧燕霞萍红玲颖洁瑶倩"
)
_TYPO = dict(
    zip("伟强磊军勇杰涛明辉华平芳敏静丽婷", "玮墙垒君永洁滔铭晖骅萍方闽婧莉亭", strict=True)
)
_W = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_number(rng: np.random.Generator, birth: date, male: bool) -> str:
    region = ["330302", "330304", "522121", "430524", "412725", "362330"][rng.integers(0, 6)]
    seq = int(rng.integers(0, 500)) * 2 + (1 if male else 0)
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _W, strict=True)) % 11]


def _name(rng: np.random.Generator) -> str:
    n = 1 if rng.random() < 0.2 else 2
    return _SURNAMES[rng.integers(0, len(_SURNAMES))] + "".join(
        _GIVEN[rng.integers(0, len(_GIVEN))] for _ in range(n)
    )


def _phone(rng: np.random.Generator) -> str:
    return ["138", "139", "135", "136", "158", "188", "177"][rng.integers(0, 7)] + (
        f"{int(rng.integers(0, 10**8)):08d}"
    )


def _typo(name: str) -> str | None:
    """The same name with one given-name character mis-typed (three-character names only)."""
    if len(name) != 3 or name[2] not in _TYPO:
        return None
    return name[:2] + _TYPO[name[2]]


def _observe(rng: np.random.Generator, p: Candidate) -> dict:
    """How an officer records a registered person: mostly by ID number."""
    r = rng.random()
    if p.id_number and r < 0.72:
        return {"name": p.name, "id_number": p.id_number}
    if p.phone and r < 0.90:
        typo = _typo(p.name) if rng.random() < 0.15 else None
        return {"name": typo or p.name, "phone": p.phone}
    if p.birth_date:
        return {"name": p.name, "birth_date": p.birth_date}
    if p.id_number:
        return {"name": p.name, "id_number": p.id_number}
    return {"name": p.name, "phone": p.phone}


def _other_use(rng: np.random.Generator, use: HouseUse) -> HouseUse:
    """What a house registered as ``use`` has become (mostly rooms sublet)."""
    r = rng.random()
    if use is HouseUse.SELF_OCCUPIED:
        return HouseUse.GROUP_RENTAL if r < 0.5 else HouseUse.RENTAL
    if use is HouseUse.RENTAL:
        return HouseUse.GROUP_RENTAL if r < 0.7 else HouseUse.SELF_OCCUPIED
    if use in (HouseUse.VACANT, HouseUse.GROUP_RENTAL):
        return HouseUse.RENTAL
    return HouseUse.SELF_OCCUPIED


def _next_id(session: Session, column) -> int:
    return int(session.scalar(select(func.coalesce(func.max(column), 0)))) + 1


_SETVAL = {
    name: text(
        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "  # noqa: S608 (constant names)
        f"(SELECT COALESCE(MAX(id), 1) FROM {name}))"
    )
    for name in ("visits", "visit_residents")
}


class _Rows:
    """Rows of ``table`` with the columns ``keys`` as plain tuples for one driver
    executemany: each value goes through its column type's bind processor once and the
    columns' scalar Python defaults are filled in, as Core's ``insert`` would, without its
    per-row parameter assembly (which cost more than the insert at full size). Tuples, not
    dicts: the demo holds all its rows before it writes them."""

    def __init__(self, session: Session, table, keys: list[str]) -> None:
        dialect = session.get_bind().dialect
        defaults = {
            c.name: c.default.arg
            for c in table.columns
            if c.name not in keys and c.default is not None and c.default.is_scalar
        }
        names = keys + list(defaults)
        procs = [table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in names]
        self.fixed = tuple(
            procs[len(keys) + i](v) if procs[len(keys) + i] else v
            for i, v in enumerate(defaults.values())
        )
        self.key_procs = list(zip(keys, procs[: len(keys)], strict=True))
        self.rows: list[tuple] = []
        q = dialect.identifier_preparer
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.sql = (
            f"INSERT INTO {q.format_table(table)} ({', '.join(q.quote(n) for n in names)}) "  # noqa: S608 (column names from the model)
            f"VALUES ({', '.join([mark] * len(names))})"
        )

    def append(self, r: dict) -> None:
        self.rows.append(
            tuple(
                [p(r[k]) if p is not None and r[k] is not None else r[k] for k, p in self.key_procs]
            )
            + self.fixed
        )

    def shift(self, by: dict[str, int]) -> None:
        """Add ``by[column]`` to the integer columns named (ids taken meanwhile)."""
        pos = {k: i for i, (k, _) in enumerate(self.key_procs)}
        moves = [(pos[k], d) for k, d in by.items() if d]
        if not moves:
            return
        for n, r in enumerate(self.rows):
            row = list(r)
            for i, d in moves:
                row[i] += d
            self.rows[n] = tuple(row)

    def write(self, session: Session, lo: int, hi: int) -> None:
        """INSERT rows ``lo`` to ``hi`` (positions)."""
        if hi > lo:
            session.connection().exec_driver_sql(self.sql, self.rows[lo:hi])


_VISIT_KEYS = [
    "id",
    "house_id",
    "community_id",
    "officer_id",
    "visited_at",
    "observed_use",
    "observed_count",
    "notes",
    "source",
    "recorded_by",
    "created_at",
]
_RESIDENT_KEYS = ["id", "visit_id", "name", "id_number", "phone", "birth_date"]


def _write_lock(session: Session) -> None:
    """Begin a short transaction that reads before it writes with the write lock (SQLite:
    ``BEGIN IMMEDIATE``, waiting for it as any write does). Begun by its first write
    instead, a transaction that has read fails that write at once ("database is locked",
    no wait) when another connection (a sign-in) committed since its first read: the
    registry corrections (``queue.decide``) and ``aggregates.track`` read first."""
    conn = session.connection()
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _fix_sequence(session: Session, table: str) -> None:
    # Explicit ids were inserted: move PostgreSQL's sequence past them.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_SETVAL[table])


#: Meta key of the demo's progress: ``{"stage": ..., ...}`` (see ``demo_extend``).
PROGRESS_KEY = "demo_visits"
#: Visits per short write at first (with the people seen; then sized by ``ChunkSize``).
FIRST_CHUNK = 2_000
#: Decisions per short transaction at first (then sized by ``ChunkSize``).
FIRST_DECISIONS = 50


@dataclass
class _Generated:
    """The demo's visits and people seen (rows ready to insert, in id order), the duplicate
    records to add and what was planted."""

    visits: _Rows
    residents: _Rows
    #: After visit i (position), ``res_end[i]`` people seen have been recorded.
    res_end: list[int]
    visit_id0: int
    resident_id0: int
    dup_people: list[dict]
    dup_count: Counter
    planted: Counter


def demo_extend(ctx) -> dict:
    """Add visits, reconcile them and decide part of the queue (see the module docstring).

    The dashboard is open meanwhile, so the extension writes in short transactions with
    ``fangcang.demo.builder.let_writers_in`` between them, and records its progress in meta
    ``PROGRESS_KEY`` in each:

    1. ``visits``: every visit and person seen is generated first (reads only: the seed and
       the registry), then written in chunks, the highest ids first (so that a visit a user
       records meanwhile takes an id after the demo's, on SQLite as on PostgreSQL); the
       progress holds the first ids and the lowest id written.
    2. The duplicate person records and their houses' counts, with the random generator's
       state after the generation; stage ``reconcile``.
    3. ``reconcile``: in batches of ``reconcile.BATCH`` visits, each one transaction
       (matches, ``reconciled_at``, discrepancies).
    4. The discrepancies' creation times set to their visits' days; stage ``decide``.
    5. ``decide``: the older discrepancies' decisions (computed at once) applied in chunks
       through ``queue.decide`` (the supervisor's code: registry corrections, audit
       entries, aggregates); the last chunk marks the stage ``done``.

    A rerun after an interruption at any of these commits resumes: in stage ``visits`` it
    deletes the chunks on file (``_clear_partial``: nothing refers to them yet) and starts
    over, so that visits generated from a registry that changed meanwhile (an import, a
    supervisor's correction) never mix with those of the first run. In later stages
    it restores the generator, reconciles the visits without ``reconciled_at`` and applies
    the decisions not yet applied (the decisions are computed from the discrepancies still
    open or decided by the demo, in the same order; a supervisor's decision in between
    shifts the draws, so the decisions then differ from one run's). It ends with the rows
    and audit entries of one uninterrupted run; a rerun after completion writes nothing.

    Returns counts: visits, people seen, planted differences by type, discrepancies by type
    and status, decisions, and this run's reconciliation time in seconds.
    """
    return _run(ctx, through="done")


def demo_prepare(ctx) -> dict:
    """Steps 1 and 2 of ``demo_extend`` alone: the visits and people seen written, the
    duplicate records added (stage ``reconcile``). ``fangcang.demo.EXTENSIONS`` runs it
    before the warning runs, so that they read the registry the rest of the demo leaves
    (the reconciliation and the decisions do not change what they read until the decisions,
    which ``demo_extend`` applies after them), and ``demo_reconcile`` can run beside them.

    Returns the counts written (visits, people seen, planted, duplicate records), or
    ``already_built`` as ``demo_extend`` does.
    """
    return _run(ctx, through="reconcile")


def demo_reconcile(ctx) -> dict:
    """Step 3 of ``demo_extend`` alone, ahead of it: reconcile the demo's visits not yet
    reconciled, in short transactions, leaving the stage at ``reconcile``.

    ``fangcang.demo.SIDE_EXTENSIONS`` runs it in a process of its own beside the warning
    runs, tasks and bulletins (none of which reads or writes the visits, the people seen, the
    discrepancies, or the people and houses it reads). ``demo_extend`` then reconciles
    whatever it left (all of it, if it failed or never ran), so the result is the same.

    Returns ``{"reconciled": visits, "reconcile_seconds": s}`` (zero when the demo is not at
    stage ``reconcile``).
    """
    return _run(ctx, through="reconciled")


def _run(ctx, through: str) -> dict:
    """``demo_extend`` up to ``through``: ``reconcile`` (stage reached: visits written),
    ``reconciled`` (stage ``reconcile`` only, the stage kept) or ``done``."""
    from ..demo import builder

    def pause(session: Session) -> None:
        with builder.checkpoint_in_gap(session):
            builder.let_writers_in(session)  # looked up at each call (tests interrupt here)

    rng = np.random.default_rng(ctx.seed + 6006)
    as_of = ctx.until.last_day
    progress = ctx.progress
    midnight = datetime.combine(as_of, datetime.min.time())
    with Session(ctx.engine, expire_on_commit=False) as s:
        raw = db.get_meta(s, PROGRESS_KEY)
        state = json.loads(raw) if raw else {}
        mine = (Visit.source == DEMO_SOURCE) & (Visit.recorded_by == DEMO_ACTOR)
        if through == "reconciled" and state.get("stage") != "reconcile":
            return {"reconciled": 0, "reconcile_seconds": 0.0}
        if not state or state["stage"] == "done":
            done = s.scalar(select(func.count()).select_from(Visit).where(mine))
            if done:  # complete (or built before the progress was kept: in one transaction)
                progress(1.0, "visits: already built")
                return {"visits": int(done), "already_built": True}
        if state.get("stage", "visits") == "visits":
            state = _clear_partial(s, state, pause)
            made = _generate(s, rng, as_of, progress)
            if made is None:
                return {"visits": 0}
            state = _write(s, made, rng, pause, progress)
        if through == "reconcile":
            progress(1.0, "visits: written")
            return dict(state.get("counts", {}))
        rng.bit_generator.state = state["rng"]
        id0, id1 = state["visit_ids"]
        mine = mine & Visit.id.between(id0, id1)

        reconcile_s = 0.0
        if state["stage"] == "reconcile":
            progress(0.45, "visits: reconciling")
            todo = s.scalars(
                select(Visit.id).where(mine, Visit.reconciled_at.is_(None)).order_by(Visit.id)
            ).all()
            t0 = time.perf_counter()
            if todo:
                reconcile(
                    s,
                    Scope.district(),
                    visit_ids=todo,
                    now=midnight,
                    progress=lambda f, m: progress(0.45 + 0.35 * f, f"visits: {m}"),
                    pause=pause,
                )
            reconcile_s = time.perf_counter() - t0
            if through == "reconciled":
                progress(1.0, "visits: reconciled")
                return {"reconciled": len(todo), "reconcile_seconds": round(reconcile_s, 2)}
            # Each discrepancy was found the day of its visit.
            s.execute(
                update(Discrepancy)
                .where(Discrepancy.visit_id.in_(select(Visit.id).where(mine)))
                .values(
                    created_at=select(Visit.visited_at)
                    .where(Visit.id == Discrepancy.visit_id)
                    .scalar_subquery()
                )
            )
            state.update(stage="decide", decided={})
            db.set_meta(s, PROGRESS_KEY, json.dumps(state, sort_keys=True))
            pause(s)

        if state["stage"] == "decide":
            progress(0.85, "visits: deciding older discrepancies")
            decisions = _decisions(
                s, rng, as_of, MAX_DECISIONS.get(ctx.scale, 400), select(Visit.id).where(mine)
            )
            _apply_decisions(s, decisions, state, pause)
        n_found = s.scalar(
            select(func.count())
            .select_from(Discrepancy)
            .where(Discrepancy.visit_id.in_(select(Visit.id).where(mine)))
        )
        by_type = Counter(
            {
                f"{t.value}:{st.value}": n
                for t, st, n in s.execute(
                    select(Discrepancy.type, Discrepancy.status, func.count()).group_by(
                        Discrepancy.type, Discrepancy.status
                    )
                )
            }
        )
    progress(1.0, "visits: done")
    counts = state["counts"]
    decided = {"confirmed": 0, "dismissed": 0} | state["decided"]
    decided.pop("n", None)
    return {
        "visits": counts["visits"],
        "people_seen": counts["people_seen"],
        "planted": counts["planted"],
        "duplicate_records_added": counts["duplicate_records_added"],
        "discrepancies": n_found,
        "discrepancies_by_type_status": dict(sorted(by_type.items())),
        "decided": {k: v for k, v in decided.items() if v},
        "reconcile_seconds": round(reconcile_s, 2),
    }


def _clear_partial(s: Session, state: dict, pause, step: int = 5_000) -> dict:
    """Delete the visits (and their people seen) an interrupted first run wrote in stage
    ``visits`` (``state``: ids ``low`` to the last of ``visit_ids``), in short transactions,
    then the progress; returns the progress of a run that has written nothing (``{}``).
    Only the demo's own rows in that range go (an officer's visit recorded meanwhile took an
    id after it and stays)."""
    if "visit_ids" not in state:
        return {}
    low, high = int(state.get("low", state["visit_ids"][1] + 1)), int(state["visit_ids"][1])
    mine = (
        (Visit.source == DEMO_SOURCE)
        & (Visit.recorded_by == DEMO_ACTOR)
        & Visit.id.between(low, high)
    )
    n = 0
    while ids := s.scalars(select(Visit.id).where(mine).limit(step)).all():
        s.execute(delete(VisitResident).where(VisitResident.visit_id.in_(ids)))
        s.execute(delete(Visit).where(Visit.id.in_(ids)))
        n += len(ids)
        pause(s)
    db.set_meta(s, PROGRESS_KEY, json.dumps({}))
    pause(s)
    if n:
        log.info("visits demo: %d visits of an interrupted first run deleted; starting over", n)
    return {}


def _generate(s: Session, rng: np.random.Generator, as_of: date, progress):
    """Every visit and person seen, the duplicate records and the plan (reads only), with
    the next free ids. None when there are no houses."""
    first = as_of - timedelta(days=364)
    # Plain rows on the Core connection, the use as its stored text (HouseUse(h.use)
    # below): converting 450,000 rows to enums through the ORM cost seconds.
    houses = (
        s.connection()
        .execute(
            select(
                House.house_id,
                House.community_id,
                type_coerce(House.use, String).label("use"),
            ).order_by(House.house_id)
        )
        .all()
    )
    if not houses:
        return None
    officer_of = dict(s.execute(select(Community.community_id, Community.officer_id)).all())
    n_visit = max(1, round(VISITED_SHARE * len(houses)))
    order = rng.permutation(len(houses))
    chosen = [houses[i] for i in sorted(order[:n_visit])]
    spare = [houses[i] for i in order[n_visit:]]  # never visited: homes of movers/duplicates
    progress(0.05, "visits: loading residents")
    by_house: dict[str, list[Candidate]] = {}
    for c in people_where(s, Person.house_id, [h.house_id for h in chosen]):
        by_house.setdefault(c.house_id, []).append(c)
    spare_people = people_where(
        s, Person.house_id, [h.house_id for h in spare[: max(50, n_visit // 10)]]
    )
    spare_people = [p for p in spare_people if p.id_number]
    rng.shuffle(spare_people)

    planted: Counter = Counter()
    plan = _plan(rng, chosen, by_house)
    visit_id, resident_id = _next_id(s, Visit.id), _next_id(s, VisitResident.id)
    made = _Generated(
        visits=_Rows(s, Visit.__table__, _VISIT_KEYS),
        residents=_Rows(s, VisitResident.__table__, _RESIDENT_KEYS),
        res_end=[],
        visit_id0=visit_id,
        resident_id0=resident_id,
        dup_people=[],
        dup_count=Counter(),
        planted=planted,
    )
    person_seq = 1 + s.scalar(
        select(func.count()).select_from(Person).where(Person.person_id.like("DUP%"))
    )
    visits, residents, dup_people = made.visits, made.residents, made.dup_people
    dup_count = made.dup_count
    span = (as_of - first).days + 1
    for h in chosen:
        regs = sorted(by_house.get(h.house_id, []), key=lambda c: c.person_id)
        day = first + timedelta(days=int(rng.integers(0, span)))
        at = datetime(
            day.year, day.month, day.day, int(rng.integers(9, 19)), int(rng.integers(0, 60))
        )
        use = HouseUse(h.use)
        seen = [_observe(rng, p) for p in regs]
        count = len(regs)
        if h.house_id in plan:
            kind = plan[h.house_id]
            non_key = [i for i, p in enumerate(regs) if not p.key_person_type]
            key = [i for i, p in enumerate(regs) if p.key_person_type]
            with_id = [p for p in regs if p.id_number]
            if kind is DiscrepancyType.USE_DIFFERS:
                use = _other_use(rng, use)
            elif kind is DiscrepancyType.COUNT_DIFFERS:
                count += int(rng.integers(1, 4))
            elif kind is DiscrepancyType.NOT_REGISTERED_HERE and spare_people:
                mover = spare_people.pop()
                seen.append({"name": mover.name, "id_number": mover.id_number})
                count += 1
            elif kind is DiscrepancyType.UNREGISTERED:
                male = bool(rng.random() < 0.6)
                birth = date(
                    int(rng.integers(1965, 2004)),
                    int(rng.integers(1, 13)),
                    int(rng.integers(1, 29)),
                )
                new = {"name": _name(rng), "phone": _phone(rng)}
                if rng.random() < 0.6:
                    new["id_number"] = _id_number(rng, birth, male)
                else:
                    new["birth_date"] = birth
                seen.append(new)
                count += 1
            elif kind is DiscrepancyType.NOT_SEEN and non_key:
                i = non_key[int(rng.integers(0, len(non_key)))]
                seen.pop(i)
                count -= 1
            elif kind is DiscrepancyType.KEY_PERSON_NOT_SEEN and key:
                i = key[int(rng.integers(0, len(key)))]
                seen.pop(i)
                count -= 1
            elif kind is DiscrepancyType.DUPLICATE_REGISTRATION and with_id and spare:
                p = with_id[int(rng.integers(0, len(with_id)))]
                home = spare[int(rng.integers(0, len(spare)))]
                dup_people.append(
                    {
                        "person_id": f"DUP{person_seq:07d}",
                        "name": p.name,
                        "id_number": p.id_number,
                        "phone": p.phone,
                        "gender": Gender.UNKNOWN,
                        "birth_date": p.birth_date,
                        "residence_type": ResidenceType.FLOATING,
                        "community_id": home.community_id,
                        "house_id": home.house_id,
                        "source": DUPLICATE_SOURCE,
                        "updated_at": datetime.combine(first, datetime.min.time()),
                    }
                )
                dup_count[(home.house_id, home.community_id)] += 1
                person_seq += 1
            else:
                kind = None
            if kind is not None:
                planted[kind] += 1
        elif rng.random() < NOBODY_HOME_SHARE:
            visits.append(_visit_row(visit_id, h, officer_of, at, None, None, "无人在家"))
            made.res_end.append(len(residents.rows))
            visit_id += 1
            continue
        visits.append(_visit_row(visit_id, h, officer_of, at, use, count, ""))
        for o in seen:
            residents.append(
                {
                    "id": resident_id,
                    "visit_id": visit_id,
                    "name": o["name"],
                    "id_number": o.get("id_number"),
                    "phone": o.get("phone"),
                    "birth_date": o.get("birth_date"),
                }
            )
            resident_id += 1
        made.res_end.append(len(residents.rows))
        visit_id += 1
    return made


def _visit_row(visit_id: int, h, officer_of: dict, at: datetime, use, count, notes: str) -> dict:
    """A demo visit's row (``visits`` table): house ``h`` visited ``at`` by its community's
    officer, the use and number of residents observed (None: nobody home)."""
    return {
        "id": visit_id,
        "house_id": h.house_id,
        "community_id": h.community_id,
        "officer_id": officer_of.get(h.community_id),
        "visited_at": at,
        "observed_use": use,
        "observed_count": count,
        "notes": notes,
        "source": DEMO_SOURCE,
        "recorded_by": DEMO_ACTOR,
        "created_at": at,
    }


def _write(s: Session, made: _Generated, rng: np.random.Generator, pause, progress) -> dict:
    """Write the generated visits and people seen in short transactions, the highest ids
    first (a rerun after an interruption starts over: ``_clear_partial``); then the
    duplicate records and their houses' counts with the generator's state. Returns the
    progress (stage ``reconcile``)."""
    from ..demo.builder import ChunkSize

    progress(0.3, "visits: writing")
    n = len(made.visits.rows)
    _claim_ids(s, made, n)
    id0 = made.visit_id0
    state = {
        "stage": "visits",
        "visit_ids": [id0, id0 + n - 1],
        "low": id0 + n,  # the lowest visit id on file
    }
    size = ChunkSize(start=FIRST_CHUNK)
    hi = n
    while hi > 0:
        t0 = time.perf_counter()
        lo = max(0, hi - size.n)
        made.visits.write(s, lo, hi)  # visits before the people seen on them
        made.residents.write(s, made.res_end[lo - 1] if lo else 0, made.res_end[hi - 1])
        _fix_sequence(s, "visits")
        _fix_sequence(s, "visit_residents")
        state["low"] = id0 + lo
        db.set_meta(s, PROGRESS_KEY, json.dumps(state, sort_keys=True))
        db.bump_data_version(s)
        size.took(time.perf_counter() - t0)
        pause(s)
        progress(0.3 + 0.15 * (n - lo) / n, "visits: writing")
        hi = lo
    dup_people = made.dup_people
    _write_lock(s)
    if dup_people:
        with aggregates.track(s, {"people": [p["person_id"] for p in dup_people]}):
            s.execute(insert(Person), dup_people)
        # One executemany (an UPDATE per house through the ORM took about a second).
        s.execute(
            update(House.__table__)
            .where(House.__table__.c.house_id == bindparam("b_house"))
            .values(registered_residents=House.__table__.c.registered_residents + bindparam("b_n")),
            [{"b_house": h, "b_n": k} for (h, _), k in made.dup_count.items()],
        )
    state = {
        "stage": "reconcile",
        "visit_ids": state["visit_ids"],
        "rng": rng.bit_generator.state,
        "counts": {
            "visits": n,
            "people_seen": len(made.residents.rows),
            "planted": {k.value: v for k, v in made.planted.items()},
            "duplicate_records_added": len(dup_people),
        },
    }
    db.set_meta(s, PROGRESS_KEY, json.dumps(state, sort_keys=True))
    db.bump_data_version(s)
    pause(s)
    return state


def _claim_ids(s: Session, made: _Generated, n: int) -> None:
    """Before the first chunk is written (in its transaction): move the generated ids past
    any a user took while the demo generated (an officer's visit recorded in those seconds
    took the next id, which the generation had planned for itself; every rerun would then
    fail on it), and on PostgreSQL the sequences past the demo's range at once (``setval``
    is not transactional), so that visits recorded meanwhile take ids after it."""
    _write_lock(s)  # SQLite: no other writer until the first chunk commits
    visit0 = max(_next_id(s, Visit.id), made.visit_id0)
    resident0 = max(_next_id(s, VisitResident.id), made.resident_id0)
    dv, dr = visit0 - made.visit_id0, resident0 - made.resident_id0
    if dv or dr:
        log.info("visits demo: ids taken meanwhile, the demo's moved by %d (visits), %d", dv, dr)
        made.visits.shift({"id": dv})
        made.residents.shift({"id": dr, "visit_id": dv})
        made.visit_id0, made.resident_id0 = visit0, resident0
    if s.get_bind().dialect.name == "postgresql":
        last = {
            "visits": visit0 + n - 1,
            "visit_residents": resident0 + len(made.residents.rows) - 1,
        }
        for table, value in last.items():
            s.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :v)"),  # noqa: S608 (constant names)
                {"v": max(value, 1)},
            )


def _plan(rng: np.random.Generator, chosen: list, by_house: dict) -> dict:
    """Which visited houses get which planted difference: ``PLANTED_SHARE`` of the visits,
    split by the ``PLANTED`` weights with at least one of every type, each on a house where
    it can happen (a key person to miss, a registered person with an ID number ...)."""
    n = max(len(PLANTED), round(PLANTED_SHARE * len(chosen)))
    weights = np.array([w for _, w in PLANTED])
    counts = np.maximum(1, np.floor(weights / weights.sum() * n).astype(int))
    fits = {
        # Someone's absence is evidence only on a visit that names who lives there
        # (checks.HouseContext.roll_called): another resident must remain seen.
        DiscrepancyType.NOT_SEEN: lambda regs: (
            len(regs) > 1 and any(not p.key_person_type for p in regs)
        ),
        DiscrepancyType.KEY_PERSON_NOT_SEEN: lambda regs: (
            len(regs) > 1 and any(p.key_person_type for p in regs)
        ),
        DiscrepancyType.DUPLICATE_REGISTRATION: lambda regs: any(p.id_number for p in regs),
    }
    order = [chosen[i].house_id for i in rng.permutation(len(chosen))]
    plan: dict[str, DiscrepancyType] = {}
    # Rarest opportunities first so they are not used up by the others.
    for (kind, _), k in sorted(
        zip(PLANTED, counts, strict=True),
        key=lambda x: x[0][0] is not DiscrepancyType.KEY_PERSON_NOT_SEEN,
    ):
        fit = fits.get(kind, lambda regs: True)
        for house_id in order:
            if k == 0:
                break
            if house_id not in plan and fit(by_house.get(house_id, [])):
                plan[house_id] = kind
                k -= 1
    return plan


def _decisions(
    s: Session, rng: np.random.Generator, as_of: date, cap: int, visits
) -> list[Decision]:
    """Confirm or dismiss the older open discrepancies of the demo's ``visits`` (a select of
    their ids): the longer open, the likelier decided. A confirmation the registry has
    overtaken (an earlier decision corrected the same record) is dismissed instead. Computed
    from the discrepancies open or already decided by the demo (an interrupted run's), so
    that a rerun computes the same list."""
    rows = s.execute(
        select(Discrepancy.id, Discrepancy.created_at)
        .where(
            Discrepancy.visit_id.in_(visits),
            (Discrepancy.status == DiscrepancyStatus.OPEN) | (Discrepancy.decided_by == DEMO_ACTOR),
        )
        .order_by(Discrepancy.created_at, Discrepancy.id)
    ).all()
    end = datetime.combine(as_of, datetime.min.time())
    decisions: list[Decision] = []
    for d_id, created in rows:
        if len(decisions) >= cap:
            break
        age = (end - created).days
        if rng.random() > min(0.75, age / 240):
            continue
        when = min(
            end, created + timedelta(days=int(rng.integers(1, 21)), hours=int(rng.integers(1, 8)))
        )
        if rng.random() < 0.6:
            decisions.append(
                Decision(d_id, True, now=when, stale_reason="登记信息已由其他核查更正")
            )
        else:
            reason = DISMISS_REASONS[int(rng.integers(0, len(DISMISS_REASONS)))]
            decisions.append(Decision(d_id, False, reason=reason, now=when))
    return decisions


def _apply_decisions(s: Session, decisions: list[Decision], state: dict, pause) -> None:
    """Apply ``decisions`` in order through ``queue.decide`` (the code a supervisor's decision
    runs), in chunks of about ``builder.SHORT_WRITE_SECONDS``, each with the progress
    (``state["decided"]``: how many are applied, confirmed, dismissed); those an interrupted
    run applied are skipped. The last chunk marks the stage ``done``. Deciding in chunks in
    order is deciding them one by one (``decide``)."""
    from ..demo.builder import ChunkSize

    decided = state["decided"]
    done = decided.get("n", 0)
    size = ChunkSize(start=FIRST_DECISIONS, lo=10, hi=500)
    while True:
        t0 = time.perf_counter()
        _write_lock(s)
        chunk = decisions[done : done + size.n]
        n = len(chunk)
        if chunk:  # less any a supervisor decided meanwhile (the demo leaves them as they are)
            ids = [x.discrepancy_id for x in chunk]
            still = set(
                s.scalars(
                    select(Discrepancy.id).where(
                        Discrepancy.id.in_(ids), Discrepancy.status == DiscrepancyStatus.OPEN
                    )
                )
            )
            chunk = [x for x in chunk if x.discrepancy_id in still]
        if chunk:
            out = decide(s, Scope.district(), chunk, actor=DEMO_ACTOR)
            for key, ids in (("confirmed", out.confirmed), ("dismissed", out.dismissed)):
                decided[key] = decided.get(key, 0) + len(ids)
        done += n
        decided["n"] = done
        if done >= len(decisions):
            state["stage"] = "done"
        db.set_meta(s, PROGRESS_KEY, json.dumps(state, sort_keys=True))
        size.took(time.perf_counter() - t0)
        pause(s)
        if state["stage"] == "done":
            return
