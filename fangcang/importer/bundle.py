"""Validate and import a bundle (a folder of department files) in one transaction.

``validate_bundle`` reads and checks everything without writing; ``import_bundle`` validates,
then loads the accepted rows, keeps the aggregates in step (``aggregates.track``), writes the
import log and an audit entry and bumps the data version, all in one transaction. A bundle with errors changes nothing
(unless ``partial=True``: then the good rows are loaded and the rejected ones written to a
folder for correction). Either way the outcome is recorded in ``import_log``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from .. import aggregates, audit, checks, db, geo
from ..config import DATA_DIR, get_import_limits, get_settings
from ..models import (
    Community,
    DivisionKind,
    ImportLog,
    ImportStatus,
    Officer,
    Station,
    SubDistrict,
)
from ..timeutil import now_local
from . import coords, rejected
from . import kinds as K
from . import limits as L
from .aliases import INCIDENT_SUBTYPES
from .load import LoadCounts, upsert
from .options import OPTIONS_FILE, BundleOptions, load_options
from .reader import (
    SUFFIXES,
    FileError,
    Table,
    decode,
    format_errors,
    read_table,
    validate_frame,
    write_errors,
)
from .spec import LAT_RANGE, LON_RANGE, RowError

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

GEOJSON = "communities.geojson"
#: How many errors the printed report shows (the report file has every one).
PRINT_LIMIT = 50
#: SQLite page cache during an import, in KiB.
SQLITE_CACHE_KB = 512_000
#: Reference list of the district's divisions (code, name, kind, lon, lat).
DIVISIONS_CSV = DATA_DIR / "lucheng_divisions.csv"


class BundleError(ValueError):
    """Raised by ``import_bundle(..., raise_on_error=True)``; carries the ``ImportResult``."""

    def __init__(self, result: ImportResult):
        super().__init__(result.report)
        self.result = result


def stable_station_id(name: str) -> str:
    """The id given to a station known only by its name: ``ST`` + 8 hex digits of its SHA-1."""
    return "ST" + hashlib.sha1(name.strip().encode("utf-8")).hexdigest()[:8].upper()


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
@dataclass
class BundleReport:
    """What validation found. ``errors`` are in load order (file by file, row by row)."""

    folder: Path
    files: dict[str, int] = field(default_factory=dict)  # file name -> data rows read
    accepted: dict[str, int] = field(default_factory=dict)  # kind -> rows that passed
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: file name -> how it was read: ``layout`` (delimiter, sheet, header row, skipped
    #: rows), ``unused`` / ``ignored`` columns, ``near_misses``, ``coord`` (system used) and
    #: ``coord_hint`` (a Diagnosis naming the system that fits, when not the declared one)
    file_info: dict[str, dict] = field(default_factory=dict)
    options: BundleOptions | None = field(default=None, repr=False)
    tables: dict[str, Table] = field(default_factory=dict, repr=False)
    new_stations: pd.DataFrame | None = field(default=None, repr=False)
    new_sub_districts: pd.DataFrame | None = field(default=None, repr=False)
    #: Errors found but not listed, per file (limits ``max_errors_per_file`` / ``max_errors``).
    unlisted: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and not any(self.unlisted.values())

    @property
    def error_count(self) -> int:
        """Errors found, listed or not."""
        return len(self.errors) + sum(self.unlisted.values())

    def _file_state(self, file: str, rows: int) -> tuple[bool, int]:
        """(whole file rejected, rows rejected) of one file."""
        table = next((t for t in self.tables.values() if t.file == file), None)
        errs = [e for e in self.errors if e.file == file]
        if any(e.row is None for e in errs) or (table is not None and table.file_errors):
            return True, rows
        bad = table.bad_rows if table is not None else set()
        return False, len(bad | {e.row for e in errs if e.row is not None})

    def file_lines(self, file: str) -> list[str]:
        """How ``file`` was read and which of its columns were not used (for reports)."""
        info = self.file_info.get(file)
        if not info:
            return []
        out = []
        if info.get("layout") is not None:
            out.append(f"read as: {info['layout'].describe()}")
        if info.get("unused"):
            out.append("columns not used: " + ", ".join(info["unused"]))
        if info.get("ignored"):
            out.append("columns ignored as declared: " + ", ".join(info["ignored"]))
        for header, name, spelling in info.get("near_misses", ()):
            out.append(f"column {header!r} looks like {spelling!r} ({name}): did you mean it?")
        if info.get("coord") and info["coord"] != coords.WGS84:
            out.append(f"coordinates converted from {coords.LABELS[info['coord']]} to WGS-84")
        return out

    @property
    def rejected(self) -> int:
        """Data rows rejected: rows with errors, plus every row of a file with a file error."""
        return sum(self._file_state(file, rows)[1] for file, rows in self.files.items())

    def text(self, limit: int = PRINT_LIMIT, report_path: Path | None = None) -> str:
        """Human-readable summary: files and row counts, then the errors (capped)."""
        lines = [f"bundle {self.folder}"]
        for file, rows in self.files.items():
            bad_file, bad_rows = self._file_state(file, rows)
            state = (
                "file rejected" if bad_file else f"{bad_rows:,} rows rejected" if bad_rows else "ok"
            )
            lines.append(f"  {file:<22} {rows:>10,} rows  {state}")
            lines.extend(f"      {line}" for line in self.file_lines(file))
        lines.extend(f"  note: {n}" for n in self.notes)
        if self.error_count:
            lines.append(f"{self.error_count:,} errors in {self.rejected:,} rows:")
            lines.append(format_errors(self.errors, limit, total=self.error_count))
            for file, n in self.unlisted.items():
                if n:
                    lines.append(f"{file}: {n:,} more errors not listed (listing limits)")
            if report_path is not None:
                lines.append(f"full error list: {report_path}")
        return "\n".join(lines)


@dataclass
class ImportResult:
    """Outcome of ``import_bundle``.

    ``status`` is ok (everything loaded), partial (good rows loaded, rejected rows written to
    ``rejected_dir``) or failed (nothing changed). ``counts`` are rows loaded per kind;
    ``inserted`` / ``updated`` / ``unchanged`` split them (unchanged: the stored row was newer).
    """

    status: ImportStatus
    folder: Path
    files: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    report: str = ""
    error_report: Path | None = None
    rejected_dir: Path | None = None
    duration_s: float = 0.0
    log_id: int | None = None
    #: per record kind loaded: ``incremental`` or ``full`` (how its aggregates were refreshed)
    aggregates: dict = field(default_factory=dict)
    #: seconds per phase (wall: ``validate``, ``load_<kind>``, ``aggregates_<kind>``,
    #: ``aggregates`` (their sum), ``commit``; process CPU: ``cpu_validate``, ``cpu_load``)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != ImportStatus.FAILED


# ---------------------------------------------------------------------------------------------
# Reference data (what already exists, plus the district's division list)
# ---------------------------------------------------------------------------------------------
@dataclass
class _Refs:
    communities: set[str]
    officers: set[str]
    stations: dict[str, str]  # id -> name
    sub_districts: dict[str, str]  # code -> name
    divisions: pd.DataFrame  # reference list (may be empty)
    polygons: object  # GeoDataFrame of existing communities


def _load_refs(session: Session) -> _Refs:
    divisions = (
        pd.read_csv(DIVISIONS_CSV, dtype=str, keep_default_na=False)
        if DIVISIONS_CSV.exists()
        else pd.DataFrame(columns=["code", "name", "kind", "lon", "lat"])
    )
    return _Refs(
        communities=set(session.scalars(select(Community.community_id))),
        officers=set(session.scalars(select(Officer.officer_id))),
        stations={r[0]: r[1] for r in session.execute(select(Station.station_id, Station.name))},
        sub_districts={
            r[0]: r[1] for r in session.execute(select(SubDistrict.code, SubDistrict.name))
        },
        divisions=divisions,
        polygons=geo.communities_frame(session),
    )


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
def _find_files(folder: Path, report: BundleReport) -> dict[str, Path]:
    found: dict[str, Path] = {}
    names: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if p.is_symlink():  # never followed: it could point anywhere on the server
            report.errors.append(
                RowError(p.name, None, "", "", "a symbolic link: bundle files must be plain files")
            )
            continue
        if not p.is_file():
            continue
        key = p.name.lower()
        if key in names:
            report.errors.append(
                RowError(
                    p.name,
                    None,
                    "",
                    "",
                    f"both {names[key].name} and {p.name} present (names differing only in "
                    "upper/lower case): keep one",
                )
            )
            continue
        names[key] = p
    for kind in K.KINDS:
        hits = [names[f"{kind.name}{s}"] for s in SUFFIXES if f"{kind.name}{s}" in names]
        if len(hits) > 1:
            report.errors.append(
                RowError(
                    hits[1].name,
                    None,
                    "",
                    "",
                    f"both {hits[0].name} and {hits[1].name} present: keep one",
                )
            )
        elif hits:
            found[kind.name] = hits[0]
    if GEOJSON in names:
        found["communities"] = names[GEOJSON]
    known = {f"{k.name}{s}" for k in K.KINDS for s in SUFFIXES} | {GEOJSON, OPTIONS_FILE}
    ignored = sorted(n for n in names if n not in known and not n.startswith("."))
    if ignored:
        report.notes.append(f"ignored files (not part of the contract): {', '.join(ignored)}")
    return found


def _count_lines(path: Path) -> int:
    """Data rows of a text file we could not parse: lines after the header."""
    if path.suffix.lower() not in (".csv",):
        return 0
    if path.stat().st_size > get_import_limits().max_file_bytes:
        return 0  # over the size limit: not read at all
    data = path.read_bytes()
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return max(lines - 1, 0)


def _mtime(path: Path) -> pd.Timestamp:
    return pd.Timestamp(datetime.fromtimestamp(path.stat().st_mtime).replace(microsecond=0))


def _fill_provenance(table: Table, path: Path, default_source: str = "") -> None:
    if "updated_at" in table.frame:
        table.frame["updated_at"] = table.frame["updated_at"].fillna(_mtime(path))
    if "source" in table.frame:
        source = table.frame["source"].fillna("")
        # A department feed names the department when the file leaves `source` empty.
        table.frame["source"] = source.where(source != "", default_source)


def _add(table: Table, rows, column: str, values, reason) -> None:
    table.add_errors(rows, column, values, reason)


def _known_ids(table: Table | None, key: str, partial: bool) -> set[str]:
    """Ids a later file may reference: the valid rows (partial) or every parsed id (strict,
    so one bad parent row is reported once, not again on every child)."""
    if table is None or table.file_errors:
        return set()
    frame = table.valid if partial else table.frame
    return set(frame[key].dropna().astype(str))


def _resolve_stations(
    values: pd.Series, refs: _Refs, bundled: dict[str, str], new: dict[str, str]
) -> pd.Series:
    """Station id or name -> station id. Unknown names become new stations (stable ids)."""
    by_name = {name: sid for sid, name in {**refs.stations, **bundled}.items()}
    ids = set(refs.stations) | set(bundled)
    out = {}
    for value in pd.unique(values.dropna()):
        v = str(value)
        if v in ids:
            out[v] = v
        elif v in by_name:
            out[v] = by_name[v]
        else:
            sid = stable_station_id(v)
            new.setdefault(sid, v)
            out[v] = sid
    return values.map(out)


def _resolve_streets(values: pd.Series, refs: _Refs, bundled: dict[str, str], new: dict):
    """Street code or name -> sub-district code (None when unknown)."""
    known: dict[str, str] = {}
    names: dict[str, str] = {}
    for code, name in {**refs.sub_districts, **bundled}.items():
        known[code] = code
        names[name] = code
    ref = {r.code: r for r in refs.divisions.itertuples(index=False)}
    ref_names = {r.name: r.code for r in refs.divisions.itertuples(index=False)}
    out = {}
    for value in pd.unique(values.dropna()):
        v = str(value)
        code = known.get(v) or names.get(v)
        if code is None:
            for candidate in (v, v + "街道", v + "镇"):
                code = names.get(candidate) or (candidate if candidate in ref else None)
                code = code or ref_names.get(candidate)
                if code:
                    break
        if code and code not in known and code in ref:
            r = ref[code]
            new[code] = {
                "code": code,
                "name": r.name,
                "kind": r.kind or DivisionKind.STREET.value,
                "label_lon": float(r.lon) if r.lon else None,
                "label_lat": float(r.lat) if r.lat else None,
            }
        out[v] = code
    return values.map(out)


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
        _add(table, [i], column, [value], reason)
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
            _add(table, [i], "geometry", [L.shorten(gtype)], str(exc))
            geoms.append(None)
        except Exception as exc:  # shapely / numpy on hostile coordinates
            log.info("%s feature %d: geometry not usable: %r", file, i, exc)
            _add(table, [i], "geometry", [""], f"broken geometry: {L.shorten(exc, 200)}")
            geoms.append(None)
    return table, geoms


def _coordinates(table: Table, kind: str, declared: str, polygons, info: dict) -> bool:
    """Convert the file's points to WGS84 (``declared`` system, or the rows' own
    ``coord_system``). When no row names its system and another system explains where the
    points land far better, reject the file with a message naming that system (nothing is
    placed in a wrong community). Returns False when the file was rejected so."""
    frame = table.frame
    if "lon" not in frame:
        return True
    lon, lat = frame["lon"], frame["lat"]
    per_row = frame["coord_system"] if "coord_system" in frame else None
    own = per_row is not None and bool(per_row.notna().any())
    if not own:
        diag = coords.diagnose(lon, lat, frame["community_id"], polygons, declared)
        if diag is not None and diag.fits:
            info["coord_hint"] = diag
            table.errors.insert(0, RowError(table.file, None, "lon", "", diag.message(kind)))
            return False
    systems = per_row.fillna(declared) if own else pd.Series(declared, index=frame.index)
    for system in (coords.GCJ02, coords.BD09):
        todo = (systems == system) & lon.notna() & lat.notna()
        if todo.any():
            x, y = coords.to_wgs84(lon[todo].to_numpy(), lat[todo].to_numpy(), system)
            frame.loc[todo, "lon"] = x
            frame.loc[todo, "lat"] = y
    info["coord"] = declared
    if own:
        info["coord_rows"] = {str(k): int(v) for k, v in systems.value_counts().items()}
    return True


def _locate(table: Table, refs_ids: set[str], polygons) -> None:
    """Check community references; place rows without one by point-in-polygon."""
    frame = table.frame
    cid = frame["community_id"]
    has = cid.notna()
    unknown = has & ~cid.isin(refs_ids)
    _add(table, frame.index[unknown], "community_id", cid[unknown], "unknown community_id")
    if "lon" not in frame:
        return
    need = ~has
    lon, lat = frame["lon"], frame["lat"]
    bad_rows = table.bad_rows
    missing = need & (lon.isna() | lat.isna()) & ~frame.index.isin(list(bad_rows))
    _add(
        table,
        frame.index[missing],
        "community_id",
        [""] * int(missing.sum()),
        "no community_id and no lon/lat: the record cannot be placed",
    )
    todo = need & lon.notna() & lat.notna()
    if not todo.any():
        return
    placed = geo.place_points(lon[todo].to_numpy(), lat[todo].to_numpy(), polygons)
    placed_s = pd.Series(placed, index=frame.index[todo], dtype=object)
    outside = placed_s.isna()
    rows = placed_s.index[outside]
    _add(
        table,
        rows,
        "lon",
        [f"{x}, {y}" for x, y in zip(lon[rows], lat[rows], strict=True)],
        "point (lon, lat) is outside every community of the district",
    )
    frame.loc[placed_s.index[~outside], "community_id"] = placed_s[~outside]


def _validate(
    session: Session,
    folder: Path,
    partial: bool,
    progress: Progress,
    default_source: str = "",
    options: BundleOptions | None = None,
) -> BundleReport:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"bundle folder not found: {folder}")
    report = BundleReport(folder=folder)
    if options is None:
        try:
            options = load_options(folder)
        except ValueError as exc:
            report.errors.append(RowError(OPTIONS_FILE, None, "", "", str(exc)))
            return report
    report.options = options
    if options.describe():
        where = f" ({options.source})" if options.source else ""
        report.notes.append(f"options{where}: {options.describe()}")
    files = _find_files(folder, report)
    if not files and not report.errors:
        report.errors.append(
            RowError(
                str(folder),
                None,
                "",
                "",
                "no bundle files found (expected communities.geojson or any of "
                + ", ".join(f"{k.name}.csv" for k in K.KINDS)
                + ")",
            )
        )
        return report
    refs = _load_refs(session)
    sizes = {k: p.stat().st_size for k, p in files.items()}
    total = sum(sizes.values()) or 1
    done = 0

    def step(kind_name: str) -> None:
        nonlocal done
        done += sizes.get(kind_name, 0)
        progress(done / total, f"checked {files[kind_name].name}")

    tables = report.tables
    new_stations: dict[str, str] = {}
    new_subs: dict[str, dict] = {}

    def read(kind: K.RecordKind) -> Table | None:
        path = files.get(kind.name)
        if path is None:
            return None
        progress(done / total, f"reading {path.name}")
        try:
            table = read_table(
                path,
                kind.spec,
                ignore_columns=options.ignore_columns_for(kind.name),
                near_miss_errors=not partial,
            )
        except Exception:  # a reader bug must not become a traceback: a file-level error
            log.exception("reading %s failed", path.name)
            empty = pd.DataFrame({f.name: pd.Series([], dtype=object) for f in kind.spec.fields})
            table = Table(
                path.name,
                kind.spec,
                empty,
                [RowError(path.name, None, "", "", "cannot read the file (see the server log)")],
            )
        _fill_provenance(table, path, default_source)
        tables[kind.name] = table
        report.file_info[table.file] = {
            "layout": table.layout,
            "unused": [c for c in table.unused_columns if c not in table.ignored_columns],
            "ignored": list(table.ignored_columns),
            "near_misses": list(table.near_misses),
        }
        return table

    # Divisions and stations listed in the bundle (optional files).
    subs = read(K.SUB_DISTRICTS)
    bundled_subs: dict[str, str] = {}
    if subs is not None and not subs.file_errors:
        f = subs.frame
        f["kind"] = f["kind"].where(
            f["kind"].notna(),
            np.where(f["name"].astype(str).str.endswith("镇"), "town", "street"),
        )
        v = subs.valid if partial else f
        bundled_subs = dict(zip(v["code"], v["name"], strict=True))
        step("sub_districts")
    stations = read(K.STATIONS)
    bundled_stations: dict[str, str] = {}
    if stations is not None and not stations.file_errors:
        v = stations.valid if partial else stations.frame
        bundled_stations = dict(zip(v["station_id"], v["name"], strict=True))
        step("stations")

    officers = read(K.OFFICERS)
    if officers is not None and not officers.file_errors:
        f = officers.frame
        f["station_id"] = _resolve_stations(f["station"], refs, bundled_stations, new_stations)
        step("officers")
    officer_ids = refs.officers | _known_ids(officers, "officer_id", partial)

    # Communities (GeoJSON).
    polygons = refs.polygons
    bundled_communities: set[str] = set()
    if "communities" in files:
        path = files["communities"]
        progress(done / total, f"reading {path.name}")
        try:
            table, geoms = _read_communities(path)
        except Exception:  # never a traceback: a file-level error, the detail in the log
            log.exception("reading %s failed", path.name)
            spec = K.COMMUNITY_SPEC
            empty = pd.DataFrame({f.name: pd.Series([], dtype=object) for f in spec.fields})
            msg = "cannot read the file (see the server log)"
            table, geoms = (
                Table(path.name, spec, empty, [RowError(path.name, None, "", "", msg)]),
                [],
            )
        tables["communities"] = table
        if not table.file_errors:
            _fill_provenance(table, path, default_source)
            f = table.frame
            f["sub_district_code"] = _resolve_streets(f["street"], refs, bundled_subs, new_subs)
            bad = f["street"].notna() & f["sub_district_code"].isna()
            _add(
                table,
                f.index[bad],
                "street",
                f["street"][bad],
                "unknown sub-district (give a code or name from sub_districts.csv, "
                "data/lucheng_divisions.csv or the database)",
            )
            f["station_id"] = _resolve_stations(f["station"], refs, bundled_stations, new_stations)
            oid = f["officer_id"]
            bad = oid.notna() & ~oid.isin(officer_ids)
            _add(table, f.index[bad], "officer_id", oid[bad], "unknown officer_id")
            gs = pd.Series(geoms, index=f.index, dtype=object)
            f["geometry"] = [geo.to_geojson(g) if g is not None else None for g in geoms]
            cents = [g.centroid if g is not None else None for g in geoms]
            f["centroid_lon"] = [c.x if c is not None else np.nan for c in cents]
            f["centroid_lat"] = [c.y if c is not None else np.nan for c in cents]
            usable = table.valid if partial else f[gs.notna()]
            bundled_communities = set(usable["community_id"].dropna())
            if len(usable):
                import geopandas as gpd

                fresh = gpd.GeoDataFrame(
                    {"community_id": usable["community_id"].to_numpy()},
                    geometry=list(gs[usable.index]),
                    crs=geo.CRS,
                )
                keep = polygons[~polygons["community_id"].isin(bundled_communities)]
                polygons = pd.concat([keep[["community_id", "geometry"]], fresh], ignore_index=True)
                polygons = gpd.GeoDataFrame(polygons, geometry="geometry", crs=geo.CRS)
        step("communities")
    if not partial and "communities" in tables and not tables["communities"].file_errors:
        bundled_communities = set(tables["communities"].frame["community_id"].dropna())
    community_ids = refs.communities | bundled_communities

    for kind in K.KINDS:
        if not kind.basic:
            continue
        table = read(kind)
        if table is None:
            continue
        if not table.file_errors and kind.locate:
            _coordinates(
                table,
                kind.name,
                options.coord_system_for(kind.name),
                polygons,
                report.file_info[table.file],
            )
        if not table.file_errors:
            if kind.community:
                _locate(table, community_ids, polygons)
            if kind is K.INCIDENTS:
                sub = table.frame["subtype"]
                table.frame["subtype"] = sub.map(lambda s: INCIDENT_SUBTYPES.get(s, s))
        step(kind.name)

    # Collect, in load order; the listing is capped in total (the rest counted per file).
    total_cap = get_import_limits().max_errors
    order = ["sub_districts", "stations", "officers", "communities"] + [
        k.name for k in K.KINDS if k.basic
    ]
    for name in order:
        table = tables.get(name)
        if table is None:
            continue
        rows = table.rows
        if table.file_errors and table.raw is None and name in files:
            rows = _count_lines(files[name])  # unreadable: count its lines instead
        report.files[table.file] = rows
        table.errors.sort(key=lambda e: (e.row is not None, e.row or 0))
        room = max(total_cap - len(report.errors), 0)
        report.errors.extend(table.errors[:room])
        unlisted = table.unlisted + max(len(table.errors) - room, 0)
        if unlisted:
            report.unlisted[table.file] = unlisted
        report.accepted[name] = len(table.valid)
        if not (partial and not table.ok):
            table.raw = None  # only partial imports write rejected rows back out: free memory
    report.new_stations = pd.DataFrame(
        [{"station_id": k, "name": v} for k, v in sorted(new_stations.items())],
        columns=["station_id", "name"],
    )
    report.new_sub_districts = pd.DataFrame(
        list(new_subs.values()), columns=["code", "name", "kind", "label_lon", "label_lat"]
    )
    if len(report.new_stations):
        report.notes.append(
            "new stations created from their names: "
            + ", ".join(f"{r.name} ({r.station_id})" for r in report.new_stations.itertuples())
        )
    progress(1.0, "checked")
    return report


def _noop(fraction: float, message: str) -> None:
    pass


def validate_bundle(
    bind: Engine | Session,
    folder: str | Path,
    *,
    partial: bool = False,
    coord_system: str | None = None,
    ignore_columns: dict[str, list[str]] | None = None,
) -> BundleReport:
    """Read and check a bundle without writing anything.

    Parameters
    ----------
    bind : Engine or Session
        Where existing communities, officers and stations are looked up.
    folder : path
        The bundle folder.
    partial : bool
        Check references against the rows that would be accepted in a partial import.
    coord_system, ignore_columns
        Import options on top of the folder's ``bundle.toml`` (see ``import_bundle``).

    Returns
    -------
    BundleReport
        ``ok``, ``errors`` (every problem: file, row, column, value, reason), ``files`` (rows
        per file), ``accepted`` (rows per kind that pass), ``text()``.
    """
    options = _options(Path(folder), coord_system, ignore_columns)
    if isinstance(options, BundleReport):
        return options
    if isinstance(bind, Session):
        return _validate(bind, Path(folder), partial, _noop, options=options)
    with Session(bind) as session:
        return _validate(session, Path(folder), partial, _noop, options=options)


def _options(folder: Path, coord_system, ignore_columns) -> BundleOptions | BundleReport:
    """The import's options, or a failed report naming what is wrong with them."""
    if not folder.is_dir():
        raise FileNotFoundError(f"bundle folder not found: {folder}")
    try:
        return load_options(folder, coord_system=coord_system, ignore_columns=ignore_columns)
    except ValueError as exc:
        report = BundleReport(folder=folder)
        report.errors.append(RowError(OPTIONS_FILE, None, "", "", str(exc)))
        return report


