"""Fangcang dashboard: frame, first-start demo build, sign-in and navigation.

Run with ``make run`` (or ``python -m streamlit run app.py``).
"""

from __future__ import annotations

import os

import streamlit as st

from ui import login, nav, state

st.set_page_config(
    page_title="基础数字方舱 Fangcang", page_icon="🛡️", layout="wide"
)  # emoji: a material icon favicon loads from fonts.gstatic.com


def _secrets_to_env() -> None:
    """Only app.py touches st.secrets: copy FANGCANG_* secrets into the environment."""
    try:
        secrets = dict(st.secrets)
    except Exception:  # no secrets.toml: fine, the environment and defaults apply
        return
    for key, value in secrets.items():
        if key.startswith("FANGCANG_") and isinstance(value, str):
            os.environ.setdefault(key, value)


_secrets_to_env()

with st.sidebar:
    st.selectbox(
        state.t("app.language"),
        options=["zh", "en"],
        format_func=lambda code: {"zh": "中文", "en": "English"}[code],
        key="lang",
    )

from ui import firststart  # noqa: E402  (after the frame is drawn, so progress shows)

firststart.ensure_database()

viewer = login.signed_in_viewer()
if viewer is None:
    # Signed out, every address shows the sign-in form (and after signing in, the page the
    # address names). Registering the addresses through st.navigation also ends Streamlit's
    # legacy multipage mode, which would otherwise list the files in pages/ in the sidebar.
    st.navigation(
        [st.Page(login.render_login, title=state.t("login.title"), url_path="login", default=True)]
        + [
            st.Page(login.render_login, title=state.t(p.title_key), url_path=p.id)
            for p in nav.PAGES
        ],
        position="hidden",
    ).run()
    st.stop()

# Pages in sections (态势, 通报与成效, 任务, 管理), all listed: no "View more" fold.
sections: dict[str, list] = {}
for p in nav.allowed(viewer.role):
    page = st.Page(
        p.file, title=state.t(p.title_key), icon=p.icon, url_path=p.id, default=p.default
    )
    sections.setdefault(state.t(p.group), []).append(page)
login.render_account_box(viewer)
nav.phone_sidebar()  # phones: the sidebar closes after choosing a page
st.navigation(sections, expanded=True).run()
