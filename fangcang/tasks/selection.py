"""From a filter to work: the communities a dispatcher's filter selects, and who receives what.

``select_communities`` applies the dashboard's filters (sub-district, station, warning level,
minimum score, an indicator's top share, an emerging hot-spot category) to the stored warning
results of a month, within the viewer's scope. ``preview`` says, per selected community, which
officer receives the item and whether it is new, already sent or cannot be sent (no officer).
``dispatch.dispatch_to`` then sends exactly those communities in one action.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import scoring, trends
from ..access import Scope
from ..models import Community, Officer
from ..models.tasks import TaskItem, TaskTemplate, TemplateStatus
from ..scoring import hotspots
from ..timeutil import Month, now_local
from .cycles import period_of
from .targets import WARNING_LEVELS

SELECTION_COLUMNS = [
    "community_id",
    "name",
    "sub_district_code",
    "sub_district",
    "station_id",
    "station",
    "level",
    "score",
    "officer_id",
    "officer_name",
]


@dataclass(frozen=True)
class CommunityFilter:
    """A dispatcher's filter; empty fields select everything.

    Attributes
    ----------
    period : Month
        The month whose stored warning results give level, score and indicators.
    sub_districts, stations : tuple of str
        Sub-district codes, station ids.
    levels : tuple of str
        Warning levels (``red`` ...).
    min_score : float
        Lowest composite score (0-100).
    indicator : str, optional
        An indicator key (``crime_rate`` ...): keep communities whose percentile on it is at
        least ``indicator_min_pct`` (default 75: the top quarter of the district).
    hotspot_categories : tuple of str
        Emerging hot-spot categories (from ``fangcang.scoring.hotspots``) to keep.
    """

    period: Month
    sub_districts: tuple[str, ...] = ()
    stations: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    min_score: float = 0.0
    indicator: str | None = None
    indicator_min_pct: float = 75.0
    hotspot_categories: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        bad = [lv for lv in self.levels if lv not in WARNING_LEVELS]
        if bad:
            raise ValueError(f"levels: unknown level(s) {bad}; use {list(WARNING_LEVELS)}")
        if not 0 <= float(self.min_score) <= 100:
            raise ValueError(f"min_score: must be 0-100, got {self.min_score!r}")
        if not 0 <= float(self.indicator_min_pct) <= 100:
            raise ValueError(f"indicator_min_pct: must be 0-100, got {self.indicator_min_pct!r}")

    @property
    def needs_warning(self) -> bool:
        return bool(self.levels or self.min_score > 0 or self.indicator)


def _hotspot_categories(session: Session, scope: Scope, period: Month) -> dict[str, str]:
    """community_id -> emerging hot-spot category value (``scoring.hotspots.categories``)."""
    df = hotspots.categories(session, period, scope)
    return {
        str(c): str(getattr(v, "value", v))
        for c, v in zip(df["community_id"], df["category"], strict=True)
    }


def hotspot_categories() -> list[str]:
    """The emerging hot-spot categories a filter can choose (hot ones first)."""
    return [str(getattr(c, "value", c)) for c in hotspots.CATEGORY_ORDER]


def select_communities(session: Session, scope: Scope, flt: CommunityFilter) -> pd.DataFrame:
    """The communities in ``scope`` that ``flt`` selects, highest score first.

    Returns
    -------
    DataFrame
        ``SELECTION_COLUMNS``; ``level``/``score`` are empty when the month has no stored
        warning run (then any level, score or indicator condition selects nothing).

    Raises
    ------
    ValueError
        An unknown indicator key.
    """
    meta = trends.community_meta(session, scope)
    officers = pd.DataFrame(
        session.execute(
            select(Community.community_id, Community.officer_id, Officer.name)
            .outerjoin(Officer, Officer.officer_id == Community.officer_id)
            .where(scope.clause(Community.community_id))
        ).all(),
        columns=["community_id", "officer_id", "officer_name"],
    )
    df = meta.merge(officers, on="community_id", how="left")
    res = scoring.results(session, flt.period, scope)
    if flt.indicator is not None and f"p_{flt.indicator}" not in res.columns:
        raise ValueError(f"indicator: unknown indicator {flt.indicator!r}")
    keep = ["community_id", "level", "score"]
    if flt.indicator:
        keep.append(f"p_{flt.indicator}")
    df = df.merge(res[keep], on="community_id", how="left")
    if flt.sub_districts:
        df = df[df["sub_district_code"].isin(flt.sub_districts)]
    if flt.stations:
        df = df[df["station_id"].isin(flt.stations)]
    if flt.levels:
        df = df[df["level"].isin(flt.levels)]
    if flt.min_score > 0:
        df = df[df["score"].fillna(-1) >= flt.min_score]
    if flt.indicator:
        df = df[df[f"p_{flt.indicator}"].fillna(-1) >= flt.indicator_min_pct]
    if flt.hotspot_categories:
        cats = _hotspot_categories(session, scope, flt.period)
        df = df[df["community_id"].map(cats).isin(flt.hotspot_categories)]
    df = df.sort_values(["score", "community_id"], ascending=[False, True], na_position="last")
    return df[SELECTION_COLUMNS].reset_index(drop=True)


#: What a community receives in a targeted dispatch.
NEW, EXISTING, NO_OFFICER = "new", "existing", "no_officer"


def preview(
    session: Session,
    community_ids: Sequence[str],
    *,
    template_id: int | None = None,
    on=None,
) -> pd.DataFrame:
    """Who receives what if ``community_ids`` are sent a template's task (or, with no
    template, an urgent instruction).

    Returns
    -------
    DataFrame
        community_id, name, officer_id, officer_name, outcome (``new``, ``existing``: the
        template's item for this cycle was already sent there, ``no_officer``: nobody to
        send it to), in the order given.

    Raises
    ------
    ValueError
        The template does not exist or is not admitted.
    """
    ids = list(dict.fromkeys(str(c) for c in community_ids))
    rows = session.execute(
        select(Community.community_id, Community.name, Community.officer_id, Officer.name)
        .outerjoin(Officer, Officer.officer_id == Community.officer_id)
        .where(Community.community_id.in_(ids))
    ).all()
    by_id = {r[0]: r for r in rows}
    existing: set[str] = set()
    if template_id is not None:
        tpl = session.get(TaskTemplate, int(template_id))
        if tpl is None or tpl.status is not TemplateStatus.ADMITTED:
            raise ValueError(f"template {template_id}: no admitted template with this id")
        key = period_of(tpl.cycle, on or now_local()).key
        existing = set(
            session.scalars(
                select(TaskItem.community_id).where(
                    TaskItem.template_id == tpl.id,
                    TaskItem.cycle_key == key,
                    TaskItem.community_id.in_(ids),
                )
            )
        )
    out = []
    for cid in ids:
        r = by_id.get(cid)
        if r is None:
            raise ValueError(f"community {cid!r} does not exist")
        outcome = NO_OFFICER if not r[2] else EXISTING if cid in existing else NEW
        out.append((cid, r[1], r[2], r[3], outcome))
    return pd.DataFrame(
        out, columns=["community_id", "name", "officer_id", "officer_name", "outcome"]
    )
