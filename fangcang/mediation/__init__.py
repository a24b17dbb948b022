"""Police-lawyer mediation (警律联调): referrals, sessions, outcomes, consultations and rates.

Rates (by station or law firm)
------------------------------
- ``decided`` = referrals with an outcome (resolved, not resolved or withdrawn); pending ones
  are not yet counted.
- ``success_rate`` = resolved / decided (a withdrawn referral counts as not a success: the
  dispute was not settled by mediation).
- ``days_median`` / ``days_mean`` = days from referral to closing, over resolved referrals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..access import Scope
from ..models import (
    Community,
    MediationConsultation,
    MediationOutcome,
    MediationReferral,
    MediationSession,
    Station,
)

REFERRAL_COLUMNS = [
    "referral_id",
    "incident_id",
    "community",
    "station_id",
    "station",
    "referred_on",
    "law_firm",
    "lawyer",
    "justice_office",
    "sessions",
    "outcome",
    "closed_on",
    "days",
]


def referrals(
    session: Session, scope: Scope, first: date | None = None, last: date | None = None
) -> pd.DataFrame:
    """Referrals inside ``scope`` (referred between ``first`` and ``last`` when given), newest
    first, with their number of sessions and days to closing."""
    n_sessions = (
        select(MediationSession.referral_id, func.count().label("n"))
        .group_by(MediationSession.referral_id)
        .subquery()
    )
    q = (
        select(
            MediationReferral.referral_id,
            MediationReferral.incident_id,
            Community.name,
            MediationReferral.station_id,
            Station.name,
            MediationReferral.referred_on,
            MediationReferral.law_firm,
            MediationReferral.lawyer,
            MediationReferral.justice_office,
            func.coalesce(n_sessions.c.n, 0),
            MediationReferral.outcome,
            MediationReferral.closed_on,
        )
        .join(Community, Community.community_id == MediationReferral.community_id, isouter=True)
        .join(Station, Station.station_id == MediationReferral.station_id, isouter=True)
        .join(n_sessions, n_sessions.c.referral_id == MediationReferral.referral_id, isouter=True)
        .where(scope.clause(MediationReferral.community_id))
        .order_by(MediationReferral.referred_on.desc(), MediationReferral.referral_id)
    )
    if first is not None:
        q = q.where(MediationReferral.referred_on >= first)
    if last is not None:
        q = q.where(MediationReferral.referred_on <= last)
    rows = [tuple(r) for r in session.execute(q)]
    df = pd.DataFrame(rows, columns=REFERRAL_COLUMNS[:-1])
    df["outcome"] = df["outcome"].map(lambda o: MediationOutcome(o).value)
    df["days"] = [
        (c - r).days if c is not None and not pd.isna(c) else None
        for r, c in zip(df["referred_on"], df["closed_on"], strict=True)
    ]
    return df


def rates(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    """Success rate and time to resolution grouped ``by`` ``station`` or ``law_firm``.

    Returns columns ``[by, referrals, resolved, not_resolved, withdrawn, pending, decided,
    success_rate, days_median, days_mean]`` (``success_rate`` 0..1 or NaN when nothing is
    decided), plus a final ``total`` row when more than one group.
    """
    if by not in ("station", "law_firm"):
        raise ValueError(f"by must be station or law_firm, got {by!r}")
    cols = [
        by,
        "referrals",
        "resolved",
        "not_resolved",
        "withdrawn",
        "pending",
        "decided",
        "success_rate",
        "days_median",
        "days_mean",
    ]
    if frame.empty:
        return pd.DataFrame(columns=cols)

    def summarise(g: pd.DataFrame) -> dict:
        counts = g["outcome"].value_counts()
        resolved = int(counts.get("resolved", 0))
        decided = resolved + int(counts.get("not_resolved", 0)) + int(counts.get("withdrawn", 0))
        days = pd.to_numeric(g.loc[g["outcome"] == "resolved", "days"], errors="coerce").dropna()
        return {
            "referrals": len(g),
            "resolved": resolved,
            "not_resolved": int(counts.get("not_resolved", 0)),
            "withdrawn": int(counts.get("withdrawn", 0)),
            "pending": int(counts.get("pending", 0)),
            "decided": decided,
            "success_rate": resolved / decided if decided else float("nan"),
            "days_median": float(days.median()) if len(days) else float("nan"),
            "days_mean": float(days.mean()) if len(days) else float("nan"),
        }

    rows = [{by: key, **summarise(g)} for key, g in frame.groupby(by, sort=True)]
    if len(rows) > 1:
        rows.append({by: "total", **summarise(frame)})
    return pd.DataFrame(rows, columns=cols)


def consultations(session: Session, scope: Scope) -> pd.DataFrame:
    """Consultation meetings (会商) of the stations whose communities lie in ``scope``."""
    stations = select(Community.station_id).where(scope.clause(Community.community_id))
    rows = session.execute(
        select(
            MediationConsultation.meeting_id,
            MediationConsultation.held_on,
            Station.name,
            MediationConsultation.law_firm,
            MediationConsultation.justice_office,
            MediationConsultation.topic,
            MediationConsultation.cases_discussed,
        )
        .join(Station, Station.station_id == MediationConsultation.station_id, isouter=True)
        .where(MediationConsultation.station_id.in_(stations))
        .order_by(MediationConsultation.held_on.desc())
    ).all()
    return pd.DataFrame(
        [tuple(r) for r in rows],
        columns=[
            "meeting_id",
            "held_on",
            "station",
            "law_firm",
            "justice_office",
            "topic",
            "cases_discussed",
        ],
    )


@dataclass
class MediationView:
    """What the 警律联调 page shows."""

    first: date
    last: date
    referrals: pd.DataFrame
    by_station: pd.DataFrame
    by_firm: pd.DataFrame
    totals: dict
    consultations: pd.DataFrame


def mediation_view(
    session: Session, scope: Scope, months: int, *, last: date | None = None
) -> MediationView:
    """Referrals of the ``months`` months ending ``last`` (default: the last day of the newest
    month with incidents, else today), their rates by station and law firm, and the
    consultations held in the period."""
    from ..alcohol.practice import last_data_day
    from ..timeutil import Month, now_local

    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    last = last or last_data_day(session) or now_local().date()
    first = Month.of(last).shift(-(months - 1)).first_day
    refs = referrals(session, scope, first, last)
    by_station = rates(refs, "station")
    by_firm = rates(refs, "law_firm")
    totals = rates(refs.assign(station="total"), "station")
    totals = (
        totals.iloc[0].to_dict()
        if len(totals)
        else {
            "referrals": 0,
            "resolved": 0,
            "success_rate": float("nan"),
            "days_median": float("nan"),
        }
    )
    meet = consultations(session, scope)
    meet = meet[(meet["held_on"] >= first) & (meet["held_on"] <= last)].reset_index(drop=True)
    return MediationView(first, last, refs, by_station, by_firm, totals, meet)


__all__ = ["MediationView", "consultations", "mediation_view", "rates", "referrals"]
