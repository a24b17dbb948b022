"""``python -m fangcang``: the command line.

Each command group is a module in ``fangcang/commands/`` with ``register(subparsers)``; it adds
its parser and sets ``func(args) -> int``. Adding a command is adding one module name below.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m fangcang", description="Fangcang (基础数字方舱)"
    )
    parser.add_argument(
        "--db", metavar="URL", help="database URL (default: $FANGCANG_DB_URL or data/fangcang.db)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"fangcang.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.db:
        os.environ["FANGCANG_DB_URL"] = args.db
    try:
        return int(args.func(args) or 0)
    except (CommandError, ValueError, FileNotFoundError, PermissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `score --json | head`: the reader left; not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
