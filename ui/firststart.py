"""Build the demo database on the first start when no database exists yet."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import inspect

from fangcang import db

from . import state


def _needs_demo(engine) -> bool:
    if db.current_revision(engine) is None:
        return True
    return not inspect(engine).has_table("communities") or _empty(engine)


def _empty(engine) -> bool:
    from sqlalchemy import func, select

    from fangcang.models import Community

    with state.session() as s:
        return not s.scalar(select(func.count()).select_from(Community))


def ensure_database() -> None:
    """Migrate the configured database; fill an empty one with the full-size demo district."""
    engine = state.engine()
    if not _needs_demo(engine):
        db.upgrade(engine)
        return
    from fangcang import demo

    with st.status(state.t("app.building_demo"), expanded=True) as status:
        bar = st.progress(0.0)

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        demo.build(engine, scale="full", progress=progress)
        status.update(state=("complete"))
