"""Every page file starts with ``viewer = guard.page("<id>")``.

A deep link on a freshly started server runs a page file without app.py (legacy multipage mode,
see docs/field notes), so the page itself must refuse to show anything unless a signed-in user
with the right role is present. The guard also enforces the idle time-out and signs out an
account an admin has disabled meanwhile.
"""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAPIException

from fangcang import auth
from fangcang.access import Viewer
from fangcang.config import get_settings
from fangcang.timeutil import now_local

from . import nav, state
from .state import t

#: session_state keys
VIEWER = "viewer"
LAST_ACTIVE = "last_active"
SIGNED_OUT_REASON = "signed_out_reason"
FROM_DB = "viewer_from_db"  # set by ui.login when the viewer came from a real sign-in


def sign_in(viewer: Viewer) -> None:
    """Put ``viewer`` into the session (called by ui.login after a successful sign-in)."""
    st.session_state[VIEWER] = viewer
    st.session_state[LAST_ACTIVE] = now_local()
    st.session_state[FROM_DB] = True


def sign_out(reason: str | None = None) -> None:
    """Forget the viewer; ``reason`` (``idle``, ``disabled``, ``logout``) is shown at sign-in."""
    for key in (VIEWER, LAST_ACTIVE, FROM_DB):
        st.session_state.pop(key, None)
    if reason:
        st.session_state[SIGNED_OUT_REASON] = reason


def current_viewer() -> Viewer | None:
    """The signed-in viewer, or None (also after an idle time-out or when disabled)."""
    viewer = st.session_state.get(VIEWER)
    if viewer is None:
        return None
    now = now_local()
    if auth.idle_expired(st.session_state.get(LAST_ACTIVE), now):
        with state.session() as s:
            auth.log_logout(s, viewer, idle=True)
            s.commit()
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
