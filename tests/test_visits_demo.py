"""The visits demo extension (``fangcang.visits.demo``): every planted difference found, part of
the queue decided, and the extension in short transactions: stopped at any of its commits (or
inside one), a rerun resumes and ends row for row as one uninterrupted run."""

from __future__ import annotations

import importlib
import json
import shutil
from datetime import datetime

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from support import Pauses, Stopped, audit_entries, table_rows, visit_registry

from fangcang import audit, db
from fangcang.access import Scope
from fangcang.demo import DemoContext, builder
from fangcang.models import (
    Base,
    Discrepancy,
    DiscrepancyStatus,
    DiscrepancyType,
    Gender,
    House,
    HouseUse,
    MatchMethod,
    Person,
    ResidenceType,
    Visit,
    VisitResident,
)
from fangcang.timeutil import Month
from fangcang.visits import demo as visits_demo
from fangcang.visits import demo_extend, matching, reconcile

D = Scope.district()
WHEN = datetime(2026, 10, 20, 10, 0)
UNTIL = Month(2026, 10)
reconcile_module = importlib.import_module("fangcang.visits.reconcile")


@pytest.fixture
def demo_registry(session):
    visit_registry(session)


def _ctx(engine) -> DemoContext:
    return DemoContext(engine=engine, scale="small", seed=7, until=UNTIL)


def test_demo_extend_plants_every_type_and_decides_some(engine, session, demo_registry):
    out = demo_extend(_ctx(engine))
    session.expire_all()
    assert out["visits"] == 300
    assert session.scalar(select(func.count()).select_from(Visit)) == 300
    found = {d.type for d in session.scalars(select(Discrepancy))}
    assert found == set(DiscrepancyType)
    statuses = {d.status for d in session.scalars(select(Discrepancy))}
    assert statuses == set(DiscrepancyStatus)
    assert 0.04 < out["discrepancies"] / out["visits"] < 0.2
    visits = session.scalars(select(Visit)).all()
    assert min(v.visited_at for v in visits) >= datetime(2025, 11, 1)
    assert max(v.visited_at for v in visits) < datetime(2026, 11, 1)
    # Every discrepancy was found on the day of its visit.
    d = session.scalars(select(Discrepancy)).first()
    assert d.created_at == session.get(Visit, d.visit_id).visited_at


def test_reconcile_in_batches_with_one_pass_birth_candidates_finds_the_same(
    engine, session, demo_registry, monkeypatch
):
    """Many visits (several batches, birth-date candidates loaded once by a pass over the
    people table, the ID numbers held twice found once) give the same matches and
    discrepancies as a single batch searching the birth-date index and the ID numbers."""
    monkeypatch.setitem(visits_demo.MAX_DECISIONS, "small", 0)
    demo_extend(_ctx(engine))

    def found():
        session.expire_all()
        matches = session.execute(
            select(
                VisitResident.id,
                VisitResident.matched_person_id,
                VisitResident.match_method,
                VisitResident.match_confidence,
            ).order_by(VisitResident.id)
        ).all()
        cols = [c for c in Discrepancy.__table__.columns if c.name not in ("id", "created_at")]
        queued = sorted(map(tuple, session.execute(select(*cols)).all()), key=repr)
        return matches, queued

    one_batch = found()
    assert any(m[2] is MatchMethod.NAME_BIRTH for m in one_batch[0])
    # Duplicate registrations are found (batches take the ID numbers held twice from the
    # one pass).
    dup = DiscrepancyType.DUPLICATE_REGISTRATION
    n_dup = select(func.count()).select_from(Discrepancy).where(Discrepancy.type == dup)
    assert session.scalar(n_dup) > 0
    session.execute(
        VisitResident.__table__.update().values(
            matched_person_id=None, match_method=MatchMethod.NONE, match_confidence=None
        )
    )
    session.execute(Discrepancy.__table__.delete())
    session.commit()
    monkeypatch.setattr(reconcile_module, "BATCH", 40)
    monkeypatch.setattr(matching, "SCAN_PAIRS", 1)
    monkeypatch.setattr(reconcile_module, "SCAN_PAIRS", 1)
    passes = []
    real = matching.people_by_birth_initial
    monkeypatch.setattr(
        reconcile_module,
        "people_by_birth_initial",
        lambda s, pairs: passes.append(len(pairs)) or real(s, pairs),
    )
    ids = session.scalars(select(Visit.id)).all()
    reconcile(session, D, visit_ids=ids, now=WHEN)
    session.commit()
    assert len(passes) == 1 and passes[0] > 10
    assert found() == one_batch


