"""Escalation watch (民转刑): a dispute followed by a criminal incident of the same person or
address within ``ESCALATION_DAYS``.

A dispute incident (category ``dispute``) that occurred in the period is flagged when a
criminal incident (category ``criminal``) occurred after it, at most ``ESCALATION_DAYS`` days
later (``0 < later - dispute <= 90 days``, to the second), involving the same person (same ID
number in ``incident_people``) or the same address (same ``incident_people.address`` text,
trimmed). Each dispute is counted once, with its earliest follow-up. The scope applies to the
dispute's community (a follow-up may happen elsewhere).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Scope
from ..models import Community, Incident, IncidentCategory, IncidentPerson, Station

ESCALATION_DAYS = 90
COLUMNS = [
    "dispute_id",
    "dispute_at",
    "community_id",
    "community",
    "station_id",
    "station",
    "criminal_id",
    "criminal_at",
    "days",
    "link",
    "id_number",
    "address",
]


def _links(session: Session, category: IncidentCategory, lo: datetime, hi: datetime, scope):
    q = (
        select(
            Incident.incident_id,
            Incident.occurred_at,
            Incident.community_id,
            IncidentPerson.id_number,
            IncidentPerson.address,
        )
        .join(IncidentPerson, IncidentPerson.incident_id == Incident.incident_id)
        .where(Incident.category == category, Incident.occurred_at >= lo, Incident.occurred_at < hi)
    )
    if scope is not None:
        q = q.where(scope.clause(Incident.community_id))
    df = pd.DataFrame(
        [tuple(r) for r in session.execute(q)],
        columns=["incident_id", "at", "community_id", "id_number", "address"],
    )
    df["address"] = df["address"].map(
        lambda a: a.strip() if isinstance(a, str) and a.strip() else None
    )
    return df


def escalations(
    session: Session, scope: Scope, first: date, last: date, *, days: int = ESCALATION_DAYS
) -> pd.DataFrame:
    """Disputes of ``first``..``last`` (inclusive) that escalated; ``COLUMNS``, newest first.

    ``link`` is ``person`` or ``address``; ``id_number`` / ``address`` hold the shared key
    (in the clear: pages and downloads mask them by column name).
    """
    if last < first:
        raise ValueError(f"last day {last} is before first day {first}")
    window = timedelta(days=days)
    lo = datetime.combine(first, time())
    hi = datetime.combine(last + timedelta(days=1), time())
    disputes = _links(session, IncidentCategory.DISPUTE, lo, hi, scope)
    if disputes.empty:
        return pd.DataFrame(columns=COLUMNS)
    crimes = _links(session, IncidentCategory.CRIMINAL, lo, hi + window, None)
    pairs = []
    for link, col in (("person", "id_number"), ("address", "address")):
        d = disputes.dropna(subset=[col])
        c = crimes.dropna(subset=[col])
        if d.empty or c.empty:
            continue
        m = d.merge(c, on=col, suffixes=("_d", "_c"))
        gap = m["at_c"] - m["at_d"]
        m = m[(gap > timedelta(0)) & (gap <= window) & (m["incident_id_c"] != m["incident_id_d"])]
        if m.empty:
            continue
        m = m.assign(link=link, key=m[col])
        pairs.append(m)
    if not pairs:
        return pd.DataFrame(columns=COLUMNS)
    allp = pd.concat(pairs, ignore_index=True).sort_values(["incident_id_d", "at_c", "link"])
    first_hit = allp.drop_duplicates("incident_id_d")
    names = {
        cid: (name, sid, sname)
        for cid, name, sid, sname in session.execute(
            select(Community.community_id, Community.name, Community.station_id, Station.name).join(
                Station, Station.station_id == Community.station_id
            )
        )
    }
    out = pd.DataFrame(
        {
            "dispute_id": first_hit["incident_id_d"].to_numpy(),
            "dispute_at": first_hit["at_d"].to_numpy(),
            "community_id": first_hit["community_id_d"].to_numpy(),
            "criminal_id": first_hit["incident_id_c"].to_numpy(),
            "criminal_at": first_hit["at_c"].to_numpy(),
            "link": first_hit["link"].to_numpy(),
            "key": first_hit["key"].to_numpy(),
        }
    )
    out["community"] = [names.get(c, ("", "", ""))[0] for c in out["community_id"]]
    out["station_id"] = [names.get(c, ("", "", ""))[1] for c in out["community_id"]]
    out["station"] = [names.get(c, ("", "", ""))[2] for c in out["community_id"]]
    out["days"] = [
        round((b - a).total_seconds() / 86400, 1)
        for a, b in zip(
            pd.to_datetime(out["dispute_at"]), pd.to_datetime(out["criminal_at"]), strict=True
        )
    ]
    out["id_number"] = [
        k if lk == "person" else None for k, lk in zip(out["key"], out["link"], strict=True)
    ]
    out["address"] = [
        k if lk == "address" else None for k, lk in zip(out["key"], out["link"], strict=True)
    ]
    return out[COLUMNS].sort_values("dispute_at", ascending=False).reset_index(drop=True)


def counts_by_station(session: Session, scope: Scope, frame: pd.DataFrame) -> pd.DataFrame:
    """Escalations per station inside ``scope`` (every station, zero included)."""
    stations = session.execute(
        select(Station.station_id, Station.name)
        .join(Community, Community.station_id == Station.station_id)
        .where(scope.clause(Community.community_id))
        .distinct()
        .order_by(Station.station_id)
    ).all()
    counts = frame["station_id"].value_counts() if len(frame) else pd.Series(dtype=int)
    return pd.DataFrame(
        [(sid, name, int(counts.get(sid, 0))) for sid, name in stations],
        columns=["station_id", "station", "escalations"],
    )
