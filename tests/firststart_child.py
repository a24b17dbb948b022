"""Entries the first-start tests have the demo build's child process run
(``fangcang.demo.background --entry tests.firststart_child:NAME``; the child runs in the
repository root, so ``tests.firststart_child`` imports there). They talk to the test through
files named by environment variables, which the child inherits from the test process.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

#: A file whose existence lets the filling extension finish.
GATE_ENV = "FANGCANG_TEST_FILL_GATE"
#: A file the entries append one line to when they start: ``<what> <scale> <pid>``.
LOG_ENV = "FANGCANG_TEST_BUILD_LOG"
#: The demo's accounts, then an extension that waits for the gate (the filling phase).
EXTENSIONS = ["fangcang.auth:demo_extend", "tests.firststart_child:gated_fill"]


def _log(what: str, scale: str) -> None:
    path = os.environ.get(LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{what} {scale} {os.getpid()}\n")


def gated_fill(ctx) -> dict:
    """A demo extension that runs until the test creates the gate file."""
    ctx.progress(0.5, "visits: working")
    gate = Path(os.environ[GATE_ENV])
    deadline = time.monotonic() + 240
    while not gate.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never opened the gate")
        time.sleep(0.2)
    return {"filled": 1}


def small_build(engine, *, scale, progress, ready) -> dict:
    """The real build of the small demo, with the filling extensions replaced by the gate."""
    from fangcang import demo

    _log("build", scale)
    demo.EXTENSIONS[:] = EXTENSIONS
    return demo.build(engine, scale="small", progress=progress, ready=ready)


def small_finish(engine, *, scale, progress, ready) -> dict:
    """The real finish of an interrupted build, with the test's extensions."""
    from fangcang import demo
    from fangcang.demo import builder

    _log("finish", scale)
    demo.EXTENSIONS[:] = EXTENSIONS
    return builder.finish_extensions(engine, progress=progress, ready=ready)


def failing_build(engine, *, scale, progress, ready) -> dict:
    """Fails after some progress, with personal data in its message (to be masked)."""
    _log("build", scale)
    progress(0.2, "import: people")
    raise ValueError("people.csv row 7: id_number 330302199001011234 phone 13800138000 rejected")


def sleeping_build(engine, *, scale, progress, ready) -> dict:
    """Reports one step, then sleeps (a child to kill)."""
    _log("build", scale)
    progress(0.3, "import: people")
    time.sleep(600)
    return {}


def where_build(engine, *, scale, progress, ready) -> dict:
    """Logs where the child's database file and private temp folder are (relative paths)."""
    from fangcang import tempfiles

    _log(f"where {Path(engine.url.database).resolve()} {tempfiles.private_dir().resolve()}", scale)
    return {}
