"""The one map (一图): community polygons coloured by level, score, an indicator, task
completion, visit coverage or emerging hot-spot category, with sub-district boundaries and
toggleable layers.

Two steps so each can be tested on its own:

- ``map_data(session, scope, period, ...)`` gathers plain DataFrames from the database;
- ``build_map(data, ...)`` turns them into a ``folium.Map`` (no database access).

``map_view`` does both and is what the map page calls. Community geometry comes from the one
loader, ``fangcang.geo.communities_frame`` (a GeoDataFrame), simplified here for display.

What the polygons can be coloured by is a registry of small pieces (``COLOUR_MODES``): each
``ColourMode`` says where its value comes from, how a value reads and how values become fills
and a legend. Adding a mode is adding one ``register_colour_mode(ColourMode(...))`` below (and
its ``map.colour_by.<key>`` label in ``fangcang.i18n``). Colours are computed in Python from
``fangcang.palette`` and the legend is plain HTML/CSS: a branca colormap would make
streamlit-folium load d3 from the internet. Leaflet is served locally (``fangcang.offline``);
tiles come from ``FANGCANG_TILE_URL`` (none by default: a plain background).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import folium
import geopandas as gpd
import pandas as pd
import shapely
from folium import plugins
from jinja2 import Template
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import geo, offline, overview, palette
from .access import Scope
from .community import factor_status
from .config import get_settings
from .i18n import fmt_int, t
from .models import Incident, IncidentCategory, Station
from .scoring import hotspots
from .timeutil import Month

log = logging.getLogger(__name__)

#: Toggleable layers.
LAYERS = ("incidents", "factors", "stations")
INCIDENT_MODES = ("heat", "clusters")

#: Simplification tolerance in degrees (~50 m) and coordinate precision (~1 m): keeps 120
#: polygons at tens of kilobytes while the shapes stay recognisable at street zoom.
SIMPLIFY_DEG = 0.0005
PRECISION_DEG = 0.00001
#: Heat-map cells: incidents are summed on a ~100 m grid (a few thousand weighted points
#: instead of every incident) so the map HTML stays small at full size.
HEAT_GRID_DEG = 0.001


@dataclass
class MapData:
    """Everything a map shows, as plain frames (see ``map_data``)."""

    communities: gpd.GeoDataFrame  # community_id, name, sub_district, station, geometry, value..
    sub_districts: gpd.GeoDataFrame  # code, name, geometry, label_lon, label_lat
    incidents: pd.DataFrame | None = None  # lat, lon, n
    factors: pd.DataFrame | None = None  # community_id, kind, n, out_of_control, lat, lon
    stations: pd.DataFrame | None = None  # station_id, name, lat, lon
    extra: dict = field(default_factory=dict)


@dataclass
class MapView:
    """What the map page shows: the map and the communities' table (search, details)."""

    map: folium.Map
    communities: pd.DataFrame  # without geometry
    colour_by: str
    has_levels: bool


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
def _simplify(geoms):
    """Simplified copies of shapely geometries (one or an array; ``None`` stays ``None``)."""
    small = shapely.simplify(geoms, SIMPLIFY_DEG, preserve_topology=True)
    return shapely.set_precision(small, PRECISION_DEG)


def _fill_points(frame: gpd.GeoDataFrame, lon: str, lat: str, shapes) -> gpd.GeoDataFrame:
    """Fill missing ``lon``/``lat`` with a point inside each shape (``representative_point``)."""
    missing = (frame[lon].isna() | frame[lat].isna()).to_numpy() & ~shapely.is_missing(shapes)
    if missing.any():
        points = shapely.point_on_surface(shapes[missing])
        frame.loc[missing, lon] = shapely.get_x(points)
        frame.loc[missing, lat] = shapely.get_y(points)
    return frame


