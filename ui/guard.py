"""Every page file starts with ``viewer = guard.page("<id>")``.

A deep link on a freshly started server runs a page file without app.py (see docs), so the
page itself must refuse to show anything unless a signed-in user with the right role is present.
"""

from __future__ import annotations

import streamlit as st

from fangcang.access import Viewer

from . import nav
from .state import t


def current_viewer() -> Viewer | None:
    return st.session_state.get("viewer")


def page(page_id: str) -> Viewer:
    """Return the signed-in viewer allowed on ``page_id``; otherwise show why and stop."""
    viewer = current_viewer()
    if viewer is None:
        st.warning(t("guard.login_required"))
        st.page_link("app.py", label=t("guard.to_login"))
        st.stop()
    if viewer.role not in nav.spec(page_id).roles:
        st.error(t("guard.forbidden"))
        st.stop()
    return viewer
