"""Coordinate systems of Chinese map services, converted to WGS84 on import.

Web maps in China do not give WGS84: Amap (高德) and Tencent give GCJ-02 ("Mars" coordinates,
the national obfuscation, about 500 m off around Wenzhou), Baidu gives BD-09 (GCJ-02 shifted
again). Fangcang stores WGS84 / CGCS2000, like the community polygons.

The conversion formulas are the published GCJ-02/BD-09 ones as implemented by the PyPI
package ``coordTransform`` (MIT; vectorised C extension). Its GCJ-02 -> WGS84 is the usual
one-step inverse (metre-level error); ``to_wgs84`` refines it with two fixed-point steps of the
forward transform (round trip within a few centimetres; BD-09 within about 0.2 m).

``diagnose`` looks at where a file's points land when read in each system: when the
declared system puts many points outside every community (or in another community than the
row's ``community_id``) and another system explains them, the report names that system.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WGS84 = "wgs84"
GCJ02 = "gcj02"
BD09 = "bd09"
SYSTEMS = (WGS84, GCJ02, BD09)

#: How each system is named in reports.
LABELS = {
    WGS84: "WGS-84 / CGCS2000 (GPS, Tianditu)",
    GCJ02: "GCJ-02 (Amap 高德, Tencent 腾讯)",
    BD09: "BD-09 (Baidu 百度)",
}

#: Points looked at by ``diagnose`` (evenly spread over the file).
DIAGNOSE_SAMPLE = 20_000
#: ``diagnose`` names another system when the declared one misplaces at least this many
#: sampled points and the other one misplaces at most ``FIT_SHARE`` of that.
MIN_MISFITS = 2
FIT_SHARE = 0.2


def check_system(value: str) -> str:
    """Validate a coordinate-system name; raise ``ValueError`` naming the allowed ones."""
    v = str(value).strip().lower().replace("-", "")
    if v in ("wgs84", "cgcs2000", "gps"):
        return WGS84
    if v in SYSTEMS:
        return v
    raise ValueError(f"unknown coordinate system {value!r} (one of {', '.join(SYSTEMS)})")


def _arrays(result) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = result
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _gcj_to_wgs(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import coordTransform as ct

    wlon, wlat = _arrays(ct.gcj02_to_wgs84(lon, lat))
    for _ in range(2):  # fixed point of forward(w) = g
        flon, flat = _arrays(ct.wgs84_to_gcj02(wlon, wlat))
        wlon, wlat = wlon + (lon - flon), wlat + (lat - flat)
    return wlon, wlat


def to_wgs84(lon, lat, system: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert points from ``system`` to WGS84.

    Parameters
    ----------
    lon, lat : array-like of float (degrees; NaN stays NaN)
    system : {"wgs84", "gcj02", "bd09"}

    Returns
    -------
    (lon, lat) : float arrays

    Notes
    -----
    Points outside mainland China are returned unchanged (the offsets are only defined
    inside), as every implementation of the published formulas does.
    """
    import coordTransform as ct

    system = check_system(system)
    lon = np.ascontiguousarray(lon, dtype=float)
    lat = np.ascontiguousarray(lat, dtype=float)
    if system == WGS84 or lon.size == 0:
        return lon.copy(), lat.copy()
    ok = ~(np.isnan(lon) | np.isnan(lat))
    out_lon, out_lat = lon.copy(), lat.copy()
    if not ok.any():
        return out_lon, out_lat
    x, y = np.ascontiguousarray(lon[ok]), np.ascontiguousarray(lat[ok])
    if system == BD09:
        x, y = _arrays(ct.bd09_to_gcj02(x, y))
    out_lon[ok], out_lat[ok] = _gcj_to_wgs(np.ascontiguousarray(x), np.ascontiguousarray(y))
    return out_lon, out_lat


