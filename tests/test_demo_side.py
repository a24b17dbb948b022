"""Side extensions (fangcang.demo.side): work run in a process of its own beside the build's
extensions, ahead of the extension that would otherwise do it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from support import table_rows

from fangcang import db, demo
from fangcang.demo import DemoContext, SideExtension, builder
from fangcang.demo import side as side_module
from fangcang.demo.lockfiles import held
from fangcang.demo.side import Side, exclusive, lock_path
from fangcang.timeutil import Month

UNTIL = Month(2026, 10)
ROOT = Path(__file__).resolve().parents[1]
CHILD = "tests.side_child"


def _use(monkeypatch, side: str) -> None:
    monkeypatch.setattr(demo, "EXTENSIONS", [f"{CHILD}:first", f"{CHILD}:second"])
    monkeypatch.setattr(
        demo,
        "SIDE_EXTENSIONS",
        [SideExtension(f"{CHILD}:{side}", after=f"{CHILD}:first", before=f"{CHILD}:second")],
    )


def _run(engine) -> dict:
    """The build's extensions as ``demo.build`` runs them; their counts and ``seconds``."""
    seconds: dict[str, float] = {}
    ctx = DemoContext(engine, "small", 3, UNTIL)
    out = builder._run_recorded(ctx, list(demo.EXTENSIONS), seconds, None)
    return out | {"seconds": seconds}


def test_a_side_runs_in_another_process_before_the_extension_that_waits_for_it(engine, monkeypatch):
    _use(monkeypatch, "ahead")
    out = _run(engine)
    side = f"{CHILD}:ahead"
    assert out[f"{CHILD}:second"] == {"found_done": True}  # the side ended before it began
    assert out[side]["ahead"] == 1 and out[side]["pid"] != os.getpid()
    assert out["seconds"][side] > 0
    with Session(engine) as s:
        assert db.get_meta(s, "side_pid") == str(out[side]["pid"])
        # The side is not an extension of its own: a resumed build never waits for it.
        assert db.get_meta(s, builder.DONE_META).splitlines() == demo.EXTENSIONS
        assert db.get_meta(s, builder.BUILD_META) == "done"


def test_a_side_that_fails_leaves_its_work_to_the_next_extension(sqlite_engine, monkeypatch):
    _use(monkeypatch, "failing")
    out = _run(sqlite_engine)
    assert out[f"{CHILD}:failing"] == {"failed": True}
    assert out[f"{CHILD}:second"] == {"found_done": False}  # it did the work itself
    with Session(sqlite_engine) as s:
        assert db.get_meta(s, builder.BUILD_META) == "done"


def test_an_in_memory_database_runs_no_side(monkeypatch):
    engine = db.make_engine("sqlite://")
    assert lock_path(engine) is None
    assert lock_path(db.make_engine("postgresql://u:p@localhost/x")) is not None
    db.upgrade(engine)
    _use(monkeypatch, "ahead")
    out = _run(engine)
    assert f"{CHILD}:ahead" not in out and out[f"{CHILD}:second"] == {"found_done": False}


def test_a_failed_build_ends_its_side(sqlite_engine, monkeypatch):
    monkeypatch.setattr(
        demo, "EXTENSIONS", [f"{CHILD}:first", f"{CHILD}:failing", f"{CHILD}:second"]
    )
    monkeypatch.setattr(
        demo,
        "SIDE_EXTENSIONS",
        [SideExtension(f"{CHILD}:sleepy", after=f"{CHILD}:first", before=f"{CHILD}:second")],
    )
    started: list[Side] = []
    real_start = Side.start

    def start(self):
        started.append(self)
        return real_start(self)

    monkeypatch.setattr(Side, "start", start)
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match="on purpose"):
        _run(sqlite_engine)
    assert len(started) == 1 and started[0].proc.poll() is not None  # terminated, not waited
    assert time.monotonic() - t0 < 30


def test_a_side_that_writes_anything_to_stdout_is_still_read_to_its_result(
    sqlite_engine, monkeypatch
):
    _use(monkeypatch, "noisy")
    # a reader that died would leave the child blocked on a full pipe until it fell silent
    monkeypatch.setattr(side_module, "SILENT_S", 30.0)
    out = _run(sqlite_engine)
    assert out[f"{CHILD}:noisy"] == {"noisy": 1}


class _Interrupted(Exception):
    pass


def test_a_build_interrupted_while_it_waits_for_its_side_ends_the_side(sqlite_engine, monkeypatch):
    _use(monkeypatch, "sleepy")
    started: list[Side] = []
    real_start = Side.start

    def start(self):
        started.append(self)
        return real_start(self)

    def progress(fraction: float, message: str) -> None:
        if message == f"{CHILD}:sleepy":  # the wait reports the side's entry
            raise _Interrupted

    monkeypatch.setattr(Side, "start", start)
    ctx = DemoContext(sqlite_engine, "small", 3, UNTIL, progress)
    with pytest.raises(_Interrupted):
        builder._run_recorded(ctx, list(demo.EXTENSIONS), {}, None)
    assert len(started) == 1 and started[0].proc.poll() is not None


