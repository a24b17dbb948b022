"""Geometry: community and sub-district polygons in geopandas, and point-in-polygon placement.

``communities_frame`` is the one loader of community geometry: the map, the bulletin map, the
back-test's areas, the hot-spot neighbours, the importer and task dispatch all read it.

Polygons are stored as GeoJSON text (WGS84 lon/lat) so the schema works on SQLite and on
PostgreSQL without PostGIS; this module turns them into a ``GeoDataFrame``.

Placement rule: a point belongs to the community whose polygon *contains or touches* it
(``intersects``). A point on a border shared by several communities goes to the one with the
smallest ``community_id`` (string order), so placement never depends on row order. A point
outside every community is not placed (``None``): callers reject it, never snap it to the
nearest polygon.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape
from shapely.validation import explain_validity
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .access import Scope
from .models import Community, Station, SubDistrict

log = logging.getLogger(__name__)

CRS = "EPSG:4326"
POLYGON_TYPES = ("Polygon", "MultiPolygon")


class GeometryError(ValueError):
    """A geometry that cannot be used (unparseable, wrong type, invalid, out of range)."""


def parse_polygon(value: str | dict) -> shapely.Geometry:
    """Parse a GeoJSON Polygon/MultiPolygon (text or mapping) and check it.

    Raises
    ------
    GeometryError
        Saying what is wrong: not GeoJSON, not a polygon, empty, self-intersecting (with the
        place shapely reports), or coordinates that are not lon/lat.
    """
    try:
        data = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError as exc:
        raise GeometryError(f"geometry is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("type") not in POLYGON_TYPES:
        got = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise GeometryError(f"geometry must be a Polygon or MultiPolygon, got {got}")
    try:
        geom = shape(data)
    except Exception as exc:  # shapely raises several types for malformed rings
        raise GeometryError(f"broken geometry: {exc}") from None
    if geom.is_empty:
        raise GeometryError("geometry is empty")
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        raise GeometryError(
            f"coordinates are not WGS84 lon/lat (bounds {x0:.3f}, {y0:.3f}, {x1:.3f}, {y1:.3f})"
        )
    if not geom.is_valid:
        raise GeometryError(f"invalid geometry: {explain_validity(geom)}")
    return geom


def to_geojson(geom: shapely.Geometry) -> str:
    """GeoJSON text of a geometry (how polygons are stored)."""
    return shapely.to_geojson(geom)


def _shapes(texts: list, ids: list) -> list:
    """Shapely geometries of stored GeoJSON texts; ``None`` for a missing, empty or unreadable
    one (an unreadable one is logged with its id: it was stored before validation existed or
    edited by hand, and one bad polygon must not blank a map or a bulletin)."""
    if not texts:
        return []
    texts = [x if isinstance(x, str) and x else None for x in texts]  # NaN/"" -> None
    try:
        geoms = list(shapely.from_geojson(texts))
    except Exception:  # noqa: BLE001 - find which text is broken, below
        geoms = list(shapely.from_geojson(texts, on_invalid="ignore"))
        for i, (text, geom) in enumerate(zip(texts, geoms, strict=True)):
            if text and geom is None:
                try:
                    shapely.from_geojson(text)
                except Exception as exc:  # noqa: BLE001 - reported and drawn without a shape
                    log.warning("geometry of %s is not readable GeoJSON, left out: %s", ids[i], exc)
    return [None if g is None or g.is_empty else g for g in geoms]


def _frame(rows, columns: list[str], id_column: str) -> gpd.GeoDataFrame:
    df = pd.DataFrame(rows, columns=[*columns, "geometry"])
    geoms = _shapes(df["geometry"].tolist(), df[id_column].tolist())
    return gpd.GeoDataFrame(df.drop(columns="geometry"), geometry=geoms, crs=CRS)


def _session(bind: Session | Engine) -> tuple[Session, bool]:
    if isinstance(bind, Session):
        return bind, False
    return Session(bind), True


#: Columns of ``communities_frame`` (besides ``geometry``).
COMMUNITY_COLUMNS = (
    "community_id",
    "name",
    "sub_district_code",
    "sub_district",
    "station_id",
    "station",
    "officer_id",
    "centroid_lon",
    "centroid_lat",
)


def communities_frame(bind: Session | Engine, scope: Scope | None = None) -> gpd.GeoDataFrame:
    """Every community (in ``scope``; default the district) as a GeoDataFrame (WGS84, EPSG:4326),
    sorted by ``community_id``: the one loader of community geometry.

    Columns: ``COMMUNITY_COLUMNS`` (community_id, name, sub_district_code, sub_district (name),
    station_id, station (name), officer_id, centroid_lon, centroid_lat) and geometry (shapely
    Polygon/MultiPolygon as stored, unsimplified; ``None`` when empty or unreadable, logged).
    """
    session, own = _session(bind)
    try:
        stmt = _communities_select(scope, Community.geometry)
        return _frame(session.execute(stmt).all(), list(COMMUNITY_COLUMNS), "community_id")
    finally:
        if own:
            session.close()


def communities_table(session: Session, scope: Scope | None = None) -> pd.DataFrame:
    """The same communities as ``communities_frame`` without geometry (a plain DataFrame with
    ``COMMUNITY_COLUMNS``): names and keys for grouping and labels, no polygon parsing."""
    rows = session.execute(_communities_select(scope)).all()
    return pd.DataFrame(rows, columns=list(COMMUNITY_COLUMNS))


def _communities_select(scope: Scope | None, *extra):
    stmt = (
        select(
            Community.community_id,
            Community.name,
            Community.sub_district_code,
            SubDistrict.name.label("sub_district"),
            Community.station_id,
            Station.name.label("station"),
            Community.officer_id,
            Community.centroid_lon,
            Community.centroid_lat,
            *extra,
        )
        .outerjoin(SubDistrict, SubDistrict.code == Community.sub_district_code)
        .outerjoin(Station, Station.station_id == Community.station_id)
        .order_by(Community.community_id)
    )
    if scope is not None:
        stmt = stmt.where(scope.clause(Community.community_id))
    return stmt


def sub_districts_frame(
    bind: Session | Engine, codes: Iterable[str] | None = None, *, with_geometry: bool = True
) -> gpd.GeoDataFrame:
    """Sub-districts (those in ``codes``; default all) as a GeoDataFrame sorted by code.

    Columns: code, name, kind, label_lon, label_lat, geometry (the stored union of its
    communities). ``with_geometry=True`` keeps only those with a stored geometry; ``False``
    keeps all (geometry ``None`` where none is stored).
    """
    session, own = _session(bind)
    try:
        cols = [
            SubDistrict.code,
            SubDistrict.name,
            SubDistrict.kind,
            SubDistrict.label_lon,
            SubDistrict.label_lat,
        ]
        stmt = select(*cols, SubDistrict.geometry).order_by(SubDistrict.code)
        if with_geometry:
            stmt = stmt.where(SubDistrict.geometry.is_not(None))
        if codes is not None:
            stmt = stmt.where(SubDistrict.code.in_(sorted(set(codes))))
        rows = [(*r[:2], str(r[2]), *r[3:]) for r in session.execute(stmt).all()]
        return _frame(rows, [c.key for c in cols], "code")
    finally:
        if own:
            session.close()


def place_points(
    lon, lat, polygons: gpd.GeoDataFrame, id_column: str = "community_id"
) -> np.ndarray:
    """The polygon id each point falls in (``None`` outside every polygon).

    Parameters
    ----------
    lon, lat : array-like of float
        WGS84 coordinates (NaN = no point, gives ``None``).
    polygons : GeoDataFrame
        With an ``id_column``.

    Returns
    -------
    numpy.ndarray of object
        Same length as ``lon``. A point inside or on the boundary of several polygons (a shared
        border or corner) gets the smallest id among them.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.shape != lat.shape:
        raise ValueError(f"lon and lat differ in length ({lon.size} vs {lat.size})")
    out = np.full(lon.size, None, dtype=object)
    have = ~(np.isnan(lon) | np.isnan(lat))
    if not have.any() or polygons.empty:
        return out
    idx = np.flatnonzero(have)
    polys = polygons[[id_column, "geometry"]].reset_index(drop=True)
    ids = polys[id_column].astype(str).to_numpy(dtype=object)
    points = gpd.GeoSeries(gpd.points_from_xy(lon[idx], lat[idx]), crs=polys.crs or CRS)
    # Query the polygons' spatial index directly: pairs (point position, polygon position).
    pt_pos, poly_pos = polys.sindex.query(points, predicate="intersects")
    if pt_pos.size == 0:
        return out
    # Deterministic tie-break for shared borders: the smallest id wins. Rank polygons by id,
    # sort pairs by (point, rank) and keep each point's first pair.
    rank = np.empty(len(ids), dtype=np.int64)
    rank[np.argsort(ids.astype(str), kind="stable")] = np.arange(len(ids))
    order = np.lexsort((rank[poly_pos], pt_pos))
    pt_sorted, poly_sorted = pt_pos[order], poly_pos[order]
    first = np.unique(pt_sorted, return_index=True)[1]
    out[idx[pt_sorted[first]]] = ids[poly_sorted[first]]
    return out