def test_reconcile_with_pause_commits_each_batch_and_finds_the_same(
    engine, session, demo_registry, monkeypatch
):
    """``reconcile(pause=...)`` calls it after each batch with that batch's writes in the
    session (its visits marked reconciled with their matches and discrepancies), and finds
    what one transaction finds."""
    monkeypatch.setitem(visits_demo.MAX_DECISIONS, "small", 0)
    demo_extend(_ctx(engine))
    cols = [c for c in Discrepancy.__table__.columns if c.name not in ("id", "created_at")]

    def found():
        session.expire_all()
        return (
            session.execute(
                select(VisitResident.id, VisitResident.matched_person_id).order_by(VisitResident.id)
            ).all(),
            sorted(map(tuple, session.execute(select(*cols)).all()), key=repr),
        )

    want = found()
    session.execute(VisitResident.__table__.update().values(matched_person_id=None))
    session.execute(Visit.__table__.update().values(reconciled_at=None))
    session.execute(Discrepancy.__table__.delete())
    session.commit()
    monkeypatch.setattr(reconcile_module, "BATCH", 70)
    seen = []

    def pause(s):
        seen.append(
            (
                s.scalar(select(func.count()).where(Visit.reconciled_at.is_not(None))),
                s.scalar(select(func.count()).select_from(Discrepancy)),
            )
        )
        s.commit()

    ids = session.scalars(select(Visit.id)).all()
    out = reconcile(session, D, visit_ids=ids, now=WHEN, pause=pause)
    assert [n for n, _ in seen] == [70, 140, 210, 280, 300]
    assert seen[-1][1] == out.created == len(want[1])
    assert found() == want


# --------------------------------------------------------------------------------------------
# Short transactions, interrupted and resumed
# --------------------------------------------------------------------------------------------
class _Fixed:
    """``builder.ChunkSize`` keeping its first size whatever the time taken (the stops below
    count commits)."""

    def __init__(self, start: int = 5_000, **kwargs) -> None:
        self.n = start

    def took(self, seconds: float) -> None:
        return None


#: Keys two databases assign independently (PostgreSQL's sequences move on in a rolled-back
#: transaction): the surrogate ids of the aggregates and registry changes.
_NO_ID = ("registry_changes",)


def _dump(engine) -> dict:
    """Every table but the audit log and meta (surrogate ids of aggregates and registry
    changes left out), the audit entries in order (``support.audit_entries``), and the
    demo's progress less the generator's state."""
    out = {}
    with engine.connect() as c:
        for table in Base.metadata.sorted_tables:
            if table.name in ("audit_log", "meta", "alembic_version"):
                continue
            no_id = table.name.startswith("agg_") or table.name in _NO_ID
            out[table.name] = table_rows(c, table.name, skip={"id"} if no_id else set())
        out["audit"] = audit_entries(c)
    with Session(engine) as s:
        state = json.loads(db.get_meta(s, visits_demo.PROGRESS_KEY) or "{}")
    state.pop("rng", None)
    out["progress"] = state
    return out


def _small(monkeypatch) -> None:
    """Several commits in each stage of the small demo: visits written 40 at a time,
    reconciled 50 at a time, decided 3 at a time; no gap after each commit."""
    monkeypatch.setattr(builder, "WRITE_GAP_SECONDS", 0.0)
    monkeypatch.setattr(builder, "ChunkSize", _Fixed)
    monkeypatch.setattr(visits_demo, "FIRST_CHUNK", 40)
    monkeypatch.setattr(visits_demo, "FIRST_DECISIONS", 3)
    monkeypatch.setattr(reconcile_module, "BATCH", 50)


def _stage(engine) -> str | None:
    with Session(engine) as s:
        raw = db.get_meta(s, visits_demo.PROGRESS_KEY)
    return json.loads(raw)["stage"] if raw else None


def _without_time(out: dict) -> dict:
    return {k: v for k, v in out.items() if k != "reconcile_seconds"}