def community_shapes(session: Session, scope: Scope) -> gpd.GeoDataFrame:
    """Communities in ``scope`` (``geo.communities_frame``) with their geometry simplified for
    display (~50 m, 1 m grid); missing centroids taken from the full polygon (a point inside).

    Returns
    -------
    GeoDataFrame
        ``geo.COMMUNITY_COLUMNS`` but officer_id, and geometry (sorted by community_id).
    """
    frame = geo.communities_frame(session, scope)
    full = frame.geometry.to_numpy()
    frame = _fill_points(frame, "centroid_lon", "centroid_lat", full)
    frame = frame.set_geometry(_simplify(full), crs=frame.crs)
    return frame.drop(columns="officer_id")


_SUB_DISTRICT_COLUMNS = ["code", "name", "geometry", "label_lon", "label_lat"]


def sub_district_shapes(session: Session, communities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Boundaries of the sub-districts that ``communities`` (from ``community_shapes``) touch:
    the union of those communities (within a restricted scope only the part the user may
    see), or the stored geometry when none of them has a polygon; label points where stored,
    else a point inside the boundary."""
    codes = sorted(set(communities["sub_district_code"]))
    sds = geo.sub_districts_frame(session, codes, with_geometry=False)
    if sds.empty:
        return gpd.GeoDataFrame(columns=_SUB_DISTRICT_COLUMNS, geometry="geometry", crs=geo.CRS)
    drawn = communities[communities.geometry.notna()]
    unions = drawn.dissolve(by="sub_district_code").geometry if len(drawn) else None
    stored = sds.geometry.to_numpy()
    merged = unions.reindex(sds["code"]).to_numpy() if unions is not None else stored.copy()
    no_union = shapely.is_missing(merged)
    merged[no_union] = stored[no_union]
    shapes = _simplify(merged)
    out = gpd.GeoDataFrame(sds.drop(columns="geometry"), geometry=shapes, crs=geo.CRS)
    out = _fill_points(out, "label_lon", "label_lat", shapes)
    return out[_SUB_DISTRICT_COLUMNS].reset_index(drop=True)


def incident_points(
    session: Session,
    scope: Scope,
    period: Month,
    category: IncidentCategory | str | None = None,
) -> pd.DataFrame:
    """Incidents with coordinates in ``period`` (optionally one category): lat, lon."""
    stmt = select(Incident.lat, Incident.lon).where(
        Incident.occurred_at >= period.start,
        Incident.occurred_at < period.end,
        Incident.lat.is_not(None),
        Incident.lon.is_not(None),
        scope.clause(Incident.community_id),
    )
    if category:
        stmt = stmt.where(Incident.category == IncidentCategory(category))
    return pd.DataFrame(session.execute(stmt).all(), columns=["lat", "lon"])


def heat_cells(points: pd.DataFrame, grid: float = HEAT_GRID_DEG) -> pd.DataFrame:
    """Sum points on a square grid: lat, lon (cell centres) and n."""
    if points.empty:
        return pd.DataFrame(columns=["lat", "lon", "n"])
    cells = pd.DataFrame(
        {
            "lat": ((points["lat"] / grid).round() * grid).round(6),
            "lon": ((points["lon"] / grid).round() * grid).round(6),
        }
    )
    return cells.groupby(["lat", "lon"]).size().rename("n").reset_index()


def station_points(session: Session, communities: pd.DataFrame) -> pd.DataFrame:
    """Stations responsible for ``communities`` that have coordinates."""
    ids = sorted(set(communities["station_id"]))
    rows = session.execute(
        select(Station.station_id, Station.name, Station.lat, Station.lon).where(
            Station.station_id.in_(ids), Station.lat.is_not(None), Station.lon.is_not(None)
        )
    ).all()
    return pd.DataFrame(rows, columns=["station_id", "name", "lat", "lon"])


# ---------------------------------------------------------------------------------------------
# Colour modes (a registry: one small piece per mode)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ColourMode:
    """One way of colouring the communities.

    Attributes
    ----------
    key : str
        Its name in ``COLOUR_BY`` and URLs; the legend title is ``map.colour_by.<key>``.
    values : callable
        ``(session, scope, period, warnings, indicator) -> DataFrame`` of community_id, value
        (``warnings`` is the month's ``overview.warning_frame``; ``attrs`` may carry a note
        for the legend). Raises ``ValueError`` for a bad ``indicator``.
    fmt : callable
        ``(value, lang) -> str``: how one value reads (legend, tooltip); never gets a missing
        value.
    fills : callable
        ``(values, mode, lang, note) -> (fills, legend items, legend note)`` with one fill
        per value and ``(colour, label)`` legend items; default: five classes on ``scale``.
    scale : tuple of str
        Colour ramp for the default ``fills`` (low to high).
    in_tooltip : bool
        Whether the tooltip adds a line with the value (level and score are always there).
    from_warning_run : bool
        The values come from the month's warning run (none without a run).
    """

    key: str
    values: Callable[..., pd.DataFrame]
    fmt: Callable[[object, str], str]
    fills: Callable[..., tuple[list[str], list[tuple[str, str]], str]] | None = None
    scale: tuple[str, ...] = palette.SEQUENTIAL
    in_tooltip: bool = True
    from_warning_run: bool = False

    def format(self, value, lang: str) -> str:
        """``fmt`` of ``value``, or the no-value text for a missing value."""
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return t("dash.no_value", lang)
        return self.fmt(value, lang)

    def colour(
        self, values: pd.Series, lang: str, note: dict | None = None
    ) -> tuple[list[str], str]:
        """Fill colour per value and the legend HTML."""
        fills, items, text = (self.fills or _classed_fills)(values, self, lang, note or {})
        return fills, _legend_html(t(f"map.colour_by.{self.key}", lang), items, text)


#: The registered colour modes, in the order the map page offers them.
COLOUR_MODES: dict[str, ColourMode] = {}


def register_colour_mode(mode: ColourMode) -> ColourMode:
    """Add ``mode`` to ``COLOUR_MODES`` (a key registered twice is a ``ValueError``)."""
    if mode.key in COLOUR_MODES:
        raise ValueError(f"colour mode {mode.key!r} is registered twice")
    COLOUR_MODES[mode.key] = mode
    return mode


def __getattr__(name: str):
    # COLOUR_BY: the registered modes' keys (computed, so a mode registered later is in it).
    if name == "COLOUR_BY":
        return tuple(COLOUR_MODES)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def colour_mode(colour_by: str) -> ColourMode:
    """The registered mode ``colour_by``; ``ValueError`` naming the known ones otherwise."""
    try:
        return COLOUR_MODES[colour_by]
    except KeyError:
        raise ValueError(
            f"colour_by must be one of {tuple(COLOUR_MODES)}, got {colour_by!r}"
        ) from None


def _no_values() -> pd.DataFrame:
    return pd.DataFrame(columns=["community_id", "value"])


def _column(frame: pd.DataFrame | None, column: str) -> pd.DataFrame:
    """community_id and ``column`` (as value) of ``frame``; no rows when there is no frame."""
    if frame is None or column not in frame.columns:
        return _no_values()
    return frame[["community_id", column]].rename(columns={column: "value"})


def _percent(value, lang: str) -> str:
    return f"{100 * float(value):.0f}%"


def _number(value, lang: str) -> str:
    if isinstance(value, (int, float)):
        return f"{float(value):.2f}" if abs(float(value)) < 100 else fmt_int(value, lang)
    return str(value)


def _classed_fills(values: pd.Series, mode: ColourMode, lang: str, note: dict):
    """Five classes (``palette.class_breaks``) on ``mode.scale``; a legend line per class."""
    numbers = pd.to_numeric(values, errors="coerce")
    breaks = palette.class_breaks(numbers.dropna().tolist())
    fills = [palette.class_colour(None if pd.isna(v) else v, breaks, mode.scale) for v in numbers]
    items, lower = [], numbers.min()
    for upper in breaks:
        colour = palette.class_colour(upper, breaks, mode.scale)
        items.append((colour, f"{mode.format(lower, lang)} – {mode.format(upper, lang)}"))
        lower = upper
    if numbers.isna().any():
        items.append((palette.NO_DATA, f"{t('dash.no_value', lang)} ({int(numbers.isna().sum())})"))
    return fills, items, ""


def _level_fills(values: pd.Series, mode: ColourMode, lang: str, note: dict):
    """The four warning colours; the legend counts each level (highest first)."""
    levels = [v if isinstance(v, str) else None for v in values]
    counts = pd.Series([v for v in levels if v], dtype=object).value_counts()
    items = [
        (palette.LEVEL_COLOURS[lv], f"{t(f'warning_level.{lv}', lang)} ({int(counts.get(lv, 0))})")
        for lv in reversed(palette.LEVELS)
    ]
    missing = sum(v is None for v in levels)
    if missing:
        items.append((palette.NO_DATA, f"{t('dash.no_value', lang)} ({missing})"))
    return [palette.level_colour(v) for v in levels], items, ""


def _hotspot_fills(values: pd.Series, mode: ColourMode, lang: str, note: dict):
    """Fill per emerging hot-spot category; the legend lists the categories present and the
    months analysed (or why there is no analysis)."""
    cats = [v if isinstance(v, str) and v else None for v in values]
    fills = [
        palette.HOTSPOT_COLOURS.get(v, palette.NO_DATA) if v else palette.NO_DATA for v in cats
    ]
    counts = pd.Series([v for v in cats if v], dtype=object).value_counts()
    items = [
        (
            palette.HOTSPOT_COLOURS[c.value],
            f"{t(f'hotspot.category.{c.value}', lang)} ({int(counts[c.value])})",
        )
        for c in hotspots.CATEGORY_ORDER
        if c.value in counts.index
    ]
    missing = sum(v is None for v in cats)
    if missing:
        items.append((palette.NO_DATA, f"{t('dash.no_value', lang)} ({missing})"))
    if "first" in note:
        text = t(
            "hotspot.legend_note", lang, alpha=note["alpha"], first=note["first"], last=note["last"]
        )
    else:
        text = note.get("reason", "")
    return fills, items, text


def _indicator_values(session, scope, period, warnings, indicator) -> pd.DataFrame:
    if not indicator:
        raise ValueError("colour_by='indicator' needs the indicator's name")
    column = f"ind_{indicator}"
    if not warnings.empty and column not in warnings.columns:
        raise ValueError(f"unknown indicator {indicator!r}")
    return _column(warnings, column)


def hotspot_values(session: Session, scope: Scope, period: Month) -> pd.DataFrame:
    """community_id, value (the emerging hot-spot category) and gi_z for ``period``;
    ``attrs`` carries the months analysed (first, last, alpha) or, when the data are too short
    for the analysis, ``reason`` (and no rows)."""
    try:
        frame = hotspots.categories(session, period, scope)
    except ValueError as exc:
        log.info("no emerging hot spots on the map for %s: %s", period, exc)
        empty = pd.DataFrame(columns=["community_id", "value", "gi_z"])
        empty.attrs["reason"] = str(exc)
        return empty
    values = frame[["community_id", "category", "gi_z"]].rename(columns={"category": "value"})
    values.attrs.update({k: frame.attrs[k] for k in ("first", "last", "alpha")})
    return values


register_colour_mode(
    ColourMode(
        "level",
        values=lambda session, scope, period, warnings, indicator: _column(warnings, "level"),
        fmt=lambda value, lang: str(value),
        fills=_level_fills,
        in_tooltip=False,
        from_warning_run=True,
    )
)
register_colour_mode(
    ColourMode(
        "score",
        values=lambda session, scope, period, warnings, indicator: _column(warnings, "score"),
        fmt=lambda value, lang: f"{float(value):.1f}",
        in_tooltip=False,
        from_warning_run=True,
    )
)
register_colour_mode(
    ColourMode("indicator", values=_indicator_values, fmt=_number, from_warning_run=True)
)
register_colour_mode(
    ColourMode(
        "task_completion",
        values=lambda session, scope, period, warnings, indicator: _column(
            overview.task_completion(session, scope, period), "completion"
        ),
        fmt=_percent,
        scale=palette.GOOD,
    )
)
register_colour_mode(
    ColourMode(
        "visit_coverage",
        values=lambda session, scope, period, warnings, indicator: _column(
            overview.visit_coverage(session, scope, period), "coverage"
        ),
        fmt=_percent,
        scale=palette.GOOD,
    )
)
register_colour_mode(
    ColourMode(
        "hotspot",
        values=lambda session, scope, period, warnings, indicator: hotspot_values(
            session, scope, period
        ),
        fmt=lambda value, lang: t(f"hotspot.category.{value}", lang),
        fills=_hotspot_fills,
    )
)


def colour_values(
    session: Session,
    scope: Scope,
    period: Month,
    colour_by: str,
    indicator: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The warning frame for ``period`` and the values to colour by.

    Returns
    -------
    (warnings, values)
        ``warnings`` from ``overview.warning_frame`` (may be empty: no warning run yet);
        ``values``: community_id, value (a number, or the level string for ``level``).

    Raises
    ------
    ValueError
        Unknown ``colour_by``, or a bad ``indicator`` for ``colour_by="indicator"``.
    """
    mode = colour_mode(colour_by)
    warnings = overview.warning_frame(session, scope, period)
    return warnings, mode.values(session, scope, period, warnings, indicator)


def map_data(
    session: Session,
    scope: Scope,
    period: Month,
    *,
    colour_by: str = "level",
    indicator: str | None = None,
    layers: tuple[str, ...] | list[str] = (),
    category: IncidentCategory | str | None = None,
    incident_mode: str = "heat",
    levels: tuple[str, ...] | list[str] = (),
    min_score: float = 0.0,
) -> MapData:
    """Gather the frames for the map of ``period`` (see ``build_map``).

    ``levels`` / ``min_score`` keep only the communities with one of those warning levels /
    at least that score (communities without a warning result are dropped by either).
    """
    unknown = set(layers) - set(LAYERS)
    if unknown:
        raise ValueError(f"unknown map layers {sorted(unknown)}; known: {LAYERS}")
    if incident_mode not in INCIDENT_MODES:
        raise ValueError(f"incident_mode must be one of {INCIDENT_MODES}, got {incident_mode!r}")
    communities = community_shapes(session, scope)
    warnings, values = colour_values(session, scope, period, colour_by, indicator)
    colour_note = dict(values.attrs)
    keep = ["community_id", "level", "score", "reason"]
    if warnings.empty:
        communities = communities.assign(level=None, score=float("nan"), reason="")
    else:
        communities = communities.merge(warnings[keep], on="community_id", how="left")
    communities = communities.merge(values, on="community_id", how="left")
    if levels:
        communities = communities[communities["level"].isin(list(levels))]
    if min_score:
        communities = communities[communities["score"].fillna(-1) >= float(min_score)]
    communities = communities.reset_index(drop=True)
    data = MapData(communities=communities, sub_districts=sub_district_shapes(session, communities))
    if colour_note:
        data.extra["colour_note"] = colour_note
    if "incidents" in layers:
        points = incident_points(session, scope, period, category)
        data.incidents = heat_cells(points) if incident_mode == "heat" else points.round(5)
        data.extra["incident_count"] = len(points)
    if "factors" in layers:
        status = factor_status(session, scope, period.last_day)
        centroids = communities[["community_id", "centroid_lat", "centroid_lon"]]
        data.factors = status.merge(centroids, on="community_id").rename(
            columns={"centroid_lat": "lat", "centroid_lon": "lon"}
        )
    if "stations" in layers:
        data.stations = station_points(session, communities)
    return data


# ---------------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------------
def _esc(value) -> str:
    return html.escape(
        "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
    )


def _legend_html(title: str, items: list[tuple[str, str]], note: str = "") -> str:
    rows = "".join(
        f'<div style="display:flex;align-items:center;margin:2px 0">'
        f'<span style="display:inline-block;width:14px;height:14px;margin-right:6px;'
        f'background:{colour};border:1px solid #555;opacity:.85"></span>'
        f"<span>{html.escape(label)}</span></div>"
        for colour, label in items
    )
    note_html = f'<div style="margin-top:4px;color:#555">{html.escape(note)}</div>' if note else ""
    return (
        '<div class="fangcang-legend" style="position:absolute;bottom:36px;left:12px;'
        "z-index:1000;background:rgba(255,255,255,.92);padding:8px 10px;border-radius:6px;"
        'box-shadow:0 1px 4px rgba(0,0,0,.3);font:13px/1.35 sans-serif;color:#222">'
        f'<div style="font-weight:600;margin-bottom:4px">{html.escape(title)}</div>'
        f"{rows}{note_html}</div>"
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


def _community_labels(communities: pd.DataFrame, lang: str) -> folium.FeatureGroup:
    """Community names at their centroids; hidden below ``LABEL_ZOOM`` (CSS on the map)."""
    group = folium.FeatureGroup(name=t("map.layer.community_names", lang), show=True)
    if "centroid_lat" not in communities or "centroid_lon" not in communities:
        return group
    placed = communities.dropna(subset=["centroid_lat", "centroid_lon"])
    for name, lat, lon in zip(
        placed["name"], placed["centroid_lat"], placed["centroid_lon"], strict=True
    ):
        folium.Marker(
            [float(lat), float(lon)],
            icon=folium.DivIcon(
                html=(
                    '<div class="fc-c-label" style="font:500 11px sans-serif;color:#1d2733;'
                    "white-space:nowrap;text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff;"
                    f'transform:translate(-50%,-50%);pointer-events:none">{_esc(name)}</div>'
                ),
                icon_size=(0, 0),
            ),
            interactive=False,
        ).add_to(group)
    return group


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
    polygons = folium.GeoJson(
        shown.to_geo_dict(na="null", show_bbox=False, drop_id=False),
        name=t("map.layer.communities", lang),
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "fillOpacity": 0.62,
            "color": palette.BOUNDARY if f["id"] == selected else "#ffffff",
            "weight": 4 if f["id"] == selected else 1,
        },
        highlight_function=lambda f: {"weight": 3, "color": palette.BOUNDARY, "fillOpacity": 0.8},
        tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True),
        zoom_on_click=False,
    )
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
        areas = shapely.area(sub_districts.geometry.to_numpy())
        largest = float(areas.max())
        labelled = sub_districts.assign(area=areas).dropna(subset=["label_lat", "label_lon"])
        for name, lat, lon, area in zip(
            labelled["name"],
            labelled["label_lat"],
            labelled["label_lon"],
            labelled["area"],
            strict=True,
        ):
            # names of small (dense urban) sub-districts only show when zoomed in,
            # otherwise they pile on top of each other
            small = " fc-small" if largest and area < largest / 8 else ""
            folium.Marker(
                [float(lat), float(lon)],
                icon=folium.DivIcon(
                    html=(
                        f'<div class="fc-sd-label{small}" style="font:600 12px sans-serif;'
                        "color:#1d2733;white-space:nowrap;"
                        'text-shadow:0 0 3px #fff,0 0 3px #fff;transform:translate(-50%,-50%)">'
                        f"{_esc(name)}</div>"
                    ),
                    icon_size=(0, 0),
                ),
                interactive=False,
            ).add_to(boundaries)
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
