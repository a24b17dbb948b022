"""Numbers that should be text: ID numbers, phones and codes that Excel turned into numbers.

Excel keeps 15 significant digits of a number. An 18-digit ID number typed into a cell that is
not formatted as text is stored as ``330302197302187000`` (shown as ``3.30302E+17``): the last
digits are gone, and about one damaged ID in eleven still passes the GB 11643 check digit. A
phone stored as a number comes out of a CSV export as ``13800138000.0``. Spreadsheet users also
protect text with a leading apostrophe (``'13800138000``) or a formula (``="13800138000"``).

``normalize_codes`` applies one rule to every such column:

- ``'…`` and ``="…"`` protection is removed;
- a number written with a ``.0`` fraction, or in scientific notation, or read from a numeric
  .xlsx cell, is turned back into its digits when no digit was lost (``13800138000.0`` ->
  ``13800138000``; ``1.3800138000E+10`` shows all 11 digits);
- when digits were lost (more than 15 significant digits, or a mantissa shorter than the
  number) the cell is rejected with a plain explanation; an ID number read from a numeric
  .xlsx cell is always rejected (its 16th to 18th characters cannot have survived).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Significant digits Excel keeps in a number (IEEE double, as Excel displays it).
EXCEL_DIGITS = 15

LOST_NUMERIC_CELL = (
    "stored as a number by Excel: digits after the 15th are lost; format the column as Text "
    "and export again"
)
LOST_SCIENTIFIC = (
    "written in scientific notation by Excel: digits are lost; format the column as "
    "Text and export again"
)
LOST_FRACTION = (
    "written as a number by Excel: digits after the 15th are lost; format the column "
    "as Text and export again"
)

#: A number in an ID-number column too short to have been one (a phone, a serial number).
NOT_AN_ID_NUMBER = (
    "a number of {n} digits, not an ID number (18 characters, or 15 on old cards): check the "
    "column holds ID numbers, format it as Text and export again"
)

_PROTECTED = r'^="(.*)"$'
_FRACTION = r"^([+-]?\d+)\.0+$"
_SCIENTIFIC = r"^([+-]?)(\d)(?:\.(\d+))?[eE]\+?(\d{1,3})$"
#: Cells that may carry protection, a ".0" fraction or scientific notation.
_CANDIDATE = r"^['=]|\.0+$|\d[eE]\+?\d+$"


def strip_protection(text: pd.Series) -> pd.Series:
    """Remove spreadsheet text protection: ``'123`` -> ``123``, ``="123"`` -> ``123``."""
    out = text
    quoted = out.str.startswith("'")
    if quoted.any():
        out = out.where(~quoted, out.str[1:])
    formula = out.str.startswith('="')
    if formula.any():
        inner = out.str.extract(_PROTECTED, expand=False)
        out = out.where(~(formula & inner.notna()), inner)
    return out.str.strip()


def normalize_codes(
    text: pd.Series, numeric: np.ndarray | None = None, *, id_number: bool = False
) -> tuple[pd.Series, pd.Series]:
    """Normalise a column of codes; return ``(text, reason)``.

    Parameters
    ----------
    text : Series of str
        Trimmed cell text (``""`` for empty).
    numeric : bool array, optional
        True where the cell was a number in an .xlsx sheet.
    id_number : bool
        The column holds 18-character ID numbers: a numeric cell is always rejected.

    Returns
    -------
    (Series, Series)
        The normalised text (unchanged where rejected) and, per cell, the reason it is
        rejected (None where it is fine).
    """
    reason = pd.Series(None, index=text.index, dtype=object)
    # One vectorised pass finds the few cells that may need work; the rest stay as they are
    # (a million clean ids cost one regex scan, not Python per cell).
    cand = text.str.contains(_CANDIDATE, regex=True).fillna(False).to_numpy(dtype=bool).copy()
    num = None
    if numeric is not None and numeric.any():
        num = np.asarray(numeric, dtype=bool) & (text != "").to_numpy(dtype=bool)
        cand |= num
    out = text.copy()
    if cand.any():
        sub_out, sub_reason = _normalize(text[cand], None if num is None else num[cand], id_number)
        out[cand] = sub_out
        reason[cand] = sub_reason
    return out, reason


def _normalize(
    text: pd.Series, numeric: np.ndarray | None, id_number: bool
) -> tuple[pd.Series, pd.Series]:
    text = text.astype(object)
    out = strip_protection(text)
    reason = pd.Series(None, index=text.index, dtype=object)
    is_sci = pd.Series(False, index=text.index)
    exp = pd.Series(-1, index=text.index)
    # ".0" fractions (CSV written from a numeric column).
    frac = out.str.extract(_FRACTION, expand=False)
    has_frac = frac.notna()
    if has_frac.any():
        lost = has_frac & (
            frac.fillna("").str.lstrip("+-").str.lstrip("0").str.len() > EXCEL_DIGITS
        )
        reason[lost] = LOST_FRACTION  # the value itself is shown (masked) beside the reason
        out = out.where(~(has_frac & ~lost), frac)
    # Scientific notation: exact only when the mantissa carries every digit.
    sci = out.str.extract(_SCIENTIFIC)
    is_sci = sci[1].notna()
    if is_sci.any():
        mant = (sci[1].fillna("") + sci[2].fillna("")).where(is_sci, "")
        exp = pd.to_numeric(sci[3], errors="coerce").fillna(-1).astype(int)
        # exact only when the mantissa has as many digits as the number: 1.3800138E+10 may
        # be 13800138000 or a number whose last three digits Excel dropped
        ok = is_sci & (mant.str.len() == exp + 1) & (mant.str.len() <= EXCEL_DIGITS)
        lost = is_sci & ~ok
        reason[lost] = LOST_SCIENTIFIC
        out = out.where(~ok, sci[0].fillna("") + mant)
    if numeric is not None and numeric.any():
        num = pd.Series(numeric, index=text.index) & (out != "")
        digits = out.str.fullmatch(r"[+-]?\d+").fillna(False)
        lost = num & digits.astype(bool) & (out.str.lstrip("+-").str.len() > EXCEL_DIGITS)
        lost |= num & is_sci & reason.notna()  # a numeric cell shown as 3.30302E+17
        if id_number:
            lost = num
        reason[lost] = LOST_NUMERIC_CELL
        if id_number:
            # How many digits the number has: its length, or the exponent + 1 (3.30302E+17).
            n = out.str.lstrip("+-").str.len().where(digits.astype(bool), -1)
            if is_sci.any():
                n = n.where(~is_sci, exp + 1)
            short = num & (n > 0) & (n < 15)
            for k in pd.unique(n[short]):
                reason[short & (n == k)] = NOT_AN_ID_NUMBER.format(n=int(k))
    return out, reason
