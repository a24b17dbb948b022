"""The Lucheng demo district (synthetic data on the real outline and divisions).

``build`` generates an import bundle and loads it through the ordinary importer, then runs the
registered feature extensions (accounts, warning runs, focused work and bulletins, tasks, visits)
in the order of ``EXTENSIONS``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from ..timeutil import Month

#: Feature extensions, run in this order after the base bundle is imported. Each entry is
#: ``"module:function"``; the function takes a ``DemoContext`` and returns counts to report.
EXTENSIONS: list[str] = [
    "fangcang.auth:demo_extend",  # accounts first: later extensions may act as them
    "fangcang.visits:demo_prepare",  # a year of household visits written, duplicate records added
    "fangcang.scoring:demo_extend",  # warning runs for the last 24 months and the back-test
    "fangcang.tasks:demo_extend",  # templates and a year of task items (after warning: red communities get more)
    "fangcang.effect:demo_extend",  # focused work and a year of bulletins: keep after warning and tasks
    "fangcang.alcohol:demo_extend",  # one station runs the alcohol and mediation practices (after tasks)
    "fangcang.visits:demo_extend",  # the visits reconciled, part of the queue decided (after warning)
]


@dataclass(frozen=True)
class SideExtension:
    """An extension run in a process of its own, from the end of ``after`` to the start of
    ``before``, beside the extensions between them, doing ahead of time part of the work of
    ``before`` (see ``fangcang.demo.side`` for the rules that keep the result independent of
    timing). Skipped unless both ``after`` and ``before`` are to run."""

    entry: str
    after: str
    before: str


SIDE_EXTENSIONS: list[SideExtension] = [
    # The reconciliation (visit tables and discrepancies only), beside warning, tasks, effect
    # and alcohol.
    SideExtension(
        "fangcang.visits:demo_reconcile",
        after="fangcang.visits:demo_prepare",
        before="fangcang.visits:demo_extend",
    ),
]


@dataclass
class DemoContext:
    engine: Engine
    scale: str  # "small", "medium" or "full" (see fangcang.demo.story.SCALES)
    seed: int
    until: Month  # the last complete month of data
    progress: Callable[[float, str], None] = field(default=lambda f, m: None)


def build(
    engine: Engine,
    *,
    scale: str = "full",
    seed: int = 20261129,
    until: Month | None = None,
    progress: Callable[[float, str], None] | None = None,
    out=None,
    ready: Callable[[], None] | None = None,
) -> dict:
    """Build the demo district: write the bundle, import it, run ``EXTENSIONS`` in order
    (``ready()`` once the base records and the accounts are in).

    See ``fangcang.demo.builder.build`` (imported lazily: numpy, pyarrow and shapely are only
    loaded when a demo is built).
    """
    from .builder import build as _build

    return _build(
        engine, scale=scale, seed=seed, until=until, progress=progress, out=out, ready=ready
    )


def write_bundle(
    folder,
    *,
    scale: str = "full",
    seed: int = 20261129,
    until: Month | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> dict:
    """Write the demo district as an import bundle; see ``fangcang.demo.builder.write_bundle``."""
    from .builder import write_bundle as _write

    return _write(folder, scale=scale, seed=seed, until=until, progress=progress)
