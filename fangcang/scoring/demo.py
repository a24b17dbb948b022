"""Demo extension: stored warning runs for the demo's last 24 months and the back-test."""

from __future__ import annotations

from sqlalchemy.orm import Session

from .backtest import backtest
from .config import load_config
from .store import run


def demo_extend(ctx) -> dict:
    """Store a warning run for each of the 24 months ending with ``ctx.until`` (as if scored
    every month) and keep the 12-month back-test, so level history and back-test exist."""
    config = load_config()
    months = [ctx.until.shift(-i) for i in reversed(range(24))]
    with Session(ctx.engine) as session:
        for i, m in enumerate(months):
            run(session, m, config, actor="demo")
            ctx.progress((i + 1) / (len(months) + 1), f"warning {m}")
        session.commit()
        bt = backtest(session, months=12, config=config, until=ctx.until, store=True)
        session.commit()
    ctx.progress(1.0, "warning back-test")
    return {"warning_runs": len(months), "backtest_months": len(bt)}
