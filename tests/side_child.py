"""Extensions the side-extension tests run (``fangcang.demo.side``: the child imports
``tests.side_child`` in the repository root). They talk through the database's meta table."""

from __future__ import annotations

import os
import time

from sqlalchemy.orm import Session

from fangcang import db


def first(ctx) -> dict:
    """The extension after which the side starts."""
    return {"first": 1}


def ahead(ctx) -> dict:
    """The side: records that it ran, and in which process."""
    ctx.progress(0.5, "side: half way")
    with Session(ctx.engine) as s:
        db.set_meta(s, "side_pid", str(os.getpid()))
        db.set_meta(s, "side_done", "yes")
        s.commit()
    return {"ahead": 1, "pid": os.getpid()}


def failing(ctx) -> dict:
    """A side that fails before it does anything."""
    raise RuntimeError("the side extension failed on purpose")


def sleepy(ctx) -> dict:
    """A side that would run for a minute."""
    time.sleep(60)
    return {"slept": 60}


def second(ctx) -> dict:
    """The extension that waits for the side: does the side's work itself when it is not
    done, as a real one must."""
    with Session(ctx.engine) as s:
        found = db.get_meta(s, "side_done") == "yes"
        if not found:
            db.set_meta(s, "side_done", "yes")
            s.commit()
    return {"found_done": found}


def noisy(ctx) -> dict:
    """A side that writes what is not a progress line to stdout: a JSON number, plain text,
    bytes that are not UTF-8 and far more than a pipe holds, then finishes."""
    import sys

    print(42, flush=True)
    print("plain text", flush=True)
    print('{"f": 1' + "0" * 400 + "}", flush=True)  # float() overflows
    print('{"f": ' + "[" * 100_000 + "]" * 100_000 + "}", flush=True)  # too deep to parse
    sys.stdout.buffer.write(b"\xff\xfe not utf-8\n")
    sys.stdout.buffer.flush()
    for i in range(20_000):
        print(f"line {i} " + "x" * 40)
    sys.stdout.flush()
    return {"noisy": 1}
