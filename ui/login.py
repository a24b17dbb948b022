"""Sign-in. PLACEHOLDER until the access issue lands: a role picker, no password."""

from __future__ import annotations

import streamlit as st

from fangcang.access import Role, Viewer


def signed_in_viewer() -> Viewer | None:
    return st.session_state.get("viewer")


def render_login() -> None:
    role = st.selectbox("role", [r.value for r in Role])
    if st.button("sign in"):
        st.session_state["viewer"] = Viewer(username=role, role=Role(role))
        st.rerun()


def render_account_box(viewer: Viewer) -> None:
    with st.sidebar:
        st.caption(f"{viewer.username} ({viewer.role.value})")
