"""Helpers shared by several test modules (test modules never import each other).

- AppTest: ``texts`` and ``login``;
- effect and bulletin data: ``add_counts``, ``add_residents``, ``add_warning_run``,
  ``small_district`` (focused work F and its comparison communities), ``bulletin_district``;
- the hot-spot grid district (``grid_district``; its layout is described in
  tests/test_hotspots.py).

Browser plumbing lives in tests/browser_support.py, dashboard fixtures in
tests/dashboard_data.py.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import numpy as np
from incident_rows import months_from_days
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from fangcang import effect
from fangcang.models import (
    AggIncidentDay,
    AggPopulation,
    AuditEntry,
    Base,
    Community,
    Gender,
    House,
    HouseUse,
    IncidentCategory,
    KeyPersonType,
    Person,
    ResidenceType,
    WarningLevel,
    WarningResult,
    WarningRun,
)
from fangcang.models.tasks import Branch, ItemState, TaskItem
from fangcang.timeutil import Month


# ---------------------------------------------------------------------------------------------
# AppTest
# ---------------------------------------------------------------------------------------------
def texts(at):
    """Every text element of an AppTest run joined by spaces (what a user reads)."""
    return " ".join(
        str(e.value)
        for e in [
            *at.markdown,
            *at.caption,
            *at.error,
            *at.warning,
            *at.info,
            *at.success,
            *at.title,
            *at.subheader,
        ]
    )


def open_page(page: str, viewer=None, lang: str = "zh", **params):
    """Run ``page`` through app.py (navigation) as ``viewer`` (default: the district leader)
    with URL ``params``; fails on any exception the page raised. An AppTest."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from fangcang.access import Role, Viewer

    at = AppTest.from_file(
        str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120
    )
    at.session_state["viewer"] = viewer or Viewer(username="leader", role=Role.LEADER)
    at.session_state["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def login(at, username, password):
    """Sign in through the form app.py shows and rerun."""
    at.text_input[0].set_value(username)
    at.text_input[1].set_value(password)
    at.button[0].click()  # the form's submit button
    return at.run()


# ---------------------------------------------------------------------------------------------
# Effect and bulletin data
# ---------------------------------------------------------------------------------------------
def add_counts(
    session, community, day: date, category=IncidentCategory.CRIMINAL, subtype="", n=1, n_alcohol=0
):
    """Add ``n`` incidents to the day aggregate (merging with an existing row) and refresh the
    month aggregate from it (``incident_rows.months_from_days``)."""
    cid = community if isinstance(community, str) else community.community_id
    row = session.get(AggIncidentDay, (cid, day, category, subtype))
    if row is None:
        session.add(
            AggIncidentDay(
                community_id=cid,
                day=day,
                category=category,
                subtype=subtype,
                n=n,
                n_alcohol=n_alcohol,
                loss_yuan=0.0,
            )
        )
    else:
        row.n += n
        row.n_alcohol += n_alcohol
    months_from_days(session)


def add_residents(session, community, n: int):
    cid = community if isinstance(community, str) else community.community_id
    session.add(AggPopulation(community_id=cid, residence_type=ResidenceType.REGISTERED, n=n))
    session.flush()


def add_warning_run(
    session, period: str, levels: dict, scores: dict | None = None, version: int = 1
) -> WarningRun:
    """A stored warning run with the given levels (other fields plausible constants)."""
    run = WarningRun(
        period=period,
        version=version,
        created_at=datetime(2026, 1, 1),
        created_by="test",
        config="{}",
        config_hash="x" * 64,
        data_version=1,
        window_first=str(Month.parse(period).shift(-2)),
        n_communities=len(levels),
    )
    session.add(run)
    session.flush()
    for i, (cid, level) in enumerate(levels.items()):
        score = (scores or {}).get(
            cid, {"red": 85.0, "yellow": 70.0, "blue": 55.0}.get(level, 20.0) - i * 0.1
        )
        expl = {
            "score": score,
            "level": level,
            "residents": 1000,
            "zero_residents": False,
            "window_months": 3,
            "significant": False,
            "stability": 0.9,
            "window_stable": True,
            "borderline": False,
            "spread": 0.2,
            "draws": 1000,
            "indicators": [
                {
                    "key": "incident_rate",
                    "raw": 30.0,
                    "percentile": 95.0,
                    "weight": 0.25,
                    "contribution": 23.75,
                    "median": 10.0,
                    "ratio": 3.0,
                },
                {
                    "key": "crime_rate",
                    "raw": 12.0,
                    "percentile": 90.0,
                    "weight": 0.3,
                    "contribution": 27.0,
                    "median": 6.0,
                    "ratio": 2.0,
                },
                {
                    "key": "incident_trend",
                    "raw": 2.5,
                    "percentile": 80.0,
                    "weight": 0.15,
                    "contribution": 12.0,
                    "median": 0.0,
                    "ratio": None,
                    "now": 30,
                    "before": 20,
                },
                {
                    "key": "control_gap",
                    "raw": 0.35,
                    "percentile": 70.0,
                    "weight": 0.2,
                    "contribution": 14.0,
                    "median": 0.1,
                    "ratio": 3.5,
                    "factors": 40,
                    "out": 14,
                },
                {
                    "key": "floating_share",
                    "raw": 0.4,
                    "percentile": 60.0,
                    "weight": 0.1,
                    "contribution": 6.0,
                    "median": 0.3,
                    "ratio": 1.33,
                },
            ],
            "top": [
                "crime_rate",
                "incident_rate",
                "control_gap",
                "incident_trend",
                "floating_share",
            ],
        }
        session.add(
            WarningResult(
                run_id=run.id,
                community_id=cid,
                incident_rate=30.0,
                crime_rate=12.0,
                incident_trend=2.5,
                control_gap=0.35,
                floating_share=0.4,
                p_incident_rate=95.0,
                p_crime_rate=90.0,
                p_incident_trend=80.0,
                p_control_gap=70.0,
                p_floating_share=60.0,
                residents=1000,
                incidents=30,
                crime_incidents=12,
                incidents_year_before=20,
                factors=40,
                factors_out=14,
                score=score,
                level=WarningLevel(level),
                stability=0.9,
                window_stable=True,
                borderline=False,
                significant=False,
                explanation=json.dumps(expl, ensure_ascii=False),
            )
        )
    session.flush()
    return run


def small_district(session, factory):
    """F: focused from 2026-05-01; windows (months=2, as_of 2026-06): before 03-04, after 05-06.

    F  1000 residents: before 60 criminal + 40 dispute = 100; after 36 + 28 = 64.
    A  1000 residents: before 50 criminal; after 45.
    B  1000 residents: before 50 criminal; after 40.
    C  1000 residents: before 5; after 5 (rate far from F).
    D  under focused work too (excluded), E no residents (excluded).
    """
    cs = {k: factory.community(name=f"{k}社区") for k in "FABCDE"}
    for k in "FABCD":
        add_residents(session, cs[k], 1000)
    mar, may = date(2026, 3, 10), date(2026, 5, 10)
    add_counts(session, cs["F"], mar, n=60)
    add_counts(session, cs["F"], mar, IncidentCategory.DISPUTE, n=40)
    add_counts(session, cs["F"], may, n=36)
    add_counts(session, cs["F"], may, IncidentCategory.DISPUTE, n=28)
    add_counts(session, cs["A"], mar, n=50)
    add_counts(session, cs["A"], may, n=45)
    add_counts(session, cs["B"], mar, n=50)
    add_counts(session, cs["B"], may, n=40)
    add_counts(session, cs["C"], mar, n=5)
    add_counts(session, cs["C"], may, n=5)
    add_counts(session, cs["D"], mar, n=100)
    add_counts(session, cs["D"], may, n=50)
    add_counts(session, cs["E"], mar, n=100)
    # Outside both windows: must not count.
    add_counts(session, cs["F"], date(2026, 2, 28), n=500)
    add_counts(session, cs["F"], date(2026, 7, 1), n=500)
    effect.start_focus(session, cs["F"].community_id, date(2026, 5, 1), "巡逻", "t")
    effect.start_focus(session, cs["D"].community_id, date(2026, 4, 1), "巡逻", "t")
    session.commit()
    return cs


def add_task_item(session, community_id: str, state, dispatched_at: datetime, days: int = 7):
    """One task item for ``community_id`` (its officer), dispatched at ``dispatched_at`` with a
    deadline ``days`` later; fed back the next day unless still dispatched."""
    c = session.get(Community, community_id)
    item = TaskItem(
        cycle_key=f"{dispatched_at:%Y-%m}",
        community_id=community_id,
        officer_id=c.officer_id,
        branch=Branch.PUBLIC_ORDER,
        title="走访",
        state=state,
        dispatched_by="duty",
        dispatched_at=dispatched_at,
        deadline=dispatched_at + timedelta(days=days),
        fed_back_at=None if state == ItemState.DISPATCHED else dispatched_at + timedelta(days=1),
    )
    session.add(item)
    return item


def bulletin_district(session, factory):
    """Four communities with residents, incidents over two years and warning runs for
    2026-01 .. 2026-03 (沿江 red then yellow; 五马 yellow then red; 南汇 blue -> green)."""
    officer = factory.officer(name="李警官", phone="13912345678")
    cs = {
        "yj": factory.community(name="沿江社区", officer=officer),
        "wm": factory.community(name="五马社区"),
        "nh": factory.community(name="南汇社区"),
        "sf": factory.community(name="山福社区"),
    }
    for c in cs.values():
        add_residents(session, c, 2000)
    # A resident with personal data that must never reach a bulletin.
    factory.person(cs["yj"], name="陈小华", id_number="330302199001011234", phone="13800138000")
    for y in (2025, 2026):
        for m in (1, 2, 3):
            n = 20 if y == 2025 else 15
            add_counts(session, cs["yj"], date(y, m, 5), IncidentCategory.CRIMINAL, "assault", n=n)
            add_counts(session, cs["wm"], date(y, m, 5), IncidentCategory.PUBLIC_ORDER, n=10)
            add_counts(
                session,
                cs["nh"],
                date(y, m, 5),
                IncidentCategory.CRIMINAL,
                "telecom_fraud",
                n=8 if y == 2025 else 4,
            )
    ids = {k: c.community_id for k, c in cs.items()}
    add_warning_run(
        session,
        "2026-01",
        {ids["yj"]: "red", ids["wm"]: "yellow", ids["nh"]: "blue", ids["sf"]: "green"},
    )
    add_warning_run(
        session,
        "2026-02",
        {ids["yj"]: "red", ids["wm"]: "yellow", ids["nh"]: "blue", ids["sf"]: "green"},
    )
    add_warning_run(
        session,
        "2026-03",
        {ids["wm"]: "red", ids["yj"]: "yellow", ids["nh"]: "green", ids["sf"]: "green"},
    )
    session.commit()
    return ids


# ---------------------------------------------------------------------------------------------
# The hot-spot grid district
# ---------------------------------------------------------------------------------------------
XS = [round(120.60 + 0.01 * k, 4) for k in range(5)]

YS = [round(28.00 + 0.01 * k, 4) for k in range(4)]

GRID = [f"G{r}{c}" for r in range(3) for c in range(3)]

LAST = Month(2025, 12)


def grid_counts(k: int) -> dict[str, int]:
    base = {cid: 1 for cid in GRID}
    base.update(G00=9 + k, G01=8, G10=7, G11=6)
    base["I"] = 1
    return base


def add_incidents(session, counts_by_month: dict[Month, dict[str, int]]) -> None:
    for month, counts in counts_by_month.items():
        for cid, n in counts.items():
            if n:
                session.add(
                    AggIncidentDay(
                        community_id=cid,
                        day=month.first_day.replace(day=15),
                        category=IncidentCategory.CRIMINAL,
                        subtype="",
                        n=n,
                        n_alcohol=0,
                        loss_yuan=0.0,
                    )
                )
    months = sorted(counts_by_month)
    # The data span: a dispute on the first day of the first month and the last day of the last.
    for day in (months[0].first_day, months[-1].last_day):
        session.add(
            AggIncidentDay(
                community_id="G22",
                day=day,
                category=IncidentCategory.DISPUTE,
                subtype="",
                n=1,
                n_alcohol=0,
                loss_yuan=0.0,
            )
        )


def grid_district(session, factory, months: int = 12) -> dict:
    sd = factory.sub_district("SDG", "仰义街道")
    st = factory.station("STG", "仰义派出所")
    comms = {}
    for r in range(3):
        for c in range(3):
            cid = f"G{r}{c}"
            comms[cid] = factory.community(
                cid,
                name=f"格{r}{c}社区",
                sub_district=sd,
                station=st,
                bbox=(XS[c], YS[r], XS[c + 1], YS[r + 1]),
            )
    comms["I"] = factory.community(
        "I", name="孤岛社区", sub_district=sd, station=st, bbox=(121.0, 28.5, 121.01, 28.51)
    )
    comms["N"] = factory.community(
        "N", name="无人社区", sub_district=sd, station=st, bbox=(XS[3], YS[0], XS[4], YS[1])
    )
    for cid in [*GRID, "I"]:
        session.add(
            AggPopulation(community_id=cid, residence_type=ResidenceType.REGISTERED, n=1000)
        )
    first = LAST.shift(-(months - 1))
    add_incidents(session, {first.shift(k): grid_counts(k) for k in range(months)})
    session.commit()
    return comms


# ---------------------------------------------------------------------------------------------
# Demo extensions in short transactions (stopped at a pause, rerun, compared with one run)
# ---------------------------------------------------------------------------------------------
class Stopped(Exception):
    """The demo's fill interrupted (the server stopped) at one of its commits."""


def last_audit_id(engine) -> int:
    """The id of the newest audit entry (0 when there is none)."""
    with Session(engine) as s:
        return s.scalar(select(func.max(AuditEntry.id))) or 0


def audit_entries(conn, after: int = 0, where=None) -> list[tuple]:
    """Audit entries after entry ``after`` in order, as (actor, action, target, detail), less
    their time and chain links (which differ between two runs of the same writes).
    ``where``: an extra clause on ``AuditEntry.__table__``."""
    log = AuditEntry.__table__
    stmt = select(log.c.actor, log.c.action, log.c.target, log.c.detail).where(log.c.id > after)
    if where is not None:
        stmt = stmt.where(where)
    return [tuple(r) for r in conn.execute(stmt.order_by(log.c.id))]


def table_rows(conn, name: str, skip: set[str] = frozenset(), where=None) -> list[tuple]:
    """Every row of table ``name`` less the columns in ``skip``, in a fixed order (for
    comparing two databases that hold the same rows under other keys or clocks)."""
    table = Base.metadata.tables[name]
    stmt = select(*[col for col in table.columns if col.name not in skip])
    if where is not None:
        stmt = stmt.where(where(table))
    return sorted(map(tuple, conn.execute(stmt).all()), key=repr)


class Pauses:
    """Stand-in for ``fangcang.demo.builder.let_writers_in``, the pause between a demo
    extension's short transactions: counts the pauses (``n``) and can stop the run at one.

    ``count()`` runs the real pause and counts; ``stop_at(k)`` raises ``Stopped`` after the
    real pause of the ``k``-th call (that transaction committed); ``hook(fn)`` calls
    ``fn(session, n)`` in place of the real one; ``restore()`` puts the real one back.
    Each of these starts the count afresh.
    """

    def __init__(self, monkeypatch) -> None:
        from fangcang.demo import builder

        self.builder, self.monkeypatch = builder, monkeypatch
        self.real = builder.let_writers_in
        self.n = 0

    def _use(self, fn) -> None:
        self.n = 0
        self.monkeypatch.setattr(self.builder, "let_writers_in", fn)

    def count(self) -> None:
        def pause(s):
            self.n += 1
            self.real(s)

        self._use(pause)

    def stop_at(self, k: int) -> None:
        def pause(s):
            self.real(s)
            self.n += 1
            if self.n == k:
                raise Stopped

        self._use(pause)

    def hook(self, fn) -> None:
        def pause(s):
            self.n += 1
            fn(s, self.n)

        self._use(pause)

    def restore(self) -> None:
        self._use(self.real)


def small_demo_base(engine, monkeypatch, until: Month, seed: int = 3):
    """A small demo built up to its accounts (where the background fill starts); returns the
    ``DemoContext`` its extensions run with."""
    from fangcang import demo
    from fangcang.demo import DemoContext, builder

    monkeypatch.setattr(demo, "EXTENSIONS", [builder.ACCOUNTS_EXTENSION])
    demo.build(engine, scale="small", seed=seed, until=until)
    return DemoContext(engine, "small", seed, until)


# ---------------------------------------------------------------------------------------------
# Registry records: ID numbers, a visited district
# ---------------------------------------------------------------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(birth: str, seq: str = "123", region: str = "330302") -> str:
    """A valid 18-digit resident ID number for a birth date YYYYMMDD (GB 11643-1999: region
    code, birth date, sequence, ISO 7064 MOD 11-2 check character)."""
    body = region + birth + seq
    return (
        body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
    )


def visit_registry(session, houses: int = 1200, seed: int = 1) -> None:
    """A registry of ``houses`` houses in three communities C0-C2 with one to three people
    each (every 23rd a key person, every 4th house a rental) for the visits tests; committed."""
    from tests.conftest import Factory

    when = datetime(2026, 10, 20, 10, 0)
    factory = Factory(session)
    rng = np.random.default_rng(seed)
    comms = [factory.community(community_id=f"C{i}") for i in range(3)]
    house_rows, people = [], []
    for i in range(houses):
        c = comms[i % 3]
        n = int(rng.integers(1, 4))
        house_rows.append(
            dict(
                house_id=f"H{i:05d}",
                address=f"路{i}号",
                community_id=c.community_id,
                use=HouseUse.SELF_OCCUPIED if i % 4 else HouseUse.RENTAL,
                registered_residents=n,
                updated_at=when,
                source="住建",
            )
        )
        for _ in range(n):
            k = len(people)
            birth = date(1950 + k % 50, 1 + k % 12, 1 + k % 28)
            people.append(
                dict(
                    person_id=f"P{k:06d}",
                    name="张" + "伟强磊军勇杰涛明辉华"[k % 10] + "芳敏静丽婷"[k // 10 % 5],
                    id_number=make_id(f"{birth:%Y%m%d}", f"{k % 1000:03d}"),
                    phone=f"139{k:08d}",
                    birth_date=birth,
                    gender=Gender.MALE,
                    residence_type=ResidenceType.REGISTERED,
                    community_id=c.community_id,
                    house_id=f"H{i:05d}",
                    updated_at=when,
                    source="户籍科",
                    key_person_type=KeyPersonType.DRUGS if k % 23 == 0 else None,
                )
            )
    session.execute(insert(House), house_rows)
    session.execute(insert(Person), people)
    session.commit()