# ---------------------------------------------------------------------------------------------
# Import
# ---------------------------------------------------------------------------------------------
def _begin_write(session: Session) -> None:
    """Open the write transaction now (SQLite: BEGIN IMMEDIATE takes the write lock up front,
    and makes the bulk statements on the raw connection part of the same transaction)."""
    conn = session.connection()
    raw = conn.connection.driver_connection
    if isinstance(raw, sqlite3.Connection):
        # A big page cache keeps index B-trees in memory during the bulk load (default 2 MB).
        raw.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}")
        raw.execute("PRAGMA temp_store=MEMORY")
        if not raw.in_transaction:
            raw.execute("BEGIN IMMEDIATE")


def _end_write(session: Session) -> None:
    raw = session.connection().connection.driver_connection
    if isinstance(raw, sqlite3.Connection):
        raw.execute("PRAGMA cache_size=-2000")  # back to SQLite's default for pooled reuse
        # A big import leaves a WAL file as large as the data it wrote; fold it into the
        # database and truncate it (after the commit, so the data is safe either way).
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _stamp() -> str:
    return now_local().strftime("%Y%m%d-%H%M%S-%f")[:-3]


def _write_rejected(report: BundleReport, out_dir: Path) -> Path | None:
    """Write each file's rejected rows (original columns + row number + reasons) for correction.

    They hold personal data in the clear (the department corrects them): owner-only files in
    an owner-only folder, listed and downloadable (audited) on the data hub, deleted after
    ``FANGCANG_REJECTED_KEEP_DAYS`` days (``fangcang.importer.rejected``)."""
    written = False
    for table in report.tables.values():
        if table.ok or table.raw is None:
            continue
        whole = bool(table.file_errors)
        rows = table.raw.index if whole else sorted(table.bad_rows)
        if not len(rows):
            continue
        reasons = table.reasons_by_row(rows)
        out = table.raw.loc[rows].copy()
        file_reason = "; ".join(e.reason for e in table.file_errors) or (
            "error not listed (listing limits): see the error report's counts"
        )
        out.insert(0, "_errors", ["; ".join(reasons.get(r, [file_reason])) for r in out.index])
        out.insert(0, "_row", out.index)
        rejected.write_private_csv(out, out_dir / (Path(table.file).stem + ".csv"))
        written = True
    return out_dir if written else None


