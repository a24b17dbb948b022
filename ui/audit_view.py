"""Log views of person-level data (查询留痕) from pages, without flooding the audit log.

Streamlit reruns a page on every click; a view is logged once per session, target and detail
within ``WINDOW`` (a new filter is a new view). Usage in a page that shows people::

    from ui import audit_view
    audit_view.person_view(viewer, target=f"community:{cid}", rows=len(df), page="visits")
"""

from __future__ import annotations

import json
from datetime import timedelta

import streamlit as st

from fangcang import audit
from fangcang.access import Viewer
from fangcang.timeutil import now_local

from . import state

WINDOW = timedelta(minutes=10)
_KEY = "_person_views_logged"


def person_view(
    viewer: Viewer, *, target: str, rows: int, page: str, detail: dict | None = None
) -> bool:
    """Append ``person.view`` (target, row count, page, filters) unless this session logged
    the same view within ``WINDOW``; return True when an entry was written."""
    if rows <= 0:
        return False
    detail = {"rows": int(rows), "page": page, **(detail or {})}
    key = f"{viewer.username}|{target}|{json.dumps(detail, sort_keys=True, default=str)}"
    logged: dict = st.session_state.setdefault(_KEY, {})
    now = now_local()
    if key in logged and now - logged[key] < WINDOW:
        return False
    with state.session() as s:
        audit.log(s, actor=viewer.username, action="person.view", target=target, detail=detail)
        s.commit()
    logged[key] = now
    return True
