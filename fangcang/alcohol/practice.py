"""The practice as a whole: headline figures for a period and the coverage map.

``practice`` counts, inside a scope and between two days:

- ``alcohol``: alcohol-related incidents; ``handled``: those within ``VENUE_DISTANCE_M`` of a
  patrol point (the venues the practice patrols); ``area``: those in patrolled communities.
- ``alcohol_disputes``: alcohol incidents of category dispute in the scope;
  ``disputes_resolved``: those with a resolved mediation referral or a measure recorded
  against the incident, and not followed by an escalation (民转刑).
- ``escalations``: disputes of the period flagged by the escalation watch (all disputes, not
  only alcohol ones).
- ``repeat_people`` (detected at the period's end), ``files`` (open files in the scope).
- ``slots``, ``made``, ``coverage``: planned check-ins of the period that have ended, made, share.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import folium
import pandas as pd
import shapely
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import offline, palette
from ..access import Scope
from ..config import get_settings
from ..i18n import fmt_int, t
from ..maps import community_shapes, heat_cells
from ..maps.render import _MetricScale
from ..models import (
    AlcoholMeasure,
    AlcoholPersonFile,
    MediationOutcome,
    MediationReferral,
)
from . import escalation, patrol, repeat
from .analysis import alcohol_incidents


@dataclass
class Practice:
    first: date
    last: date
    figures: dict
    incidents: pd.DataFrame  # alcohol_incidents(...)
    points: pd.DataFrame  # points with planned, made, coverage
    slots: pd.DataFrame
    escalations: pd.DataFrame


def practice(
    session: Session, scope: Scope, first: date, last: date, *, as_of: datetime | None = None
) -> Practice:
    """Everything the 涉酒警情 page shows for ``first``..``last`` (see the module docstring)."""
    as_of = as_of or datetime.combine(last + timedelta(days=1), time())
    points = patrol.points_frame(session, scope)
    incidents = alcohol_incidents(session, scope, first, last, points=points)
    patrolled = set(points["community_id"])
    handled = incidents[incidents["point_id"].notna()]
    disputes = incidents[incidents["category"] == "dispute"]
    esc = escalation.escalations(session, scope, first, last)
    ids = disputes["incident_id"].tolist()
    settled: set[str] = set()
    if ids:
        settled |= set(
            session.scalars(
                select(MediationReferral.incident_id).where(
                    MediationReferral.incident_id.in_(ids),
                    MediationReferral.outcome == MediationOutcome.RESOLVED,
                )
            )
        )
        settled |= set(
            session.scalars(
                select(AlcoholMeasure.incident_id).where(AlcoholMeasure.incident_id.in_(ids))
            )
        )
    settled -= set(esc["dispute_id"])
    slot_frame = patrol.slots(session, scope, first, last, as_of=as_of)
    cov = patrol.coverage(slot_frame, "point_id")
    pts = points.merge(cov, on="point_id", how="left")
    pts[["planned", "made", "missed"]] = pts[["planned", "made", "missed"]].fillna(0).astype(int)
    n_files = session.scalar(
        select(func.count())
        .select_from(AlcoholPersonFile)
        .where(scope.clause(AlcoholPersonFile.community_id))
    )
    made = int(slot_frame["made"].sum()) if len(slot_frame) else 0
    figures = {
        "alcohol": len(incidents),
        "handled": len(handled),
        "area": int(incidents["community_id"].isin(patrolled).sum()),
        "alcohol_disputes": len(disputes),
        "disputes_resolved": len(settled),
        "escalations": len(esc),
        "repeat_people": len(repeat.repeat_people(session, scope, as_of)),
        "files": int(n_files or 0),
        "points": len(points),
        "slots": len(slot_frame),
        "made": made,
        "coverage": made / len(slot_frame) if len(slot_frame) else None,
    }
    return Practice(first, last, figures, incidents, pts, slot_frame, esc)


def _coverage_colour(share) -> str:
    if share is None or pd.isna(share):
        return palette.NO_DATA
    return palette.class_colour(float(share), [0.5, 0.7, 0.85, 0.95], palette.GOOD)


COVERAGE_CLASSES = [
    (None, "< 50%"),
    (0.5, "50–70%"),
    (0.7, "70–85%"),
    (0.85, "85–95%"),
    (0.95, "≥ 95%"),
]


def coverage_map(
    points: pd.DataFrame,
    incidents: pd.DataFrame,
    *,
    communities: pd.DataFrame | None = None,
    lang: str = "zh",
    tile_url: str | None = None,
) -> folium.Map:
    """Patrol points coloured by check-in coverage (with their radius) and alcohol incidents
    summed on a ~100 m grid, as a ``folium.Map`` that needs no internet (local Leaflet, no
    branca, legend in plain HTML).

    ``points``: point_id, name, lon, lat, radius_m, planned, made, coverage (0..1 or NaN).
    ``incidents``: lon, lat (rows without a position are skipped).
    ``communities``: optional outlines (``maps.community_shapes``: name, geometry). The view
    opens on the patrol points (on the incidents when there are none).
    """
    offline.use_local_assets()
    settings = get_settings()
    tile_url = tile_url if tile_url is not None else settings.tile_url
    located = incidents.dropna(subset=["lon", "lat"]) if len(incidents) else incidents
    lats = list(points["lat"]) + (list(located["lat"]) if len(located) else [])
    lons = list(points["lon"]) + (list(located["lon"]) if len(located) else [])
    centre = [sum(lats) / len(lats), sum(lons) / len(lons)] if lats else [28.0, 120.65]
    m = folium.Map(location=centre, zoom_start=14, tiles=None, maxZoom=18, control_scale=False)
    m.add_child(_MetricScale())
    if tile_url:
        folium.TileLayer(
            tiles=tile_url, attr=settings.tile_attribution or tile_url, max_zoom=18
        ).add_to(m)
    m.get_root().header.add_child(
        folium.Element("<style>.leaflet-container{background:#eef1f4;}</style>")
    )
    if communities is not None and len(communities):
        feats = [
            {
                "type": "Feature",
                "properties": {"tip": html.escape(str(r.name))},
                "geometry": json.loads(shapely.to_geojson(r.geometry)),
            }
            for r in communities.itertuples()
            if r.geometry is not None
        ]
        folium.GeoJson(
            {"type": "FeatureCollection", "features": feats},
            name=t("map.layer.communities", lang),
            style_function=lambda f: {
                "fillColor": "#ffffff",
                "fillOpacity": 0.35,
                "color": palette.OUTLINE,
                "weight": 1,
            },
            tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        ).add_to(m)
    inc_layer = folium.FeatureGroup(name=t("alcohol.map.incidents", lang))
    if len(located):
        cells = heat_cells(located)
        for c in cells.itertuples(index=False):
            folium.CircleMarker(
                [c.lat, c.lon],
                radius=3 + min(int(c.n), 12),
                color="#b30000",
                weight=1,
                fill=True,
                fill_color="#d7263d",
                fill_opacity=0.45,
                tooltip=html.escape(t("alcohol.map.incident_tip", lang, n=fmt_int(c.n))),
            ).add_to(inc_layer)
    inc_layer.add_to(m)
    pt_layer = folium.FeatureGroup(name=t("alcohol.map.points", lang))
    for p in points.itertuples(index=False):
        colour = _coverage_colour(p.coverage)
        share = "—" if pd.isna(p.coverage) else f"{100 * p.coverage:.0f}%"
        tip = html.escape(
            t(
                "alcohol.map.point_tip",
                lang,
                name=p.name,
                share=share,
                made=p.made,
                planned=p.planned,
            )
        )
        folium.Circle(
            [p.lat, p.lon],
            radius=float(p.radius_m),
            color=colour,
            weight=1,
            fill=True,
            fill_color=colour,
            fill_opacity=0.15,
        ).add_to(pt_layer)
        folium.CircleMarker(
            [p.lat, p.lon],
            radius=9,
            color=palette.BOUNDARY,
            weight=2,
            fill=True,
            fill_color=colour,
            fill_opacity=0.95,
            tooltip=tip,
        ).add_to(pt_layer)
    pt_layer.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    focus_lat = list(points["lat"]) or lats
    focus_lon = list(points["lon"]) or lons
    if focus_lat:
        pad = 0.004  # about 400 m around the points
        m.fit_bounds(
            [
                [min(focus_lat) - pad, min(focus_lon) - pad],
                [max(focus_lat) + pad, max(focus_lon) + pad],
            ]
        )
    items = [
        (_coverage_colour(v if v is not None else 0.0), label) for v, label in COVERAGE_CLASSES
    ]
    rows = "".join(
        f'<div style="display:flex;align-items:center;margin:2px 0"><span style="display:inline-block;'
        f'width:12px;height:12px;border-radius:6px;margin-right:6px;background:{c};border:1px solid #555">'
        f"</span>{html.escape(label)}</div>"
        for c, label in items
    )
    legend = (
        '<div style="position:absolute;bottom:30px;left:12px;z-index:1000;background:rgba(255,255,255,.92);'
        'padding:8px 10px;border-radius:6px;box-shadow:0 1px 4px rgba(0,0,0,.3);font:13px/1.35 sans-serif">'
        f'<div style="font-weight:600;margin-bottom:4px">{html.escape(t("alcohol.map.legend", lang))}</div>'
        f"{rows}"
        '<div style="display:flex;align-items:center;margin-top:4px"><span style="display:inline-block;width:10px;'
        'height:10px;border-radius:5px;margin-right:6px;background:#d7263d;opacity:.6"></span>'
        f"{html.escape(t('alcohol.map.incidents', lang))}</div></div>"
    )
    m.get_root().html.add_child(folium.Element(legend))
    return m


@dataclass
class PageView:
    """What the 涉酒警情 page shows (one call, cached by the page)."""

    practice: Practice
    by_point: pd.DataFrame
    by_community: pd.DataFrame
    hours: pd.DataFrame
    grid: pd.DataFrame
    files: pd.DataFrame
    communities: pd.DataFrame  # outlines for the map (maps.community_shapes)
    escalations_by_station: pd.DataFrame
    by_unit: pd.DataFrame
    by_week: pd.DataFrame
    gaps: pd.DataFrame
    effect: object  # analysis.PatrolEffect or None


def last_data_day(session: Session) -> date | None:
    """The last day of the newest month with incidents (the pages' default period end)."""
    from ..effect import latest_data_month

    month = latest_data_month(session)
    return month.last_day if month else None


def page_view(
    session: Session, scope: Scope, months: int, *, last: date | None = None
) -> PageView | None:
    """The 涉酒警情 page for the ``months`` months ending ``last`` (default: the last day of
    the newest month with data). None when there is no incident data at all."""
    from ..timeutil import Month
    from .analysis import by_community, by_hour, by_point, hour_dow, patrol_effect

    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    last = last or last_data_day(session)
    if last is None:
        return None
    first = Month.of(last).shift(-(months - 1)).first_day
    p = practice(session, scope, first, last)
    as_of = datetime.combine(last + timedelta(days=1), time())
    return PageView(
        practice=p,
        by_point=by_point(p.incidents, p.points),
        by_community=by_community(p.incidents),
        hours=by_hour(p.incidents),
        grid=hour_dow(p.incidents),
        files=repeat.person_files(session, scope, as_of),
        communities=community_shapes(session, scope)[["community_id", "name", "geometry"]],
        escalations_by_station=escalation.counts_by_station(session, scope, p.escalations),
        by_unit=patrol.coverage(p.slots, "unit"),
        by_week=patrol.coverage(p.slots, "week"),
        gaps=patrol.gaps(p.slots).head(50),
        effect=patrol_effect(session, scope, as_of=Month.of(last)),
    )
