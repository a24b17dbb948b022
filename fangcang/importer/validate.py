"""Validate a bundle without writing: find its files, read and check each, resolve
references (stations, sub-districts, communities), convert coordinates and place points in
communities. ``import_bundle`` (``fangcang.importer.bundle``) runs this before it writes.

Size: 575 lines because it is the one dry-run of a bundle: finding files, resolving references and
locating points all feed the one report ``_validate`` builds (about 230 lines on its own); the
reference resolvers (stations, streets, coordinates) could move to their own module (not done yet).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from .. import geo
from ..config import DATA_DIR, get_import_limits
from ..divisions import unplaced
from ..models import (
    Community,
    DivisionKind,
    Officer,
    Station,
    SubDistrict,
)
from ..timeutil import from_timestamp
from . import coords
from . import kinds as K
from .aliases import INCIDENT_SUBTYPES
from .geojson import GEOJSON, _read_communities
from .options import OPTIONS_FILE, BundleOptions, load_options
from .reader import (
    SUFFIXES,
    Table,
    read_table,
)
from .report import BundleReport, Progress
from .spec import RowError

log = logging.getLogger(__name__)

#: Reference list of the district's divisions (code, name, kind, lon, lat).
DIVISIONS_CSV = DATA_DIR / "lucheng_divisions.csv"


def stable_station_id(name: str) -> str:
    """The id given to a station known only by its name: ``ST`` + 8 hex digits of its SHA-1."""
    return "ST" + hashlib.sha1(name.strip().encode("utf-8")).hexdigest()[:8].upper()


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
    """The file's modification time in local time (the default ``updated_at``)."""
    return pd.Timestamp(from_timestamp(path.stat().st_mtime).replace(microsecond=0))


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


def _coordinates(
    table: Table, kind: str, declared: str, polygons, info: dict, given: bool = False
) -> bool:
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
        if diag is not None and diag.fits and given:  # declared: read as told, and say so
            info["coord_kept"] = diag
        elif diag is not None and diag.fits:
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
    refs: _Refs | None = None,
) -> BundleReport:
    """Validate the bundle in ``folder`` (see ``validate_bundle``); ``refs``: what exists
    already, when the caller has it (then ``session`` is not used: a first load validates
    its next part in a thread while the current one is written)."""
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
    refs = refs if refs is not None else _load_refs(session)
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
    listed_subs: dict[str, str] = {}  # the valid rows only (what the note may name)
    if subs is not None and not subs.file_errors:
        f = subs.frame
        f["kind"] = f["kind"].where(
            f["kind"].notna(),
            np.where(f["name"].astype(str).str.endswith("镇"), "town", "street"),
        )
        v = subs.valid if partial else f
        bundled_subs = dict(zip(v["code"], v["name"], strict=True))
        listed_subs = dict(zip(subs.valid["code"], subs.valid["name"], strict=True))
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
                options.coord_declared(kind.name),
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
    note = _unplaced_note({**refs.sub_districts, **listed_subs}, listed_subs, new_subs)
    if note:
        report.notes.append(note)
    if len(report.new_stations):
        report.notes.append(
            "new stations created from their names: "
            + ", ".join(f"{r.name} ({r.station_id})" for r in report.new_stations.itertuples())
        )
    progress(1.0, "checked")
    return report


def _unplaced_note(names: dict[str, str], bundled: dict[str, str], new: dict) -> str | None:
    """A note when the sub-districts after this import mix codes that name a district with
    codes that name none (``divisions.unplaced``), and this bundle lists sub-districts: the
    communities of the latter have no known district. None otherwise."""
    if not bundled and not new:
        return None
    codes = set(names) | set(new)
    local = unplaced(codes)
    if not local:
        return None
    shown = ", ".join(f"{names.get(c, '?')} ({c})" for c in local[:5])
    more = f" and {len(local) - 5} more" if len(local) > 5 else ""
    return (
        f"{len(local)} of {len(codes)} sub-district codes name no district (a standard code "
        f"is a 9- or 12-digit division code whose first 6 digits name the district): {shown}"
        f"{more}. Their communities' district is unknown: the hot-spot analysis takes them as "
        "a study area of their own"
    )


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
