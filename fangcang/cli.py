"""``python -m fangcang``: the command line.

Each command group is a module in ``fangcang/commands/`` with ``register(subparsers)``; it adds
its parser and sets ``func(args) -> int``. Adding a command is adding one module name below.
"""

from __future__ import annotations

import argparse
import getpass
import importlib
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

COMMANDS = [
    "db",
    "score",
    "backtest",
    "user",
    "audit",
    "watch",
    "visits",
    "effect",
    "bulletin",
    "demo",
    "alert",
    "tasks",
    "import_",
    "info",
    "practice",
]


class CommandError(Exception):
    """A failure to report in one clear line with a non-zero exit (no traceback)."""


def os_user() -> str:
    """The login name of whoever runs the command.

    ``getpass.getuser`` reads ``LOGNAME``/``USER``/``LNAME``/``USERNAME`` and then the password
    database; a container user with none of these and no passwd entry makes it raise (OSError
    on Python 3.13, KeyError before). Then the numeric user id names the user: ``uid:1000``.
    """
    try:
        return getpass.getuser()
    except (OSError, KeyError) as exc:
        uid = os.getuid() if hasattr(os, "getuid") else "?"
        log.debug("no login name for uid %s (%s): using uid:%s", uid, exc, uid)
        return f"uid:{uid}"


def cli_actor(name: str | None = None) -> str:
    """The actor recorded for a command-line action: ``name`` when given, else ``cli:<user>``."""
    return name or f"cli:{os_user()}"


@contextmanager
def progress_bar(width: int = 60) -> Iterator[Callable[[float, str], None]]:
    """A terminal progress bar (tqdm) for ``progress(fraction, message)`` callbacks.

    Yields the callback; the bar is closed when the block ends (also on an error). The bar
    goes to standard error, so it never mixes with printed results.
    """
    from tqdm import tqdm

    bar = tqdm(total=1000, bar_format="{percentage:3.0f}%|{bar:30}| {elapsed}<{remaining} {desc}")
    last = 0

    def progress(fraction: float, message: str) -> None:
        nonlocal last
        target = int(min(max(fraction, 0.0), 1.0) * 1000)
        if target > last:
            bar.update(target - last)
            last = target
        bar.set_description_str(message[:width], refresh=True)

    try:
        yield progress
    finally:
        bar.close()


def _command_module(argv: list[str]) -> str | None:
    """The module of the command ``argv`` names (its first word after ``--db URL``), or None
    (no command, ``--help``, an unknown word: every command is then registered)."""
    words = iter(argv)
    for word in words:
        if word == "--db":
            next(words, None)
            continue
        if word.startswith("-"):
            if word.startswith("--db="):
                continue
            return None
        for name in (word, f"{word}_"):
            if name in COMMANDS:
                return name
        return None
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command-line parser. Given the arguments, only the command they name is
    registered: each command module imports what it needs (the bulletin's brings 254 MB,
    SciPy and python-docx among it), and ``demo`` should not carry that through its build."""
    parser = argparse.ArgumentParser(
        prog="python -m fangcang", description="Fangcang (基础数字方舱)"
    )
    parser.add_argument(
        "--db", metavar="URL", help="database URL (default: $FANGCANG_DB_URL or data/fangcang.db)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    only = _command_module(argv) if argv is not None else None
    for name in [only] if only else COMMANDS:
        importlib.import_module(f"fangcang.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.db:
        os.environ["FANGCANG_DB_URL"] = args.db
    try:
        from fangcang import logsetup

        logsetup.configure()  # once per process; FANGCANG_LOG_LEVEL (ValueError names it)
        started = time.perf_counter()
        code = int(args.func(args) or 0)
        log.debug("%s exited %d in %.1f s", args.command, code, time.perf_counter() - started)
        return code
    except (CommandError, ValueError, FileNotFoundError, PermissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `score --json | head`: the reader left; not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
