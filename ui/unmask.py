""" "Show in the clear" for one person or house: permission, a stated reason, an audit entry.

Usage in a page that lists people (masked)::

    from ui import unmask
    unmask.render(viewer, "person", person_id)

Roles without ``Permission.UNMASK`` see nothing here. The clear values are shown once, in this
run only (never cached, never in session state).
"""

from __future__ import annotations

import streamlit as st

from fangcang import privacy
from fangcang.access import Permission, ScopeError, Viewer

from . import state
from .state import t


def render(viewer: Viewer, kind: str, record_id: str, *, key: str | None = None) -> dict | None:
    """A small form (reason + button); on submit shows the record in the clear and returns it."""
    if not viewer.can(Permission.UNMASK):
        return None
    key = key or f"unmask_{kind}_{record_id}"
    with st.popover(t("unmask.button"), icon=":material/visibility:"):
        with st.form(key, border=False):
            reason = st.text_input(t("unmask.reason"), placeholder=t("unmask.reason_hint"))
            st.caption(t("unmask.logged"))
            go = st.form_submit_button(t("unmask.submit"), type="primary")
        if not go:
            return None
        try:
            with state.session() as s:
                record = privacy.unmask(s, viewer, kind, record_id, reason)
                s.commit()
        except (ValueError, ScopeError, PermissionError) as exc:
            st.error(str(exc))
            return None
        st.dataframe(
            [
                {"field": t(f"unmask.field.{k}"), "value": "" if v is None else str(v)}
                for k, v in record.items()
            ],
            hide_index=True,
            width="stretch",
        )
        return record
