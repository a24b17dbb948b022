"""The one map: offline assets, polygons in level colours, layers, escaping, size."""

from __future__ import annotations

import json
import re
from datetime import datetime

import dashboard_data as dd
import geopandas as gpd
import pandas as pd
import pytest
import shapely

from fangcang import geo, maps, offline, palette
from fangcang.access import Scope
from fangcang.i18n import catalogue, t
from fangcang.maps import MapData
from fangcang.maps import data as maps_data
from fangcang.models import Community

CDN = re.compile(r"https?://(?!127\.0\.0\.1|localhost)[^\"' )]+", re.I)


def _geojson_features(html: str) -> list[dict]:
    """The community features embedded in the rendered map (GeoJson layers' data)."""
    feats = []
    for m in re.finditer(r"_add\((\{.*?\})\);\n", html):
        data = json.loads(m.group(1))
        feats += [f for f in data.get("features", []) if "community_id" in f.get("properties", {})]
    return feats


def _labels(html: str, css: str) -> list[list]:
    """The label rows (lat, lon, escaped text, extra class) of the label elements with CSS
    class ``css`` (``render._Labels``: one script per group of labels)."""
    rows = []
    for m in re.finditer(r'\(\w+, "([\w-]+)", "[^"]*",\s*(\[.*?\]\]|\[\])\);', html, re.S):
        if m.group(1) == css:
            rows += json.loads(m.group(2))
    return rows


@pytest.fixture
def district(session, factory):
    return dd.build(session, factory, n=8)


def test_level_colours_and_no_cdn(session, district, monkeypatch):
    monkeypatch.delenv("FANGCANG_TILE_URL", raising=False)
    view = maps.map_view(session, Scope.district(), dd.PERIOD, layers=("stations",))
    html = maps.map_html(view.map)
    feats = _geojson_features(html)
    assert len(feats) == 8
    # levels cycle red, yellow, blue, green by community id
    by_id = {f["properties"]["community_id"]: f["properties"]["fill"] for f in feats}
    assert by_id["C001"] == palette.LEVEL_COLOURS["red"]
    assert by_id["C002"] == palette.LEVEL_COLOURS["yellow"]
    assert by_id["C003"] == palette.LEVEL_COLOURS["blue"]
    assert by_id["C004"] == palette.LEVEL_COLOURS["green"]
    for colour in palette.LEVEL_COLOURS.values():
        assert colour in html
    # nothing from the internet: no CDN URL, no tiles, no d3/branca, no jQuery/Bootstrap
    assert not CDN.findall(html), CDN.findall(html)[:5]
    assert "jquery" not in html.lower() and "bootstrap" not in html.lower()
    scripts = re.findall(r"<script[^>]+src=\"([^\"]+)\"", html)
    assert offline.asset_url("leaflet.js") in scripts
    assert [s for s in scripts if "d3" in s.rsplit("/", 1)[-1].lower()] == []
    assert all(s.startswith(offline.STATIC_URL) for s in scripts), scripts
    assert offline.asset_url("leaflet.js") in html
    assert "tileLayer" not in html
    # legend in HTML with counts per level
    assert "fangcang-legend" in html
    for level in ("red", "yellow", "blue", "green"):
        assert f"<span>{t(f'warning_level.{level}', 'zh')} (2)</span>" in html
    assert view.has_levels


def test_tiles_from_config(session, district, monkeypatch):
    monkeypatch.setenv("FANGCANG_TILE_URL", "http://tiles.intranet/{z}/{x}/{y}.png")
    monkeypatch.setenv("FANGCANG_TILE_ATTRIBUTION", "PGIS")
    html = maps.map_html(maps.map_view(session, Scope.district(), dd.PERIOD).map)
    assert "http://tiles.intranet/{z}/{x}/{y}.png" in html and "PGIS" in html


def test_layers(session, factory, district):
    factory.incident(
        session.get(Community, "C003"), datetime(2026, 10, 9, 22), lat=28.004, lon=120.625
    )
    session.commit()
    view = maps.map_view(
        session,
        Scope.district(),
        dd.PERIOD,
        layers=("incidents", "factors", "stations"),
        lang="en",
    )
    html = maps.map_html(view.map)
    assert "L.heatLayer" in html
    assert offline.asset_url("leaflet_heat.min.js") in html
    assert "Factors: Key persons" in html and "Factors: Rental houses" in html
    assert "仰义派出所" in html and "Police stations" in html
    assert "Sub-district boundaries" in html
    assert not CDN.findall(html)


