"""Which district (区县) a sub-district belongs to: the one place that derives it.

The model knows one level above the community, the sub-district (街道/镇), keyed by its
administrative division code. A database that holds several districts (a city: see
``bench/bench_city.py`` and ``fangcang.demo.geography.relocate``) names no district anywhere;
the district is the county-level prefix of the sub-district's code: township codes are the
six digits of the county-level division (GB/T 2260) followed by three digits (GB/T 10114,
e.g. 330302006 五马街道 is in 330302 鹿城区). Codes that do not look like that (local or test
codes) all belong to one unnamed district, so a database without standard codes is one
district, as before.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from .access import Scope
from .i18n import t
from .models import Community

#: Length of the county-level prefix, and the lengths of the codes that carry it (township
#: 9 digits, village 12 digits).
COUNTY_DIGITS = 6
_CODE_LENGTHS = (9, 12)

#: Names of the county-level divisions this deployment knows (GB/T 2260, Wenzhou 温州市).
#: Another city adds its own; an unknown code reads "区县 330399" / "District 330399".
DISTRICT_NAMES: dict[str, tuple[str, str]] = {
    "330302": ("鹿城区", "Lucheng District"),
    "330303": ("龙湾区", "Longwan District"),
    "330304": ("瓯海区", "Ouhai District"),
    "330305": ("洞头区", "Dongtou District"),
    "330324": ("永嘉县", "Yongjia County"),
    "330326": ("平阳县", "Pingyang County"),
    "330327": ("苍南县", "Cangnan County"),
    "330328": ("文成县", "Wencheng County"),
    "330329": ("泰顺县", "Taishun County"),
    "330381": ("瑞安市", "Rui'an City"),
    "330382": ("乐清市", "Yueqing City"),
    "330383": ("龙港市", "Longgang City"),
}


def district_code(sub_district_code: str | None) -> str:
    """The county-level division code of a sub-district code ("" when it has none).

    >>> district_code("330302006"), district_code("330303024001"), district_code("SDA")
    ('330302', '330303', '')
    """
    code = str(sub_district_code or "").strip()
    if len(code) in _CODE_LENGTHS and code.isdigit():
        return code[:COUNTY_DIGITS]
    return ""


def district_codes(sub_district_codes: Iterable[str] | pd.Series) -> pd.Series:
    """``district_code`` of each code (vectorised; a Series aligned with the input)."""
    codes = pd.Series(sub_district_codes, dtype="object").fillna("").astype(str).str.strip()
    standard = codes.str.len().isin(_CODE_LENGTHS) & codes.str.fullmatch(r"\d+")
    return codes.str[:COUNTY_DIGITS].where(standard, "")


def districts_in(sub_district_codes: Iterable[str] | pd.Series) -> list[str]:
    """The districts these sub-district codes lie in (sorted codes; codes that name no
    district, such as local ones, count for none)."""
    return sorted(set(district_codes(sub_district_codes)) - {""})


def spans_districts(sub_district_codes: Iterable[str] | pd.Series) -> bool:
    """True when these sub-districts lie in more than one district: a city's database or
    view (one district with some local codes is not a city)."""
    return len(districts_in(sub_district_codes)) > 1


def unplaced(sub_district_codes: Iterable[str]) -> list[str]:
    """The codes that name no district among codes of which some do (sorted; empty when all
    or none name one). Their communities' district is unknown: the hot-spot analysis takes them
    as a study area of their own (``fangcang.scoring.hotspots.categories``).

    >>> unplaced(["330302006", "WM01", "SDA"]), unplaced(["WM01", "SDA"])
    (['SDA', 'WM01'], [])
    """
    codes = {str(c) for c in sub_district_codes}
    local = sorted(c for c in codes if not district_code(c))
    return local if len(local) < len(codes) else []


def district_areas(session: Session) -> dict[str, Scope]:
    """Every district in the database -> all its communities (one read; whoever looks: study
    areas, not jurisdictions); ``""`` = the communities whose codes name no district."""
    rows = session.execute(select(Community.community_id, Community.sub_district_code)).all()
    codes = district_codes([r[1] for r in rows]).to_numpy()
    members: dict[str, list[str]] = {}
    for (cid, _), code in zip(rows, codes, strict=True):
        members.setdefault(str(code), []).append(cid)
    return {code: Scope.of(ids) for code, ids in sorted(members.items())}


def district_name(code: str, lang: str = "zh") -> str:
    """The name of a district code: ``DISTRICT_NAMES``, else "区县 330399"; "" = the one
    unnamed district of a database without standard codes (``app.district``)."""
    if not code:
        return t("app.district", lang)
    known = DISTRICT_NAMES.get(code)
    if known:
        return known[0] if lang == "zh" else known[1]
    return t("division.district_code", lang, code=code)
