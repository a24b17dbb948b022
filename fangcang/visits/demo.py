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
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import String, func, insert, select, text, type_coerce, update
from sqlalchemy.orm import Session

from .. import aggregates
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
#: ``visits.source`` of the demo's visits (how a rerun knows the extension already ran).
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


def _insert_rows(session: Session, table, rows: list[dict]) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``table`` as one driver executemany of
    plain tuples: each value goes through its column type's bind processor once and the
    columns' scalar Python defaults are filled in, as Core's ``insert`` would, without its
    per-row parameter assembly (which cost more than the insert at full size)."""
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    keys = list(rows[0])
    defaults = {
        c.name: c.default.arg
        for c in table.columns
        if c.name not in keys and c.default is not None and c.default.is_scalar
    }
    names = keys + list(defaults)
    procs = [table.c[k].type.dialect_impl(dialect).bind_processor(dialect) for k in names]
    fixed = [
        procs[len(keys) + i](v) if procs[len(keys) + i] else v
        for i, v in enumerate(defaults.values())
    ]
    key_procs = list(zip(keys, procs[: len(keys)], strict=True))
    values = [
        tuple([p(r[k]) if p is not None and r[k] is not None else r[k] for k, p in key_procs])
        + tuple(fixed)
        for r in rows
    ]
    q = dialect.identifier_preparer
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {q.format_table(table)} ({', '.join(q.quote(n) for n in names)}) "  # noqa: S608 (column names from the model)
        f"VALUES ({', '.join([mark] * len(names))})"
    )
    conn.exec_driver_sql(sql, values)


def _fix_sequence(session: Session, table: str) -> None:
    # Explicit ids were inserted: move PostgreSQL's sequence past them.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_SETVAL[table])


def demo_extend(ctx) -> dict:
    """Add visits, reconcile them and decide part of the queue (see the module docstring).

    Returns counts: visits, people seen, planted differences by type, discrepancies by type
    and status, and the reconciliation time in seconds.
    """
    rng = np.random.default_rng(ctx.seed + 6006)
    as_of = ctx.until.last_day
    first = as_of - timedelta(days=364)
    progress = ctx.progress
    # One transaction for the whole extension: a build stopped part-way (a server stopped
    # between writing the visits and reconciling them) leaves nothing behind, and the rerun
    # that ``builder.finish_extensions`` makes starts from the same registry. A rerun after a
    # completed run (stopped before the build recorded it done) finds the demo's visits and
    # writes nothing.
    with Session(ctx.engine, expire_on_commit=False) as s:
        done = s.scalar(
            select(func.count())
            .select_from(Visit)
            .where(Visit.source == DEMO_SOURCE, Visit.recorded_by == DEMO_ACTOR)
        )
        if done:
            progress(1.0, "visits: already built")
            return {"visits": int(done), "already_built": True}
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
            return {"visits": 0}
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
        visit_id = _next_id(s, Visit.id)
        resident_id = _next_id(s, VisitResident.id)
        person_seq = 1 + s.scalar(
            select(func.count()).select_from(Person).where(Person.person_id.like("DUP%"))
        )
        visits, residents, dup_people = [], [], []
        ids: list[int] = []
        n_seen = 0

        def write() -> None:
            # Written in chunks as they are made (memory stays flat), visits before their
            # residents; a driver executemany (the ORM's bulk insert splits rows by which
            # values are None, Core's assembles parameters row by row).
            nonlocal n_seen
            if visits:
                _insert_rows(s, Visit.__table__, visits)
                ids.extend(v["id"] for v in visits)
            if residents:
                _insert_rows(s, VisitResident.__table__, residents)
                n_seen += len(residents)
            visits.clear()
            residents.clear()

        dup_count: Counter = Counter()
        span = (as_of - first).days + 1
        for h in chosen:
            if len(visits) >= 20000:
                write()
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
                visits.append(
                    {
                        "id": visit_id,
                        "house_id": h.house_id,
                        "community_id": h.community_id,
                        "officer_id": officer_of.get(h.community_id),
                        "visited_at": at,
                        "observed_use": None,
                        "observed_count": None,
                        "notes": "无人在家",
                        "source": DEMO_SOURCE,
                        "recorded_by": DEMO_ACTOR,
                        "created_at": at,
                    }
                )
                visit_id += 1
                continue
            visits.append(
                {
                    "id": visit_id,
                    "house_id": h.house_id,
                    "community_id": h.community_id,
                    "officer_id": officer_of.get(h.community_id),
                    "visited_at": at,
                    "observed_use": use,
                    "observed_count": count,
                    "notes": "",
                    "source": DEMO_SOURCE,
                    "recorded_by": DEMO_ACTOR,
                    "created_at": at,
                }
            )
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
            visit_id += 1

        progress(0.3, "visits: writing")
        write()
        del by_house, houses, chosen, spare, spare_people, plan  # not needed from here on
        _fix_sequence(s, "visits")
        _fix_sequence(s, "visit_residents")
        if dup_people:
            with aggregates.track(s, {"people": [p["person_id"] for p in dup_people]}):
                s.execute(insert(Person), dup_people)
            for (house_id, _), n in dup_count.items():
                s.execute(
                    update(House)
                    .where(House.house_id == house_id)
                    .values(registered_residents=House.registered_residents + n)
                )

        progress(0.45, "visits: reconciling")
        t0 = time.perf_counter()
        result = reconcile(
            s,
            Scope.district(),
            visit_ids=ids,
            now=datetime.combine(as_of, datetime.min.time()),
            progress=lambda f, m: progress(0.45 + 0.35 * f, f"visits: {m}"),
        )
        reconcile_s = time.perf_counter() - t0
        # Each discrepancy was found the day of its visit.
        s.execute(
            update(Discrepancy)
            .where(Discrepancy.visit_id.in_(select(Visit.id).where(Visit.source == DEMO_SOURCE)))
            .values(
                created_at=select(Visit.visited_at)
                .where(Visit.id == Discrepancy.visit_id)
                .scalar_subquery()
            )
        )

        progress(0.85, "visits: deciding older discrepancies")
        decided = _decide(s, rng, as_of, MAX_DECISIONS.get(ctx.scale, 400))
        s.commit()
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
    return {
        "visits": len(ids),
        "people_seen": n_seen,
        "planted": {k.value: v for k, v in planted.items()},
        "duplicate_records_added": len(dup_people),
        "discrepancies": result.created,
        "discrepancies_by_type_status": dict(sorted(by_type.items())),
        "decided": decided,
        "reconcile_seconds": round(reconcile_s, 2),
    }


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


def _decide(s: Session, rng: np.random.Generator, as_of: date, cap: int) -> dict:
    """Confirm or dismiss the older open discrepancies: the longer open, the likelier decided.
    A confirmation the registry has overtaken (an earlier decision corrected the same record)
    is dismissed instead. All in one ``queue.decide`` batch, the code a supervisor's decision
    runs."""
    rows = s.execute(
        select(Discrepancy.id, Discrepancy.created_at)
        .where(Discrepancy.status == DiscrepancyStatus.OPEN)
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
    done = decide(s, Scope.district(), decisions, actor=DEMO_ACTOR)
    out = {"confirmed": len(done.confirmed), "dismissed": len(done.dismissed)}
    return {k: v for k, v in out.items() if v}
