"""First start: the demo build runs in a child process (``fangcang.demo.background``) started
once per database by the server (``ui.firststart``); its progress, readiness and failures
cross the process boundary through the status file; a dead child is detected and started
again; a server stopped while filling finishes on its next start.

The children run the entries in ``tests/firststart_child.py`` (the small demo, a gate for the
filling phase, a failure, a sleeper)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from fangcang import db
from fangcang.demo import background, builder

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
CHILD = "tests.firststart_child"
RAW_ID, RAW_PHONE = "330302199001011234", "13800138000"


def _wait(predicate, seconds: float = 300, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _builds(log: Path) -> list[list[str]]:
    return [line.split() for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def child_env(tmp_path, monkeypatch):
    """Gate and log files for the children; a fresh supervisor and status per test."""
    from ui import firststart

    gate, log = tmp_path / "gate", tmp_path / "builds.log"
    monkeypatch.setenv("FANGCANG_TEST_FILL_GATE", str(gate))
    monkeypatch.setenv("FANGCANG_TEST_BUILD_LOG", str(log))
    monkeypatch.setenv("FANGCANG_DEMO_SCALE", "small")
    firststart._supervisor.clear()
    started: list[int] = []
    real_start = background.start

    def start(*args, **kwargs):
        child = real_start(*args, **kwargs)
        if child is not None:
            started.append(child.pid)
        return child

    monkeypatch.setattr(background, "start", start)
    yield {"gate": gate, "log": log, "started": started}
    gate.touch()  # no child waits past the test
    for pid in started:  # and none outlives it
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    firststart._supervisor.clear()


@pytest.fixture
def fresh_status(engine):
    """``engine`` with no status file left by an earlier test (PostgreSQL reuses a database)."""
    for path in background.paths(_url(engine)):
        path.unlink(missing_ok=True)
    return engine


# ---------------------------------------------------------------------------------------------
# The process protocol (no Streamlit)
# ---------------------------------------------------------------------------------------------
def test_one_child_per_database_and_a_dead_one_is_detected(fresh_status, child_env):
    url = _url(fresh_status)
    first = background.start(url, "build", scale="small", entry=f"{CHILD}:sleeping_build")
    assert first is not None
    assert background.start(url, "build", scale="small", entry=f"{CHILD}:sleeping_build") is None
    _wait(lambda: background.status(url).step == "import", 60, "the child's first report")
    s = background.status(url)
    assert s.running and not s.dead and s.state == "building" and not s.usable
    assert (s.pid, s.server_pid, s.kind, s.scale) == (first.pid, os.getpid(), "build", "small")
    assert s.fraction == pytest.approx(0.3)
    # The reader computes the elapsed time from the recorded start: it moves while the child
    # writes nothing (the sleeper is silent now).
    before = s.elapsed()
    time.sleep(1.1)
    again = background.status(url)
    assert again.updated == s.updated and again.elapsed() >= before + 1.0
    assert [b[0] for b in _builds(child_env["log"])] == ["build"]

    os.kill(first.pid, signal.SIGKILL)  # out of memory, killed by hand: it says nothing
    first.wait(10)
    dead = background.status(url)
    assert dead.dead and not dead.running and dead.state == "building"
    second = background.start(url, "build", scale="small", entry=f"{CHILD}:sleeping_build")
    assert second is not None and second.pid != first.pid  # the lock did not outlive the child
    second.kill()
    second.wait(10)


def test_a_failure_is_recorded_masked_and_logged(sqlite_engine, child_env, capfd):
    url = _url(sqlite_engine)
    child = background.start(url, "build", scale="small", entry=f"{CHILD}:failing_build")
    assert child.wait(60) == 1
    s = background.status(url)
    assert s.state == "failed" and not s.running and not s.dead
    assert s.error.startswith("ValueError: people.csv row 7")
    assert RAW_ID not in s.error and RAW_PHONE not in s.error
    assert "330302********1234" in s.error and "138****8000" in s.error
    assert s.ref.startswith("B-")
    status_text = background.paths(url)[0].read_text(encoding="utf-8")
    assert RAW_ID not in status_text and RAW_PHONE not in status_text
    err = capfd.readouterr().err  # the child's log goes to the server's standard error
    assert f"the demo build failed, reference {s.ref}" in err
    assert "Traceback" in err and RAW_ID not in err and RAW_PHONE not in err


def test_the_child_stops_when_its_server_goes(sqlite_engine, child_env):
    """A server that stops (or is killed) takes its build with it; the next start finishes."""
    url = _url(sqlite_engine)
    server = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from fangcang.demo import background as b; "
            f"c = b.start(sys.argv[1], 'build', scale='small', entry='{CHILD}:sleeping_build');"
            "print(c.pid)",
            url,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    pid = int(server.stdout.split()[-1])
    child_env["started"].append(pid)
    _wait(lambda: not background.status(url).running, 30, "the orphaned child to stop")
    assert background.status(url).state == "stopped"


def test_a_failure_or_dying_children_are_final_for_every_running_server(
    tmp_path, child_env, monkeypatch
):
    """With two server processes on one database, neither retries what the other recorded
    since it started (each retry a full build, for ever); a server started later does."""
    from ui import firststart

    url = f"sqlite:///{tmp_path / 'shared.db'}"
    status_path = background.paths(url)[0]
    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(
        background, "start", lambda u, kind, **kw: calls.append((kind, kw["restarts"]))
    )
    monkeypatch.setattr(firststart.Supervisor, "_work_left", lambda self, engine: "build")
    other, now = os.getpid() + 100000, time.time()  # another server's child and server
    failed = {"state": "failed", "pid": other, "server_pid": other, "error": "ValueError: x"}
    background._write(status_path, {**failed, "started": now, "updated": now, "ref": "B-1"})
    sup = firststart.Supervisor(url)
    assert sup.check(None).state == "failed" and calls == []  # not this server's: still final
    monkeypatch.setattr(firststart, "SERVER_STARTED", now + 1)  # a server started after it
    sup.check(None)
    assert calls == [("build", 0)]

    monkeypatch.setattr(firststart, "SERVER_STARTED", now - 1)
    dead = {"state": "building", "pid": other, "server_pid": other, "started": now}
    background._write(status_path, {**dead, "restarts": 1})  # died under the other server
    calls.clear()
    sup.check(None)
    assert calls == [("build", 2)]  # counted per database
    background._write(status_path, {**dead, "restarts": firststart.RESTARTS})
    s = sup.check(None)
    assert s.dead and calls == [("build", 2)] and firststart._final(s)
    monkeypatch.setattr(firststart, "SERVER_STARTED", now + 1)  # the next start tries again
    sup.check(None)
    assert calls == [("build", 2), ("build", 0)]


def test_a_build_asked_for_on_a_built_database_does_not_build_again(
    fresh_status, child_env, monkeypatch
):
    """Another server's child built the database between this server's look and its lock:
    the child decides again under the lock (done at once, or the extensions left)."""
    from tests.conftest import Factory

    with Session(fresh_status) as s:
        Factory(s).community(name="沿江社区")
        db.set_meta(s, "demo", "lucheng")
        db.set_meta(s, builder.BUILD_META, "done")
        s.commit()
    url = _url(fresh_status)
    child = background.start(url, "build", scale="small", entry=f"{CHILD}:small_build")
    assert child.wait(60) == 0
    s = background.status(url)
    assert (s.state, s.fraction, s.kind) == ("done", 1.0, "build")
    assert _builds(child_env["log"]) == []  # no build on the filled database

    with Session(fresh_status) as s:  # stopped while filling (after the accounts)
        db.set_meta(s, builder.BUILD_META, "filling")
        db.set_meta(s, builder.DONE_META, builder.ACCOUNTS_EXTENSION)
        s.commit()
    monkeypatch.setattr(background, "FINISH_ENTRY", f"{CHILD}:small_finish")
    child_env["gate"].touch()
    child = background.start(url, "build", scale="small", entry=f"{CHILD}:small_build")
    assert child.wait(60) == 0
    assert [b[0] for b in _builds(child_env["log"])] == ["finish"]
    s = background.status(url)
    assert (s.state, s.kind) == ("done", "finish")
    assert builder.build_state(fresh_status) == "done"


def test_relative_paths_mean_the_same_files_in_the_child(tmp_path, child_env, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FANGCANG_TEMP_DIR", "private-tmp")
    child = background.start(
        "sqlite:///rel.db", "build", scale="small", entry=f"{CHILD}:where_build"
    )
    assert child.wait(60) == 0
    base = tmp_path.resolve()
    assert _builds(child_env["log"]) == [
        ["where", str(base / "rel.db"), str(base / "private-tmp"), "small", str(child.pid)]
    ]
    assert background.status("sqlite:///rel.db").state == "done"


def test_reporter_steps_and_fraction(tmp_path):
    path = tmp_path / "status.json"
    r = background.Reporter(path, {"state": "building", "fraction": 0.0, "step": "generate"})
    r.progress(0.05, "generate: geography")
    r.progress(0.3, "import: people")
    assert json.loads(path.read_text())["step"] == "import"  # a new step is written at once
    r.progress(0.2, "import: places")  # never backwards
    r.progress(0.61, "extensions: fangcang.scoring:demo_extend")
    r.progress(0.62, "extensions: scoring: month 2026-01")  # a message inside the step
    data = json.loads(path.read_text())
    assert data["step"] == "fangcang.scoring:demo_extend"
    r.progress(0.7, "fangcang.tasks:demo_extend")  # finish_extensions names the entry alone
    r.ready()  # (in the real build, after the accounts: see below)
    data = json.loads(path.read_text())
    assert (data["state"], data["step"], data["fraction"]) == (
        "filling",
        "fangcang.tasks:demo_extend",
        0.7,
    )
    r.progress(0.72, f"extensions: {builder.ACCOUNTS_EXTENSION}")
    r.ready()  # the accounts are done: "further demo data" until the next extension starts
    assert json.loads(path.read_text())["step"] == ""


def test_finish_extensions_is_ready_once_the_accounts_are_in(engine, monkeypatch):
    from fangcang import demo

    accounts = f"{__name__}:fake_accounts"
    monkeypatch.setattr(builder, "ACCOUNTS_EXTENSION", accounts)
    monkeypatch.setattr(demo, "EXTENSIONS", [accounts, f"{__name__}:noop"])
    with Session(engine) as s:
        db.set_meta(s, builder.BUILD_META, "filling")
        db.set_meta(s, builder.DONE_META, "")
        s.commit()
    assert not builder.accounts_in(engine)
    RAN.clear()
    ready = []
    builder.finish_extensions(engine, ready=lambda: ready.append(list(RAN)))
    assert ready == [["accounts"]]  # after the accounts, before the next extension
    assert RAN == ["accounts", "noop"] and builder.accounts_in(engine)
    assert builder.build_state(engine) == "done"
    ready.clear()  # an interrupted build that had its accounts: ready at once
    with Session(engine) as s:
        db.set_meta(s, builder.BUILD_META, "filling")
        db.set_meta(s, builder.DONE_META, accounts)
        s.commit()
    RAN.clear()
    builder.finish_extensions(engine, ready=lambda: ready.append(list(RAN)))
    assert ready == [[]] and RAN == ["noop"]


RAN: list[str] = []


def fake_accounts(ctx) -> dict:
    RAN.append("accounts")
    return {}


def noop(ctx) -> dict:
    RAN.append("noop")
    return {}


# ---------------------------------------------------------------------------------------------
# The app (AppTest): progress page, sign-in at the ready point, sidebar while filling
# ---------------------------------------------------------------------------------------------
def _titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def _signin(at: AppTest) -> bool:
    return any(b.label == "登录" for b in at.button)


def test_first_start_builds_in_a_child_and_opens_before_filling(
    fresh_status, child_env, monkeypatch
):
    url = _url(fresh_status)
    monkeypatch.setenv("FANGCANG_DB_URL", url)
    monkeypatch.setattr(background, "BUILD_ENTRY", f"{CHILD}:small_build")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # The build runs in a child process: this run returns at once with the progress page.
    assert _titles(at) == ["首次启动：正在生成鹿城区演示数据…"]
    # The size said is the scale being built (FANGCANG_DEMO_SCALE=small here).
    assert "小规模试用数据，约1.3万条记录" in at.caption[0].value, at.caption[0].value
    second = AppTest.from_file(APP, default_timeout=120)  # a second visitor meanwhile
    second.session_state["lang"] = "en"
    second.run()
    assert _titles(second) == ["First start: building the Lucheng demo district ..."]
    assert "about 13,000 records" in second.caption[0].value
    bar = second.get("progress")[0]
    assert "s so far" in bar.proto.text, bar.proto.text

    _wait(lambda: (at.run(), _signin(at))[1], what="the sign-in page")
    assert len(child_env["started"]) == 1
    assert _builds(child_env["log"]) == [["build", "small", str(child_env["started"][0])]]
    with Session(fresh_status) as s:
        from fangcang.models import Community

        assert s.scalar(select(func.count()).select_from(Community)) == 120
        assert db.get_meta(s, "demo") == "lucheng"
        assert db.get_meta(s, builder.BUILD_META) == "filling"  # usable before the rest
    bars = [p.proto.text for p in at.sidebar.get("progress")]
    assert bars and bars[0].startswith("演示数据补充中 · 补充其他演示数据"), bars
    assert background.status(url).state == "filling"

    child_env["gate"].touch()
    _wait(lambda: background.status(url).state == "done", 120, "the filling extensions")
    assert builder.build_state(fresh_status) == "done"
    _wait(lambda: not background.status(url).running, 30, "the child to end")
    at.run()  # the sidebar sees the end and hands over to the hot path
    third = AppTest.from_file(APP, default_timeout=120)
    third.run()
    assert not third.exception and _signin(third)
    assert not third.sidebar.get("progress")
    assert len(child_env["started"]) == 1  # a filled database is not built again


def test_a_failed_build_is_shown_with_its_reason(sqlite_engine, child_env, monkeypatch):
    monkeypatch.setenv("FANGCANG_DB_URL", _url(sqlite_engine))
    monkeypatch.setattr(background, "BUILD_ENTRY", f"{CHILD}:failing_build")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    _wait(lambda: (at.run(), at.error)[1], 60, "the failure on the progress page")
    text = at.error[0].value
    assert text.startswith("演示数据生成失败：ValueError: people.csv row 7"), text
    assert "日志编号 B-" in text and RAW_ID not in text and RAW_PHONE not in text
    at.run()
    assert at.error and len(child_env["started"]) == 1  # shown, not retried by this server


def test_a_dead_child_is_started_again_then_reported(sqlite_engine, child_env, monkeypatch):
    from ui import firststart

    url = _url(sqlite_engine)
    monkeypatch.setenv("FANGCANG_DB_URL", url)
    monkeypatch.setattr(background, "BUILD_ENTRY", f"{CHILD}:sleeping_build")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    for n in range(1, firststart.RESTARTS + 2):
        assert len(child_env["started"]) == n
        pid = child_env["started"][-1]
        _wait(lambda p=pid: background.status(url).pid == p, 60, "the child's first report")
        os.kill(pid, signal.SIGKILL)
        _wait(lambda: not background.status(url).running, 30, "the lock to be released")
        at.run()
        assert not at.exception
    assert len(child_env["started"]) == firststart.RESTARTS + 1
    errors = [e.value for e in at.error]
    assert errors and errors[0].startswith("演示数据生成进程意外退出（退出码 -9）"), errors


def test_a_server_stopped_while_filling_finishes_on_its_next_start(
    fresh_status, child_env, monkeypatch
):
    from tests.conftest import Factory

    with Session(fresh_status) as s:  # the base and the accounts are in, the rest is not
        Factory(s).community(name="沿江社区")
        db.set_meta(s, "demo", "lucheng")
        db.set_meta(s, "demo_scale", "small")
        db.set_meta(s, builder.BUILD_META, "filling")
        db.set_meta(s, builder.DONE_META, builder.ACCOUNTS_EXTENSION)
        s.commit()
    url = _url(fresh_status)
    monkeypatch.setenv("FANGCANG_DB_URL", url)
    monkeypatch.setattr(background, "FINISH_ENTRY", f"{CHILD}:small_finish")
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception and _signin(at)  # usable at once
    _wait(lambda: background.status(url).step == f"{CHILD}:gated_fill", 60, "the filling step")
    assert [b[0] for b in _builds(child_env["log"])] == ["finish"]
    at.run()
    bars = [p.proto.text for p in at.sidebar.get("progress")]
    assert bars and bars[0].startswith("演示数据补充中 · 补充其他演示数据"), bars
    child_env["gate"].touch()
    _wait(lambda: builder.build_state(fresh_status) == "done", 60, "the finish")
    assert len(child_env["started"]) == 1