def test_clusters_use_local_plugin(session, factory, district):
    c = session.get(Community, "C001")
    for i in range(5):
        factory.incident(c, datetime(2026, 10, 3, 10 + i), lat=28.005, lon=120.605)
    session.commit()
    data = maps.map_data(
        session, Scope.district(), dd.PERIOD, layers=("incidents",), incident_mode="clusters"
    )
    assert len(data.incidents) == 5
    html = maps.map_html(maps.build_map(data))
    assert "L.markerClusterGroup" in html
    assert offline.asset_url("leaflet.markercluster.js") in html
    assert not CDN.findall(html)
    heat = maps.map_data(session, Scope.district(), dd.PERIOD, layers=("incidents",))
    # five incidents at one spot become one weighted heat cell
    assert heat.incidents["n"].tolist() == [5]


def test_tooltip_escapes_data(session, district):
    session.get(Community, "C002").name = "<script>alert(1)</script>社区"
    session.commit()
    html = maps.map_html(maps.map_view(session, Scope.district(), dd.PERIOD).map)
    assert "<script>alert(1)</script>社区" not in html
    tip = {f["id"]: f["properties"]["tip"] for f in _geojson_features(html)}["C002"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;社区" in tip and "<script>" not in tip


def test_scope_restricts_polygons(session, district):
    view = maps.map_view(session, Scope.of(["C001", "C002"]), dd.PERIOD)
    assert sorted(view.communities["community_id"]) == ["C001", "C002"]
    assert len(_geojson_features(maps.map_html(view.map))) == 2


def test_colour_by_score_and_indicator(session, district):
    for colour_by, indicator in (("score", None), ("indicator", "crime_ratio")):
        view = maps.map_view(
            session, Scope.district(), dd.PERIOD, colour_by=colour_by, indicator=indicator
        )
        fills = {f["properties"]["fill"] for f in _geojson_features(maps.map_html(view.map))}
        assert fills <= set(palette.SEQUENTIAL) and len(fills) > 1
    with pytest.raises(ValueError, match="unknown indicator"):
        maps.map_view(session, Scope.district(), dd.PERIOD, colour_by="indicator", indicator="nope")
    with pytest.raises(ValueError, match="colour_by"):
        maps.map_view(session, Scope.district(), dd.PERIOD, colour_by="bogus")


def test_no_warning_run_is_grey(session, factory):
    dd.build(session, factory, n=4, with_runs=False)
    view = maps.map_view(session, Scope.district(), dd.PERIOD)
    fills = {f["properties"]["fill"] for f in _geojson_features(maps.map_html(view.map))}
    assert fills == {palette.NO_DATA}
    assert not view.has_levels


def test_simplified_polygons_stay_small():
    # 120 round polygons of 400 vertices each: simplified they must stay far below 3 MB
    rows = []
    for i in range(120):
        circle = shapely.Point(120.5 + (i % 12) * 0.02, 27.9 + (i // 12) * 0.02).buffer(0.009, 100)
        rows.append(
            {
                "community_id": f"C{i:03d}",
                "name": f"社区{i}",
                "sub_district": "仰义街道",
                "geometry": maps_data._simplify(circle),
                "level": "red",
                "score": 80.0,
                "reason": "x",
                "value": "red",
            }
        )
    frame = pd.DataFrame(rows)
    html = maps.map_html(
        maps.build_map(
            MapData(
                frame, pd.DataFrame(columns=["code", "name", "geometry", "label_lon", "label_lat"])
            )
        )
    )
    assert len(_geojson_features(html)) == 120
    assert len(html.encode()) < 1_000_000


def test_install_assets(tmp_path):
    folder = offline.install_assets(tmp_path)
    for name in (
        "leaflet.js",
        "leaflet.css",
        "leaflet.markercluster.js",
        "leaflet_heat.min.js",
        "images/marker-icon.png",
    ):
        assert (folder / name).stat().st_size > 0
    assert "imagePath" in (folder / "fangcang-imagepath.js").read_text()
    offline.install_assets(tmp_path)  # idempotent


def _incidents_at(session, factory, n: int = 5):
    c = session.get(Community, "C001")
    for i in range(n):
        factory.incident(c, datetime(2026, 10, 3, 10 + i), lat=28.005, lon=120.605)
    session.commit()


def test_density_layers_cannot_pass_for_warning_colours(session, factory, district):
    _incidents_at(session, factory)
    warning = {c.lower() for c in palette.LEVEL_COLOURS.values()}
    assert not {c.lower() for c in palette.HEAT} & warning
    heat = maps.map_html(
        maps.build_map(maps.map_data(session, Scope.district(), dd.PERIOD, layers=("incidents",)))
    )
    gradient = re.search(r'"gradient": \{([^}]*)\}', heat)
    assert gradient, "heat layer without an explicit gradient (Leaflet.heat's is green-red)"
    assert set(re.findall(r'"(#[0-9a-f]{6})"', gradient.group(1))) == set(palette.HEAT)
    data = maps.map_data(
        session, Scope.district(), dd.PERIOD, layers=("incidents",), incident_mode="clusters"
    )
    clusters = maps.map_html(maps.build_map(data))
    # folium's default point needs Leaflet.awesome-markers, which is not served: the map
    # died on "L.AwesomeMarkers is undefined"
    assert "AwesomeMarkers" not in clusters and "L.circleMarker" in clusters
    assert "iconCreateFunction" in clusters and palette.HEAT[5] in clusters


def test_selected_community_is_outlined(session, district):
    data = maps.map_data(session, Scope.district(), dd.PERIOD)
    html = maps.map_html(maps.build_map(data, selected="C003"))
    # the server outlines the chosen community; the browser outlines a clicked one at once
    styles = re.findall(r'"weight": (\d+)', html)
    assert "4" in styles
    assert re.search(r"l\.feature\.id === \"C003\"", html)
    assert "g.on('click'" in html and "g.on('mouseout'" in html
    plain = maps.map_html(maps.build_map(data))
    assert re.search(r"l\.feature\.id === \"\"", plain)


def test_community_labels_when_zoomed_in_and_tooltips_inside(session, district):
    html = maps.map_html(maps.map_view(session, Scope.district(), dd.PERIOD, lang="en").map)
    labels = _labels(html, "fc-c-label")
    assert len(labels) == 8
    assert "沿江社区" in [row[2] for row in labels]
    assert ".fc-nolabels .fc-c-label{display:none;}" in html
    assert f"c.toggle('fc-nolabels', z < {maps.LABEL_ZOOM})" in html
    assert "Community names (when zoomed in)" in html
    # tooltips wrap (max width) and are moved back inside the frame
    assert "max-width:320px" in html and "_fcClamped" in html


def test_colour_modes_are_a_registry(session, district):
    assert (
        maps.COLOUR_BY
        == tuple(maps.COLOUR_MODES)
        == (
            "level",
            "score",
            "indicator",
            "task_completion",
            "visit_coverage",
            "hotspot",
        )
    )
    # every registered mode renders a polygon per community and a legend titled after it
    for key, mode in maps.COLOUR_MODES.items():
        view = maps.map_view(
            session,
            Scope.district(),
            dd.PERIOD,
            colour_by=key,
            indicator="crime_ratio" if key == "indicator" else None,
            lang="en",
        )
        html = maps.map_html(view.map)
        assert len(_geojson_features(html)) == 8, key
        assert t(f"map.colour_by.{mode.key}", "en") in html, key
    with pytest.raises(ValueError, match="registered twice"):
        maps.register_colour_mode(maps.COLOUR_MODES["level"])


def test_adding_a_colour_mode_is_one_piece(session, district, monkeypatch, request):
    monkeypatch.setitem(catalogue(), "map.colour_by.patrols", ("巡逻次数", "Patrols"))
    request.addfinalizer(lambda: maps.COLOUR_MODES.pop("patrols", None))
    maps.register_colour_mode(
        maps.ColourMode(
            "patrols",
            values=lambda session, scope, period, warnings, indicator: pd.DataFrame(
                {"community_id": ["C001", "C002", "C003"], "value": [3, 30, 300]}
            ),
            fmt=lambda value, lang: f"{int(value)} ×",
            scale=palette.GOOD,
        )
    )
    assert "patrols" in maps.COLOUR_BY
    view = maps.map_view(session, Scope.district(), dd.PERIOD, colour_by="patrols", lang="en")
    html = maps.map_html(view.map)
    feats = {f["properties"]["community_id"]: f["properties"] for f in _geojson_features(html)}
    assert feats["C001"]["fill"] in palette.GOOD and feats["C003"]["fill"] == palette.GOOD[-1]
    assert feats["C004"]["fill"] == palette.NO_DATA
    assert "Patrols: 300 ×" in feats["C003"]["tip"] and "Patrols: No" not in feats["C003"]["tip"]
    assert "Patrols" in html and "300 ×" in html  # legend: title and the top class
    assert list(view.communities.loc[view.communities["community_id"] == "C002", "value"]) == [30]


def test_community_shapes_are_simplified_geodataframes(session, factory):
    c = factory.community("CX", bbox=(120.60, 28.00, 120.61, 28.01))
    circle = shapely.Point(120.65, 28.05).buffer(0.01, 200)
    c.geometry = geo.to_geojson(circle)
    c.centroid_lon = c.centroid_lat = None
    session.flush()
    shapes = maps.community_shapes(session, Scope.district())
    assert isinstance(shapes, gpd.GeoDataFrame)
    g = shapes.geometry.iloc[0]
    assert shapely.get_num_coordinates(g) < shapely.get_num_coordinates(circle) / 4
    assert g.symmetric_difference(circle).area < 0.05 * circle.area  # ~50 m on a 1 km circle
    # a missing centroid is a point inside the full polygon
    assert circle.contains(shapely.Point(shapes["centroid_lon"][0], shapes["centroid_lat"][0]))
    subs = maps.sub_district_shapes(session, shapes)
    assert list(subs["code"]) == [c.sub_district_code]
    assert subs.geometry.iloc[0].equals(g)  # the union of its (one) community
