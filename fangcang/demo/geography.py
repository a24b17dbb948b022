"""Demo geography: the real Lucheng outline and divisions, synthetic communities inside them.

The district outline and the 14 divisions' label points are real (``data/``, see
``data/README.md``). Division regions are the Voronoi cells of the label points clipped to the
outline; each division gets a fixed number of communities (dense in the eastern urban
sub-districts, few and large in the west), made as Lloyd-relaxed Voronoi cells of seeded points
inside the division. The linework of all cells is noded and polygonized once, so neighbouring
communities share exactly the same border vertices and together tile the outline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint, Polygon, shape

from ..config import DATA_DIR

OUTLINE_FILE = "lucheng_outline.geojson"
DIVISIONS_FILE = "lucheng_divisions.csv"
#: Coordinates are written with 6 decimals (about 0.1 m); geometry is snapped to that grid.
GRID = 1e-6

#: Communities per division (sums to 120) and their names (社区 appended). The eastern urban
#: sub-districts are dense; the western towns (藤桥, 山福) have few, large communities.
# fmt: off
COMMUNITY_NAMES: dict[str, list[str]] = {
    "五马街道": ["墨池", "公园路", "府前", "纱帽河", "谢池", "解放", "五马", "信河", "百里坊",
             "禅街", "县前", "朔门", "打锣桥", "仓桥"],
    "松台街道": ["松台", "广场路", "九山", "水心", "锦春", "勤奋", "雪山", "池上", "黎明", "西山"],
    "大南街道": ["大南", "府学", "新城", "莲池", "蛟翔", "吴桥", "荷花", "矮凳桥", "小南",
             "飞霞", "南塘"],
    "蒲鞋市街道": ["蒲鞋市", "江滨", "新田园", "桥儿头", "上陡门", "中心", "葡萄棚", "西城"],
    "南汇街道": ["南汇", "黎明东", "锦绣", "汤家桥", "牛山", "南浦", "宏源", "马鞍池", "过境",
             "东龙"],
    "滨江街道": ["滨江", "会展", "江心", "东游", "白鹿洲", "灰桥", "杨府山", "金海", "东屿", "高新"],
    "七都街道": ["七都", "樟里", "板桥", "东川"],
    "双屿街道": ["双屿", "嵇师", "前庄", "上戍", "中央涂", "牛岭", "鞋都", "黄龙", "汇昌"],
    "仰义街道": ["沿江", "仰义", "后京", "垟头", "林上", "塘下"],
    "南郊街道": ["南郊", "景山", "横渎", "洪殿", "黄龙山", "鹿城路", "划龙桥", "垟儿", "桃花"],
    "广化街道": ["广化", "水心北", "西郊", "绣山", "马鞍山", "新桥头", "黄屿", "万源", "广福"],
    "丰门街道": ["丰门", "上岸", "下岸", "藤桥口", "翠微", "临江", "坦头", "双潮"],
    "藤桥镇": ["藤桥", "潘坑", "石埠", "岙底", "渡头", "寺前"],
    "山福镇": ["山福", "驿头", "东源", "石垟", "垟坑", "外垟"],
}
# fmt: on

#: Police stations (派出所), each covering a group of divisions.
STATIONS: list[tuple[str, str, list[str]]] = [
    ("ST01", "五马派出所", ["五马街道", "松台街道"]),
    ("ST02", "大南派出所", ["大南街道", "南郊街道"]),
    ("ST03", "南汇派出所", ["南汇街道", "蒲鞋市街道"]),
    ("ST04", "滨江派出所", ["滨江街道", "七都街道"]),
    ("ST05", "双屿派出所", ["双屿街道", "丰门街道"]),
    ("ST06", "仰义派出所", ["仰义街道"]),
    ("ST07", "广化派出所", ["广化街道"]),
    ("ST08", "藤桥派出所", ["藤桥镇", "山福镇"]),
]

#: How urban each division is: drives population per community and venue density.
URBAN = {"五马街道", "松台街道", "大南街道", "蒲鞋市街道", "南汇街道", "滨江街道"}
SUBURBAN = {"双屿街道", "仰义街道", "南郊街道", "广化街道", "丰门街道"}


@dataclass
class Geography:
    """Everything geographic the other generators need."""

    outline: Polygon
    divisions: pd.DataFrame  # code, name, kind, lon, lat, geometry (shapely, union of cells)
    communities: pd.DataFrame  # community_id, name, sub_district_code, division, station_id,
    # officer_id, geometry (shapely), centroid_lon, centroid_lat, area_km2, urban (0/1/2)
    stations: pd.DataFrame  # station_id, name, lon, lat
    region: int = 330302  # the district's region code (ID numbers, division codes)
    district_name: str = "鹿城区"


#: Districts of a synthetic city (``relocate``): the real Wenzhou region codes and names as
#: labels; index 0 is Lucheng itself. Each copy is the Lucheng geography moved to its own place.
CITY_DISTRICTS: tuple[tuple[int, str], ...] = (
    (330302, "鹿城区"),
    (330303, "龙湾区"),
    (330304, "瓯海区"),
    (330305, "洞头区"),
    (330324, "永嘉县"),
    (330326, "平阳县"),
    (330327, "苍南县"),
    (330328, "文成县"),
    (330329, "泰顺县"),
    (330381, "瑞安市"),
)
#: Offset between neighbouring copies (degrees; Lucheng spans 0.42 x 0.19): five per row.
CITY_STEP = (0.5, -0.25)


def data_dir() -> Path:
    return DATA_DIR


def load_outline(folder: Path | None = None) -> Polygon:
    """The district outline (a shapely Polygon, lon/lat)."""
    path = (folder or data_dir()) / OUTLINE_FILE
    doc = json.loads(path.read_text(encoding="utf-8"))
    geom = shape(doc["features"][0]["geometry"])
    if not geom.is_valid or geom.is_empty:
        raise ValueError(f"{path}: the outline geometry is not a valid polygon")
    return geom


def load_divisions(folder: Path | None = None) -> pd.DataFrame:
    """The 14 divisions: code, name, kind, lon, lat (label points, about 1 km accurate)."""
    path = (folder or data_dir()) / DIVISIONS_FILE
    df = pd.read_csv(path, dtype={"code": str})
    missing = set(COMMUNITY_NAMES) - set(df["name"])
    if missing:
        raise ValueError(f"{path}: divisions missing: {sorted(missing)}")
    return df[["code", "name", "kind", "lon", "lat"]].reset_index(drop=True)


def _voronoi_cells(points: np.ndarray, region) -> list:
    """Voronoi cells of ``points`` clipped to ``region``, in the order of ``points``."""
    if len(points) == 1:
        return [region]
    mp = MultiPoint([tuple(p) for p in points])
    cells = shapely.get_parts(shapely.voronoi_polygons(mp, extend_to=region.envelope.buffer(1)))
    # voronoi_polygons does not keep input order: match cells to points by containment.
    tree = shapely.STRtree(cells)
    idx = tree.query(shapely.points(points), predicate="within")
    order = np.empty(len(points), dtype=int)
    order[idx[0]] = idx[1]
    return [shapely.intersection(cells[i], region) for i in order]


def _sample_in(region, n: int, rng: np.random.Generator) -> np.ndarray:
    x0, y0, x1, y1 = region.bounds
    out = np.empty((0, 2))
    while len(out) < n:
        xy = np.column_stack([rng.uniform(x0, x1, 4 * n + 16), rng.uniform(y0, y1, 4 * n + 16)])
        out = np.vstack([out, xy[shapely.contains_xy(region, xy[:, 0], xy[:, 1])]])
    return out[:n]


def _lloyd(points: np.ndarray, region, iterations: int) -> np.ndarray:
    """Move seeds to their cells' centroids a few times: rounder, more even communities."""
    for _ in range(iterations):
        cells = _voronoi_cells(points, region)
        points = np.array([[c.centroid.x, c.centroid.y] for c in cells])
    return points


