"""The map of a city (several districts in one database): districts derived from the
sub-district codes, the whole city drawn as sub-districts aggregated inside district outlines,
the district choice on the map page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import dashboard_data as dd
import pandas as pd
import pytest
import shapely
import streamlit as st
from streamlit.testing.v1 import AppTest

from fangcang import divisions, maps, palette
from fangcang.access import Role, Scope, Viewer

APP = str(Path(__file__).resolve().parent.parent / "app.py")
CDN = re.compile(r"https?://(?!127\.0\.0\.1|localhost)[^\"' )]+", re.I)

SDS = dd.CITY_SUB_DISTRICTS
COMMUNITIES = dd.CITY_COMMUNITIES


@pytest.fixture
def city(session, factory):
    return dd.city(session, factory)


def test_district_code_is_the_county_prefix_of_standard_codes():
    assert divisions.district_code("330302006") == "330302"
    assert divisions.district_code("330303024001") == "330303"
    for local in ("SDA", "3303020", "33030200a", "", None):
        assert divisions.district_code(local) == ""
    codes = divisions.district_codes(pd.Series(["330302006", "SDA", None, "330381101"]))
    assert codes.tolist() == ["330302", "", "", "330381"]
    assert divisions.district_name("330303") == "龙湾区"
    assert divisions.district_name("330303", "en") == "Longwan District"
    assert divisions.district_name("330399") == "区县 330399"
    assert divisions.district_name("") == "鹿城区"  # one district without standard codes


def test_spans_districts():
    assert maps.spans_districts(list(SDS))
    assert not maps.spans_districts(["330302006", "330302023"])
    assert not maps.spans_districts(["SDA", "SDB"])  # local codes: one district


def test_area_data_counts_levels_per_sub_district(session, city):
    data = maps.area_data(session, Scope.district(), dd.PERIOD)
    areas = data.areas.set_index("code")
    assert list(areas.index) == sorted(SDS)
    assert areas.loc["330302006", ["communities", "red", "green"]].tolist() == [2, 1, 1]
    assert areas.loc["330302006", "share"] == pytest.approx(0.5)
    assert areas.loc["330302023", "share"] == 0.0
    # one of two communities has no result: the share is of the assessed one
    assert areas.loc["330303024", ["yellow", "none"]].tolist() == [1, 1]
    assert areas.loc["330303024", "share"] == pytest.approx(1.0)
    assert areas.loc["330303024", "district"] == "龙湾区"
    districts = data.districts.set_index("code")
    assert districts.loc["330302", ["name", "communities"]].tolist() == ["鹿城区", 4]
    assert districts.loc["330303", ["name", "communities"]].tolist() == ["龙湾区", 2]
    assert data.areas.geometry.notna().all() and data.districts.geometry.notna().all()


def test_a_restricted_scope_counts_and_draws_only_what_it_sees(session, city):
    scope = Scope.of(["330302006001", "330303024001"])
    data = maps.area_data(session, scope, dd.PERIOD)
    assert data.areas["code"].tolist() == ["330302006", "330303024"]
    assert data.areas["communities"].tolist() == [1, 1]
    # the drawn area is the visible community only (a 0.01 degree square)
    assert shapely.area(data.areas.geometry.to_numpy()).round(6).tolist() == [0.0001, 0.0001]


def test_city_map_html_is_offline_coloured_by_share_and_escaped(session, city):
    data = maps.area_data(session, Scope.district(), dd.PERIOD)
    view = maps.area_view(data, selected="330302023")
    html = maps.map_html(view.map)
    assert view.has_levels
    feats = {
        f["id"]: f["properties"]
        for m in re.finditer(r"_add\((\{.*?\})\);\n", html)
        for f in json.loads(m.group(1)).get("features", [])
        if "code" in f.get("properties", {})
    }
    assert set(feats) == set(SDS)
    ramp = palette.SEQUENTIAL
    assert feats["330302023"]["fill"] == ramp[0]  # 0 %
    assert feats["330302006"]["fill"] == ramp[4]  # 50 %
    assert feats["330303024"]["district_code"] == "330303"
    tip = feats["330303024"]["tip"]
    assert "&lt;b&gt;海滨&lt;/b&gt;街道" in tip and "<b>海滨</b>" not in tip
    assert "社区 2 个：红 0 · 黄 1 · 蓝 0 · 绿 0<br>红、黄社区占比：100%" in tip
    for name in ("龙湾区", "鹿城区"):  # district names drawn (in the labels' script data)
        assert json.dumps(name) in html
    assert "红、黄社区占比" in html and "fangcang-legend" in html
    assert 'l.feature.id === "330302023"' not in html  # (the community map's click script)
    assert re.search(r'"weight": 4', html)  # the selected area outlined
    assert not CDN.findall(html)


def test_without_a_warning_run_areas_are_grey(session, factory):
    sd = factory.sub_district("330302006", "五马街道")
    other = factory.sub_district("330303024", "海滨街道")
    factory.community("330302006001", sub_district=sd)
    factory.community("330303024001", sub_district=other, bbox=(120.7, 28.0, 120.71, 28.01))
    session.commit()
    view = maps.area_view(maps.area_data(session, Scope.district(), dd.PERIOD))
    assert not view.has_levels
    assert view.areas["share"].isna().all()
    assert palette.NO_DATA in maps.map_html(view.map)


def _open_map(monkeypatch, engine, **params) -> AppTest:
    monkeypatch.setenv("FANGCANG_DB_URL", engine.url.render_as_string(hide_password=False))
    st.cache_data.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["viewer"] = Viewer(username="leader", role=Role.LEADER)
    at.session_state["lang"] = "zh"
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page("pages/map.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _script(at: AppTest) -> str:
    return json.loads(at.get("component_instance")[0].proto.json_args)["script"]


def test_map_page_shows_the_city_then_a_chosen_district(monkeypatch, engine, session, city):
    at = _open_map(monkeypatch, engine)
    assert at.title[0].value == "一图 · 全市态势"
    script = _script(at)
    assert script.count('"district_code"') == 3 and '"community_id"' not in script
    pick = next(s for s in at.sidebar.selectbox if s.label == "区县")
    assert pick.options == ["全市（按街道汇总）", "鹿城区", "龙湾区"]
    streets = next(s for s in at.sidebar.selectbox if s.label == "街道")
    assert len(streets.options) == 4  # all + three sub-districts
    pick.set_value("330303").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "一图 · 社区态势"
    assert at.query_params["district"] == "龙湾区"
    script = _script(at)
    assert sorted(re.findall(r'"community_id": "(\d+)"', script)) == [
        "330303024001",
        "330303024002",
    ]
    streets = next(s for s in at.sidebar.selectbox if s.label == "街道")
    assert len(streets.options) == 2  # all + the district's one sub-district


def test_map_page_link_to_a_district_and_one_district_has_no_choice(
    monkeypatch, engine, session, city
):
    at = _open_map(monkeypatch, engine, district="鹿城区")
    assert at.title[0].value == "一图 · 社区态势"
    assert len(re.findall(r'"community_id": "', _script(at))) == 4
    # a station user's communities lie in one district: no district choice, the community map
    at.session_state["viewer"] = Viewer(
        username="st", role=Role.STATION, scope=Scope.of(["330302006001"]), station_id="ST1"
    )
    at.query_params.clear()
    at.run()
    assert not [s for s in at.sidebar.selectbox if s.label == "区县"]
    assert at.title[0].value == "一图 · 社区态势"