def test_demo_in_short_transactions_resumes_to_the_rows_of_one_run(
    engine, session, tmp_path, sqlite_template, monkeypatch
):
    """The visits demo commits in short steps (visits in chunks, the duplicate records, each
    reconciliation batch, the creation days, the decisions in chunks) with its progress.
    Stopped after a commit in its visit writes (a rerun then starts the visits over), inside
    the next one, mid-reconciliation, during its decisions and inside its last transaction
    (the one that marks it done), each rerun resumes, and the end is row for row what one uninterrupted run writes (ids,
    registry corrections, aggregates and audit entries included, none twice), with the audit
    chain intact; a rerun after that writes nothing."""
    _small(monkeypatch)
    ref_path = tmp_path / "reference.db"
    shutil.copyfile(sqlite_template, ref_path)
    reference = db.make_engine(f"sqlite:///{ref_path}")
    with Session(reference) as s:
        visit_registry(s)
    pauses = Pauses(monkeypatch)
    stages: list[str | None] = []
    pauses.hook(
        lambda s, n: (
            pauses.real(s),
            stages.append(json.loads(db.get_meta(s, visits_demo.PROGRESS_KEY))["stage"]),
        )
    )
    expected = _without_time(demo_extend(_ctx(reference)))
    want = _dump(reference)
    reference.dispose()
    # 8 chunks of visits, the duplicates, 6 reconciliation batches, the creation days, and
    # the decisions in several chunks.
    assert stages[:8] == ["visits"] * 8 and stages[8:15] == ["reconcile"] * 7
    assert stages[15] == "decide" and stages[-1] == "done" and len(stages) >= 19
    assert sum(expected["decided"].values()) > 6 and want["audit"]
    n = len(stages)

    visit_registry(session)
    ctx = _ctx(engine)
    batches: list[int] = []  # visits per reconciliation batch, over all runs
    real_batch = reconcile_module._reconcile_batch
    monkeypatch.setattr(
        reconcile_module,
        "_reconcile_batch",
        lambda s, scope, ids, *a, **kw: (
            batches.append(len(ids)) or real_batch(s, scope, ids, *a, **kw)
        ),
    )

    def stop_inside(k: int):
        def pause(s, n):
            if n == k:
                raise Stopped  # before the commit: the transaction is lost
            pauses.real(s)

        pauses.hook(pause)

    def demo_visits() -> int:
        with Session(engine) as s:
            return s.scalar(select(func.count()).select_from(Visit).where(Visit.source == "demo"))

    # Three chunks of visits on file. A rerun in stage "visits" deletes them and starts over
    # (one pause after the deletes, one after the reset progress): lost inside its second
    # chunk, one chunk of its own is on file; the next rerun deletes that one, writes all
    # eight chunks, the duplicates and two reconciliation batches (the reference's commit 11).
    pauses.stop_at(3)
    with pytest.raises(Stopped):
        demo_extend(ctx)
    assert _stage(engine) == "visits" and 0 < demo_visits() < 300
    stop_inside(4)
    with pytest.raises(Stopped):
        demo_extend(ctx)
    assert _stage(engine) == "visits" and 0 < demo_visits() < 300
    pauses.stop_at(2 + 8 + 1 + 2)
    with pytest.raises(Stopped):
        demo_extend(ctx)
    done = 11  # commits of the reference run made so far
    assert _stage(engine) == stages[done - 1] == "reconcile" and demo_visits() == 300
    for how, at, stage in (
        (pauses.stop_at, n - 2, "decide"),  # during the decisions
        (stop_inside, n, "decide"),  # inside the last transaction, which marks it done
    ):
        how(at - done)
        with pytest.raises(Stopped):
            demo_extend(ctx)
        done = at if how == pauses.stop_at else at - 1
        assert _stage(engine) == stages[done - 1] == stage
    assert done == n - 1
    assert sum(batches) == 300  # a rerun reconciles only the visits not reconciled yet
    pauses.restore()
    assert _without_time(demo_extend(ctx)) == expected
    assert _dump(engine) == want
    assert demo_extend(ctx) == {"visits": 300, "already_built": True}
    assert _dump(engine) == want
    session.expire_all()
    assert audit.verify(session).ok


