"""Test helper: keep ``agg_incident_month`` (and the district-wide and per-metric tables derived
from the day and month tables) in step with ``agg_incident_day`` for tests that write day
aggregate rows directly (``fangcang.incidents`` reads the smallest table that answers, as the
importer's aggregates keep them all)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select

from fangcang import aggregates
from fangcang.models import AggIncidentDay, AggIncidentMonth


def months_from_days(session) -> None:
    """Replace every ``agg_incident_month`` row by the sums of ``agg_incident_day``, and the
    district-wide and per-metric tables by those derived from them (``aggregates.derive``)."""
    session.flush()
    session.execute(delete(AggIncidentMonth))
    sums: dict[tuple, list] = defaultdict(lambda: [0, 0, 0.0])
    for r in session.scalars(select(AggIncidentDay)):
        acc = sums[(r.community_id, r.day.replace(day=1), r.category, r.subtype)]
        acc[0] += r.n
        acc[1] += r.n_alcohol
        acc[2] += r.loss_yuan
    session.add_all(
        AggIncidentMonth(
            community_id=cid, month=m, category=cat, subtype=sub, n=n, n_alcohol=a, loss_yuan=loss
        )
        for (cid, m, cat, sub), (n, a, loss) in sums.items()
    )
    session.flush()
    aggregates.derive(session)
