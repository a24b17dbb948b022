"""How much of the registry has been seen and verified, per community, sub-district or district.

Definitions (``as_of`` is a local date; windows include it)
-----------------------------------------------------------
- ``houses``: houses in the registry.
- ``visited_90`` / ``visited_365``: houses with at least one visit in the last 90 / 365 days
  (``as_of - N < visit day <= as_of``); ``share_90`` / ``share_365`` = visited / houses.
- ``verified``: houses visited in the last 365 days with no open discrepancy;
  ``verified_share`` = verified / houses.
- ``open_total`` and ``open_<type>``: open discrepancies (counted at ``as_of``: found on or
  before it and not decided by then).
- ``oldest_open_days``: age in days of the oldest open discrepancy (None when none is open).
Shares are None for an area without houses.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from ..access import Scope
from ..models import (
    Community,
    Discrepancy,
    DiscrepancyType,
    House,
    SubDistrict,
    Visit,
)

LEVELS = ("community", "sub_district", "district")
TYPE_COLUMNS = [f"open_{t.value}" for t in DiscrepancyType]


def _open_at(as_of_end: datetime):
    return and_(
        Discrepancy.created_at < as_of_end,
        or_(Discrepancy.decided_at.is_(None), Discrepancy.decided_at >= as_of_end),
    )


def visit_measures(
    session: Session, scope: Scope, as_of: date, level: str = "community"
) -> pd.DataFrame:
    """Visit coverage and verification per community (or sub-district, or the district).

    Parameters
    ----------
    session : Session
    scope : Scope
        Communities outside it are left out (and out of the sub-district and district sums).
    as_of : date
        The day the measures are computed for.
    level : {"community", "sub_district", "district"}

    Returns
    -------
    DataFrame
        One row per area: ``community_id, name, sub_district_code`` (community level),
        ``sub_district_code, name`` (sub-district level) or ``name`` = "district"; then
        houses, visited_90, visited_365, share_90, share_365, verified, verified_share,
        open_total, open_<type> for every discrepancy type, oldest_open_days.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if isinstance(as_of, datetime) or not isinstance(as_of, date):
        raise ValueError(f"as_of must be a date, got {as_of!r}")
    end = datetime.combine(as_of + timedelta(days=1), datetime.min.time())
    start_90 = end - timedelta(days=90)
    start_365 = end - timedelta(days=365)

    comms = pd.DataFrame(
        session.execute(
            select(Community.community_id, Community.name, Community.sub_district_code).where(
                scope.clause(Community.community_id)
            )
        ).all(),
        columns=["community_id", "name", "sub_district_code"],
    )
    houses = dict(
        session.execute(
            select(House.community_id, func.count())
            .where(scope.clause(House.community_id))
            .group_by(House.community_id)
        ).all()
    )
    # Last visit per house up to as_of (a visit to a house counts for the house's community).
    last = (
        select(House.community_id, House.house_id, func.max(Visit.visited_at).label("last"))
        .join(Visit, Visit.house_id == House.house_id)
        .where(Visit.visited_at < end, scope.clause(House.community_id))
        .group_by(House.community_id, House.house_id)
        .subquery()
    )
    open_houses = select(Discrepancy.house_id).where(_open_at(end)).distinct().subquery()
    visited = pd.DataFrame(
        session.execute(
            select(
                last.c.community_id,
                func.sum(case((last.c.last >= start_90, 1), else_=0)).label("v90"),
                func.sum(case((last.c.last >= start_365, 1), else_=0)).label("v365"),
                func.sum(
                    case(
                        (and_(last.c.last >= start_365, open_houses.c.house_id.is_(None)), 1),
                        else_=0,
                    )
                ).label("verified"),
            )
            .join(open_houses, open_houses.c.house_id == last.c.house_id, isouter=True)
            .group_by(last.c.community_id)
        ).all(),
        columns=["community_id", "visited_90", "visited_365", "verified"],
    )
    opens = pd.DataFrame(
        session.execute(
            select(
                Discrepancy.community_id,
                Discrepancy.type,
                func.count(),
                func.min(Discrepancy.created_at),
            )
            .where(_open_at(end), scope.clause(Discrepancy.community_id))
            .group_by(Discrepancy.community_id, Discrepancy.type)
        ).all(),
        columns=["community_id", "type", "n", "oldest"],
    )

    df = comms.copy()
    df["houses"] = df["community_id"].map(houses).fillna(0).astype(int)
    df = df.merge(visited, on="community_id", how="left")
    for col in ("visited_90", "visited_365", "verified"):
        df[col] = df[col].fillna(0).astype(int)
    for t in DiscrepancyType:
        sub = (
            opens[opens["type"].map(lambda v: DiscrepancyType(v)) == t]
            if not opens.empty
            else opens
        )
        counts = dict(zip(sub["community_id"], sub["n"], strict=True)) if not sub.empty else {}
        df[f"open_{t.value}"] = df["community_id"].map(counts).fillna(0).astype(int)
    df["open_total"] = df[TYPE_COLUMNS].sum(axis=1).astype(int)
    oldest = opens.groupby("community_id")["oldest"].min() if not opens.empty else pd.Series()
    df["oldest_open"] = df["community_id"].map(oldest)

    if level == "sub_district":
        names = dict(session.execute(select(SubDistrict.code, SubDistrict.name)).all())
        df = _sum(df, ["sub_district_code"])
        df.insert(1, "name", df["sub_district_code"].map(names))
    elif level == "district":
        df["_all"] = "district"
        df = _sum(df, ["_all"]).rename(columns={"_all": "name"})
    return _finish(df, end)


def _sum(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    counts = ["houses", "visited_90", "visited_365", "verified", "open_total", *TYPE_COLUMNS]
    agg = {c: "sum" for c in counts}
    agg["oldest_open"] = "min"
    return df.groupby(keys, as_index=False).agg(agg)


def _finish(df: pd.DataFrame, end: datetime) -> pd.DataFrame:
    def share(num: str) -> pd.Series:
        return (df[num] / df["houses"]).where(df["houses"] > 0)

    df["share_90"] = share("visited_90")
    df["share_365"] = share("visited_365")
    df["verified_share"] = share("verified")
    df["oldest_open_days"] = pd.Series(
        [
            None if pd.isna(t) else int((end - pd.Timestamp(t).to_pydatetime()).days)
            for t in df["oldest_open"]
        ],
        index=df.index,
        dtype=object,
    )
    df = df.drop(columns=["oldest_open"])
    front = [c for c in ("community_id", "sub_district_code", "name") if c in df.columns]
    order = front + [
        "houses",
        "visited_90",
        "visited_365",
        "share_90",
        "share_365",
        "verified",
        "verified_share",
        "open_total",
        *TYPE_COLUMNS,
        "oldest_open_days",
    ]
    return df[order].reset_index(drop=True)
