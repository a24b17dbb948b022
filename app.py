"""Fangcang dashboard: frame, first-start demo build, sign-in and navigation.

Run with ``make run`` (``python -m streamlit run serve.py``: this script plus the sign-in cookie
routes, see docs/access.md).
"""

from __future__ import annotations

import logging
import os

import streamlit as st

from fangcang import logsetup
from ui import errors, login, nav, state

log = logging.getLogger("fangcang.app")

st.set_page_config(
    page_title="基础数字方舱 Fangcang", page_icon="🛡️", layout="wide"
)  # emoji: a material icon favicon loads from fonts.gstatic.com


def _secrets_to_env() -> None:
    """Only app.py touches st.secrets: copy FANGCANG_* secrets into the environment."""
    try:
        secrets = dict(st.secrets)
    except Exception as exc:  # no secrets.toml: fine, the environment and defaults apply
        log.debug("no Streamlit secrets: %s", exc)
        return
    for key, value in secrets.items():
        if key.startswith("FANGCANG_") and isinstance(value, str):
            os.environ.setdefault(key, value)


_secrets_to_env()
logsetup.configure()  # once per process (FANGCANG_LOG_LEVEL); serve.py calls it first
state.startup()

# `?lang=en` in a link selects the language (once per browser session: the switch then rules,
# and keeps the address in step so a reload or a shared link keeps the language).
if "lang" not in st.session_state and st.query_params.get("lang") in ("zh", "en"):
    st.session_state["lang"] = st.query_params["lang"]


def _lang_to_url() -> None:
    st.query_params["lang"] = st.session_state["lang"]


with st.sidebar:
    st.selectbox(
        state.t("app.language"),
        options=["zh", "en"],
        format_func=lambda code: {"zh": "中文", "en": "English"}[code],
        key="lang",
        on_change=_lang_to_url,
    )

from ui import firststart  # noqa: E402  (after the frame is drawn, so progress shows)

firststart.ensure_database()

viewer = login.signed_in_viewer()
if viewer is None:
    # Signed out, every address shows the sign-in form (and after signing in, the page the
    # address names). Registering the addresses through st.navigation also ends Streamlit's
    # legacy multipage mode, which would otherwise list the files in pages/ in the sidebar.
    errors.run_page(
        st.navigation(
            [
                st.Page(
                    login.render_login, title=state.t("login.title"), url_path="login", default=True
                )
            ]
            + [
                st.Page(login.render_login, title=state.t(p.title_key), url_path=p.id)
                for p in nav.PAGES
            ],
            position="hidden",
        )
    )
    st.stop()

# Where a role lands when the address names no page (community officers: their tasks).
allowed = nav.allowed(viewer.role)
landing = login.landing_page(viewer.role)

# Pages in sections (态势, 通报与成效, 任务, 管理), all listed: no "View more" fold.
sections: dict[str, list] = {}
for p in allowed:
    page = st.Page(p.file, title=state.t(p.title_key), icon=p.icon, url_path=p.id)
    sections.setdefault(state.t(p.group), []).append(page)
# Every page keeps its own address, the landing page too: "/" is a hidden alias that switches to
# the landing page's own address (so the page list highlights it), and a shared or bookmarked
# /overview or /my_tasks link opens that page instead of Streamlit's English "Page not found"
# dialog. Pages the role may not open stay registered, hidden, so their links reach the page's
# own guard, which says so in the user's language.
landing_page = next(
    page for pages in sections.values() for page in pages if page.url_path == landing
)


def _to_landing() -> None:
    st.switch_page(landing_page, query_params=st.query_params.to_dict())


hidden = [
    st.Page(
        _to_landing, title=landing_page.title, url_path="home", default=True, visibility="hidden"
    )
]
hidden += [
    st.Page(p.file, title=state.t(p.title_key), url_path=p.id, visibility="hidden")
    for p in nav.PAGES
    if p not in allowed
]
next(iter(sections.values())).extend(hidden)
login.render_account_box(viewer)
nav.phone_sidebar()  # phones: the sidebar closes after choosing a page
login.render_cookie_script()
# Off in config.toml (no pages/ list for a signed-out first deep link), on for signed-in users.
st.set_option("client.showSidebarNavigation", True)
errors.run_page(st.navigation(sections, expanded=True))
