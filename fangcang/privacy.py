"""Masking of personal data (names, ID numbers, phones, house numbers).

Everything shown or exported is masked by default; ``mask_frame`` masks the personal columns of
a DataFrame by name. Showing a record in the clear is a separate, permissioned and audited act.
"""

from __future__ import annotations

import re

import pandas as pd

_DIGITS_IN_ADDRESS = re.compile(r"(\d+)(号|室|栋|幢|单元|楼|弄|#)")


def mask_name(name: str | None) -> str:
    """陈小华 -> 陈*华, 王五 -> 王*, a single character stays as ``*``."""
    if not name:
        return ""
    name = str(name)
    if len(name) == 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_id_number(value: str | None) -> str:
    """330302199001011234 -> 330302********1234 (keeps the region code and the last four)."""
    if not value:
        return ""
    value = str(value)
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    """13812345678 -> 138****5678."""
    if not value:
        return ""
    value = str(value)
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_address(value: str | None) -> str:
    """Hide house, building and room numbers: 五马街12号3室 -> 五马街**号*室."""
    if not value:
        return ""
    return _DIGITS_IN_ADDRESS.sub(lambda m: "*" * len(m.group(1)) + m.group(2), str(value))


#: Column name -> masking function. Any frame leaving fangcang for a screen or a file goes
#: through ``mask_frame``; columns are recognised by these names.
PERSONAL_COLUMNS = {
    "name": mask_name,
    "person_name": mask_name,
    "resident_name": mask_name,
    "observed_name": mask_name,
    "id_number": mask_id_number,
    "observed_id_number": mask_id_number,
    "phone": mask_phone,
    "observed_phone": mask_phone,
    "address": mask_address,
}


def mask_frame(df: pd.DataFrame, columns: dict | None = None) -> pd.DataFrame:
    """Return a copy of ``df`` with personal columns masked.

    Parameters
    ----------
    df : DataFrame
    columns : dict, optional
        Column -> masking function; defaults to ``PERSONAL_COLUMNS``. Officer names are not
        personal data of residents and are not in the default list under ``officer_name``.
    """
    columns = PERSONAL_COLUMNS if columns is None else columns
    out = df.copy()
    for col, fn in columns.items():
        if col in out.columns:
            out[col] = out[col].map(lambda v, fn=fn: fn(v) if pd.notna(v) else "")
    return out
