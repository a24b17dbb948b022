"""The first-start demo build in a child process: started once per database, its progress read
across the process boundary, a dead child detected.

The dashboard's server process (``ui.firststart``) must stay responsive while the demo is
built: the build's long pure-Python steps would hold the server's GIL if they ran in one of its
threads (pages then answered in minutes). So the server calls :func:`start`, which runs
``python -m fangcang.demo.background`` at low priority (``os.nice``), and every browser session
reads :func:`status`.

Two small files per database (next to a SQLite file, ``<db>.build.lock`` and
``<db>.build.json``; for a server database in the private temp folder, named by a hash of the
URL without its password):

- the **lock file** is locked (``flock``) by :func:`start` and handed to the child, which holds
  it for its whole life. The kernel releases it when the child ends, however it ends, so a
  child that died (killed, out of memory) never blocks a new build: a status that says
  ``building`` or ``filling`` with the lock free is a dead child (``Status.dead``). Exactly one
  build per database runs at a time on one machine, whatever the number of sessions, reruns
  or server processes.
- the **status file** (JSON, replaced atomically) holds the state, fraction, current step,
  start time (wall clock), the child's and the server's pid, and on failure the reason (masked:
  ``fangcang.privacy.mask_text``) with a reference that the log line carries too, and how
  many times in a row a dead child was started again (``restarts``: per database, whichever
  server started it). Readers compute the elapsed time from the recorded start, so a counter
  on screen moves even while the child is busy.

The child decides its work again once it holds the lock (:func:`work_left`): a server decides
before it locks, and another server's child may have built the database in between. A build
asked for on a database that is built already finishes an interrupted build's extensions
instead, or ends ``done`` at once. The child runs in the server's working folder (with the
repository on ``PYTHONPATH``), so a relative SQLite URL or ``FANGCANG_TEMP_DIR`` means the same
file in both.

States: ``starting`` (written by the server before the child runs), ``building`` (generate and
import), ``filling`` (the base records and the accounts are in: the dashboard is usable; the
other extensions run), ``done``, ``failed`` (an exception in the child), ``stopped`` (the child
was interrupted or its server went away: the next server start finishes the work).
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import importlib
import json
import logging
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import make_url

from .lockfiles import held, open_lock, private_file

log = logging.getLogger("fangcang.demo.background")  # by name: it runs as __main__ too

#: What the child runs: ``"module:function"`` taking ``(engine, *, scale, progress, ready)``.
BUILD_ENTRY = "fangcang.demo.background:build_demo"
FINISH_ENTRY = "fangcang.demo.background:finish_demo"
#: ``os.nice`` increment of the child: the server's page runs come first.
NICE = 10
#: The child writes its status at most this often (and at every change of state or step).
WRITE_EVERY_S = 0.5
#: How often the child checks that the server that started it is still there.
PARENT_CHECK_S = 2.0
#: States in which a child should be running (with the lock free: it died).
ACTIVE = ("starting", "building", "filling")

_ROOT = Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True)
class Status:
    """The build as the status file and the lock describe it."""

    state: str = "none"  # none, starting, building, filling, done, failed, stopped
    kind: str = ""  # build (everything) or finish (the extensions an earlier build left)
    fraction: float = 0.0
    step: str = ""  # generate, import, or the running extension ("module:function")
    message: str = ""  # the build's latest progress message
    started: float = 0.0  # wall-clock seconds (time.time()) when the server started it
    updated: float = 0.0
    pid: int = 0  # the child
    server_pid: int = 0  # the server process that started it
    scale: str = ""
    error: str = ""  # failed: the reason, masked
    ref: str = ""  # failed: the reference in the log line
    restarts: int = 0  # dead children started again in a row (for this database)
    running: bool = False  # a child holds the lock

    @property
    def usable(self) -> bool:
        """The base records and the accounts are in."""
        return self.state in ("filling", "done")

    @property
    def dead(self) -> bool:
        """The status says a child works, but none holds the lock: it ended without saying."""
        return not self.running and self.state in ACTIVE

    def elapsed(self, now: float | None = None) -> float:
        """Seconds since the build started (0 when it never did)."""
        if not self.started:
            return 0.0
        return max((time.time() if now is None else now) - self.started, 0.0)


def paths(url: str) -> tuple[Path, Path]:
    """``(status file, lock file)`` of the database at ``url``.

    Raises
    ------
    ValueError
        For an in-memory SQLite database (a child process cannot reach it).
    """
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        if not u.database or u.database == ":memory:" or u.database.startswith("file::memory"):
            raise ValueError("the demo build needs a database file, not an in-memory database")
        base = Path(u.database).resolve()
        return base.with_name(base.name + ".build.json"), base.with_name(base.name + ".build.lock")
    return private_file(u, "demo-build", ".json"), private_file(u, "demo-build", ".lock")


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:  # half-written by hand or a full disk: say so, go on
        log.warning("unreadable demo build status %s: %s", path, exc)
        return {}


def _write(path: Path, data: dict) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)  # readers see the old or the new file, never half of one


def status(url: str) -> Status:
    """The build of the database at ``url`` as the status file and the lock describe it."""
    status_path, lock_path = paths(url)
    data = _read(status_path)
    fields = {f.name for f in dataclasses.fields(Status)} - {"running"}
    known = {k: v for k, v in data.items() if k in fields}
    return Status(**known, running=held(lock_path))


def start(
    url: str, kind: str, *, scale: str, entry: str | None = None, restarts: int = 0
) -> subprocess.Popen | None:
    """Start the child that builds the demo (``kind="build"``) or finishes an interrupted
    build's extensions (``kind="finish"``) in the database at ``url``; ``restarts``: how many
    dead children in a row this one replaces (recorded in the status file).

    Returns
    -------
    subprocess.Popen or None
        The child; None when a build of this database is already running (its lock is held).

    Raises
    ------
    ValueError
        ``kind`` is not ``build`` or ``finish``.
    OSError
        The child could not be started (the status then says ``failed``, with the reason).
    """
    if kind not in ("build", "finish"):
        raise ValueError(f"kind must be 'build' or 'finish', got {kind!r}")
    entry = entry or (BUILD_ENTRY if kind == "build" else FINISH_ENTRY)
    status_path, lock_path = paths(url)
    fd = open_lock(lock_path)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        started = time.time()
        base = {
            "state": "starting",
            "kind": kind,
            "fraction": 0.0,
            "step": "generate" if kind == "build" else "",
            "message": "",
            "started": started,
            "updated": started,
            "pid": 0,
            "server_pid": os.getpid(),
            "scale": scale,
            "restarts": restarts,
        }
        _write(status_path, base)
        cmd = [sys.executable, "-m", "fangcang.demo.background", "--entry", entry]
        cmd += ["--kind", kind, "--scale", scale, "--status", str(status_path)]
        cmd += ["--lock-fd", str(fd), "--server-pid", str(os.getpid())]
        cmd += ["--started", repr(started), "--restarts", str(restarts)]
        cmd += ["--finish-entry", FINISH_ENTRY]
        env = dict(os.environ, FANGCANG_DB_URL=url)  # the URL (password) stays out of ps
        # The server's working folder: relative paths (a SQLite URL, FANGCANG_TEMP_DIR) mean
        # the same files in the child; the repository's packages come from PYTHONPATH.
        env["PYTHONPATH"] = os.pathsep.join(
            [str(_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        )
        try:
            child = subprocess.Popen(
                cmd, cwd=os.getcwd(), env=env, stdin=subprocess.DEVNULL, pass_fds=(fd,)
            )
        except OSError as exc:
            ref = reference()
            log.error("could not start the demo build process, reference %s", ref, exc_info=exc)
            _write(status_path, {**base, "state": "failed", "error": _reason(exc), "ref": ref})
            raise
        log.info("demo %s started in process %d (scale %s)", kind, child.pid, scale)
        return child
    finally:
        os.close(fd)  # the child's copy keeps the lock until it ends


def reference() -> str:
    """A short reference for a failure, shown to the user and written in the log line."""
    from ..timeutil import now_local

    return f"B-{now_local().strftime('%y%m%d%H%M')}-{secrets.token_hex(3)}"


def _reason(exc: BaseException) -> str:
    """What a user may read about ``exc``: its type and first line, masked, at most 300
    characters (the full traceback, masked too, is in the log)."""
    from ..privacy import mask_text

    first = (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return mask_text(text)[:300]


class Reporter:
    """The child's side: turns the build's ``progress(fraction, message)`` calls and its
    ``ready()`` point into status-file writes (throttled; forced on a change of state or
    step). Thread-safe: the parent watch writes through it too."""

    def __init__(self, path: Path, base: dict) -> None:
        self.path = path
        self.data = dict(base)
        self._last = 0.0
        self._lock = threading.Lock()

    def _save(self, force: bool) -> None:
        now = time.time()
        if force or now - self._last >= WRITE_EVERY_S:
            self.data["updated"] = now
            _write(self.path, self.data)
            self._last = now

    def update(self, force: bool = True, **changes) -> None:
        with self._lock:
            self.data.update(changes)
            self._save(force)

    def progress(self, fraction: float, message: str) -> None:
        from . import EXTENSIONS

        with self._lock:
            fraction = min(max(float(fraction), self.data.get("fraction", 0.0)), 1.0)
            head, _, rest = message.partition(":")
            head, rest = head.strip(), rest.strip()
            entry = rest if head == "extensions" else message.strip()
            step = self.data.get("step", "")
            if entry in EXTENSIONS:
                step = entry
            elif head in ("generate", "import"):
                step = head
            force = step != self.data.get("step")
            self.data.update(fraction=fraction, message=message[:200], step=step)
            self._save(force)

    def ready(self) -> None:
        """The base records and the accounts are in: the dashboard may open."""
        from .builder import ACCOUNTS_EXTENSION

        with self._lock:
            if self.data.get("step") == ACCOUNTS_EXTENSION:  # done: "further data" until next
                self.data["step"] = ""
            self.data["state"] = "filling"
            self._save(True)


def build_demo(engine, *, scale: str, progress, ready) -> dict:
    """The child's whole build (``fangcang.demo.build``)."""
    from . import build

    return build(engine, scale=scale, progress=progress, ready=ready)


