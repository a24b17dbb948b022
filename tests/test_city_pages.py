"""The warning and community pages of a city (several districts in one database): the map's
district choice (区县: the same sidebar choice, URL key and chip), every figure of the chosen
area named in the title; a one-district database shows no choice and the pages as before."""

from __future__ import annotations

from pathlib import Path

import dashboard_data as dd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from support import login, open_page, texts

APP = str(Path(__file__).resolve().parent.parent / "app.py")
LUCHENG = {"330302006001", "330302006002", "330302023001", "330302023002"}


@pytest.fixture
def city(session, factory):
    return dd.city(session, factory)


def _open(monkeypatch, engine, page: str, lang: str = "zh", **params) -> AppTest:
    monkeypatch.setenv("FANGCANG_DB_URL", engine.url.render_as_string(hide_password=False))
    st.cache_data.clear()
    return open_page(page, lang=lang, **params)


def _choice(at: AppTest, label: str = "区县"):
    found = [s for s in at.sidebar.selectbox if s.label == label]
    return found[0] if found else None


def _levels(at: AppTest) -> dict[str, str]:
    """The four level cards (most serious first)."""
    return {m.label: m.value for m in at.metric[:4]}


def _ranking(at: AppTest):
    return at.dataframe[0].value


def test_warning_page_city_then_a_district_and_back(monkeypatch, engine, session, city):
    at = _open(monkeypatch, engine, "warning", period=str(dd.PERIOD))
    assert at.title[0].value == "靶向预警 · 全市"
    assert _choice(at).options == ["全市", "鹿城区", "龙湾区"]
    table = _ranking(at)
    assert len(table) == 5 and "区县" in table.columns  # the whole city, each row's district
    assert sorted(set(table["区县"])) == ["鹿城区", "龙湾区"]
    assert _levels(at) == {"红色预警": "1", "黄色预警": "1", "蓝色预警": "1", "绿色": "2"}
    assert "新兴热点按区县分析" in texts(at)  # no city-wide Gi*: a district is asked for

    _choice(at).set_value("330303").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "靶向预警 · 龙湾区"
    assert at.query_params["district"] == "龙湾区"
    table = _ranking(at)
    assert list(table["社区"]) == ["社区4"] and "区县" not in table.columns
    assert _levels(at) == {"红色预警": "0", "黄色预警": "1", "蓝色预警": "0", "绿色": "0"}
    assert len(_choice(at, "街道").options) == 2  # all + the district's one sub-district
    assert "新兴热点按区县分析" not in texts(at)
    chip = at.button(key="warning_chips_district")
    assert chip.label == "区县：龙湾区"

    chip.click().run()  # the chip clears the district: the whole city again
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "靶向预警 · 全市"
    assert "district" not in at.query_params and len(_ranking(at)) == 5


def test_warning_page_a_sub_district_without_a_district_is_not_city_wide(
    monkeypatch, engine, session, city
):
    """A sub-district fixes its district: its hot spots are analysed (within that district)
    and the ranking needs no district column."""
    name = dd.CITY_SUB_DISTRICTS["330302006"]
    at = _open(monkeypatch, engine, "warning", period=str(dd.PERIOD), street=name)
    assert at.title[0].value == f"靶向预警 · {name}"
    table = _ranking(at)
    assert "区县" not in table.columns and len(table) == 2
    assert "新兴热点按区县分析" not in texts(at)


def test_warning_page_link_to_a_district(monkeypatch, engine, session, city):
    at = _open(monkeypatch, engine, "warning", "en", district="鹿城区", period=str(dd.PERIOD))
    assert at.title[0].value == "Targeted warning · Lucheng District"
    assert _choice(at, "District").value == "330302"
    assert set(_ranking(at)["Community"]) == {"社区0", "社区1", "社区2", "社区3"}
    assert _levels(at) == {
        "Red warning": "1",
        "Yellow warning": "0",
        "Blue warning": "1",
        "Green": "2",
    }
    # a Chinese link read in English: found, and written back as the user reads it
    assert at.query_params["district"] == "Lucheng District"


