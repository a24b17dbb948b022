"""Per-process engine, per-user language, and the data version that UI caches key on."""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from fangcang import db
from fangcang.config import get_settings
from fangcang.i18n import t as _t


@st.cache_resource(show_spinner=False)
def _engine_for(url: str) -> Engine:
    return db.make_engine(url)


log = logging.getLogger(__name__)

#: What the dashboard pages import (pages/*.py and the fangcang modules behind them: pandas,
#: plotly, scipy, geopandas, folium ...). A fresh server process imports them once in the
#: background (``warm_up``) while the first visitor signs in, instead of inside the first page
#: run: several seconds on a shared 2-core machine (bench/bench_pages.py reports them apart).
PAGE_MODULES: tuple[str, ...] = (
    "ui.charts",
    "ui.chips",
    "ui.columns",
    "ui.filters",
    "ui.periods",
    "fangcang.views.overview",
    "fangcang.views.warning",
    "fangcang.trends",
    "fangcang.periods",
    "fangcang.maps",
    "fangcang.community",
    "fangcang.effect",
    "fangcang.tasks",
    "streamlit_folium",
)
#: Set when ``warm_up`` has imported ``PAGE_MODULES`` (or given up on one: logged).
WARMED = threading.Event()
WARM_UP_SECONDS: dict[str, float] = {}


def warm_up() -> None:
    """Import ``PAGE_MODULES`` (the server's background thread; a page that runs meanwhile
    imports what it needs itself: imports are thread-safe)."""
    started = time.perf_counter()
    try:
        for name in PAGE_MODULES:
            try:
                importlib.import_module(name)
            except Exception as exc:  # a page reports its own import error when it runs
                log.warning("warm-up could not import %s: %s", name, exc)
    finally:
        WARM_UP_SECONDS["imports"] = round(time.perf_counter() - started, 3)
        WARMED.set()


@st.cache_resource(show_spinner=False)
def startup() -> bool:
    """Once per server process: sweep temporary files a previous process left behind; import
    the pages' modules in the background (``warm_up``)."""
    from fangcang import tempfiles

    threading.Thread(target=warm_up, name="page-imports", daemon=True).start()
    try:
        tempfiles.sweep()
    except OSError as exc:  # never keep the app from starting; say why in the log
        log.warning("temp sweep failed: %s", exc)
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


def lang() -> str:
    return st.session_state.get("lang", "zh")


def t(key: str, **kwargs) -> str:
    """Label in the user's language."""
    return _t(key, lang(), **kwargs)