def finish_demo(engine, *, scale: str, progress, ready) -> dict:
    """The child's finish of an interrupted build (``builder.finish_extensions``): usable
    (``ready``) as soon as the accounts are in, at once when they were."""
    from .builder import finish_extensions

    return finish_extensions(engine, progress=progress, ready=ready)


def work_left(engine) -> str | None:
    """The work the demo build has in the database: ``build`` (empty), ``finish`` (a demo
    build stopped while filling) or None (built, or not a database to build in)."""
    from sqlalchemy import func, inspect, select
    from sqlalchemy.orm import Session

    from .. import db
    from ..models import Community
    from .builder import BUILD_META

    if db.current_revision(engine) is None or not inspect(engine).has_table("communities"):
        return "build"
    with Session(engine) as session:
        if not session.scalar(select(func.count()).select_from(Community)):
            return "build"
        demo, state = db.get_meta(session, "demo"), db.get_meta(session, BUILD_META)
    return "finish" if demo and state == "filling" else None


def _resolve(entry: str):
    module_name, _, name = entry.partition(":")
    if not name:
        raise ValueError(f"entry {entry!r} must look like 'module:function'")
    return getattr(importlib.import_module(module_name), name)


def _watch_parent(server_pid: int, reporter: Reporter) -> None:
    """End the child when the server that started it has gone (stopped or killed): the next
    server start finishes the work, as after any interruption. A transaction in progress is
    rolled back by the database."""
    while True:
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != server_pid:
            log.warning("the server (process %d) has gone: the demo build stops", server_pid)
            try:
                reporter.update(state="stopped")
            finally:
                os._exit(3)