def _accepted_frames(report: BundleReport) -> dict[str, pd.DataFrame]:
    return {name: t.valid for name, t in report.tables.items()}


def _update_sub_district_geometry(session: Session) -> None:
    """Each sub-district's geometry = the union of its communities (small: ~100 polygons)."""
    polys = geo.communities_frame(session)
    if polys.empty:
        return
    merged = polys.dissolve(by="sub_district_code")
    for code, geom in merged.geometry.items():
        sd = session.get(SubDistrict, code)
        if sd is None:
            continue
        sd.geometry = geo.to_geojson(geom)
        if sd.label_lon is None or sd.label_lat is None:
            point = geom.representative_point()
            sd.label_lon, sd.label_lat = point.x, point.y
    session.flush()


def _load(session: Session, report: BundleReport, progress: Progress, result: ImportResult):
    frames = _accepted_frames(report)
    tables = {m.__tablename__: m.__table__ for m in (SubDistrict, Station, Officer, Community)}
    total = sum(len(f) for f in frames.values()) + 1
    done = 0

    def run(name: str, table, frame: pd.DataFrame, mode: str) -> None:
        nonlocal done
        if frame is None or frame.empty:
            return
        base = done
        t0 = time.perf_counter()
        counts: LoadCounts = upsert(
            session,
            table,
            frame,
            on_conflict=mode,
            progress=lambda n: progress((base + n) / total, f"loading {name}: {n:,} rows"),
        )
        result.timings[f"load_{name}"] = round(time.perf_counter() - t0, 3)
        if name in report.tables:
            done += len(frame)
            result.counts[name] = result.counts.get(name, 0) + len(frame)
            result.inserted[name] = result.inserted.get(name, 0) + counts.inserted
            result.updated[name] = result.updated.get(name, 0) + counts.updated
            result.unchanged[name] = result.unchanged.get(name, 0) + counts.unchanged

    # Parents first: divisions, stations, officers, communities.
    run("sub_districts", tables["sub_districts"], report.new_sub_districts, "nothing")
    run("sub_districts", tables["sub_districts"], frames.get("sub_districts"), "update")
    run("stations", tables["stations"], report.new_stations, "nothing")
    run("stations", tables["stations"], frames.get("stations"), "update")
    run("officers", tables["officers"], frames.get("officers"), "newer")
    run("communities", tables["communities"], frames.get("communities"), "newer")
    if frames.get("communities") is not None and len(frames["communities"]):
        _update_sub_district_geometry(session)
    # Each record table's aggregates follow its load: the touched records' old contributions
    # out, the new ones in (or the table's aggregates in full when the load is large).
    for kind in K.KINDS:
        if kind.basic:
            frame = frames.get(kind.name)
            if frame is None or frame.empty:
                continue
            pk = aggregates.PRIMARY_KEYS[kind.model.__tablename__]
            with aggregates.track(session, {kind.model.__tablename__: frame[pk]}) as tracked:
                run(kind.name, kind.model.__table__, frame, "newer")
            result.timings[f"aggregates_{kind.name}"] = tracked.seconds
            result.aggregates[kind.name] = "full" if tracked.full else "incremental"


