"""First start: migrate the configured database and, when it is empty, build the demo district.

The build runs in a child process of the server (``fangcang.demo.background``: low priority,
one per database, its progress in a small status file), not in a thread of the server: the
server's own page runs stay responsive while the demo is built. The first visit starts it;
closing the tab does not stop it, and every visitor sees the same progress (in their own UI
language), with the elapsed time counted from the recorded start. The dashboard opens as soon
as the base records and the demo accounts are in; the warning runs, tasks, bulletins and
visits fill in behind it, with a progress bar in the sidebar. A server restarted while filling
finishes the remaining steps in a child of its own (``builder.finish_extensions``); a child
that died is detected (its lock is free) and started again, up to ``RESTARTS`` times in a row
per database (counted in the status file, whichever server process started it). A failed build
shows its reason and log reference (the base import is transactional: nothing half-imported is
left). A failure, or a child that died once too often, is final for every server process that
was already running when it was recorded: only a server started after it tries again (with
several server processes on one database, they would otherwise start full builds in turn for
ever).

Size of the demo: ``FANGCANG_DEMO_SCALE`` (``fangcang.config.demo_scale``, default ``full``).
"""

from __future__ import annotations

import logging
import subprocess
import threading
import time
from dataclasses import dataclass, field

import streamlit as st
from sqlalchemy import func, inspect, select

from fangcang import config, db
from fangcang.demo import background

from . import nav, state

log = logging.getLogger(__name__)

#: How many times in a row a child is started again after one died without a word.
RESTARTS = 2
#: When this server process started (close enough: when it imported this module). A failure
#: recorded after it is final here; one recorded before it is retried.
SERVER_STARTED = time.time()

#: Progress phases: the build's step (``Status.step``) or its extension module -> i18n key.
_PHASES = {
    "generate": "demo.phase.generate",
    "import": "demo.phase.import",
    "fangcang.auth": "demo.phase.accounts",
    "fangcang.scoring": "demo.phase.warning",
    "fangcang.tasks": "demo.phase.tasks",
    "fangcang.effect": "demo.phase.effect",
    "fangcang.visits": "demo.phase.visits",
}


def phase_key(status: background.Status) -> str:
    """The i18n key of the phase ``status`` is in."""
    step = status.step
    return _PHASES.get(step, _PHASES.get(step.split(":", 1)[0], "demo.phase.more"))


@dataclass
class Supervisor:
    """This server process's view of the demo build of one database (shared by sessions)."""

    url: str
    ready: bool = False  # the dashboard can be used (sign-in opens)
    filling: bool = False  # a child fills in the rest: sidebar progress
    upgraded: bool = False
    starts: int = 0  # children this process started
    children: list = field(default_factory=list)  # their subprocess.Popen objects
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, engine) -> background.Status:
        """Read the build's status; start a child when work is left and none runs (a first
        build, the extensions of an interrupted one, or again after a child died). Updates
        ``ready`` and ``filling``."""
        with self.lock:  # one session at a time decides (and starts) for this process
            status = background.status(self.url)
            if status.running:
                self.ready = self.ready or (status.usable and _accounts_in(engine))
                self.filling = self.ready
                return status
            if _final(status):  # shown (sidebar or progress page); the next start retries
                self.filling = self.ready
                return status
            kind = self._work_left(engine)
            if kind is None:
                self.ready, self.filling = True, False
                return status
            if kind == "finish":
                self.ready = _accounts_in(engine)
            if status.dead:
                log.warning(
                    "the demo build process %d ended without finishing (%s): starting again",
                    status.pid,
                    status.state,
                )
            # Dead children in a row, per database (a dead one from before this server
            # started does not count: the next start tries again).
            restarts = status.restarts + 1 if status.dead and _since_start(status) else 0
            self._start(kind, restarts)
            status = background.status(self.url)
            self.filling = self.ready
            return status

    def _work_left(self, engine) -> str | None:
        if _needs_demo(engine):
            return "build"
        if not self.upgraded:
            db.upgrade(engine)
            self.upgraded = True
        from fangcang.demo import builder

        with state.session() as s:
            demo = db.get_meta(s, "demo")
        if demo and builder.build_state(engine) == "filling":  # stopped while filling
            return "finish"
        return None

    def _start(self, kind: str, restarts: int = 0) -> None:
        self.starts += 1
        child = background.start(self.url, kind, scale=config.demo_scale(), restarts=restarts)
        if child is not None:
            self.children.append(child)
            # Reap the child when it ends and log how it ended (a thread that only waits).
            threading.Thread(
                target=self._reap, args=(child,), name="demo-build-reaper", daemon=True
            ).start()

    @staticmethod
    def _reap(child) -> None:
        code = child.wait()
        if code:
            log.warning("the demo build process %d ended with exit code %s", child.pid, code)

    def exit_code(self) -> int | None:
        """The exit code of the last child this process started (None: still running)."""
        if not self.children:
            return None
        try:
            return self.children[-1].wait(timeout=1)
        except subprocess.TimeoutExpired:
            return None


