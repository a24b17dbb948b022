"""The map of a city: sub-districts (街道/镇) aggregated, inside their districts' (区县) outlines.

A database that holds several districts (``fangcang.divisions``) has more than a thousand
communities; drawing each of them with every layer made the map page take 13-18 s at five
districts. When the area on the map spans more than one district, the map page draws this
view instead: one polygon per sub-district, coloured by the share of its assessed communities
that are red or yellow this month, with the count per level in its tooltip, and the districts'
outlines and names on top. Choosing a district (or a sub-district) on the page shows its
communities as before.

``area_data`` gathers the frames (database), ``build_area_map`` draws them (no database),
``area_view`` does both.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import folium
import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from .. import divisions, geo, offline, palette
from ..access import Scope
from ..config import get_settings
from ..i18n import fmt_int, t
from ..timeutil import Month
from ..views.shared import warning_frame
from .colours import _legend_html
from .data import _fill_points, _simplify, community_shapes, sub_district_shapes
from .render import _AREA_LABEL_STYLE, _TOOLTIP_CLAMP_JS, _filled_areas, _Labels, _MetricScale

#: Warning levels counted per area, most severe first (``palette.LEVEL_COLOURS``' keys).
AREA_LEVELS = ("red", "yellow", "blue", "green")
#: Classes of the share of red or yellow communities (upper bounds, inclusive) and their fills.
SHARE_BREAKS = (0.0, 0.1, 0.2, 0.35, 1.0)
#: District outlines are simplified more (~200 m): they are drawn at city zoom.
DISTRICT_SIMPLIFY_DEG = 0.002
#: Sub-district names show from this zoom level on (140 names at city zoom are a blur).
AREA_LABEL_ZOOM = 11

_COUNT_COLUMNS = ["communities", *AREA_LEVELS, "none"]


@dataclass
class AreaData:
    """What the city map shows, as frames (see ``area_data``)."""

    areas: gpd.GeoDataFrame  # code, name, district_code, district, label_lon, label_lat,
    # communities, red, yellow, blue, green, none (no result), share (red+yellow / assessed)
    districts: gpd.GeoDataFrame  # code, name, label_lon, label_lat, communities, geometry


@dataclass
class AreaView:
    """The city map and its areas' table (without geometry)."""

    map: folium.Map
    areas: pd.DataFrame
    has_levels: bool


def _area_shapes(session: Session, scope: Scope, table: pd.DataFrame) -> gpd.GeoDataFrame:
    """Simplified sub-district shapes (code, name, geometry, label_lon, label_lat): the stored
    boundary for the whole city, the union of the visible communities in a restricted scope
    (and wherever none is stored)."""
    codes = sorted(set(table["sub_district_code"]))
    if not scope.is_district:
        return sub_district_shapes(session, community_shapes(session, scope))
    stored = geo.sub_districts_frame(session, codes, with_geometry=False)
    missing = set(stored.loc[stored.geometry.isna(), "code"]) | (set(codes) - set(stored["code"]))
    shapes = stored.set_geometry(_simplify(stored.geometry.to_numpy()), crs=geo.CRS)
    shapes = _fill_points(shapes, "label_lon", "label_lat", shapes.geometry.to_numpy())
    shapes = shapes[["code", "name", "geometry", "label_lon", "label_lat"]]
    if missing:
        ids = table.loc[table["sub_district_code"].isin(missing), "community_id"]
        unions = sub_district_shapes(session, community_shapes(session, Scope.of(ids)))
        shapes = pd.concat([shapes[~shapes["code"].isin(missing)], unions], ignore_index=True)
    return gpd.GeoDataFrame(shapes, geometry="geometry", crs=geo.CRS)


