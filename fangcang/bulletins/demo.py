"""Demo seeding: a year of bulletins from the demo's stored warning runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..incidents import district_monthly
from ..models import WarningRun
from ..scoring import store
from ..timeutil import Month
from .issue import issue_bulletin
from .model import NAMED_LEVELS


def named_changed(session: Session, period: Month) -> bool:
    """Whether ``period``'s yellow and red communities (and their levels) differ from the month
    before: a new, changed or dropped yellow/red community. True when the month before has no
    run."""
    now = store.levels_for_month(session, period) or {}
    before = store.levels_for_month(session, period.shift(-1))
    if before is None:
        return True

    def named(levels: dict[str, str]) -> dict[str, str]:
        return {c: lv for c, lv in levels.items() if lv in NAMED_LEVELS}

    return named(now) != named(before)


def demo_bulletins(ctx) -> dict:
    """Issue a bulletin for each of the last 12 months with a stored warning run whose yellow
    and red communities are new or changed (``named_changed``), each dated the third day of
    the following month (as the real platform did: about 17 in a year)."""
    issued = 0
    with Session(ctx.engine, expire_on_commit=False) as s:
        periods = set(s.scalars(select(WarningRun.period).distinct()))
        months = [ctx.until.shift(-i) for i in range(11, -1, -1)]
        months = [m for m in months if str(m) in periods and named_changed(s, m)]
        cache: dict = {}
        if months:
            cache["monthly"] = district_monthly(s, months[0].shift(-23), months[-1])
        for i, m in enumerate(months):
            nxt = m.shift(1)
            issue_bulletin(
                s, m, "demo", issued_at=datetime(nxt.year, nxt.month, 3, 9, 30), _cache=cache
            )
            s.commit()
            issued += 1
            ctx.progress((i + 1) / max(len(months), 1), f"bulletin {m}")
    return {"bulletins": issued}