def _since_start(status: background.Status) -> bool:
    """``status`` was recorded while this server process ran."""
    return max(status.updated, status.started) >= SERVER_STARTED


def _final(status: background.Status) -> bool:
    """The build failed, or its child died ``RESTARTS`` times in a row, since this server
    process started (whichever server started the child): not retried here."""
    if status.state == "failed":
        return _since_start(status)
    return status.dead and status.restarts >= RESTARTS and _since_start(status)


@st.cache_resource(show_spinner=False)
def _supervisor(url: str) -> Supervisor:
    return Supervisor(url)


def _needs_demo(engine) -> bool:
    if db.current_revision(engine) is None:
        return True
    return not inspect(engine).has_table("communities") or _empty(engine)


def _empty(engine) -> bool:
    from fangcang.models import Community

    with state.session() as s:
        return not s.scalar(select(func.count()).select_from(Community))


def _accounts_in(engine) -> bool:
    """The demo build in this database has reached its ``ready`` point (read from the
    database: the status file only says when to look)."""
    from fangcang.demo import builder

    try:
        if builder.build_state(engine) not in ("filling", "done"):
            return False
        return builder.accounts_in(engine)
    except Exception as exc:  # the meta table is not there yet (the child is migrating)
        log.debug("build state not readable yet: %s", exc)
        return False


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def ensure_database() -> None:
    """Migrate the configured database; fill an empty one with the demo district.

    Returns when pages can be used; otherwise shows the build's progress and stops the run.
    """
    engine = state.engine()
    sup = _supervisor(_url(engine))
    if not sup.ready:
        sup.check(engine)
    if sup.ready:
        if sup.filling:  # otherwise (the hot path of every page view) nothing is read
            _filling_sidebar(sup)
        return
    # A hidden navigation while building: otherwise Streamlit's legacy multipage mode lists
    # the files in pages/ in the sidebar before sign-in. Every page's address shows the
    # progress too, so a shared link (/warning) keeps its address through the build (and opens
    # its page after sign-in) instead of Streamlit's English "Page not found" dialog.
    title = state.t("app.building_demo")
    st.navigation(
        [st.Page(_progress_page, title=title, url_path="setup", default=True)]
        + [
            st.Page(_progress_page, title=title, url_path=path)
            for path in ["login", *(p.id for p in nav.PAGES)]
        ],
        position="hidden",
    ).run()
    st.stop()


def _failure(status: background.Status, sup: Supervisor) -> str | None:
    """The message for a build that cannot go on, or None."""
    if status.state == "failed":
        return state.t("demo.build_failed", error=status.error, ref=status.ref)
    if status.dead and _final(status):
        code = sup.exit_code()
        return state.t("demo.build_stopped", code="?" if code is None else code)
    return None


#: The label of each demo scale's size (the records each builds: fangcang.demo.story.SCALES).
_SIZES = {
    "small": "demo.size.small",
    "medium": "demo.size.medium",
    "full": "demo.size.full",
}


def _progress_page() -> None:
    engine = state.engine()
    sup = _supervisor(_url(engine))
    st.title(state.t("app.building_demo"))
    size = _SIZES.get(config.demo_scale(), "demo.size.full")
    st.caption(state.t("demo.build_intro", size=state.t(size)))

    @st.fragment(run_every=1.0)
    def live() -> None:
        status = sup.check(engine)
        failure = _failure(status, sup)
        if failure:
            st.error(failure)
            return
        if sup.ready:
            st.rerun(scope="app")  # the base is in: on to the sign-in page
        st.progress(
            status.fraction,
            text=state.t(
                "demo.build_progress",
                phase=state.t(phase_key(status)),
                percent=f"{status.fraction * 100:.0f}",
                seconds=f"{status.elapsed():.0f}",
            ),
        )
        st.caption(state.t("demo.build_background"))

    live()


def _filling_sidebar(sup: Supervisor) -> None:
    """While the demo fills in behind a usable dashboard: its progress in the sidebar."""
    engine = state.engine()

    @st.fragment(run_every=2.0)
    def live() -> None:
        status = background.status(sup.url)
        if not status.running:
            status = sup.check(engine)  # done, failed, or a child to start again
        failure = _failure(status, sup)
        if failure:
            st.warning(failure)
            return
        if not sup.filling:
            st.rerun(scope="app")  # fresh data everywhere (the data version moved)
        st.progress(
            status.fraction,
            text=state.t(
                "demo.filling",
                phase=state.t(phase_key(status)),
                percent=f"{status.fraction * 100:.0f}",
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