def import_bundle(
    engine: Engine,
    folder: str | Path,
    *,
    actor: str = "cli",
    channel: str = "cli",
    partial: bool = False,
    progress: Progress | None = None,
    raise_on_error: bool = False,
    default_source: str = "",
    coord_system: str | None = None,
    ignore_columns: dict[str, list[str]] | None = None,
) -> ImportResult:
    """Import a bundle folder in one transaction (records, aggregates, log, audit, version).

    Parameters
    ----------
    engine : Engine
    folder : path
        Holds any of communities.geojson, sub_districts.csv, stations.csv, officers.csv,
        people.csv, houses.csv, places.csv, objects.csv, events.csv, incidents.csv (.xlsx
        accepted wherever .csv is). See docs/data-contract.md.
    actor : str
        Who imports (import log and audit entry).
    channel : str
        ``cli``, ``upload``, ``inbox``, ``demo`` ...
    partial : bool
        Load the good rows and write the rejected rows to ``<reports_dir>/<stamp>-rejected/``
        (one CSV per file, original columns plus ``_row`` and ``_errors``) for correction.
        Default: any error and nothing changes.
    progress : callable(fraction, message), optional
        Called as work proceeds (fraction 0..1 over the whole import).
    raise_on_error : bool
        Raise ``BundleError`` (carrying the result) instead of returning a failed result.
    default_source : str
        Source department written where a row's ``source`` is empty (department feeds).
    coord_system : {"wgs84", "gcj02", "bd09"}, optional
        Coordinate system of every file's points (overrides ``bundle.toml``); rows with a
        ``coord_system`` column keep their own.
    ignore_columns : dict, optional
        File kind -> headers declared as not wanted (added to ``bundle.toml``'s).

    Returns
    -------
    ImportResult
        status ok / partial / failed; a failed import changed nothing but its import-log row.
        The full error list is written to ``<reports_dir>/import-<stamp>-errors.csv``.

    Raises
    ------
    FileNotFoundError
        When ``folder`` is not a folder.
    """
    progress = progress or _noop
    started = time.perf_counter()
    started_at = now_local()
    folder = Path(folder)
    stamp = _stamp()
    reports_dir = get_settings().reports_dir
    result = ImportResult(status=ImportStatus.FAILED, folder=folder)
    rejected.purge_rejected(reports_dir)

    options = _options(folder, coord_system, ignore_columns)
    with Session(engine) as session:
        t0, c0 = time.perf_counter(), time.process_time()
        if isinstance(options, BundleReport):
            report = options
        else:
            report = _validate(
                session,
                folder,
                partial,
                lambda f, m: progress(0.4 * f, m),
                default_source,
                options=options,
            )
        result.timings["validate"] = round(time.perf_counter() - t0, 3)
        result.timings["cpu_validate"] = round(time.process_time() - c0, 3)
    result.files = dict(report.files)
    result.errors = list(report.errors)
    result.rejected = report.rejected
    if not report.ok:
        result.error_report = write_errors(
            report.errors, reports_dir / f"import-{stamp}-errors.csv", report.unlisted
        )

    fatal = not report.ok and not partial
    if partial and not report.ok and not any(report.accepted.values()):
        fatal = True
    if not fatal:
        try:
            with Session(engine) as session:
                _begin_write(session)
                c0 = time.process_time()
                # Loads each table and keeps its aggregates in step (see _load).
                _load(session, report, lambda f, m: progress(0.4 + 0.57 * f, m), result)
                checks.record_last_checks(session)  # check history (fangcang.checks)
                # CPU of this process (Python + SQLite; not a PostgreSQL server's)
                result.timings["cpu_load"] = round(time.process_time() - c0, 3)
                result.timings["aggregates"] = round(
                    sum(v for k, v in result.timings.items() if k.startswith("aggregates_")), 3
                )
                result.status = ImportStatus.PARTIAL if not report.ok else ImportStatus.OK
                if not report.ok:
                    result.rejected_dir = _write_rejected(
                        report, reports_dir / f"import-{stamp}-rejected"
                    )
                result.duration_s = round(time.perf_counter() - started, 3)
                result.report = _result_text(report, result)
                result.log_id = _record(session, result, started_at, actor, channel)
                t0 = time.perf_counter()
                session.commit()
                result.timings["commit"] = round(time.perf_counter() - t0, 3)
                _end_write(session)
        except DBAPIError as exc:
            result.status = ImportStatus.FAILED
            result.report = (
                report.text(report_path=result.error_report)
                + f"\nthe database rejected the bundle; nothing was imported: {exc.orig}"
            )
            fatal = True
    if fatal:
        result.status = ImportStatus.FAILED
        result.counts = {}
        result.duration_s = round(time.perf_counter() - started, 3)
        if not result.report:
            result.report = _result_text(report, result)
        with Session(engine) as session:
            result.log_id = _record(session, result, started_at, actor, channel)
            session.commit()
    progress(1.0, f"import {result.status.value}")
    log.info(
        "import %s by %s: %s, %d rows rejected, %.1f s, timings %s",
        folder.name,
        channel,
        result.status.value,
        result.rejected,
        result.duration_s,
        result.timings,
    )
    if raise_on_error and result.status == ImportStatus.FAILED:
        raise BundleError(result)
    return result


