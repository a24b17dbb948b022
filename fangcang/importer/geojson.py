"""Reading ``communities.geojson``: properties through the community spec, geometries
checked (never raises for bad content: every problem is an error naming the feature)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

from .. import geo
from ..config import get_import_limits
from . import kinds as K
from . import limits as L
from .reader import (
    FileError,
    Table,
    decode,
    validate_frame,
)
from .spec import LAT_RANGE, LON_RANGE, RowError

log = logging.getLogger(__name__)

GEOJSON = "communities.geojson"


def _json_depth_problem(doc, max_depth: int) -> str | None:
    """Nesting deeper than ``max_depth`` (walked without recursion)."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return f"nested more than {max_depth} levels deep (FANGCANG_IMPORT_MAX_JSON_DEPTH)"
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, dict | list))
    return None


def _property_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):  # not a cell: flagged by _read_communities
        return json.dumps(value, ensure_ascii=False)[:200]
    return str(value)


def _read_communities(path: Path) -> tuple[Table, list]:
    """Read communities.geojson: properties through COMMUNITY_SPEC, geometries checked.
    Row numbers are 1-based feature numbers.

    Never raises for bad content: too big, not JSON, nested too deeply, not a
    FeatureCollection, features that are not objects, properties that are not an object (or
    hold lists/objects), geometries that are not polygons or lie outside the mainland range
    that points must meet (``spec.LON_RANGE`` / ``LAT_RANGE``) are all errors."""
    file = path.name
    spec = K.COMMUNITY_SPEC
    lim = get_import_limits()

    def fail(reason: str) -> tuple[Table, list]:
        empty = pd.DataFrame({f.name: pd.Series([], dtype=object) for f in spec.fields})
        return Table(file, spec, empty, [RowError(file, None, "", "", reason)]), []

    if problem := L.file_size_problem(path.stat().st_size, lim):
        return fail(problem)
    data = path.read_bytes()
    if not data.strip():
        return fail("empty file (no features)")
    try:
        text_, _ = decode(data, file)
        del data
        doc = json.loads(text_)
    except FileError as exc:
        return Table(file, spec, pd.DataFrame(), [exc.error]), []
    except json.JSONDecodeError as exc:
        return fail(f"not valid JSON: {L.shorten(exc, 200)}")
    except RecursionError:
        return fail(f"not usable JSON: nested more than {lim.max_json_depth} levels deep")
    except ValueError as exc:  # e.g. an integer literal with too many digits
        return fail(f"not valid JSON: {L.shorten(exc, 200)}")
    del text_
    if problem := _json_depth_problem(doc, lim.max_json_depth):
        return fail(f"not usable GeoJSON: {problem}")
    features = doc.get("features") if isinstance(doc, dict) else None
    if (
        not isinstance(doc, dict)
        or doc.get("type") != "FeatureCollection"
        or not isinstance(features, list)
    ):
        return fail("not a GeoJSON FeatureCollection")
    if not features:
        return fail("empty file: a FeatureCollection with no features")
    if len(features) > lim.max_rows:
        return fail(
            f"{len(features):,} features, over the limit of {lim.max_rows:,} "
            "(FANGCANG_IMPORT_MAX_ROWS)"
        )
    shape_errors: list[tuple[int, str, str, str]] = []  # (feature, column, value, reason)
    props: list[dict] = []
    keys: set[str] = set()
    for i, feat in enumerate(features, start=1):
        if not isinstance(feat, dict) or feat.get("type", "Feature") != "Feature":
            got = type(feat).__name__ if not isinstance(feat, dict) else str(feat.get("type"))
            shape_errors.append((i, "", L.shorten(got), "not a GeoJSON Feature object"))
            props.append({})
            continue
        p = feat.get("properties")
        if p is None:
            p = {}
        if not isinstance(p, dict):
            shape_errors.append(
                (i, "properties", type(p).__name__, "properties must be an object (name: value)")
            )
            p = {}
        row = {}
        for k, v in p.items():
            if isinstance(v, dict | list):
                shape_errors.append((i, str(k), _property_text(v), "a list or object, not a value"))
            row[str(k)] = _property_text(v)
        keys.update(row)
        if len(keys) > lim.max_columns:  # before a frame of features x properties is built
            return fail(
                f"more than {lim.max_columns:,} different properties (FANGCANG_IMPORT_MAX_COLUMNS)"
            )
        props.append(row)
    raw = pd.DataFrame(props).fillna("").astype(str)
    if raw.empty and len(raw.index) == 0:
        raw = pd.DataFrame(index=range(len(features)))
    raw.index = pd.RangeIndex(1, len(raw) + 1, name="row")
    table = validate_frame(raw, spec, file, limits=lim)
    # A feature that is not an object, or whose properties are not one, is reported as such
    # (not again as every required property missing).
    unusable = {i for i, column, _, _ in shape_errors if column in ("", "properties")}
    if unusable:
        table.errors = [e for e in table.errors if e.row not in unusable]
    for i, column, value, reason in shape_errors:
        table.add_errors([i], column, [value], reason)
    (x_lo, x_hi), (y_lo, y_hi) = LON_RANGE, LAT_RANGE
    geoms: list = []
    for i, feat in enumerate(features, start=1):
        if not isinstance(feat, dict):
            geoms.append(None)  # reported above
            continue
        g = feat.get("geometry")
        try:
            if g is None:
                raise geo.GeometryError("feature has no geometry")
            geom = geo.parse_polygon(g)
            x0, y0, x1, y1 = geom.bounds
            if not (x_lo <= x0 and x1 <= x_hi and y_lo <= y0 and y1 <= y_hi):
                raise geo.GeometryError(
                    f"polygon outside the accepted lon/lat range (lon {x_lo}-{x_hi}, lat "
                    f"{y_lo}-{y_hi}; bounds {x0:.3f}, {y0:.3f}, {x1:.3f}, {y1:.3f}): swapped "
                    "or projected coordinates"
                )
            geoms.append(geom)
        except geo.GeometryError as exc:
            gtype = g.get("type", "") if isinstance(g, dict) else type(g).__name__
            table.add_errors([i], "geometry", [L.shorten(gtype)], str(exc))
            geoms.append(None)
        except Exception as exc:  # shapely / numpy on hostile coordinates
            log.info("%s feature %d: geometry not usable: %r", file, i, exc)
            table.add_errors([i], "geometry", [""], f"broken geometry: {L.shorten(exc, 200)}")
            geoms.append(None)
    return table, geoms