def area_data(session: Session, scope: Scope, period: Month, lang: str = "zh") -> AreaData:
    """Sub-districts in ``scope`` with the month's warning levels counted, and the districts.

    Parameters
    ----------
    scope : Scope
        Communities counted (a restricted scope counts and draws only what it may see).
    period : Month
        The month of the warning run (levels are monthly decisions); without a run every
        community counts as ``none`` and ``share`` is NaN.

    Returns
    -------
    AreaData
        ``areas``: one row per sub-district with at least one community in scope, sorted by
        code; ``share`` = (red + yellow) / communities with a result (NaN when none has one).
        ``districts``: their districts (``fangcang.divisions``) as the union of their areas.
    """
    table = geo.communities_table(session, scope)[["community_id", "sub_district_code"]]
    warnings = warning_frame(session, scope, period, lang, reasons=False)
    levels = table.merge(warnings[["community_id", "level"]], on="community_id", how="left")
    levels["level"] = levels["level"].where(levels["level"].isin(AREA_LEVELS), "none")
    counts = pd.crosstab(levels["sub_district_code"], levels["level"])
    counts = counts.reindex(columns=_COUNT_COLUMNS[1:], fill_value=0)
    counts.insert(0, "communities", counts.sum(axis=1))
    assessed = counts["communities"] - counts["none"]
    counts["share"] = ((counts["red"] + counts["yellow"]) / assessed.where(assessed > 0)).astype(
        float
    )
    shapes = _area_shapes(session, scope, table)
    areas = shapes.merge(counts, left_on="code", right_index=True, how="inner")
    areas["district_code"] = divisions.district_codes(areas["code"]).to_numpy()
    names = {c: divisions.district_name(c, lang) for c in set(areas["district_code"])}
    areas["district"] = areas["district_code"].map(names)
    areas = areas.sort_values("code").reset_index(drop=True)
    areas = gpd.GeoDataFrame(areas, geometry="geometry", crs=geo.CRS)
    return AreaData(areas=areas, districts=_districts(areas, names))


def _districts(areas: gpd.GeoDataFrame, names: dict[str, str]) -> gpd.GeoDataFrame:
    """One outline per district: the union of its areas, simplified; a label point inside."""
    drawn = areas[areas.geometry.notna()]
    if drawn.empty:
        return gpd.GeoDataFrame(
            columns=["code", "name", "communities", "label_lon", "label_lat", "geometry"],
            geometry="geometry",
            crs=geo.CRS,
        )
    merged = drawn[["district_code", "communities", "geometry"]].dissolve(
        by="district_code", aggfunc="sum"
    )
    shapes = shapely.simplify(merged.geometry.to_numpy(), DISTRICT_SIMPLIFY_DEG)
    points = shapely.point_on_surface(shapes)
    return gpd.GeoDataFrame(
        {
            "code": merged.index.to_numpy(),
            "name": [names[c] for c in merged.index],
            "communities": merged["communities"].to_numpy(),
            "label_lon": shapely.get_x(points).round(6),
            "label_lat": shapely.get_y(points).round(6),
        },
        geometry=shapes,
        crs=geo.CRS,
    )


def share_fills(share: pd.Series, lang: str = "zh") -> tuple[list[str], str]:
    """Fill per share of red/yellow communities (``SHARE_BREAKS`` on ``palette.SEQUENTIAL``;
    grey without a result) and the legend HTML."""
    ramp = palette.SEQUENTIAL
    fills = []
    for v in share:
        if v is None or pd.isna(v):
            fills.append(palette.NO_DATA)
        else:
            k = next(i for i, b in enumerate(SHARE_BREAKS) if float(v) <= b + 1e-12)
            fills.append(ramp[k])
    pct = [f"{100 * b:.0f}%" for b in SHARE_BREAKS]
    labels = [
        t("map.city.share_none", lang),
        f"≤ {pct[1]}",
        *[f"{lo} – {hi}" for lo, hi in zip(pct[1:-2], pct[2:-1], strict=True)],
        f"> {pct[-2]}",
    ]
    counts = pd.Series(fills).value_counts()
    items = [
        (c, f"{label} ({int(counts.get(c, 0))})") for c, label in zip(ramp, labels, strict=True)
    ]
    if palette.NO_DATA in counts:
        items.append(
            (palette.NO_DATA, f"{t('dash.no_level', lang)} ({int(counts[palette.NO_DATA])})")
        )
    legend = _legend_html(t("map.city.share", lang), items, t("map.city.legend_note", lang))
    return fills, legend


def _area_tip(row: dict, lang: str) -> str:
    """Tooltip HTML of one area: name, district, communities per level, share; data escaped."""
    per_level = " · ".join(
        f"{html.escape(t(f'warning_level.{lv}', lang))} {fmt_int(row[lv], lang)}"
        for lv in AREA_LEVELS
    )
    share = row.get("share")
    share_text = "—" if share is None or pd.isna(share) else f"{100 * float(share):.0f}%"
    lines = [
        f"<b>{html.escape(str(row['name']))}</b> "
        f"<span style='color:#666'>{html.escape(str(row['district']))}</span>",
        t(
            "map.city.tip_counts",
            lang,
            n=html.escape(fmt_int(row["communities"], lang)),
            levels=per_level,
        ),
        html.escape(t("map.city.share_value", lang, share=share_text)),
    ]
    return "<br>".join(lines)