def build_geography(rng: np.random.Generator, folder: Path | None = None) -> Geography:
    """Divisions, 120 communities tiling the outline, stations and their assignments.

    Parameters
    ----------
    rng
        The random generator (the result depends only on its state).
    folder
        Where the outline and the divisions file are (default: the repository's ``data/``).
    """
    outline = shapely.set_precision(load_outline(folder), GRID)
    divs = load_divisions(folder)
    label_pts = divs[["lon", "lat"]].to_numpy()
    regions = _voronoi_cells(label_pts, outline)

    seeds, owner = [], []
    for i, row in divs.iterrows():
        n = len(COMMUNITY_NAMES[row["name"]])
        region = regions[i]
        if n == 1:
            pts = np.array([[region.centroid.x, region.centroid.y]])
        else:
            pts = _lloyd(_sample_in(region, n, rng), region, iterations=4)
        seeds.append(pts)
        owner += [i] * n
    cells = []
    for i, pts in enumerate(seeds):
        cells += _voronoi_cells(pts, regions[i])

    # Node all linework once and polygonize: neighbours then share identical border vertices.
    lines = shapely.unary_union([shapely.boundary(c) for c in cells] + [outline.boundary])
    faces = list(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    faces = [f for f in faces if outline.contains(f.representative_point())]
    tree = shapely.STRtree(cells)
    parts: dict[int, list] = {}
    for f in faces:
        hits = tree.query(f.representative_point(), predicate="within")
        if len(hits) != 1:
            raise RuntimeError("demo geography: a face belongs to no single community cell")
        parts.setdefault(int(hits[0]), []).append(f)
    if len(parts) != len(cells):
        raise RuntimeError("demo geography: a community cell produced no face")
    geoms = []
    for k in range(len(cells)):
        g = shapely.union_all(parts[k]) if len(parts[k]) > 1 else parts[k][0]
        g = shapely.set_precision(g, GRID)
        # Drop sliver parts a clip may leave behind; a community is one polygon.
        if g.geom_type != "Polygon":
            g = max(shapely.get_parts(g), key=lambda p: p.area)
        geoms.append(g)

    station_of = {d: sid for sid, _, ds in STATIONS for d in ds}
    rows = []
    counters: dict[int, int] = {}
    for k, g in enumerate(geoms):
        i = owner[k]
        counters[i] = counters.get(i, 0) + 1
        div = divs.loc[i]
        names = COMMUNITY_NAMES[div["name"]]
        c = g.centroid
        rows.append(
            {
                "community_id": f"{div['code']}{counters[i]:03d}",
                "name": names[counters[i] - 1] + "社区",
                "sub_district_code": div["code"],
                "division": div["name"],
                "station_id": station_of[div["name"]],
                "geometry": g,
                "centroid_lon": round(c.x, 6),
                "centroid_lat": round(c.y, 6),
                "urban": 2 if div["name"] in URBAN else (1 if div["name"] in SUBURBAN else 0),
            }
        )
    communities = pd.DataFrame(rows)
    # Metric areas (EPSG:4549, CGCS2000 3-degree Gauss-Kruger zone 40) for densities.
    import geopandas as gpd

    gs = gpd.GeoSeries(communities["geometry"], crs=4326).to_crs(4549)
    communities["area_km2"] = (gs.area / 1e6).to_numpy()
    communities["officer_id"] = [f"M{k + 1:04d}" for k in range(len(communities))]

    divs = divs.copy()
    divs["geometry"] = [
        shapely.union_all(
            list(communities.loc[communities["sub_district_code"] == code, "geometry"])
        )
        for code in divs["code"]
    ]
    st_rows = []
    for sid, name, ds in STATIONS:
        first = divs.loc[divs["name"] == ds[0]].iloc[0]
        st_rows.append({"station_id": sid, "name": name, "lon": first["lon"], "lat": first["lat"]})
    return Geography(outline, divs, communities, pd.DataFrame(st_rows))


def sample_points(
    geoms: list, counts: np.ndarray, rng: np.random.Generator, decimals: int = 6
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uniform random points inside each polygon, ``counts[k]`` of them in ``geoms[k]``.

    Coordinates are rounded to ``decimals`` before the inside test, so a written point is inside
    its polygon exactly as written. Returns (polygon index, lon, lat) sorted by polygon.
    """
    owner, xs, ys = [], [], []
    for k, (g, n) in enumerate(zip(geoms, counts, strict=True)):
        n = int(n)
        if n == 0:
            continue
        shapely.prepare(g)
        x0, y0, x1, y1 = g.bounds
        fill = max(g.area / ((x1 - x0) * (y1 - y0)), 0.05)
        got_x, got_y, have = [], [], 0
        while have < n:
            m = int((n - have) / fill * 1.2) + 16
            x = np.round(rng.uniform(x0, x1, m), decimals)
            y = np.round(rng.uniform(y0, y1, m), decimals)
            inside = shapely.contains_xy(g, x, y)
            got_x.append(x[inside])
            got_y.append(y[inside])
            have += int(inside.sum())
        xs.append(np.concatenate(got_x)[:n])
        ys.append(np.concatenate(got_y)[:n])
        owner.append(np.full(n, k, dtype=np.int32))
    return np.concatenate(owner), np.concatenate(xs), np.concatenate(ys)


def relocate(geo: Geography, index: int) -> Geography:
    """The ``index``-th district of a synthetic city: Lucheng's geography moved and recoded.

    Index 0 returns ``geo`` unchanged. Otherwise every geometry and label point is translated by
    ``CITY_STEP`` times the district's grid cell (five districts per row), so the copies do not
    overlap; division codes and community ids take the district's region code from
    ``CITY_DISTRICTS`` in place of 330302; stations and officers are prefixed with it; division,
    community and station names with the district's short name. Points sampled afterwards
    inside the moved polygons fall in their own communities, exactly as in Lucheng.

    Raises
    ------
    ValueError
        ``index`` outside ``CITY_DISTRICTS``.
    """
    if not 0 <= index < len(CITY_DISTRICTS):
        raise ValueError(f"district index must be 0..{len(CITY_DISTRICTS) - 1}, got {index}")
    if index == 0:
        return geo
    region, district = CITY_DISTRICTS[index]
    short = district[:2]
    dx = round(CITY_STEP[0] * (index % 5), 6)
    dy = round(CITY_STEP[1] * (index // 5), 6)

    def move(g):
        return shapely.set_precision(shapely.transform(g, lambda xy: xy + (dx, dy)), GRID)

    def code(c: str) -> str:
        return str(region) + str(c)[6:]

    divs = geo.divisions.assign(
        code=geo.divisions["code"].map(code),
        name=short + geo.divisions["name"],
        lon=(geo.divisions["lon"] + dx).round(6),
        lat=(geo.divisions["lat"] + dy).round(6),
        geometry=[move(g) for g in geo.divisions["geometry"]],
    )
    comm = geo.communities
    geoms = [move(g) for g in comm["geometry"]]
    comm = comm.assign(
        community_id=comm["community_id"].map(code),
        name=short + comm["name"],
        sub_district_code=comm["sub_district_code"].map(code),
        station_id=f"{region}" + comm["station_id"],
        officer_id=f"{region}" + comm["officer_id"],
        geometry=geoms,
        centroid_lon=[round(g.centroid.x, 6) for g in geoms],
        centroid_lat=[round(g.centroid.y, 6) for g in geoms],
    )
    st = geo.stations.assign(
        station_id=f"{region}" + geo.stations["station_id"],
        name=short + geo.stations["name"],
        lon=(geo.stations["lon"] + dx).round(6),
        lat=(geo.stations["lat"] + dy).round(6),
    )
    return Geography(move(geo.outline), divs, comm, st, region, district)
