"""Masking of personal data (names, ID numbers, phones, house numbers).

Everything shown or exported is masked by default; ``mask_frame`` masks the personal columns of
a DataFrame by name. Showing a record in the clear is a separate, permissioned and audited act.
"""

from __future__ import annotations

import re

import pandas as pd
from sqlalchemy.orm import Session

from . import audit, spreadsheet
from .access import Permission, Viewer
from .websafe import escape  # noqa: F401  (re-exported: fangcang.privacy.escape)

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
    """330302199001011234 -> 330302********1234 (keeps the region code and the last four).

    A value too short to be an ID number (a phone typed into the ID column, a typo) keeps
    only its last four characters: ``13800138000`` -> ``*******8000``, never 10 of 11 digits.
    """
    if not value:
        return ""
    value = str(value)
    if len(value) <= 10:
        return "*" * len(value)
    if len(value) < 15:
        return "*" * (len(value) - 4) + value[-4:]
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


#: ID numbers inside free text: 18 characters (17 digits and a check digit) or the old 15
#: digits, written whole or in groups (6-8-4 / 6-8-3-1) with spaces or dashes.
_ID_IN_TEXT = re.compile(
    r"(?<![\dA-Za-z])(\d{6})[ \-]?(\d{8})[ \-]?(\d{3})[ \-]?([\dXx])(?![\dA-Za-z])"
    r"|(?<![\dA-Za-z])\d{15}(?![\dA-Za-z])"
)
#: Mainland mobiles inside free text: 11 digits starting 13-19, plain or grouped 3-4-4, with
#: an optional +86 / 0086 / 86 prefix.
_MOBILE_IN_TEXT = re.compile(
    r"(?<![\d+])((?:\+|00)?86[ \-]?)?(1[3-9]\d)[ \-]?(\d{4})[ \-]?(\d{4})(?!\d)"
)
#: Landlines with an area code: 0577-88886666, (0577) 8888 6666.
_LANDLINE_IN_TEXT = re.compile(r"(?<!\d)\(?(0\d{2,3})\)?[ \-](\d{3,4}) ?(\d{4})(?!\d)")


def mask_text(text: str) -> str:
    """Mask ID numbers and phone numbers found anywhere in free text (log lines, messages).

    A safety net for text that is not a frame column: ``... 330302199001011234 ...`` ->
    ``... 330302********1234 ...``, ``+86 138 0013 8000`` -> ``138****8000``,
    ``0577-88886666`` -> ``0577-****6666``. Other numbers (dates, counts, community codes of
    12 digits) are left alone.
    """
    if not text:
        return text
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(re.sub(r"[ \-]", "", m.group(0))), text)
    text = _MOBILE_IN_TEXT.sub(lambda m: f"{m.group(2)}****{m.group(4)}", text)
    return _LANDLINE_IN_TEXT.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)


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
    "house_address": mask_address,
    "observed_address": mask_address,
    # Chinese headers, for frames renamed for display before they are exported.
    "姓名": mask_name,
    "身份证号": mask_id_number,
    "身份证号码": mask_id_number,
    "公民身份号码": mask_id_number,
    "电话": mask_phone,
    "联系电话": mask_phone,
    "手机": mask_phone,
    "手机号": mask_phone,
    "地址": mask_address,
    "住址": mask_address,
    "门牌": mask_address,
    "门牌号": mask_address,
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


# ---------------------------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------------------------
def export_bytes(df: pd.DataFrame, fmt: str, columns: dict | None = None) -> bytes:
    """Mask personal columns (``mask_frame``), defuse spreadsheet formulas and serialise.

    Parameters
    ----------
    df : DataFrame
    fmt : {"csv", "xlsx"}
        CSV is UTF-8 with a byte-order mark (opens correctly in Excel in China).
    columns : dict, optional
        Column -> masking function (default ``PERSONAL_COLUMNS``).

    The bytes come from ``fangcang.spreadsheet`` (the project's one defusing writer).
    """
    if fmt not in spreadsheet.FORMATS:
        raise ValueError(f"export format must be csv or xlsx, got {fmt!r}")
    return spreadsheet.to_bytes(mask_frame(df, columns), fmt)


# ---------------------------------------------------------------------------------------------
# Showing one record in the clear
# ---------------------------------------------------------------------------------------------
MIN_REASON_CHARS = 4
#: kind -> (model name, fields returned in the clear)
UNMASKABLE = {
    "person": (
        "Person",
        ("person_id", "name", "id_number", "phone", "birth_date", "house_id", "community_id"),
    ),
    "house": ("House", ("house_id", "address", "community_id")),
    "alcohol_file": ("AlcoholPersonFile", ("name", "id_number", "community_id")),  # 一人一档
}


def unmask(session: Session, viewer: Viewer, kind: str, record_id: str, reason: str) -> dict:
    """Return one person's or house's record in the clear, and audit it.

    Needs ``Permission.UNMASK`` (dispatchers, station and community officers), the record must
    lie inside the viewer's scope, and a stated reason of at least 4 characters. Appends
    ``person.unmask`` / ``house.unmask`` (target ``<kind>:<id>``, the reason and the fields
    shown, never their values) in the caller's transaction: commit it.

    Raises
    ------
    Forbidden
        The role may not unmask.
    ScopeError
        The record is outside the viewer's jurisdiction.
    ValueError
        Unknown kind, no reason, or no such record.
    """
    from . import models

    if kind not in UNMASKABLE:
        raise ValueError(f"kind must be one of {', '.join(UNMASKABLE)}, got {kind!r}")
    viewer.require(Permission.UNMASK)
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON_CHARS:
        raise ValueError(f"state a reason of at least {MIN_REASON_CHARS} characters")
    model_name, fields = UNMASKABLE[kind]
    record = session.get(getattr(models, model_name), record_id)
    if record is None:
        raise ValueError(f"no {kind} {record_id!r}")
    viewer.scope.check(record.community_id)
    audit.log(
        session,
        actor=viewer.username,
        action=f"{kind}.unmask",
        target=f"{kind}:{record_id}",
        detail={
            "reason": reason[:500],
            "fields": list(fields),
            "role": viewer.role.value,
            "community_id": record.community_id,
        },
    )
    return {f: getattr(record, f) for f in fields}
