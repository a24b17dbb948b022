"""Work done in the red and yellow communities of a month (the presentation's "work" slide and
the question every review meeting asks: what was done where the warnings were?).

For the communities at red or yellow in ``period``'s stored warning run (within the viewer's
scope): the task items dispatched to them in the ``WINDOW_MONTHS`` months ending with
``period``, how many are completed and overdue (``fangcang.tasks.progress``, as of ``now``),
and the verdict of their focused work when there is one (``fangcang.effect``: before/after
against comparison communities, difference-in-differences).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy.orm import Session

from ..access import Scope
from ..effect import effect_summary
from ..scoring import store
from ..tasks.progress import completion_by_community
from ..timeutil import Month
from .model import NAMED_LEVELS

log = logging.getLogger(__name__)

WINDOW_MONTHS = 3
#: Months before/after compared for the focused-work verdict (as the effect page's default).
EFFECT_MONTHS = 6
COLUMNS = [
    "community_id",
    "name",
    "level",
    "items",
    "done",
    "completion",
    "overdue",
    "verdict",
]


@dataclass(frozen=True)
class WarnedWork:
    """``rows``: one row per red or yellow community (red first, then by name) with
    ``COLUMNS``; ``completion`` is NaN without items, ``verdict`` None without focused work
    (else ``likely_effect``, ``within_comparison``, ``worse_than_comparison`` or
    ``no_comparison``). ``first``/``last``: the months of the task window."""

    period: Month
    first: Month
    last: Month
    rows: pd.DataFrame
    has_run: bool

    @property
    def items(self) -> int:
        return int(self.rows["items"].sum())

    @property
    def done(self) -> int:
        return int(self.rows["done"].sum())

    @property
    def overdue(self) -> int:
        return int(self.rows["overdue"].sum())

    @property
    def completion(self) -> float | None:
        """Completed / dispatched over all warned communities; None without items."""
        return self.done / self.items if self.items else None

    def count(self, level: str) -> int:
        return int((self.rows["level"] == level).sum())


def warned_work(
    session: Session, scope: Scope, period: Month, *, now: datetime | None = None
) -> WarnedWork:
    """Tasks and focused-work verdicts of ``period``'s red and yellow communities in ``scope``.

    Parameters
    ----------
    session : Session
    scope : Scope
        Applied in SQL to the levels, the tasks and the focused work.
    period : Month
        The warning month; the task window is the ``WINDOW_MONTHS`` months ending with it.
    now : datetime, optional
        When overdue is judged (default: now).

    Returns
    -------
    WarnedWork
        ``has_run`` False (and no rows) when ``period`` has no stored warning run.
    """
    first = period.shift(-(WINDOW_MONTHS - 1))
    levels = store.levels_for_month(session, period)
    if levels is None:
        return WarnedWork(period, first, period, pd.DataFrame(columns=COLUMNS), False)
    named = {cid: lv for cid, lv in levels.items() if lv in NAMED_LEVELS}
    tasks = completion_by_community(session, first.start, period.end, scope, now=now)
    tasks = tasks[tasks["community_id"].isin(named)]
    verdicts = {
        ba.community_id: ba.effects["total"].verdict
        for ba in effect_summary(session, months=EFFECT_MONTHS, as_of=period, scope=scope)
        if ba.community_id in named
    }
    rows = pd.DataFrame(
        {
            "community_id": tasks["community_id"],
            "name": tasks["name"],
            "level": tasks["community_id"].map(named),
            "items": tasks["items"].astype(int),
            "done": tasks["completed"].astype(int),
            "completion": tasks["completion_rate"].astype(float),
            "overdue": tasks["overdue"].astype(int),
            "verdict": tasks["community_id"].map(verdicts).astype(object),
        },
        columns=COLUMNS,
    )
    rows["verdict"] = rows["verdict"].where(rows["verdict"].notna(), None)
    order = {lv: i for i, lv in enumerate(NAMED_LEVELS)}
    rows = rows.sort_values(
        ["level", "name"], key=lambda s: s.map(order) if s.name == "level" else s
    ).reset_index(drop=True)
    return WarnedWork(period, first, period, rows, True)