def main(argv: list[str] | None = None) -> int:
    """The child process: hold the lock, run the entry, record progress and the outcome."""
    ap = argparse.ArgumentParser(prog="python -m fangcang.demo.background")
    ap.add_argument("--entry", default=BUILD_ENTRY)
    ap.add_argument("--kind", choices=["build", "finish"], default="build")
    ap.add_argument("--scale", default="full")
    ap.add_argument("--status", required=True)
    ap.add_argument("--lock-fd", type=int, help="the locked lock file (from start())")
    ap.add_argument("--server-pid", type=int, default=0)
    ap.add_argument("--started", type=float, default=0.0)
    ap.add_argument("--restarts", type=int, default=0)
    ap.add_argument("--finish-entry", default=FINISH_ENTRY)
    args = ap.parse_args(argv)

    from .. import logsetup

    logsetup.configure()
    os.nice(NICE)
    if args.lock_fd is None:  # run by hand: take the lock here
        status_path = Path(args.status)
        args.lock_fd = open_lock(status_path.with_suffix(".lock"))
        try:
            fcntl.flock(args.lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("a demo build of this database is already running", file=sys.stderr)
            return 1
    reporter = Reporter(
        Path(args.status),
        {
            "state": "building",
            "kind": args.kind,
            "fraction": 0.0,
            "step": "generate" if args.kind == "build" else "",
            "message": "",
            "started": args.started or time.time(),
            "pid": os.getpid(),
            "server_pid": args.server_pid,
            "scale": args.scale,
            "error": "",
            "ref": "",
            "restarts": args.restarts,
        },
    )
    reporter.update()
    if args.server_pid:
        threading.Thread(
            target=_watch_parent, args=(args.server_pid, reporter), daemon=True, name="watch"
        ).start()
    from .. import db

    engine = db.make_engine()
    try:
        # Decided again under the lock: another server's child may have built the database
        # since this one's server looked.
        work = work_left(engine)
        if work is None:
            log.info("the demo %s has nothing to do: the database is built", args.kind)
            reporter.update(state="done", fraction=1.0, step="")
            return 0
        entry = args.entry
        if work == "finish" and args.kind == "build":
            log.info("the database was built meanwhile: the demo build finishes its extensions")
            entry, args.kind = args.finish_entry, "finish"
            reporter.update(kind="finish", step="")
        _resolve(entry)(engine, scale=args.scale, progress=reporter.progress, ready=reporter.ready)
    except Exception as exc:  # shown on the progress page with its reference; logged in full
        ref = reference()
        log.exception("the demo %s failed, reference %s", args.kind, ref)
        reporter.update(state="failed", error=_reason(exc), ref=ref)
        return 1
    except BaseException:  # interrupted (Ctrl-C at the server's terminal): finish next start
        log.warning("the demo %s was interrupted", args.kind)
        reporter.update(state="stopped")
        raise
    finally:
        engine.dispose()
    reporter.update(state="done", fraction=1.0)
    log.info("demo %s done", args.kind)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