def from_wgs84(lon, lat, system: str) -> tuple[np.ndarray, np.ndarray]:
    """The forward transform (WGS84 -> ``system``): for tests and examples."""
    import coordTransform as ct

    system = check_system(system)
    lon = np.ascontiguousarray(lon, dtype=float)
    lat = np.ascontiguousarray(lat, dtype=float)
    if system == WGS84:
        return lon.copy(), lat.copy()
    x, y = _arrays(ct.wgs84_to_gcj02(lon, lat))
    if system == BD09:
        x, y = _arrays(ct.gcj02_to_bd09(np.ascontiguousarray(x), np.ascontiguousarray(y)))
    return x, y


@dataclass(frozen=True)
class Diagnosis:
    """Where a file's points land read in each system (on a sample of ``checked`` points).

    ``misfits[s]``: sampled points that fall outside every community or in another community
    than their row's ``community_id`` when read as ``s``. ``fits`` is the system that explains
    the points when it is not the declared one, else None.
    """

    declared: str
    checked: int
    misfits: dict[str, int]
    fits: str | None

    def message(self, file_kind: str) -> str:
        """The report's explanation and how to re-import (only meaningful when ``fits``)."""
        d, f = self.declared, self.fits
        return (
            f"the points look like {LABELS[f]}, not {LABELS[d]}: read as {d}, "
            f"{self.misfits[d]:,} of {self.checked:,} points fall outside every community or "
            f"in another than their community_id; read as {f}, {self.misfits[f]:,}. Nothing "
            f"of this file was placed. Import again with the system declared: "
            f'`--coord-system {f}`, coord_system = "{f}" in bundle.toml (or under '
            f"[files.{file_kind}]), a coord_system column, or the upload's coordinate system"
        )

    def kept_message(self) -> str:
        """The note when the declared system is kept although ``fits`` explains the points."""
        d, f = self.declared, self.fits
        return (
            f"coordinates read as declared ({LABELS[d]}) although they look like {LABELS[f]}: "
            f"read as {d}, {self.misfits[d]:,} of {self.checked:,} points fall outside every "
            f"community or in another than their community_id; read as {f}, {self.misfits[f]:,}"
        )


def diagnose(
    lon: pd.Series,
    lat: pd.Series,
    community_id: pd.Series,
    polygons,
    declared: str = WGS84,
) -> Diagnosis | None:
    """Read the points in each system and say which one fits (see ``Diagnosis``).

    Parameters
    ----------
    lon, lat : Series of float
        As written in the file (not converted).
    community_id : Series
        The rows' given community (NA where the point places the row).
    polygons : GeoDataFrame
        Communities (``community_id``, geometry) in WGS84.
    declared : str
        The system the file was read in.

    Returns
    -------
    Diagnosis, or None when the file has no points or no communities to test against.
    """
    from .. import geo

    have = (lon.notna() & lat.notna()).to_numpy(dtype=bool)
    idx = np.flatnonzero(have)
    if idx.size == 0 or polygons is None or len(polygons) == 0:
        return None
    if idx.size > DIAGNOSE_SAMPLE:
        idx = idx[np.linspace(0, idx.size - 1, DIAGNOSE_SAMPLE).astype(int)]
    x = lon.to_numpy(dtype=float)[idx]
    y = lat.to_numpy(dtype=float)[idx]
    given = community_id.to_numpy(dtype=object)[idx]
    has_given = np.array([g is not None and not pd.isna(g) for g in given], dtype=bool)
    misfits: dict[str, int] = {}
    for system in (declared, *[s for s in SYSTEMS if s != declared]):
        wx, wy = to_wgs84(x, y, system)
        placed = geo.place_points(wx, wy, polygons)
        outside = np.array([p is None for p in placed], dtype=bool)
        other = has_given & ~outside & (placed.astype(str) != given.astype(str))
        misfits[system] = int((outside | other).sum())
        if system == declared and misfits[system] < MIN_MISFITS:
            return Diagnosis(declared, int(idx.size), misfits, None)
    fits = None
    if misfits[declared] >= MIN_MISFITS:
        best = min(SYSTEMS, key=lambda s: (misfits[s], s != declared))
        if best != declared and misfits[best] <= FIT_SHARE * misfits[declared]:
            fits = best
    return Diagnosis(declared, int(idx.size), misfits, fits)
