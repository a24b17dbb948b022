"""The one writer for every CSV and Excel file the project generates.

Downloads, ``tasks export``, ``audit export``, the import error report and the rejected-rows
files all go through here, so no cell reaches a spreadsheet program as a live formula (CSV /
formula injection, OWASP "CSV Injection"): a text value starting with ``= + - @``, a tab, a
carriage return or a line feed (or their full-width forms ``＝ ＋ － ＠``, which WPS also
evaluates) is written with a leading apostrophe, the form Excel and WPS show as plain text.
Plain numbers written as text (``-12``, ``+3.5``) are left alone. Column headers are defused
too: the rejected-rows file repeats the uploader's headers.

Usage::

    from fangcang import spreadsheet
    data = spreadsheet.csv_bytes(df)               # UTF-8 with BOM (Excel/WPS open it)
    spreadsheet.write(df, "out/report.xlsx")       # format from the extension
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

#: First characters that make Excel, LibreOffice or WPS evaluate a cell.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "＝", "＋", "－", "＠")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
FORMATS = ("csv", "xlsx")


def defuse(value):
    """``value`` made safe for a spreadsheet cell: risky text gets a leading apostrophe.

    Non-text values (numbers, dates, None) are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.match(value):
        return "'" + value
    return value


def defuse_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with every text cell and column header passed through :func:`defuse`."""
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            out[col] = series.map(defuse)
    out.columns = [defuse(c) if isinstance(c, str) else c for c in out.columns]
    return out


def csv_bytes(df: pd.DataFrame, *, date_format: str | None = None) -> bytes:
    """``df`` (defused) as CSV, UTF-8 with a byte-order mark, without the index.

    ``date_format`` (e.g. ``"%Y-%m-%d %H:%M:%S"``) formats datetime columns; default ISO.
    """
    # CRLF rows (RFC 4180): the csv module then quotes any field holding a CR or an LF. With
    # pandas' default "\n" a bare CR inside a value is written unquoted and splits the row in
    # Excel, putting what follows at the start of a new cell.
    text = defuse_frame(df).to_csv(index=False, date_format=date_format, lineterminator="\r\n")
    return text.encode("utf-8-sig")


def xlsx_bytes(df: pd.DataFrame, *, sheet_name: str = "data") -> bytes:
    """``df`` (defused) as an Excel workbook with one sheet, without the index."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        defuse_frame(df).to_excel(writer, index=False, sheet_name=sheet_name[:31] or "data")
    return buf.getvalue()


def to_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    """``df`` as ``fmt`` (``"csv"`` or ``"xlsx"``); raises ``ValueError`` for another format."""
    if fmt == "csv":
        return csv_bytes(df)
    if fmt == "xlsx":
        return xlsx_bytes(df)
    raise ValueError(f"spreadsheet format must be csv or xlsx, got {fmt!r}")


def write(df: pd.DataFrame, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``df`` (defused) to ``path``; the format comes from its extension unless given.

    The folder is created. Raises ``ValueError`` for an extension other than .csv / .xlsx.
    """
    path = Path(path)
    fmt = fmt or path.suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise ValueError(f"{path}: the file must end in .csv or .xlsx")
    data = to_bytes(df, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