def build_area_map(
    data: AreaData,
    *,
    lang: str = "zh",
    selected: str | None = None,
    tile_url: str | None = None,
    tile_attribution: str | None = None,
) -> folium.Map:
    """Draw ``data`` (from ``area_data``) as a ``folium.Map`` that needs no internet: areas
    coloured by ``share_fills``, ``selected`` (a sub-district code) outlined, district outlines
    and names on top, sub-district names from ``AREA_LABEL_ZOOM`` on."""
    offline.use_local_assets()
    settings = get_settings()
    tile_url = tile_url if tile_url is not None else settings.tile_url
    attribution = tile_attribution if tile_attribution is not None else settings.tile_attribution
    # quarter zoom steps: a city fills the frame (whole steps left it at half the width)
    m = folium.Map(location=[28.0, 120.65], zoom_start=9, tiles=None, maxZoom=18, zoomSnap=0.25)
    if tile_url:
        folium.TileLayer(
            tiles=tile_url, attr=attribution or tile_url, name=t("map.layer.tiles", lang)
        ).add_to(m)
    m.get_root().script.add_child(folium.Element(_TOOLTIP_CLAMP_JS))
    m.get_root().header.add_child(
        folium.Element(
            "<style>.leaflet-container{background:#eef1f4;}"
            ".fc-nolabels .fc-c-label{display:none;}"
            ".leaflet-tooltip{white-space:normal;width:max-content;max-width:320px;}</style>"
        )
    )
    areas = data.areas[data.areas.geometry.notna()].reset_index(drop=True)
    fills, legend = share_fills(areas["share"], lang)
    records = areas.drop(columns="geometry").to_dict("records")
    shown = gpd.GeoDataFrame(
        {
            "code": areas["code"].astype(str).to_numpy(),
            "district_code": areas["district_code"].astype(str).to_numpy(),
            "fill": fills,
            "tip": [_area_tip(r, lang) for r in records],
        },
        geometry=areas.geometry.to_numpy(),
        crs=geo.CRS,
    ).set_index("code", drop=False)
    _filled_areas(
        shown,
        t("map.layer.sub_districts", lang),
        selected,
        opacity=0.7,
        line="#8a94a0",  # grey outlines: white ones vanish on the pale classes
        weight=0.8,
        hover_opacity=0.85,
    ).add_to(m)
    names = folium.FeatureGroup(name=t("map.layer.sub_districts", lang), show=True)
    labelled = areas.dropna(subset=["label_lat", "label_lon"])
    rows = zip(labelled["label_lat"], labelled["label_lon"], labelled["name"], strict=True)
    _Labels("fc-c-label", _AREA_LABEL_STYLE, [(a, o, n, "") for a, o, n in rows]).add_to(names)
    names.add_to(m)
    districts = data.districts[data.districts.geometry.notna()].reset_index(drop=True)
    if not districts.empty:
        outlines = folium.FeatureGroup(name=t("map.layer.districts", lang), show=True)
        folium.GeoJson(
            gpd.GeoDataFrame(geometry=districts.geometry.to_numpy(), crs=geo.CRS).to_geo_dict(
                na="null", show_bbox=False, drop_id=True
            ),
            style_function=lambda f: {"fill": False, "color": palette.BOUNDARY, "weight": 3},
            interactive=False,
        ).add_to(outlines)
        _Labels(
            "fc-d-label",
            "font:700 15px sans-serif;color:#1d2733;white-space:nowrap;"
            "text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 4px #fff;"
            "transform:translate(-50%,-50%);pointer-events:none",
            [
                (a, o, n, "")
                for a, o, n in zip(
                    districts["label_lat"], districts["label_lon"], districts["name"], strict=True
                )
            ],
        ).add_to(outlines)
        outlines.add_to(m)
    _MetricScale(AREA_LABEL_ZOOM).add_to(m)
    m.get_root().html.add_child(folium.Element(legend))
    if len(shown):
        west, south, east, north = shown.total_bounds
        m.fit_bounds([[float(south), float(west)], [float(north), float(east)]])
    return m


def area_view(data: AreaData, *, lang: str = "zh", selected: str | None = None) -> AreaView:
    """A fresh ``AreaView`` (map and table) from frames gathered by ``area_data`` (a new map
    per display: streamlit-folium renames the elements of a map it renders)."""
    table = pd.DataFrame(data.areas.drop(columns=["geometry"]))
    assessed = (table["communities"] - table["none"]).sum() if len(table) else 0
    return AreaView(
        map=build_area_map(data, lang=lang, selected=selected),
        areas=table,
        has_levels=bool(assessed > 0),
    )
