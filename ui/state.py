"""Per-process engine, per-user language, and the data version that UI caches key on."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fangcang import db
from fangcang.config import get_settings
from fangcang.i18n import t as _t
from fangcang.timeutil import now_local


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


T = TypeVar("T")


@st.cache_data(show_spinner=False, max_entries=256)
def _cached_call(target: str, version: int, args: tuple, kwargs: tuple) -> Any:
    module_name, _, qualname = target.partition(":")
    fn: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        fn = getattr(fn, part)
    with session() as s:
        return fn(s, *args, **dict(kwargs))


def load(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn(session, *args, **kwargs)`` through the one UI cache, keyed by the data version.

    The single cached-loader helper for pages: ``state.load(overview.overview, scope, period, lang)``
    instead of a hand-written ``st.cache_data`` wrapper per page. The cache key is the function's
    import path, the current data version (so any import, correction or write invalidates it) and the
    arguments, which must be hashable by ``st.cache_data`` (scopes, months, strings, numbers, tuples).
    ``fn`` must be a module-level fangcang function taking a ``Session`` first.
    """
    target = f"{fn.__module__}:{fn.__qualname__}"
    if "<locals>" in target or "<lambda>" in target:
        raise ValueError(f"state.load needs a module-level function, got {target}")
    return _cached_call(target, data_version(), args, tuple(sorted(kwargs.items())))


def as_of(resolution: str = "minute") -> datetime:
    """The local time cut to the ``minute`` or ``hour``, for loads whose result depends on the
    clock (overdue items, minutes left, the current month).

    The cache of ``load`` keys on the data version, which changes only when data is written:
    passed as ``now=``, this time also keys it, so such results are recomputed once a minute
    (or hour) instead of staying as they were at the last write.
    """
    if resolution not in ("minute", "hour"):
        raise ValueError(f"resolution must be 'minute' or 'hour', got {resolution!r}")
    now = now_local().replace(second=0, microsecond=0)
    return now.replace(minute=0) if resolution == "hour" else now


def lang() -> str:
    return st.session_state.get("lang", "zh")


def t(key: str, **kwargs) -> str:
    """Label in the user's language."""
    return _t(key, lang(), **kwargs)
