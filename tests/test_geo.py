"""Geometry helpers (fangcang.geo): polygon checks and point-in-polygon placement."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box

from fangcang import geo
from fangcang.access import Scope
from fangcang.models import SubDistrict


def _grid() -> gpd.GeoDataFrame:
    # 2 x 2 squares sharing borders; ids deliberately not in geometric order
    return gpd.GeoDataFrame(
        {"community_id": ["C4", "C2", "C3", "C1"]},
        geometry=[
            box(120.62, 28.02, 120.64, 28.04),
            box(120.62, 28.00, 120.64, 28.02),
            box(120.60, 28.02, 120.62, 28.04),
            box(120.60, 28.00, 120.62, 28.02),
        ],
        crs=geo.CRS,
    )


def test_place_points_inside_outside_and_missing():
    lon = [120.61, 120.63, 120.61, 120.63, 121.5, np.nan]
    lat = [28.01, 28.01, 28.03, 28.03, 28.01, 28.01]
    got = geo.place_points(lon, lat, _grid())
    assert list(got) == ["C1", "C2", "C3", "C4", None, None]


def test_shared_border_goes_to_the_smallest_id_whatever_the_order():
    lon = [120.62, 120.62, 120.63, 120.61, 120.60]
    lat = [28.01, 28.02, 28.02, 28.02, 28.00]
    expected = ["C1", "C1", "C2", "C1", "C1"]  # border C1|C2, 4-way corner, C2|C4, C1|C3, edge
    assert list(geo.place_points(lon, lat, _grid())) == expected
    shuffled = _grid().iloc[[2, 0, 3, 1]]
    assert list(geo.place_points(lon, lat, shuffled)) == expected
    assert list(geo.place_points(lon[::-1], lat[::-1], _grid())) == expected[::-1]


def test_place_points_checks_lengths_and_handles_empty():
    with pytest.raises(ValueError, match="differ in length"):
        geo.place_points([1.0, 2.0], [1.0], _grid())
    assert list(geo.place_points([120.61], [28.01], _grid().iloc[0:0])) == [None]


def test_parse_polygon_accepts_polygons_and_names_the_problem():
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    assert geo.parse_polygon(square).area == 1
    assert geo.parse_polygon(json.dumps(square)).area == 1
    multi = {"type": "MultiPolygon", "coordinates": [square["coordinates"]]}
    assert geo.parse_polygon(multi).geom_type == "MultiPolygon"
    bowtie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    cases = [
        ("{not json", "not valid JSON"),
        ({"type": "Point", "coordinates": [0, 0]}, "must be a Polygon or MultiPolygon, got Point"),
        (bowtie, "invalid geometry: Self-intersection"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}, "broken geometry"),
        ({"type": "Polygon", "coordinates": []}, "empty"),
        (
            {
                "type": "Polygon",
                "coordinates": [
                    [[500000, 3100000], [500100, 3100000], [500100, 3100100], [500000, 3100000]]
                ],
            },
            "not WGS84 lon/lat",
        ),
    ]
    for value, message in cases:
        with pytest.raises(geo.GeometryError, match=message):
            geo.parse_polygon(value)


def test_frames_from_the_database(session, factory):
    factory.community("C2", bbox=(120.62, 28.0, 120.64, 28.02))
    c1 = factory.community("C1", bbox=(120.60, 28.0, 120.62, 28.02))
    frame = geo.communities_frame(session)
    assert list(frame["community_id"]) == ["C1", "C2"]
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.iloc[0].bounds == pytest.approx((120.60, 28.0, 120.62, 28.02))
    # the same frame places points
    assert list(geo.place_points([120.61], [28.01], frame)) == ["C1"]
    assert geo.sub_districts_frame(session).empty  # no geometries until an import sets them
    sd = session.get(SubDistrict, c1.sub_district_code)
    sd.geometry = geo.to_geojson(box(120.6, 28.0, 120.62, 28.02))
    session.flush()
    subs = geo.sub_districts_frame(session)
    assert list(subs["code"]) == [sd.code] and subs["kind"].iloc[0] == "street"


def test_to_geojson_round_trip():
    g = box(120.6, 28.0, 120.7, 28.1)
    assert geo.parse_polygon(geo.to_geojson(g)).equals(g)


def test_communities_frame_is_the_one_loader(session, factory, caplog):
    sd = factory.sub_district("SDX", "仰义街道")
    st = factory.station("STX", "仰义派出所")
    factory.community("C1", name="甲社区", sub_district=sd, station=st)
    factory.community(
        "C2", name="乙社区", sub_district=sd, station=st, bbox=(120.61, 28.0, 120.62, 28.01)
    )
    bad = factory.community("C3", name="丙社区", sub_district=sd, station=st)
    bad.geometry = "{not geojson"  # stored before validation existed
    session.flush()
    with caplog.at_level("WARNING", logger="fangcang.geo"):
        frame = geo.communities_frame(session)
    assert isinstance(frame, gpd.GeoDataFrame) and frame.crs.to_epsg() == 4326
    assert list(frame.columns) == [*geo.COMMUNITY_COLUMNS, "geometry"]
    assert frame[["community_id", "sub_district", "station"]].values.tolist() == [
        ["C1", "仰义街道", "仰义派出所"],
        ["C2", "仰义街道", "仰义派出所"],
        ["C3", "仰义街道", "仰义派出所"],
    ]
    # the unreadable polygon is left out (None) and named in the log; the others load
    assert frame.geometry.iloc[2] is None
    assert "C3" in caplog.text and "not readable GeoJSON" in caplog.text
    assert frame.geometry.iloc[1].bounds == pytest.approx((120.61, 28.0, 120.62, 28.01))
    # a scope keeps its communities only
    scoped = geo.communities_frame(session, Scope.of(["C2"]))
    assert list(scoped["community_id"]) == ["C2"]


def test_sub_districts_frame_by_code_with_and_without_geometry(session, factory):
    a = factory.sub_district("SDA", "甲街道")
    b = factory.sub_district("SDB", "乙街道")
    a.geometry = geo.to_geojson(box(120.6, 28.0, 120.62, 28.02))
    session.flush()
    assert list(geo.sub_districts_frame(session)["code"]) == ["SDA"]
    both = geo.sub_districts_frame(session, ["SDB", "SDA"], with_geometry=False)
    assert list(both["code"]) == ["SDA", "SDB"]
    assert both.geometry.iloc[1] is None and both.geometry.iloc[0].area > 0
    assert list(geo.sub_districts_frame(session, [b.code])["code"]) == []
