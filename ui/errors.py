"""What a user sees when something fails: a plain message, never a traceback.

``.streamlit/config.toml`` turns Streamlit's own error details off (``showErrorDetails``);
app.py runs every page through :func:`run_page`, and ``serve.py`` passes
:func:`on_script_error` to ``st.App`` for errors in widget callbacks. A database busy with
another long write (``fangcang.db.is_busy_error``) gets a "busy, please retry" message;
anything else a reference number, with the traceback in the server log under that number.
"""

from __future__ import annotations

import logging
import secrets

import streamlit as st

from fangcang.db import is_busy_error
from fangcang.timeutil import now_local

from .state import t

log = logging.getLogger("fangcang.ui")


def reference() -> str:
    """A short reference a user can read out: ``E-<yymmddHHMM>-<6 hex>``."""
    return f"E-{now_local():%y%m%d%H%M}-{secrets.token_hex(3)}"


def report(exc: BaseException) -> str | None:
    """Show ``exc`` to the user as a plain message; log the detail. Returns the reference
    (None for a busy database, which is expected and needs no administrator)."""
    if is_busy_error(exc):
        log.warning("database busy, the user was asked to retry: %s", exc)
        st.warning(t("error.busy"), icon=":material/hourglass_top:")
        return None
    ref = reference()
    log.error("unexpected error, reference %s", ref, exc_info=exc)
    st.error(t("error.plain", ref=ref), icon=":material/error:")
    return ref


def run_page(page) -> None:
    """``page.run()`` with failures shown by :func:`report` (st.stop / st.rerun pass through:
    they are not ``Exception``)."""
    try:
        page.run()
    except Exception as exc:
        report(exc)


def on_script_error(exc: Exception) -> bool:
    """``st.App(on_script_error=...)``: report and suppress Streamlit's own display."""
    try:
        report(exc)
    except Exception:  # outside a script run there is no page to write to
        log.error("unexpected error outside a page", exc_info=exc)
    return True
