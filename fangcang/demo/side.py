"""Side extensions: demo work run in a process of its own, beside the main line of extensions.

The demo's extensions are mostly Python and run one after another on one core, while the
smallest machine we support has two. A side extension (``fangcang.demo.SIDE_EXTENSIONS``:
``entry``, ``after``, ``before``) starts in a child process as soon as the extension ``after``
has finished, and the extension ``before`` waits for it to end.

Rules a side extension keeps (they make the build's result independent of timing):

- it only does, ahead of time, work that ``before`` would otherwise do itself and skips
  when done: if the child cannot start (an in-memory database), fails or is killed,
  ``before`` does the rest and the build ends with the same rows (a warning is logged).
  One exception, on PostgreSQL only: rows a failed side had inserted and its rollback
  removed still used up values of their table's id sequence, so later ids have a gap;
- no extension that may run meanwhile reads or writes the tables it writes, nor writes the
  rows it reads. One shared row: the data version (``meta``), which the side bumps after each
  batch as every writer does; so the ``data_version`` a warning run records beside it depends
  on timing (nothing reads it back in the demo);
- it writes in short transactions between ``fangcang.demo.builder.let_writers_in`` pauses,
  as every extension does, so that the main line's writers and the dashboard's take turns.

Never two at once: the child takes an exclusive ``flock`` on the side lock file
(``lock_path``: next to a SQLite file, or in the private temp folder for a server database)
as it starts (after its imports, about 1.5 s after ``Popen``) and holds it to its end, and
before its first write; the build takes the same lock around ``before`` (``exclusive``). The
kernel releases it when the child ends, however it ends, so a child left behind by a build
that was killed (it ends itself within ``PARENT_CHECK_S`` once its parent is gone) is over
before a rerun's ``before`` begins. Needs ``fcntl`` (POSIX), as the first-start build does.

The child is ``python -m fangcang.demo.side`` with the database URL in its environment
(``FANGCANG_DB_URL``: a password stays out of the command line; the environment of a process
is readable by its own account only) and the context's scale, seed and month as arguments.
It writes one JSON line per progress step and a last line with its counts to stdout, read by
a thread of the parent; the parent ends it when the build fails or it falls silent for
``SILENT_S``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no side extensions (see ``lock_path``)
    fcntl = None

from .lockfiles import open_lock, private_file

log = logging.getLogger("fangcang.demo.side")  # by name: it runs as __main__ too

#: How often the child checks that the build that started it is still there.
PARENT_CHECK_S = 1.0
#: A child that writes no line for this long is taken for hung: ended, its work left to
#: ``before`` (a side reports progress at least once per short transaction).
SILENT_S = 300.0

_ROOT = Path(__file__).resolve().parents[2]


def _target(engine) -> tuple[str, Path] | None:
    """``(URL, lock file)`` for another process to open ``engine``'s database, or None when
    it cannot: an in-memory or temporary SQLite database, or no ``fcntl``. A SQLite URL names
    the file SQLite opened (absolute: the child's working folder does not matter)."""
    if fcntl is None:
        return None
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return url.render_as_string(hide_password=False), private_file(url, "demo-side", ".lock")
    from .. import writeturn

    database = url.database or ""
    if not database or database == ":memory:" or "mode=memory" in str(url):
        return None
    with engine.connect() as conn:
        path = writeturn.database_path(conn.connection.driver_connection)
    if not path:
        return None
    return url.set(database=path).render_as_string(hide_password=False), Path(path + ".side.lock")


def lock_path(engine) -> Path | None:
    """The side lock file of ``engine``'s database; None where no side can run (a child
    process cannot open an in-memory database; no ``fcntl``)."""
    target = _target(engine)
    return target[1] if target else None


def _take(path: Path) -> int:
    """Open and lock ``path`` exclusively, waiting (logged) for the holder to end."""
    fd = open_lock(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        log.info("waiting for a demo side extension to end (%s)", path.name)
        fcntl.flock(fd, fcntl.LOCK_EX)
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def exclusive(engine) -> Iterator[None]:
    """Hold the side lock of ``engine``'s database (nothing where no side can run): no side
    extension runs meanwhile, one left by an earlier build included."""
    path = lock_path(engine)
    if path is None:
        yield
        return
    fd = _take(path)
    try:
        yield
    finally:
        os.close(fd)


class Side:
    """One side extension's child process.

    Parameters
    ----------
    entry : str
        ``"module:function"`` taking a ``DemoContext``, as the extensions do.
    ctx : DemoContext
        The build's context (the child gets its database, scale, seed and month).
    """

    def __init__(self, entry: str, ctx) -> None:
        if ":" not in entry:
            raise ValueError(f"demo side extension {entry!r} must look like 'module:function'")
        self.entry, self.ctx = entry, ctx
        self.proc: subprocess.Popen | None = None
        self.fraction, self.message = 0.0, ""
        self.result: dict | None = None
        self.seconds = 0.0
        self.heard = 0.0  # time.monotonic() of the child's last line
        self._reader: threading.Thread | None = None

    def start(self) -> bool:
        """Start the child; False (logged) when it cannot run beside (see ``lock_path``) or
        could not be started: ``before`` then does the work."""
        ctx = self.ctx
        target = _target(ctx.engine)
        if target is None:
            log.info("%s runs inside its next extension: no side process here", self.entry)
            return False
        url, lock = target
        env = dict(os.environ, FANGCANG_DB_URL=url)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        )
        cmd = [sys.executable, "-m", "fangcang.demo.side", self.entry]
        cmd += ["--scale", ctx.scale, "--seed", str(ctx.seed), "--until", str(ctx.until)]
        cmd += ["--parent", str(os.getpid()), "--lock", str(lock)]
        try:
            self.proc = subprocess.Popen(
                cmd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                text=True,
                errors="replace",
            )
        except OSError as exc:
            log.warning(
                "%s could not start beside (%s): its next extension does it", self.entry, exc
            )
            return False
        self.heard = time.monotonic()
        self._reader = threading.Thread(target=self._read, daemon=True, name="side-reader")
        self._reader.start()
        log.info("%s started beside the build in process %d", self.entry, self.proc.pid)
        return True

    def _read(self) -> None:
        """Every line of the child's stdout, to its end (the pipe never fills): progress,
        the result, or anything else (logged)."""
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.heard = time.monotonic()
            try:
                msg = json.loads(line)
                if not isinstance(msg, dict):
                    raise TypeError(type(msg).__name__)
                if "result" in msg:
                    self.result = dict(msg["result"])
                    self.seconds = float(msg.get("seconds", 0.0))
                else:
                    self.fraction = min(max(float(msg.get("f", 0.0)), 0.0), 1.0)
                    self.message = str(msg.get("m", ""))
            except Exception:  # any line (too deep, a huge number) is logged; read on
                log.info("side %s said: %s", self.entry, line.rstrip()[:200])

    def join(self, progress=None, poll: float = 0.2) -> dict | None:
        """Wait for the child, reporting its progress as ``progress(fraction, message)``.

        Returns its counts, or None when it failed or fell silent for ``SILENT_S`` (then
        ended; logged: the next extension does the work); ``self.seconds`` is the child's
        own wall time (its start to its result).
        """
        if self.proc is None:
            return None
        while self.proc.poll() is None:
            if time.monotonic() - self.heard > SILENT_S:
                log.warning("%s silent for %.0f s: ended", self.entry, SILENT_S)
                self.stop()
                break
            if progress is not None:
                progress(self.fraction, self.message or self.entry)
            time.sleep(poll)
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self.proc.stdout is not None and not (self._reader and self._reader.is_alive()):
            self.proc.stdout.close()
        if self.proc.returncode != 0 or self.result is None:
            log.warning(
                "%s ended with exit code %s beside the build: its next extension does the rest",
                self.entry,
                self.proc.returncode,
            )
            return None
        return self.result

    def stop(self) -> None:
        """End the child (the build failed or was interrupted); its open transaction is rolled
        back by the database, and the next run redoes that work."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _resolve(entry: str):
    module_name, _, func_name = entry.partition(":")
    return getattr(importlib.import_module(module_name), func_name)


def _watch_parent(parent: int) -> None:
    while True:
        _check_parent(parent)
        time.sleep(PARENT_CHECK_S)


def _check_parent(parent: int) -> None:
    """End this process (exit 3) when the build ``parent`` that started it has gone."""
    if os.getppid() != parent:
        log.warning("the demo build (process %d) has gone: its side extension stops", parent)
        os._exit(3)


def main(argv: list[str] | None = None) -> int:
    """The child: run one side extension on the database of ``FANGCANG_DB_URL``, holding the
    side lock (``--lock``) for its whole life."""
    t0 = time.perf_counter()
    ap = argparse.ArgumentParser(prog="python -m fangcang.demo.side")
    ap.add_argument("entry")
    ap.add_argument("--scale", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--until", required=True)
    ap.add_argument("--parent", type=int, default=0)
    ap.add_argument("--lock", type=Path, help="the side lock file (see lock_path)")
    args = ap.parse_args(argv)

    from .. import db, logsetup
    from ..timeutil import Month
    from . import DemoContext

    logsetup.configure()
    if args.parent:
        threading.Thread(target=_watch_parent, args=(args.parent,), daemon=True).start()
    if args.lock is not None and fcntl is not None:
        _take(args.lock)  # held until this process ends (the kernel releases it)
        if args.parent:
            _check_parent(args.parent)  # gone while this one started or waited: no write
    out = sys.stdout
    last = [0.0]

    def progress(fraction: float, message: str) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.2 or fraction >= 1.0:
            last[0] = now
            out.write(json.dumps({"f": round(float(fraction), 4), "m": message}) + "\n")
            out.flush()

    func = _resolve(args.entry)
    engine = db.make_engine()
    try:
        ctx = DemoContext(engine, args.scale, args.seed, Month.parse(args.until), progress)
        result = dict(func(ctx) or {})
    except Exception:
        log.exception("the demo side extension %s failed", args.entry)
        return 1
    finally:
        engine.dispose()
    seconds = round(time.perf_counter() - t0, 2)
    out.write(json.dumps({"result": result, "seconds": seconds}, default=str) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
