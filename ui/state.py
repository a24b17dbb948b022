"""Per-process engine, per-user language, and the data version that UI caches key on."""

from __future__ import annotations

import logging

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fangcang import db
from fangcang.config import get_settings
from fangcang.i18n import t as _t


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    return db.make_engine(url)


@st.cache_resource(show_spinner=False)
def startup() -> bool:
    """Once per server process: sweep temporary files a previous process left behind."""
    from fangcang import tempfiles

    try:
        tempfiles.sweep()
    except OSError as exc:  # never keep the app from starting; say why in the log
        logging.getLogger(__name__).warning("temp sweep failed: %s", exc)
    return True


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
