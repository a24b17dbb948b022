"""Render map frames (``data.MapData``) as a ``folium.Map`` that needs no internet: local
Leaflet (``fangcang.offline``), colours from the colour mode, legend in HTML, tiles only when
``FANGCANG_TILE_URL`` is set.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import folium
import geopandas as gpd
import pandas as pd
import shapely
from folium import plugins
from jinja2 import Template
from sqlalchemy.orm import Session

from .. import geo, offline, palette
from ..access import Scope
from ..config import get_settings
from ..i18n import fmt_int, t
from ..models import IncidentCategory
from ..timeutil import Month
from .colours import ColourMode, colour_mode
from .data import MapData, map_data


@dataclass
class MapView:
    """What the map page shows: the map and the communities' table (search, details)."""

    map: folium.Map
    communities: pd.DataFrame  # without geometry
    colour_by: str
    has_levels: bool


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------
def _esc(value) -> str:
    return html.escape(
        "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    )


#: Community names are drawn from this zoom level on (120 names at district zoom are a blur).
LABEL_ZOOM = 14


class _MetricScale(folium.MacroElement):
    """A metric-only scale bar (folium's control_scale also shows miles), and the zoom rules
    that hide the names of small sub-districts (below zoom 13) and of communities (below
    ``LABEL_ZOOM``) until the user zooms in."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "L.control.scale({imperial: false, position: 'bottomright'}).addTo({{ this._parent.get_name() }});"
        "(function (m) { function f() { var c = m.getContainer().classList, z = m.getZoom();"
        " c.toggle('fc-far', z < 13); c.toggle('fc-nolabels', z < {{ this.label_zoom }}); }"
        " m.on('zoomend', f); f(); })({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )

    def __init__(self, label_zoom: int = LABEL_ZOOM):
        super().__init__()
        self.label_zoom = int(label_zoom)


#: Keeps tooltips inside the map frame: Leaflet places a sticky tooltip beside the pointer and
#: lets it run past the frame's edge (the iframe clips it); this moves it back inside.
_TOOLTIP_CLAMP_JS = """
(function () {
  if (L.Tooltip.prototype._fcClamped) { return; }
  var place = L.Tooltip.prototype._setPosition;
  L.Tooltip.prototype._setPosition = function (pos) {
    place.call(this, pos);
    var map = this._map, el = this._container;
    if (!map || !el) { return; }
    var size = map.getSize(), at = L.DomUtil.getPosition(el);
    var p = map.layerPointToContainerPoint(at), w = el.offsetWidth, h = el.offsetHeight;
    var dx = 0, dy = 0, pad = 4;
    if (p.x + w > size.x - pad) { dx = size.x - pad - w - p.x; }
    if (p.x + dx < pad) { dx = pad - p.x; }
    if (p.y + h > size.y - pad) { dy = size.y - pad - h - p.y; }
    if (p.y + dy < pad) { dy = pad - p.y; }
    if (dx || dy) { L.DomUtil.setPosition(el, at.add(L.point(dx, dy))); }
  };
  L.Tooltip.prototype._fcClamped = true;
})();
"""


def _filled_areas(
    shown: gpd.GeoDataFrame,
    name: str,
    selected: str | None,
    *,
    opacity: float = 0.62,
    line: str = "#ffffff",
    weight: float = 1,
    hover_opacity: float = 0.8,
) -> folium.GeoJson:
    """Polygons filled by their ``fill`` property with their ``tip`` as tooltip, the
    ``selected`` one (by feature id) outlined thick (communities; sub-districts of a city)."""
    return folium.GeoJson(
        shown.to_geo_dict(na="null", show_bbox=False, drop_id=False),
        name=name,
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "fillOpacity": opacity,
            "color": palette.BOUNDARY if f["id"] == selected else line,
            "weight": 4 if f["id"] == selected else weight,
        },
        highlight_function=lambda f: {
            "weight": 3,
            "color": palette.BOUNDARY,
            "fillOpacity": hover_opacity,
        },
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        zoom_on_click=False,
    )


class _SelectOnClick(folium.MacroElement):
    """Outline the clicked community at once in the browser (the server's rerun comes later)
    and keep the outline when the pointer leaves it (folium's highlight resets the style on
    mouseout). ``selected`` is the community outlined by the server, if any."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function (g) { var sel = null, on = {weight: 4, color: '{{ this.colour }}', fillOpacity: 0.75};"
        " g.eachLayer(function (l) { if (l.feature && l.feature.id === {{ this.selected|tojson }}) { sel = l; } });"
        " g.on('click', function (e) {"
        "  if (sel && sel !== e.layer) { g.resetStyle(sel); sel.setStyle({weight: 1, color: '#ffffff'}); }"
        "  sel = e.layer; sel.setStyle(on); sel.bringToFront(); });"
        " g.on('mouseout', function (e) { if (e.layer === sel) { sel.setStyle(on); } });"
        "})({{ this._parent.get_name() }});"
        "{% endmacro %}"
    )

    def __init__(self, colour: str, selected: str | None):
        super().__init__()
        self.colour = colour
        self.selected = selected or ""


def _cluster_icon_js() -> str:
    """Cluster bubbles in the heat ramp (Leaflet.markercluster's defaults are green, yellow
    and orange: they would read as warning levels)."""
    light, mid, dark = palette.HEAT[1], palette.HEAT[3], palette.HEAT[5]
    return (
        "function (cluster) { var n = cluster.getChildCount();"
        f" var c = n < 10 ? '{light}' : (n < 100 ? '{mid}' : '{dark}');"
        " var s = n < 10 ? 30 : (n < 100 ? 36 : 44);"
        " return L.divIcon({html: '<div style=\"background:' + c + ';width:' + s + 'px;height:'"
        " + s + 'px;line-height:' + s + 'px;border-radius:50%;color:#fff;font:600 12px sans-serif;"
        "text-align:center;border:2px solid rgba(255,255,255,.85);box-shadow:0 0 2px #333\">'"
        " + n + '</div>', className: 'fc-cluster', iconSize: L.point(s, s)}); }"
    )


#: One incident in cluster mode: a small circle (folium's default callback needs
#: Leaflet.awesome-markers, which the offline assets leave out: the map died on it).
_CLUSTER_POINT_JS = (
    "function (row) { return L.circleMarker(new L.LatLng(row[0], row[1]), {radius: 5,"
    f" weight: 1, color: '#ffffff', fillColor: '{palette.HEAT[4]}', fillOpacity: 0.9}});}}"
)


def _as_geo(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """``frame`` as a GeoDataFrame on its ``geometry`` column (shapely objects or None)."""
    if isinstance(frame, gpd.GeoDataFrame):
        return frame
    return gpd.GeoDataFrame(frame, geometry="geometry", crs=geo.CRS)


def _tooltip(row: dict, mode: ColourMode, lang: str) -> str:
    """Tooltip HTML of one community (a record of ``MapData.communities``); data escaped."""
    level = row.get("level")
    level_text = (
        t(f"warning_level.{level}", lang) if isinstance(level, str) else t("dash.no_level", lang)
    )
    score = row.get("score")
    score_text = (
        "" if score is None or pd.isna(score) else f" · {t('dash.score', lang)} {float(score):.1f}"
    )
    parts = [
        f"<b>{_esc(row['name'])}</b> <span style='color:#666'>{_esc(row['sub_district'])}</span>",
        f"{html.escape(level_text)}{score_text}",
    ]
    if mode.in_tooltip:
        parts.append(
            f"{html.escape(t(f'map.colour_by.{mode.key}', lang))}: "
            f"{html.escape(mode.format(row.get('value'), lang))}"
        )
    reason = row.get("reason")
    if isinstance(reason, str) and reason:
        parts.append(f"<span style='color:#444'>{_esc(reason)}</span>")
    return "<br>".join(parts)


def heat_gradient() -> dict[float, str]:
    """Leaflet.heat gradient (density 0..1 -> colour) from ``palette.HEAT``."""
    n = len(palette.HEAT)
    return {round(0.2 + 0.8 * i / (n - 1), 2): c for i, c in enumerate(palette.HEAT)}


class _Labels(folium.MacroElement):
    """Text labels (names) at points, drawn by one script: ``rows`` of (lat, lon, text,
    extra CSS class). One element for all labels instead of a folium Marker and DivIcon per
    label: folium compiles a template per element, which took 20 s for 1,340 labels at ten
    districts. Each label is an ``L.divIcon`` like folium's (class ``empty``, size 0)."""

    _template = Template(
        "{% macro script(this, kwargs) %}"
        "(function (g, css, style, rows) { rows.forEach(function (r) {"
        " L.marker([r[0], r[1]], {interactive: false, icon: L.divIcon({className: 'empty',"
        " iconSize: [0, 0], html: '<div class=\"' + css + (r[3] ? ' ' + r[3] : '') + '\" style=\"'"
        " + style + '\">' + r[2] + '</div>'})}).addTo(g); });"
        "})({{ this._parent.get_name() }}, {{ this.css|tojson }}, {{ this.style|tojson }},"
        " {{ this.rows|tojson }});"
        "{% endmacro %}"
    )

    def __init__(self, css: str, style: str, rows: list[tuple[float, float, str, str]]):
        super().__init__()
        self.css, self.style = css, style
        # text escaped here (it becomes HTML in the browser); tojson makes the script safe
        self.rows = [[round(float(a), 6), round(float(o), 6), _esc(x), c] for a, o, x, c in rows]


_COMMUNITY_LABEL_STYLE = (
    "font:500 11px sans-serif;color:#1d2733;white-space:nowrap;"
    "text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff;"
    "transform:translate(-50%,-50%);pointer-events:none"
)
_AREA_LABEL_STYLE = (
    "font:600 12px sans-serif;color:#1d2733;white-space:nowrap;"
    "text-shadow:0 0 3px #fff,0 0 3px #fff;transform:translate(-50%,-50%)"
)


def _community_labels(communities: pd.DataFrame, lang: str) -> folium.FeatureGroup:
    """Community names at their centroids; hidden below ``LABEL_ZOOM`` (CSS on the map)."""
    group = folium.FeatureGroup(name=t("map.layer.community_names", lang), show=True)
    if "centroid_lat" not in communities or "centroid_lon" not in communities:
        return group
    placed = communities.dropna(subset=["centroid_lat", "centroid_lon"])
    rows = zip(
        placed["centroid_lat"],
        placed["centroid_lon"],
        placed["name"],
        [""] * len(placed),
        strict=True,
    )
    _Labels("fc-c-label", _COMMUNITY_LABEL_STYLE, list(rows)).add_to(group)
    return group


def _area_labels(areas: gpd.GeoDataFrame, group: folium.FeatureGroup) -> None:
    """Names of sub-districts (or other areas) at their label points; names of small (dense
    urban) ones carry ``fc-small`` and show only when zoomed in (they pile up otherwise)."""
    areas_km = shapely.area(areas.geometry.to_numpy())
    largest = float(areas_km.max()) if len(areas_km) else 0.0
    labelled = areas.assign(area=areas_km).dropna(subset=["label_lat", "label_lon"])
    small = ["fc-small" if largest and a < largest / 8 else "" for a in labelled["area"]]
    rows = zip(labelled["label_lat"], labelled["label_lon"], labelled["name"], small, strict=True)
    _Labels("fc-sd-label", _AREA_LABEL_STYLE, list(rows)).add_to(group)


def build_map(
    data: MapData,
    *,
    colour_by: str = "level",
    lang: str = "zh",
    selected: str | None = None,
    tile_url: str | None = None,
    tile_attribution: str | None = None,
) -> folium.Map:
    """Render ``data`` (from ``map_data``) as a ``folium.Map`` that needs no internet.

    Parameters
    ----------
    data : MapData
    colour_by : str
        A registered colour mode (``COLOUR_MODES``): the meaning of
        ``data.communities["value"]``.
    lang : str
        Language of the legend, tooltips and layer names.
    selected : str, optional
        A community id drawn with a thick outline (the one whose details are open).
    tile_url, tile_attribution : str, optional
        Default: ``FANGCANG_TILE_URL`` / ``FANGCANG_TILE_ATTRIBUTION``; no URL = no tiles.
    """
    mode = colour_mode(colour_by)
    offline.use_local_assets()
    settings = get_settings()
    tile_url = tile_url if tile_url is not None else settings.tile_url
    attribution = tile_attribution if tile_attribution is not None else settings.tile_attribution
    communities = _as_geo(data.communities).reset_index(drop=True)

    m = folium.Map(
        location=[28.0, 120.65],
        zoom_start=12,
        tiles=None,
        maxZoom=18,  # MarkerCluster needs it when there is no tile layer
        control_scale=False,  # added below, metric only
        prefer_canvas=False,
    )
    if tile_url:
        folium.TileLayer(
            tiles=tile_url,
            attr=attribution or tile_url,
            name=t("map.layer.tiles", lang),
            max_zoom=18,
        ).add_to(m)
    # A plain background for the intranet default (no tile server configured).
    m.get_root().script.add_child(folium.Element(_TOOLTIP_CLAMP_JS))
    m.get_root().header.add_child(
        folium.Element(
            "<style>.leaflet-container{background:#eef1f4;}.fc-far .fc-small{display:none;}"
            ".fc-nolabels .fc-c-label{display:none;}"
            ".leaflet-tooltip{white-space:normal;width:max-content;max-width:320px;}</style>"
        )
    )

    values = (
        communities["value"] if "value" in communities else pd.Series([None] * len(communities))
    )
    fills, legend = mode.colour(values, lang, data.extra.get("colour_note"))
    records = communities.drop(columns="geometry").to_dict("records")
    shown = gpd.GeoDataFrame(
        {
            "community_id": communities["community_id"].astype(str).to_numpy(),
            "fill": fills,
            "tip": [_tooltip(r, mode, lang) for r in records],
        },
        geometry=communities.geometry.to_numpy(),
        crs=geo.CRS,
    )
    shown = shown[shown.geometry.notna()].set_index("community_id", drop=False)
    polygons = _filled_areas(shown, t("map.layer.communities", lang), selected)
    _SelectOnClick(palette.BOUNDARY, selected).add_to(polygons)
    polygons.add_to(m)
    _community_labels(communities, lang).add_to(m)

    sub_districts = _as_geo(data.sub_districts)
    sub_districts = sub_districts[sub_districts.geometry.notna()].reset_index(drop=True)
    if not sub_districts.empty:
        outlines = gpd.GeoDataFrame(
            {"name": [_esc(n) for n in sub_districts["name"]]},
            geometry=sub_districts.geometry.to_numpy(),
            crs=geo.CRS,
        )
        boundaries = folium.FeatureGroup(name=t("map.layer.sub_districts", lang), show=True)
        folium.GeoJson(
            outlines.to_geo_dict(na="null", show_bbox=False, drop_id=True),
            style_function=lambda f: {"fill": False, "color": palette.BOUNDARY, "weight": 2.5},
            interactive=False,
        ).add_to(boundaries)
        _area_labels(sub_districts, boundaries)
        boundaries.add_to(m)

    if data.incidents is not None:
        name = t("map.layer.incidents", lang, n=fmt_int(data.extra.get("incident_count", 0), lang))
        if "n" in data.incidents.columns:
            cells = data.incidents
            if len(cells):
                plugins.HeatMap(
                    cells[["lat", "lon", "n"]].astype(float).values.tolist(),
                    name=name,
                    radius=14,
                    blur=12,
                    min_opacity=0.3,
                    gradient=heat_gradient(),
                    show=True,
                ).add_to(m)
        elif len(data.incidents):
            plugins.FastMarkerCluster(
                data.incidents[["lat", "lon"]].astype(float).values.tolist(),
                name=name,
                show=True,
                callback=_CLUSTER_POINT_JS,
                icon_create_function=_cluster_icon_js(),
            ).add_to(m)

    if data.factors is not None and len(data.factors):
        # One GeoJSON layer of points per kind (not one folium element per circle: rendering
        # 720 CircleMarkers takes seconds).
        for kind, group in data.factors.groupby("kind", sort=True):
            colour = palette.FACTOR_COLOURS.get(str(kind), palette.OUTLINE)
            label = t(f"factor_kind.{kind}", lang)
            group = group[group["lat"].notna() & group["lon"].notna() & (group["n"] > 0)]
            tips = [
                html.escape(
                    t(
                        "map.factor_tip",
                        lang,
                        kind=label,
                        n=fmt_int(n, lang),
                        out=fmt_int(out, lang),
                    )
                )
                for n, out in zip(group["n"], group["out_of_control"], strict=True)
            ]
            points = gpd.GeoDataFrame(
                {
                    "tip": tips,
                    "r": (4 + 2 * group["n"].astype(float) ** 0.5)
                    .clip(upper=22)
                    .round(1)
                    .to_numpy(),
                },
                geometry=gpd.points_from_xy(
                    group["lon"].astype(float).round(5), group["lat"].astype(float).round(5)
                ),
                crs=geo.CRS,
            )
            folium.GeoJson(
                points.to_geo_dict(na="null", show_bbox=False, drop_id=True),
                name=t("map.layer.factors", lang, kind=label),
                show=False,
                marker=folium.CircleMarker(
                    radius=6,
                    weight=1,
                    fill=True,
                    fill_opacity=0.55,
                    color=colour,
                    fill_color=colour,
                ),
                style_function=lambda f: {"radius": f["properties"]["r"]},
                tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
                zoom_on_click=False,
            ).add_to(m)

    if data.stations is not None and len(data.stations):
        layer = folium.FeatureGroup(name=t("map.layer.stations", lang), show=True)
        for name, lat, lon in zip(
            data.stations["name"], data.stations["lat"], data.stations["lon"], strict=True
        ):
            folium.CircleMarker(
                [float(lat), float(lon)],
                radius=7,
                color="#ffffff",
                weight=2,
                fill=True,
                fill_color=palette.STATION,
                fill_opacity=1.0,
                tooltip=_esc(name),
            ).add_to(layer)
        layer.add_to(m)

    # open when short; with the six factor layers it would cover the map: then a button
    overlays = (
        3 + (data.incidents is not None) + (data.stations is not None and len(data.stations) > 0)
    )
    overlays += 0 if data.factors is None else data.factors["kind"].nunique()
    folium.LayerControl(collapsed=overlays > 5).add_to(m)
    _MetricScale(LABEL_ZOOM).add_to(m)
    m.get_root().html.add_child(folium.Element(legend))
    if len(shown):
        west, south, east, north = shown.total_bounds
        m.fit_bounds([[float(south), float(west)], [float(north), float(east)]])
    return m


def map_view(
    session: Session,
    scope: Scope,
    period: Month,
    *,
    colour_by: str = "level",
    indicator: str | None = None,
    layers: tuple[str, ...] | list[str] = (),
    category: IncidentCategory | str | None = None,
    incident_mode: str = "heat",
    lang: str = "zh",
    selected: str | None = None,
    levels: tuple[str, ...] | list[str] = (),
    min_score: float = 0.0,
) -> MapView:
    """The map of ``period`` in ``scope`` and its communities' table (what the map page shows)."""
    data = map_data(
        session,
        scope,
        period,
        colour_by=colour_by,
        indicator=indicator,
        layers=layers,
        category=category,
        incident_mode=incident_mode,
        levels=levels,
        min_score=min_score,
    )
    return view_of(data, colour_by=colour_by, lang=lang, selected=selected)


def view_of(
    data: MapData, *, colour_by: str = "level", lang: str = "zh", selected: str | None = None
) -> MapView:
    """A fresh ``MapView`` (map and table) from frames gathered by ``map_data``.

    Build a new map for every display: streamlit-folium renames the elements of a map it
    renders, so rendering one ``folium.Map`` object twice breaks it in the browser.
    """
    m = build_map(data, colour_by=colour_by, lang=lang, selected=selected)
    table = pd.DataFrame(data.communities.drop(columns=["geometry"]))
    return MapView(
        map=m,
        communities=table,
        colour_by=colour_by,
        has_levels=bool(table["level"].notna().any()) if "level" in table else False,
    )


def map_html(m: folium.Map) -> str:
    """The complete standalone HTML of a map (what its size is measured on)."""
    return m.get_root().render()
