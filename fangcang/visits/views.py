"""Small read helpers for the visit pages (choices for the phone form)."""

from __future__ import annotations

import math

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Scope
from ..models import Community, House
from ..privacy import mask_address


def community_choices(session: Session, scope: Scope) -> pd.DataFrame:
    """Communities in ``scope``: community_id, name (sorted by name)."""
    rows = session.execute(
        select(Community.community_id, Community.name)
        .where(scope.clause(Community.community_id))
        .order_by(Community.name, Community.community_id)
    ).all()
    return pd.DataFrame(rows, columns=["community_id", "name"])


def house_choices(session: Session, scope: Scope, community_id: str) -> pd.DataFrame:
    """Houses of one community in ``scope`` for the visit form, addresses masked.

    Columns: house_id, address (masked), use, registered_residents.
    """
    scope.check(community_id)
    rows = session.execute(
        select(House.house_id, House.address, House.use, House.registered_residents)
        .where(House.community_id == community_id)
        .order_by(House.house_id)
    ).all()
    df = pd.DataFrame(rows, columns=["house_id", "address", "use", "registered_residents"])
    df["address"] = df["address"].map(mask_address)
    df["use"] = df["use"].map(lambda u: u.value if hasattr(u, "value") else u)
    return df


HOUSE_COLUMNS = ["house_id", "address", "use", "registered_residents", "community_id"]
#: Most houses a search or a nearest-houses list returns (the caller says when there are more).
SEARCH_LIMIT = 20


def _house_frame(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=HOUSE_COLUMNS)
    df["address"] = df["address"].map(mask_address)
    df["use"] = df["use"].map(lambda u: u.value if hasattr(u, "value") else u)
    return df


def search_houses(
    session: Session, scope: Scope, text: str, *, limit: int = SEARCH_LIMIT
) -> tuple[pd.DataFrame, int]:
    """Houses in ``scope`` whose real address contains ``text`` (what the officer reads on the
    door, e.g. "沿江路12号"), searched in the database; addresses come back masked.

    Parameters
    ----------
    text : str
        At least two characters; spaces are ignored.
    limit : int
        Most rows returned.

    Returns
    -------
    (DataFrame, int)
        Columns ``HOUSE_COLUMNS`` (address masked), exact matches first then by address; and
        the total number of matches (more than ``len(frame)`` when the list was cut).

    Raises
    ------
    ValueError
        Fewer than two characters to search for.
    """
    text = "".join((text or "").split())
    if len(text) < 2:
        raise ValueError("address search: give at least two characters of the address")
    from sqlalchemy import case, func

    where = (scope.clause(House.community_id), House.address.contains(text, autoescape=True))
    total = session.scalar(select(func.count()).select_from(House).where(*where)) or 0
    rows = session.execute(
        select(
            House.house_id,
            House.address,
            House.use,
            House.registered_residents,
            House.community_id,
        )
        .where(*where)
        .order_by(case((House.address == text, 0), else_=1), House.address, House.house_id)
        .limit(int(limit))
    ).all()
    return _house_frame(rows), int(total)


#: Metres per degree of latitude (WGS84 mean); a degree of longitude is this x cos(latitude).
_M_PER_DEG = 111_320.0


def nearest_houses(
    session: Session,
    scope: Scope,
    lon: float,
    lat: float,
    *,
    limit: int = 10,
    radius_m: float = 300.0,
) -> pd.DataFrame:
    """The houses in ``scope`` nearest to a phone's position (WGS84), closest first.

    Houses within ``radius_m`` of the point are read with a bounding-box query and ranked by
    the equirectangular distance (good to centimetres over a few hundred metres).

    Returns
    -------
    DataFrame
        ``HOUSE_COLUMNS`` plus ``distance_m`` (whole metres); empty when no house is that close.

    Raises
    ------
    ValueError
        The position is not a longitude/latitude pair.
    """
    try:
        lon, lat = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ValueError(f"position: lon/lat must be numbers, got {lon!r}, {lat!r}") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"position: ({lon}, {lat}) is not a longitude/latitude pair")
    dlat = radius_m / _M_PER_DEG
    dlon = radius_m / (_M_PER_DEG * max(0.01, math.cos(math.radians(lat))))
    rows = session.execute(
        select(
            House.house_id,
            House.address,
            House.use,
            House.registered_residents,
            House.community_id,
            House.lon,
            House.lat,
        ).where(
            scope.clause(House.community_id),
            House.lon.between(lon - dlon, lon + dlon),
            House.lat.between(lat - dlat, lat + dlat),
        )
    ).all()
    kx = _M_PER_DEG * math.cos(math.radians(lat))
    ranked = sorted(
        (math.hypot((r.lon - lon) * kx, (r.lat - lat) * _M_PER_DEG), r.house_id, r) for r in rows
    )
    ranked = [x for x in ranked if x[0] <= radius_m][: int(limit)]
    df = _house_frame([tuple(r)[:5] for _, _, r in ranked])
    df["distance_m"] = [int(round(d)) for d, _, _ in ranked]
    return df


def house_residents(session: Session, scope: Scope, house_id: str) -> pd.DataFrame:
    """People registered at one house (what the officer should expect to see), masked.

    Columns: person_id, name, id_number, phone (masked), residence_type, key_person_type.
    """
    from ..models import Person
    from ..privacy import mask_frame

    house = session.get(House, house_id)
    if house is None:
        raise ValueError(f"house {house_id!r} is not in the registry")
    scope.check(house.community_id)
    rows = session.execute(
        select(
            Person.person_id,
            Person.name,
            Person.id_number,
            Person.phone,
            Person.residence_type,
            Person.key_person_type,
        )
        .where(Person.house_id == house_id)
        .order_by(Person.person_id)
    ).all()
    df = pd.DataFrame(
        rows,
        columns=["person_id", "name", "id_number", "phone", "residence_type", "key_person_type"],
    )
    for col in ("residence_type", "key_person_type"):
        df[col] = df[col].map(lambda v: v.value if hasattr(v, "value") else v)
    return mask_frame(df)
