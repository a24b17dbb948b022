"""Side extensions: demo work run in a process of its own, beside the main line of extensions.

The demo's extensions are mostly Python and run one after another on one core, while the
smallest machine we support has two. A side extension (``fangcang.demo.SIDE_EXTENSIONS``,
entries ``(side, after, before)``) starts in a child process as soon as the extension
``after`` has finished, and the extension ``before`` waits for it to end.

Rules a side extension keeps (they make the build's result independent of timing):

- it only does, ahead of time, work that ``before`` would otherwise do itself and skips
  when done: if the child cannot start (an in-memory database), fails or is killed,
  ``before`` does all of it and the build ends with the same rows (a warning is logged);
- no extension that may run meanwhile reads or writes the tables it writes, nor writes the
  rows it reads;
- it writes in short transactions between ``fangcang.demo.builder.let_writers_in`` pauses,
  as every extension does, so that the main line's writers and the dashboard's take turns.

The child is ``python -m fangcang.demo.side`` with the database URL in its environment
(``FANGCANG_DB_URL``: a password stays out of ``ps``) and the context's scale, seed and month
as arguments. It writes one JSON line per progress step and a last line with its counts to
stdout, read by a thread of the parent, and ends itself when its parent goes.
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
from pathlib import Path

log = logging.getLogger("fangcang.demo.side")  # by name: it runs as __main__ too

#: How often the child checks that the build that started it is still there.
PARENT_CHECK_S = 1.0

_ROOT = Path(__file__).resolve().parents[2]


def can_run_beside(engine) -> bool:
    """Whether another process can open ``engine``'s database: a server database, or a
    SQLite file (not ``:memory:`` nor a connection-less test engine)."""
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return True
    database = url.database or ""
    return bool(database) and database != ":memory:" and not database.startswith("file::memory:")


class Side:
    """One side extension's child process.

    Parameters
    ----------
    entry : str
        ``"module:function"`` taking a ``DemoContext``, as the extensions do.
    ctx : DemoContext
        The build's context (the child gets its engine's URL, scale, seed and month).
    """

    def __init__(self, entry: str, ctx) -> None:
        module_name, _, func_name = entry.partition(":")
        if not func_name:
            raise ValueError(f"demo side extension {entry!r} must look like 'module:function'")
        self.entry, self.ctx = entry, ctx
        self.proc: subprocess.Popen | None = None
        self.fraction, self.message = 0.0, ""
        self.result: dict | None = None
        self.seconds = 0.0
        self._reader: threading.Thread | None = None

    def _progress(self, fraction: float, message: str) -> None:
        self.fraction, self.message = float(fraction), str(message)

    def start(self) -> bool:
        """Start the child; False (logged) when it cannot run beside (see
        ``can_run_beside``) or could not be started: ``before`` then does the work."""
        ctx = self.ctx
        if not can_run_beside(ctx.engine):
            log.info("%s runs inside its next extension: the database is in memory", self.entry)
            return False
        env = dict(os.environ, FANGCANG_DB_URL=ctx.engine.url.render_as_string(False))
        env["PYTHONPATH"] = os.pathsep.join(
            [str(_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        )
        cmd = [sys.executable, "-m", "fangcang.demo.side", self.entry]
        cmd += ["--scale", ctx.scale, "--seed", str(ctx.seed), "--until", str(ctx.until)]
        cmd += ["--parent", str(os.getpid())]
        try:
            self.proc = subprocess.Popen(
                cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
            )
        except OSError as exc:
            log.warning(
                "%s could not start beside (%s): its next extension does it", self.entry, exc
            )
            return False
        self._reader = threading.Thread(target=self._read, daemon=True, name="side-reader")
        self._reader.start()
        log.info("%s started beside the build in process %d", self.entry, self.proc.pid)
        return True

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                log.info("side %s: %s", self.entry, line.rstrip()[:200])
                continue
            if "result" in msg:
                self.result = msg["result"]
                self.seconds = float(msg.get("seconds", 0.0))
            else:
                self._progress(msg.get("f", 0.0), msg.get("m", ""))

    def join(self, progress=None, poll: float = 0.2) -> dict | None:
        """Wait for the child, reporting its progress as ``progress(fraction, message)``.

        Returns its counts, or None when it failed (logged: the next extension does the
        work); ``self.seconds`` is the child's own wall time (its start to its result).
        """
        if self.proc is None:
            return None
        while self.proc.poll() is None:
            if progress is not None:
                progress(self.fraction, self.message or self.entry)
            time.sleep(poll)
        if self._reader is not None:
            self._reader.join(timeout=5)
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
        time.sleep(PARENT_CHECK_S)
        if os.getppid() != parent:
            log.warning("the demo build (process %d) has gone: its side extension stops", parent)
            os._exit(3)


def main(argv: list[str] | None = None) -> int:
    """The child: run one side extension on the database of ``FANGCANG_DB_URL``."""
    t0 = time.perf_counter()
    ap = argparse.ArgumentParser(prog="python -m fangcang.demo.side")
    ap.add_argument("entry")
    ap.add_argument("--scale", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--until", required=True)
    ap.add_argument("--parent", type=int, default=0)
    args = ap.parse_args(argv)

    from .. import db, logsetup
    from ..timeutil import Month
    from . import DemoContext

    logsetup.configure()
    if args.parent:
        threading.Thread(target=_watch_parent, args=(args.parent,), daemon=True).start()
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
