"""Per-process engine, per-user language, and the data version that UI caches key on."""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fangcang import db
from fangcang.config import get_settings
from fangcang.i18n import t as _t


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    return db.make_engine(url)


def engine() -> Engine:
    """The shared engine for the configured database (one pool per process)."""
    return _engine_for(get_settings().db_url)


def session() -> Session:
    """A new session for one user action: ``with ui.state.session() as s: ...``."""
    return Session(engine(), expire_on_commit=False)


def data_version() -> int:
    """Read on every run (one tiny query) so caches keyed on it never serve stale data."""
    with session() as s:
        return db.data_version(s)


def lang() -> str:
    return st.session_state.get("lang", "zh")


def t(key: str, **kwargs) -> str:
    """Label in the user's language."""
    return _t(key, lang(), **kwargs)
