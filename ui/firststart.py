"""First start: migrate the configured database and, when it is empty, build the demo district.

The build runs in a background thread owned by the server process, not by a browser session:
closing the tab does not stop it, and every visitor sees the same progress (in their own UI
language). The dashboard opens as soon as the base records and the demo accounts are in; the
warning runs, tasks, bulletins and visits fill in behind it, with a progress bar in the
sidebar. A server restarted while filling finishes the remaining steps in the background
(``fangcang.demo.builder.finish_extensions``). A failed build shows its error (the base
import is transactional: nothing half-imported is left, and the next start tries again).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

import streamlit as st
from sqlalchemy import func, inspect, select

from fangcang import db

from . import state

log = logging.getLogger(__name__)

#: Progress phases: the builder's message prefix or extension module -> i18n key.
_PHASES = {
    "generate": "demo.phase.generate",
    "import": "demo.phase.import",
    "fangcang.auth": "demo.phase.accounts",
    "fangcang.scoring": "demo.phase.warning",
    "fangcang.tasks": "demo.phase.tasks",
    "fangcang.effect": "demo.phase.effect",
    "fangcang.visits": "demo.phase.visits",
}


@dataclass
class Job:
    """The server process's demo build (one per database), shared by every session."""

    state: str = "idle"  # idle, building, filling, done, failed
    fraction: float = 0.0
    phase: str = "demo.phase.generate"
    error: str = ""
    started: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def usable(self) -> bool:
        """The base records and the accounts are in: pages can be used."""
        return self.state in ("filling", "done")

    def progress(self, fraction: float, message: str) -> None:
        self.fraction = min(max(fraction, self.fraction), 1.0)  # never backwards
        head = message.split(":", 1)[0].strip()
        if head == "extensions":
            from fangcang import demo

            entry = message.split(":", 1)[1].strip()
            if entry in demo.EXTENSIONS:  # an extension starts ("module:function")
                self.phase = _PHASES.get(entry.split(":", 1)[0], "demo.phase.more")
        elif head in _PHASES:
            self.phase = _PHASES[head]

    def start(self, engine, finish_only: bool = False) -> None:
        """Start the build (or, ``finish_only``, the unfinished extensions) in a thread."""
        with self.lock:
            if self.state in ("building", "filling"):
                return
            self.state = "filling" if finish_only else "building"
            self.fraction, self.error, self.started = 0.0, "", time.perf_counter()
            if finish_only:
                self.phase = "demo.phase.more"
        thread = threading.Thread(
            target=self._run, args=(engine, finish_only), name="demo-build", daemon=True
        )
        thread.start()

    def _ready(self) -> None:
        self.state = "filling"

    def _run(self, engine, finish_only: bool) -> None:
        from fangcang import demo
        from fangcang.demo import builder

        try:
            if finish_only:
                builder.finish_extensions(engine, progress=self.progress)
            else:
                demo.build(engine, scale="full", progress=self.progress, ready=self._ready)
            self.fraction, self.state = 1.0, "done"
        except Exception as exc:  # shown to every visitor; logged with its traceback
            log.exception("the demo build failed")
            self.error, self.state = str(exc)[:500], "failed"


@st.cache_resource(show_spinner=False)
def _job(url: str) -> Job:
    return Job()


@st.cache_resource(show_spinner=False)
def _process_state(url: str) -> dict:
    # Once a process has seen the database migrated and filled, later runs skip every check:
    # migrations and the emptiness test stay off the hot path of each page view.
    return {"ready": False}


def _needs_demo(engine) -> bool:
    if db.current_revision(engine) is None:
        return True
    return not inspect(engine).has_table("communities") or _empty(engine)


def _empty(engine) -> bool:
    from fangcang.models import Community

    with state.session() as s:
        return not s.scalar(select(func.count()).select_from(Community))


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def ensure_database() -> None:
    """Migrate the configured database; fill an empty one with the full-size demo district.

    Returns when pages can be used; otherwise shows the build's progress and stops the run.
    """
    engine = state.engine()
    url = _url(engine)
    done = _process_state(url)
    job = _job(url)
    if done["ready"]:
        _filling_sidebar(job)
        return
    if job.state == "idle":
        if _needs_demo(engine):
            job.start(engine)
        else:
            db.upgrade(engine)
            from fangcang.demo import builder

            if builder.build_state(engine) == "filling":  # stopped while filling: finish
                job.start(engine, finish_only=True)
            done["ready"] = True
            _filling_sidebar(job)
            return
    if not job.usable:
        # A hidden one-page navigation while building: otherwise Streamlit's legacy multipage
        # mode lists the files in pages/ in the sidebar before sign-in.
        st.navigation(
            [st.Page(_progress_page, title=state.t("app.building_demo"), url_path="setup")],
            position="hidden",
        ).run()
        st.stop()
    done["ready"] = True
    _filling_sidebar(job)


def _elapsed(job: Job) -> str:
    return f"{time.perf_counter() - job.started:.0f}"


def _progress_page() -> None:
    job = _job(_url(state.engine()))
    st.title(state.t("app.building_demo"))
    st.caption(state.t("demo.build_intro"))

    @st.fragment(run_every=1.0)
    def live() -> None:
        if job.state == "failed":
            st.error(state.t("demo.build_failed", error=job.error))
            return
        if job.usable:
            st.rerun(scope="app")  # the base is in: on to the sign-in page
        st.progress(
            job.fraction,
            text=state.t(
                "demo.build_progress",
                phase=state.t(job.phase),
                percent=f"{job.fraction * 100:.0f}",
                seconds=_elapsed(job),
            ),
        )
        st.caption(state.t("demo.build_background"))

    live()


def _filling_sidebar(job: Job) -> None:
    """While the demo fills in behind a usable dashboard: its progress in the sidebar."""
    if job.state not in ("filling", "failed") or not job.started:
        return

    @st.fragment(run_every=2.0)
    def live() -> None:
        if job.state == "done":
            st.rerun(scope="app")  # fresh data everywhere (the data version moved)
        if job.state == "failed":
            st.warning(state.t("demo.build_failed", error=job.error))
            return
        st.progress(
            job.fraction,
            text=state.t(
                "demo.filling",
                phase=state.t(job.phase),
                percent=f"{job.fraction * 100:.0f}",
            ),
        )

    with st.sidebar:
        live()


def no_warning_run(period: str) -> str:
    """The message for a month without a warning run: while the demo is still filling in
    (meta ``demo_build`` = ``filling``) the runs are being computed, so say that instead of
    pointing a user at the ``score`` command."""
    from fangcang.demo import builder

    filling = builder.build_state(state.engine()) == "filling"
    return state.t("dash.warning_run_filling" if filling else "dash.no_warning_run", period=period)
