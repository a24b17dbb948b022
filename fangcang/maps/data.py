"""What a map shows, as frames gathered from the database (``map_data``): community and
sub-district shapes from ``fangcang.geo`` (simplified for display), the values of the colour
mode, incidents (heat cells or points), public-order factors and stations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import geo
from ..access import Scope
from ..community import factor_status
from ..models import Incident, IncidentCategory, Station
from ..timeutil import Month
from .colours import colour_values

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