def test_a_rerun_after_the_registry_changed_writes_visits_of_one_registry(
    engine, session, monkeypatch
):
    """Interrupted while writing its visits, then the registry changes (an import adds a
    resident to every house): the rerun deletes the visits on file and writes them all from
    the registry as it is now, so the people seen on file are those it reports (chunks from
    the two registries would have mixed)."""
    _small(monkeypatch)
    visit_registry(session)
    pauses = Pauses(monkeypatch)
    pauses.stop_at(3)
    with pytest.raises(Stopped):
        demo_extend(_ctx(engine))
    pauses.restore()
    houses = session.execute(select(House.house_id, House.community_id)).all()
    session.execute(
        insert(Person),
        [
            {
                "person_id": f"NEW{i:05d}",
                "name": "新来人",
                "gender": Gender.UNKNOWN,
                "residence_type": ResidenceType.FLOATING,
                "community_id": community_id,
                "house_id": house_id,
                "source": "test",
                "updated_at": datetime(2026, 1, 1),
            }
            for i, (house_id, community_id) in enumerate(houses)
        ],
    )
    session.commit()
    out = demo_extend(_ctx(engine))
    session.expire_all()
    demo_visits = select(Visit.id).where(Visit.source == "demo")
    assert session.scalar(select(func.count()).select_from(demo_visits.subquery())) == 300
    seen = session.scalar(
        select(func.count())
        .select_from(VisitResident)
        .where(VisitResident.visit_id.in_(demo_visits))
    )
    assert seen == out["people_seen"]
    assert (
        session.scalar(
            select(func.count()).select_from(VisitResident).where(VisitResident.name == "新来人")
        )
        > 0
    )  # every visit after the change sees the newcomer


def test_a_visit_recorded_during_the_fill_takes_an_id_after_the_demo(
    engine, session, demo_registry, monkeypatch
):
    """The demo writes its visits highest ids first, so an officer's visit recorded while it
    fills takes the next id after the demo's (on SQLite as on PostgreSQL) and the demo
    completes with its own ids."""
    from fangcang.visits import record_visit

    _small(monkeypatch)
    pauses = Pauses(monkeypatch)
    recorded: list[int] = []

    def pause(s, n):
        pauses.real(s)
        if n == 1:  # the first chunk (the highest ids) on file
            with Session(engine) as u:
                v, _ = record_visit(
                    u,
                    D,
                    house_id="H00007",
                    visited_at=WHEN,
                    recorded_by="officer",
                    observed_use=HouseUse.SELF_OCCUPIED,
                )
                u.commit()
                recorded.append(v.id)

    pauses.hook(pause)
    out = demo_extend(_ctx(engine))
    assert recorded == [301] and out["visits"] == 300
    ids = session.scalars(
        select(Visit.id).where(Visit.source == visits_demo.DEMO_SOURCE).order_by(Visit.id)
    ).all()
    assert ids == list(range(1, 301))


def test_a_discrepancy_a_supervisor_decides_during_the_fill_is_left_as_decided(
    engine, session, demo_registry, monkeypatch
):
    """Once the demo's discrepancies are on file a supervisor may decide one before the demo
    does: the demo leaves that decision as it is and completes."""
    from fangcang.visits import dismiss

    _small(monkeypatch)
    pauses = Pauses(monkeypatch)
    planned, taken = [], []
    real_decisions = visits_demo._decisions
    monkeypatch.setattr(
        visits_demo, "_decisions", lambda *a: planned.extend(real_decisions(*a)) or planned
    )

    def pause(s, n):
        pauses.real(s)
        if planned and not taken:  # the first chunk decided: the supervisor takes the last
            last = planned[-1].discrepancy_id
            with Session(engine) as u:
                dismiss(u, D, last, actor="supervisor", reason="已核实")
                u.commit()
            taken.append(last)

    pauses.hook(pause)
    out = demo_extend(_ctx(engine))
    assert taken and sum(out["decided"].values()) > 0
    d = session.get(Discrepancy, taken[0])
    assert (d.decided_by, d.reason) == ("supervisor", "已核实")
    assert _stage(engine) == "done"


