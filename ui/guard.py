"""Every page file starts with ``viewer = guard.page("<id>")``.

A deep link on a freshly started server runs a page file without app.py (legacy multipage mode,
see docs/field notes), so the page itself must refuse to show anything unless a signed-in user
with the right role is present. The guard also enforces the idle time-out and signs out an
account an admin has disabled meanwhile.
"""

from __future__ import annotations

import logging

import streamlit as st
from streamlit.errors import StreamlitAPIException

from fangcang import auth, db, sessions
from fangcang.access import Viewer
from fangcang.config import get_settings
from fangcang.timeutil import now_local

from . import nav, state
from .state import t

log = logging.getLogger(__name__)

#: session_state keys
VIEWER = "viewer"
LAST_ACTIVE = "last_active"
SIGNED_OUT_REASON = "signed_out_reason"
FROM_DB = "viewer_from_db"  # set by ui.login when the viewer came from a real sign-in
SESSION_ID = "session_id"  # the user_sessions row behind this viewer (fangcang.sessions)
HANDOFF = "session_handoff"  # one-time code the page trades for the HttpOnly cookie
CLEAR_COOKIE = "session_clear_cookie"  # the page should delete the cookie (signed out)
_REFUSED = "_session_cookie_refused"

#: why a session ended -> the reason shown at sign-in
_REASONS = {"idle": "idle", "disabled": "disabled", "expired": "expired"}


def sign_in(viewer: Viewer, started: sessions.Started | None = None) -> None:
    """Put ``viewer`` into the session (called by ui.login after a successful sign-in);
    ``started`` is its new ``user_sessions`` row, whose hand-off code the page trades for the
    cookie."""
    st.session_state[VIEWER] = viewer
    st.session_state[LAST_ACTIVE] = now_local()
    st.session_state[FROM_DB] = True
    if started is not None:
        st.session_state[SESSION_ID] = started.session_id
        st.session_state[HANDOFF] = started.handoff_code
    st.session_state.pop(CLEAR_COOKIE, None)


def sign_out(reason: str | None = None) -> None:
    """Forget the viewer; ``reason`` (``idle``, ``disabled``, ``logout``, ``ended``,
    ``expired``) is shown at sign-in. The page then deletes the cookie."""
    for key in (VIEWER, LAST_ACTIVE, FROM_DB, SESSION_ID, HANDOFF):
        st.session_state.pop(key, None)
    if reason:
        st.session_state[SIGNED_OUT_REASON] = reason
    st.session_state[CLEAR_COOKIE] = True


def _cookie() -> str | None:
    try:
        return st.context.cookies.get(sessions.COOKIE)
    except Exception as exc:  # no client context (bare script runs)
        log.debug("no sign-in cookie to read (no client context): %s", exc)
        return None


def _resume() -> Viewer | None:
    """Sign in again from the HttpOnly cookie (a reload or a new tab), if it is valid."""
    token = _cookie()
    if not token or st.session_state.get(_REFUSED) == token:
        return None
    with state.session() as s:
        found = sessions.resume(s, token)
        viewer = auth.viewer_for(s, found[1]) if found is not None else None
    if viewer is None:
        st.session_state[_REFUSED] = token  # checked once per browser session, not per click
        st.session_state[CLEAR_COOKIE] = True
        return None
    sign_in(viewer)
    st.session_state[SESSION_ID] = found[0]
    return viewer


def _end_idle(viewer: Viewer, session_id: int | None) -> None:
    try:
        db.run_write(
            state.engine(),
            lambda s: auth.log_logout(s, viewer, idle=True, session_id=session_id),
            what="idle sign-out",
        )
    except db.DatabaseBusy:  # the session ends anyway (checked from its last activity)
        log.warning("idle sign-out of %s not audited: database busy", viewer.username)


def current_viewer() -> Viewer | None:
    """The signed-in viewer, or None (also after an idle time-out, a sign-out in another tab,
    a password reset, or when the account was disabled). A browser with a valid session
    cookie is signed in again without a form."""
    viewer = st.session_state.get(VIEWER)
    if viewer is None:
        return _resume()
    now = now_local()
    session_id = st.session_state.get(SESSION_ID)
    if session_id is not None:
        with state.session() as s:
            reason = sessions.check(s, session_id, now=now)
        if reason is None:
            st.session_state[LAST_ACTIVE] = now
            return viewer
        if reason == "idle":
            _end_idle(viewer, session_id)
        sign_out(_REASONS.get(reason, "ended"))
        return None
    # A viewer without a session row (put in place by tests): time-out and disable as before.
    if auth.idle_expired(st.session_state.get(LAST_ACTIVE), now):
        _end_idle(viewer, None)
        sign_out("idle")
        return None
    if st.session_state.get(FROM_DB):
        with state.session() as s:
            active = auth.is_active(s, viewer.username)
        if not active:
            sign_out("disabled")
            return None
    st.session_state[LAST_ACTIVE] = now
    return viewer


def _login_prompt() -> None:
    reason = st.session_state.get(SIGNED_OUT_REASON)
    if reason == "idle":
        st.warning(t("login.idle", minutes=get_settings().idle_timeout_minutes))
    elif reason == "disabled":
        st.warning(t("login.disabled"))
    elif reason in ("ended", "expired"):
        st.warning(t(f"login.{reason}"))
    else:
        st.warning(t("guard.login_required"))
    try:
        st.page_link("app.py", label=t("guard.to_login"), icon=":material/login:")
    except StreamlitAPIException:
        # Run outside st.navigation (a deep link in legacy mode): app.py is not a known page,
        # so link to the app's root, relative so a baseUrlPath keeps working.
        st.markdown(f"[{t('guard.to_login')}](./)")


def page(page_id: str) -> Viewer:
    """Return the signed-in viewer allowed on ``page_id``; otherwise show why and stop."""
    viewer = current_viewer()
    if viewer is None:
        _login_prompt()
        st.stop()
    if viewer.role not in nav.spec(page_id).roles:
        st.error(t("guard.forbidden"))
        st.stop()
    return viewer
