"""Build the demo database on the first start when no database exists yet.

Only one build runs per server process: the first session to find an empty database takes a
process-wide lock and builds; other sessions that arrive meanwhile wait for it and then find the
database filled. A failed build shows its error and stops the page (nothing half-built is left:
the importer is transactional, and the next start tries again).
"""

from __future__ import annotations

import threading
import time

import streamlit as st
from sqlalchemy import func, inspect, select

from fangcang import db
from fangcang.i18n import fmt_int

from . import state


@st.cache_resource(show_spinner=False)
def _build_lock() -> threading.Lock:
    return threading.Lock()


def _needs_demo(engine) -> bool:
    if db.current_revision(engine) is None:
        return True
    return not inspect(engine).has_table("communities") or _empty(engine)


def _empty(engine) -> bool:
    from fangcang.models import Community

    with state.session() as s:
        return not s.scalar(select(func.count()).select_from(Community))


@st.cache_resource(show_spinner=False)
def _process_state(url: str) -> dict:
    # Once a process has seen the database migrated and filled, later runs skip every check:
    # migrations and the emptiness test stay off the hot path of each page view.
    return {"ready": False}


def ensure_database() -> None:
    """Migrate the configured database; fill an empty one with the full-size demo district."""
    engine = state.engine()
    done = _process_state(engine.url.render_as_string(hide_password=False))
    if done["ready"]:
        return
    if not _needs_demo(engine):
        db.upgrade(engine)
        done["ready"] = True
        return
    # A hidden one-page navigation while building: otherwise Streamlit's legacy multipage mode
    # lists the files in pages/ in the sidebar before sign-in.
    st.navigation(
        [st.Page(_build_once, title=state.t("app.building_demo"), url_path="setup", default=True)],
        position="hidden",
    ).run()
    if _needs_demo(engine):
        st.stop()
    done["ready"] = True


def _build_once() -> None:
    engine = state.engine()
    lock = _build_lock()
    if not lock.acquire(blocking=False):
        with st.spinner(state.t("demo.build_wait")):
            lock.acquire()  # wait for the other session's build to finish
        lock.release()
        if not _needs_demo(engine):
            return
        lock.acquire()
    try:
        if not _needs_demo(engine):  # built by another session while we checked
            return
        _build(engine)
    finally:
        lock.release()


def _build(engine) -> None:
    from fangcang import demo

    started = time.perf_counter()
    with st.status(state.t("app.building_demo"), expanded=True) as status:
        st.caption(state.t("demo.build_intro"))
        bar = st.progress(0.0)

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=message)

        try:
            result = demo.build(engine, scale="full", progress=progress)
        except Exception as exc:  # shown to the operator, then the page stops
            status.update(state="error")
            st.error(state.t("demo.build_failed", error=str(exc)[:500]))
            st.stop()
        status.update(
            label=state.t(
                "demo.build_done",
                records=fmt_int(result["bundle"]["records"]),
                seconds=f"{time.perf_counter() - started:.0f}",
            ),
            state="complete",
            expanded=False,
        )
