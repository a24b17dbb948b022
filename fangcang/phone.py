"""One phone rule for people, officers and visits: validate and store one canonical form.

Validation is Google's libphonenumber (the PyPI package ``phonenumbers``) with mainland China
as the default region, so a number is accepted when libphonenumber's metadata says it is a
valid number, whichever way it is written (spaces, dashes, brackets, ``+86`` / ``0086``).
The stored (canonical) form is what Chinese forms and registries write:

- a mainland mobile: its 11 digits, ``13800138000``;
- a mainland landline: trunk prefix, area code, dash, subscriber number, ``0577-88886666``;
- other mainland numbers (``400``/``800`` service numbers): their national digits;
- a number of another country: E.164, ``+442079460958``.

A landline written without its area code (``88886666``) cannot be dialled from outside the
city and is not valid: the reason says to add the area code.

Speed: the common case (11 plain digits) is checked against the mobile pattern of
libphonenumber's own China metadata in one vectorised pass; only the other spellings go
through ``phonenumbers.parse`` (once per distinct value).
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pandas as pd
import phonenumbers

#: Default region for numbers written without a country code.
REGION = "CN"

_SEPARATORS = re.compile(r"[\s\-\.\(\)（）/]+")
_PLAIN_MOBILE = re.compile(r"^1\d{10}$")


@cache
def _mobile_pattern() -> re.Pattern:
    meta = phonenumbers.PhoneMetadata.metadata_for_region(REGION)
    return re.compile(f"(?:{meta.mobile.national_number_pattern})")


def normalize_phone(value: str | None) -> tuple[str | None, str | None]:
    """Validate one phone number; return ``(canonical, None)`` or ``(None, reason)``.

    An empty value gives ``(None, None)``.

    Examples
    --------
    >>> normalize_phone("+86 138-0013-8000")
    ('13800138000', None)
    >>> normalize_phone("0577 8888 6666")
    ('0577-88886666', None)
    """
    text = "" if value is None or pd.isna(value) else str(value).strip()
    if not text:
        return None, None
    if _PLAIN_MOBILE.match(text):
        if _mobile_pattern().fullmatch(text):
            return text, None
        return None, "not a valid mainland mobile number (no such operator prefix)"
    cleaned = _SEPARATORS.sub("", text)
    if cleaned.startswith("00"):
        cleaned = "+" + cleaned[2:]
    if not re.fullmatch(r"\+?\d{5,17}", cleaned):
        return None, "not a phone number (digits, spaces, dashes and a leading + only)"
    try:
        number = phonenumbers.parse(cleaned, REGION)
    except phonenumbers.NumberParseException as exc:
        return None, f"not a phone number ({exc})"
    if not phonenumbers.is_valid_number(number):
        digits = phonenumbers.national_significant_number(number)
        if number.country_code == 86 and len(digits) in (7, 8) and not cleaned.startswith("+"):
            return None, "landline without its area code: write it as 0577-88886666"
        return None, "not a valid phone number (wrong length or prefix)"
    return canonical(number), None


def canonical(number: phonenumbers.PhoneNumber) -> str:
    """The stored form of a valid parsed number (see the module docstring)."""
    nsn = phonenumbers.national_significant_number(number)
    if number.country_code != 86:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    kind = phonenumbers.number_type(number)
    if kind == phonenumbers.PhoneNumberType.MOBILE:
        return nsn
    area = phonenumbers.length_of_geographical_area_code(number)
    if area > 0:
        return f"0{nsn[:area]}-{nsn[area:]}"
    return nsn


def normalize_phones(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Vectorised ``normalize_phone`` over a column of text (``""`` or NA = empty).

    Returns
    -------
    (canonical, reason) : two Series on ``values``' index
        ``canonical`` is the stored form (None where empty or invalid); ``reason`` is None
        except where the value is invalid.
    """
    text = values.fillna("").astype(str).str.strip()
    out = pd.Series(None, index=values.index, dtype=object)
    why = pd.Series(None, index=values.index, dtype=object)
    present = text != ""
    if not present.any():
        return out, why
    plain = present & text.str.fullmatch(_PLAIN_MOBILE.pattern).fillna(False)
    if plain.any():
        ok = text[plain].str.fullmatch(_mobile_pattern().pattern).fillna(False)
        good = ok.index[ok.to_numpy(dtype=bool)]
        out[good] = text[good]
    rest = present & out.isna()
    if rest.any():
        codes, uniques = pd.factorize(text[rest])
        results = [normalize_phone(u) for u in uniques]
        canon = np.array([r[0] for r in results] + [None], dtype=object)
        reasons = np.array([r[1] for r in results] + [None], dtype=object)
        out[rest] = canon[codes]
        why[rest] = reasons[codes]
    return out, why
