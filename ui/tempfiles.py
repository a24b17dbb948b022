"""Per-browser-session temporary folders (upload copies), removed when the session ends.

``folder(key, kind)`` returns a private folder (``fangcang.tempfiles``) tied to this Streamlit
session: ``release(key)`` removes it at once (import done, upload cleared); otherwise it goes
when Streamlit drops the session's state (the tab closed and the session expired) or the server
stops, and :func:`fangcang.tempfiles.sweep` removes anything a killed server left behind at the
next start.
"""

from __future__ import annotations

import weakref
from pathlib import Path

import streamlit as st

from fangcang import tempfiles


class _Held:
    """Owns one folder; removing the last reference (the session state) removes the folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._finalizer = weakref.finalize(self, tempfiles.remove, str(path))

    def release(self) -> None:
        self._finalizer()


def _key(key: str) -> str:
    return f"_tempdir_{key}"


def folder(key: str, kind: str = "upload") -> Path:
    """This session's folder for ``key`` (created on first use)."""
    held = st.session_state.get(_key(key))
    if held is None or not held.path.exists():
        held = _Held(tempfiles.make_dir(kind))
        st.session_state[_key(key)] = held
    return held.path


def release(key: str) -> None:
    """Remove this session's folder for ``key`` now (if any)."""
    held = st.session_state.pop(_key(key), None)
    if held is not None:
        held.release()