def test_the_extension_a_side_works_for_waits_for_any_side_still_running(
    sqlite_engine, monkeypatch
):
    """A side left running (by a build that was killed) holds the side lock until it ends:
    the extension it works for does not begin before, so two never do the same work."""
    _use(monkeypatch, "sleepy")
    side = Side(f"{CHILD}:sleepy", DemoContext(sqlite_engine, "small", 3, UNTIL))
    assert side.start()
    path = lock_path(sqlite_engine)
    deadline = time.monotonic() + 30
    while not held(path):  # the child takes it as it starts
        assert time.monotonic() < deadline
        time.sleep(0.1)
    entered = []

    def second():
        with exclusive(sqlite_engine):
            entered.append(time.monotonic())

    import threading

    t = threading.Thread(target=second)
    t.start()
    time.sleep(1.0)
    assert not entered
    stopped = time.monotonic()
    side.stop()
    t.join(timeout=10)
    assert entered and entered[0] >= stopped


def test_a_side_declared_to_end_before_it_starts_is_an_error(sqlite_engine, monkeypatch):
    monkeypatch.setattr(demo, "EXTENSIONS", [f"{CHILD}:first", f"{CHILD}:second"])
    monkeypatch.setattr(
        demo,
        "SIDE_EXTENSIONS",
        [SideExtension(f"{CHILD}:ahead", after=f"{CHILD}:second", before=f"{CHILD}:first")],
    )
    with pytest.raises(ValueError, match="runs before"):
        _run(sqlite_engine)


@pytest.mark.filterwarnings("ignore:Selection of the SingletonThreadPool")
def test_the_child_gets_the_file_sqlite_opened_whatever_its_working_folder(tmp_path, monkeypatch):
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    engine = db.make_engine("sqlite:///relative.db")
    url, lock = side_module._target(engine)
    assert url == f"sqlite:///{tmp_path / 'here' / 'relative.db'}"
    assert lock == tmp_path / "here" / "relative.db.side.lock"
    shared = db.make_engine("sqlite:///file:shared?mode=memory&cache=shared&uri=true")
    assert lock_path(shared) is None


def test_a_side_ends_itself_when_its_build_has_gone(tmp_path):
    env = dict(os.environ, FANGCANG_DB_URL=f"sqlite:///{tmp_path / 'x.db'}", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "fangcang.demo.side", f"{CHILD}:sleepy"]
    cmd += ["--scale", "small", "--seed", "1", "--until", str(UNTIL), "--parent", "999999999"]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, timeout=40)
    assert proc.returncode == 3 and time.monotonic() - t0 < 30


def test_the_demo_with_its_side_writes_the_rows_of_a_build_without_it(tmp_path, monkeypatch):
    """The visits reconciled beside the warning runs, tasks, bulletins and the alcohol story
    (``fangcang.visits.demo_reconcile`` in a child) leave every table as a build that
    reconciles them in ``fangcang.visits.demo_extend``."""
    from fangcang.models.base import Base

    def build(name: str):
        engine = db.make_engine(f"sqlite:///{tmp_path / name}")
        result = demo.build(engine, scale="small", seed=3, until=UNTIL)
        return engine, result

    beside, with_side = build("side.db")
    assert with_side["extensions"]["fangcang.visits:demo_reconcile"]["reconciled"] > 300
    monkeypatch.setattr(demo, "SIDE_EXTENSIONS", [])
    alone, without = build("alone.db")
    assert "fangcang.visits:demo_reconcile" not in without["extensions"]
    key = "fangcang.visits:demo_extend"
    assert {k: v for k, v in with_side["extensions"][key].items() if k != "reconcile_seconds"} == {
        k: v for k, v in without["extensions"][key].items() if k != "reconcile_seconds"
    }
    # Clocks differ by nature: the urgent instructions run up to the time of the build (a few
    # open "now" for the live board), and with them their acceptance and feedback.
    volatile = {
        "cycle_key",
        "dispatched_at",
        "deadline",
        "accepted_at",
        "fed_back_at",
        "evaluated_at",
    }
    with beside.connect() as a, alone.connect() as b:
        for name in (
            "visits",
            "visit_residents",
            "discrepancies",
            "registry_changes",
            "people",
            "houses",
            "warning_results",
            "factor_checks",
            "task_items",
        ):
            skip = {c.name for c in Base.metadata.tables[name].columns if c.name in volatile}
            assert table_rows(a, name, skip) == table_rows(b, name, skip), name