def test_reconcile_with_pause_writes_after_another_connection_committed(sqlite_engine, monkeypatch):
    """SQLite: a batch whose reads opened a transaction (the one-pass birth candidates go
    through a temporary table) writes in a transaction of its own, so a commit by another
    connection meanwhile (a sign-in) does not fail its first write ("database is locked"
    at once: the transaction's snapshot is stale)."""
    with Session(sqlite_engine) as s:
        visit_registry(s)
    monkeypatch.setitem(visits_demo.MAX_DECISIONS, "small", 0)
    monkeypatch.setattr(builder, "WRITE_GAP_SECONDS", 0.0)
    monkeypatch.setattr(reconcile_module, "BATCH", 100)
    monkeypatch.setattr(matching, "SCAN_PAIRS", 1)
    monkeypatch.setattr(reconcile_module, "SCAN_PAIRS", 1)
    real = matching.people_by_birth_initial
    others = []

    def meanwhile(s, pairs):
        out = real(s, pairs)
        with Session(sqlite_engine) as u:  # another connection commits a write
            db.set_meta(u, "signed_in", str(len(others)))
            u.commit()
        others.append(1)
        return out

    monkeypatch.setattr(reconcile_module, "people_by_birth_initial", meanwhile)
    out = demo_extend(_ctx(sqlite_engine))
    assert others and out["discrepancies"] > 0
    with Session(sqlite_engine) as s:
        assert s.scalar(select(func.count()).where(Visit.reconciled_at.is_(None))) == 0


def test_no_automatic_checkpoint_at_the_demos_commits(sqlite_engine, monkeypatch):
    """SQLite: the demo's commits do not checkpoint the WAL themselves (that copy would hold
    the write lock; ``let_writers_in`` checkpoints in its gap); the connection's setting is
    back afterwards, also when the fill is interrupted."""
    with Session(sqlite_engine) as s:
        visit_registry(s)
    _small(monkeypatch)
    pauses = Pauses(monkeypatch)
    seen = []

    def autocheckpoint(s) -> int:
        return s.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar()

    def pause(s, n):
        seen.append(autocheckpoint(s))
        if n == 3:
            raise Stopped
        pauses.real(s)

    pauses.hook(pause)
    with pytest.raises(Stopped):
        demo_extend(_ctx(sqlite_engine))
    pauses.hook(lambda s, n: (seen.append(autocheckpoint(s)), pauses.real(s)))
    demo_extend(_ctx(sqlite_engine))
    assert len(seen) > 10 and set(seen) == {0}
    with Session(sqlite_engine) as s:
        assert autocheckpoint(s) == 1000


def test_a_visit_recorded_while_the_demo_generates_moves_the_demos_ids(
    engine, session, demo_registry, monkeypatch
):
    """An officer's visit recorded while the demo generates (before it writes anything) takes
    the id the generation planned for itself; the demo moves its ids past it and completes
    (it failed on the duplicate id, and so did every rerun), the officer's visit intact."""
    from fangcang.visits import record_visit

    _small(monkeypatch)
    real_write, recorded = visits_demo._write, []

    def write(s, made, *args):
        with Session(engine) as u:
            for house in ("H00007", "H00008"):
                v, _ = record_visit(
                    u,
                    D,
                    house_id=house,
                    visited_at=WHEN,
                    recorded_by="officer",
                    observed_use=HouseUse.SELF_OCCUPIED,
                    residents=[matching.Observed("张伟芳", None, "13900000001", None)],
                )
                u.commit()
                recorded.append(v.id)
        return real_write(s, made, *args)

    monkeypatch.setattr(visits_demo, "_write", write)
    out = demo_extend(_ctx(engine))
    assert recorded == [1, 2] and out["visits"] == 300
    session.expire_all()
    ids = session.scalars(
        select(Visit.id).where(Visit.source == visits_demo.DEMO_SOURCE).order_by(Visit.id)
    ).all()
    assert ids == list(range(3, 303))
    officer = session.scalars(select(Visit).where(Visit.recorded_by == "officer")).all()
    assert [v.house_id for v in officer] == ["H00007", "H00008"]
    seen = session.scalars(select(VisitResident.visit_id).order_by(VisitResident.id)).all()
    assert seen[:2] == [1, 2] and min(seen[2:]) >= 3  # the demo's people seen on its visits
    assert (
        session.scalar(select(func.count()).select_from(Visit).where(Visit.reconciled_at.is_(None)))
        == 0
    )
    monkeypatch.setattr(visits_demo, "_write", real_write)
    assert demo_extend(_ctx(engine))["visits"] == 300  # complete: a rerun writes nothing
