"""The one download helper every page uses for CSV / Excel.

Personal columns are masked (``fangcang.privacy.mask_frame`` by column name, Chinese headers
included), spreadsheet formulas are defused, and each click appends an ``export.csv`` /
``export.xlsx`` audit entry with the row count. The file is built only when clicked.

Usage in a page::

    from ui import export
    export.download_buttons(df, viewer=viewer, name="warning-2026-10", target="warning")
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from fangcang import audit, privacy
from fangcang.access import Permission, Viewer

from . import state
from .state import t

MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_SAFE_NAME = re.compile(r"[^\w.\-]+", re.UNICODE)


def _log(viewer: Viewer, fmt: str, file_name: str, target: str, rows: int, cols: list) -> None:
    with state.session() as s:
        audit.log(
            s,
            actor=viewer.username,
            action=f"export.{fmt}",
            target=target or file_name,
            detail={"file": file_name, "rows": rows, "columns": cols[:60]},
        )
        s.commit()


def download(
    df: pd.DataFrame,
    *,
    viewer: Viewer,
    name: str,
    fmt: str = "csv",
    target: str = "",
    label: str | None = None,
    key: str | None = None,
    columns: dict | None = None,
) -> None:
    """One download button for ``df`` as ``<name>.<fmt>`` (masked, audited on click).

    Parameters
    ----------
    df : DataFrame
        What the user sees (person-level columns are masked by name on the way out).
    viewer : Viewer
        The signed-in viewer (``guard.page``); roles without ``Permission.EXPORT`` get no button.
    name : str
        File name without extension; unsafe characters are replaced.
    fmt : {"csv", "xlsx"}
    target : str
        What is exported, for the audit log (default: the file name), e.g. a page id.
    label, key : str, optional
        Button label (default "下载 CSV" / "下载 Excel") and widget key.
    columns : dict, optional
        Column -> mask function, for extra personal columns (default ``PERSONAL_COLUMNS``).
    """
    if fmt not in MIME:
        raise ValueError(f"fmt must be csv or xlsx, got {fmt!r}")
    if not viewer.can(Permission.EXPORT):
        return
    file_name = f"{_SAFE_NAME.sub('_', name).strip('_') or 'export'}.{fmt}"
    frame = df.copy()  # the page may change df after this call; the click must not see that
    st.download_button(
        label or t(f"export.{fmt}"),
        data=lambda: privacy.export_bytes(frame, fmt, columns),
        file_name=file_name,
        mime=MIME[fmt],
        key=key or f"export_{fmt}_{file_name}",
        icon=":material/download:",
        on_click=_log,
        args=(viewer, fmt, file_name, target, len(frame), [str(c) for c in frame.columns]),
        disabled=frame.empty,
    )


def download_buttons(
    df: pd.DataFrame,
    *,
    viewer: Viewer,
    name: str,
    target: str = "",
    formats: tuple[str, ...] = ("csv", "xlsx"),
    key: str | None = None,
    columns: dict | None = None,
) -> None:
    """CSV and Excel buttons side by side (see :func:`download`)."""
    with st.container(horizontal=True, gap="small"):
        for fmt in formats:
            download(
                df,
                viewer=viewer,
                name=name,
                fmt=fmt,
                target=target,
                key=f"{key}_{fmt}" if key else None,
                columns=columns,
            )