def _result_text(report: BundleReport, result: ImportResult) -> str:
    lines = [report.text(report_path=result.error_report)]
    if result.status == ImportStatus.FAILED:
        lines.append(
            "nothing was imported: fix the rows above (or import with --partial to load the "
            "good rows and get the rejected ones in a file)"
        )
    else:
        for kind, n in result.counts.items():
            lines.append(
                f"  {kind:<14} {n:>10,} loaded ({result.inserted.get(kind, 0):,} new, "
                f"{result.updated.get(kind, 0):,} updated, "
                f"{result.unchanged.get(kind, 0):,} kept: stored copy newer)"
            )
        if result.rejected_dir:
            lines.append(f"rejected rows for correction: {result.rejected_dir}")
        lines.append(f"import {result.status.value} in {result.duration_s:.1f} s")
    return "\n".join(lines)


def _record(
    session: Session, result: ImportResult, started_at: datetime, actor: str, channel: str
) -> int:
    """Import log row, audit entry and data-version bump, in ``session``'s transaction."""
    log = ImportLog(
        started_at=started_at,
        finished_at=now_local(),
        actor=actor,
        bundle=str(result.folder)[:500],
        channel=channel,
        files=json.dumps(result.files, ensure_ascii=False),
        counts=json.dumps(result.counts, ensure_ascii=False),
        rejected=result.rejected,
        status=result.status,
        error_report=str(result.error_report) if result.error_report else None,
        message=result.report[:20000],
        duration_s=result.duration_s,
    )
    session.add(log)
    session.flush()
    audit.log(
        session,
        actor=actor,
        action="import.bundle",
        target=str(result.folder)[:200],
        detail={
            "import_log_id": log.id,
            "status": result.status.value,
            "channel": channel,
            "files": result.files,
            "counts": result.counts,
            "rejected": result.rejected,
        },
    )
    db.bump_data_version(session)
    return log.id