def test_community_page_choice_limits_the_lists_and_names_the_district(
    monkeypatch, engine, session, city
):
    at = _open(monkeypatch, engine, "community", period=str(dd.PERIOD))
    assert at.title[0].value == "社区详情 · 全市"
    assert len(_choice(at, "社区").options) == 7  # all + six communities
    _choice(at).set_value("330303").run()
    assert at.title[0].value == "社区详情 · 龙湾区" and at.query_params["district"] == "龙湾区"
    assert _choice(at, "社区").options == ["全部", "社区4", "社区5"]
    # the search looks in the chosen district only
    at.text_input(key="community_search").input("社区").run()
    hits = [b.label for b in at.button if b.key and b.key.startswith("hit_")]
    assert hits == ["社区4", "社区5"]
    _choice(at, "社区").set_value("330303024001").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("龙湾区" in c.value for c in at.caption), [c.value for c in at.caption]
    assert at.query_params["community"] == "330303024001"

    again = _open(monkeypatch, engine, "community", district="龙湾区", community="330303024001")
    assert again.title[0].value == "社区详情 · 龙湾区"
    assert _choice(again, "社区").value == "330303024001"


@pytest.mark.parametrize("page", ["warning", "community"])
def test_one_district_has_no_choice(monkeypatch, engine, session, factory, page):
    dd.city(session, factory, districts=1)
    at = _open(monkeypatch, engine, page, period=str(dd.PERIOD))
    assert _choice(at) is None and "district" not in at.query_params
    assert at.title[0].value == {"warning": "靶向预警", "community": "社区详情"}[page]
    assert not [b for b in at.button if b.key and b.key.endswith("chips_district")]
    if page == "warning":
        assert len(_ranking(at)) == 4 and "区县" not in _ranking(at).columns
        assert "新兴热点按区县分析" not in texts(at)


@pytest.mark.parametrize(
    ("districts", "only", "whole", "scope"),
    [(2, None, "全市", "全市"), (1, None, "鹿城区", "全区"), (1, "330303", "龙湾区", "全区")],
)
def test_whole_area_is_named_the_city_or_the_district(
    monkeypatch, engine, session, factory, districts, only, whole, scope
):
    """Who sees everything sees "全市" in a city's database (account box, overview caption,
    presentation header), the district's name (the one its codes name, not always the
    deployment's 鹿城区) and "全区" in a one-district database."""
    from fangcang import auth
    from fangcang.access import Role

    dd.city(session, factory, districts=districts, only=only)
    auth.create_user(session, username="lead", password="lead-pass-1", role=Role.LEADER, actor="t")
    session.commit()
    monkeypatch.setenv("FANGCANG_DB_URL", engine.url.render_as_string(hide_password=False))
    st.cache_data.clear()
    at = login(AppTest.from_file(APP, default_timeout=120).run(), "lead", "lead-pass-1")
    assert not at.exception, [e.value for e in at.exception]
    assert [c.value for c in at.sidebar.caption if c.value.startswith("领导 · ")] == [
        f"领导 · {scope}"
    ]
    at = _open(monkeypatch, engine, "overview", period=str(dd.PERIOD))
    assert at.caption[0].value.startswith(f"{whole} · ")
    at = _open(monkeypatch, engine, "present", slide="1")
    assert f" · {whole}</div>" in texts(at)


def test_one_district_with_a_local_code_is_not_a_city(monkeypatch, engine, session, factory):
    """A one-district database where one community's sub-district has a local code (no
    district in it) is still one district everywhere: no 区县 choice, no city-wide title."""
    dd.city(session, factory, districts=1)
    local = factory.sub_district("SDX", "新城片区", label_lon=None, label_lat=None)
    factory.community("X01", name="社区X", sub_district=local, bbox=(120.9, 28.0, 120.91, 28.01))
    session.commit()
    for page in ("warning", "overview", "map"):
        at = _open(monkeypatch, engine, page, period=str(dd.PERIOD))
        assert _choice(at) is None, page
        assert "全市" not in " ".join(x.value for x in [*at.title, *at.caption]), page
