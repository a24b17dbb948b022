"""AppTest smoke and behaviour tests of the dashboard pages on the small demo district.

The demo is built once per test run into a temporary SQLite file (about a minute).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from fangcang import db
from fangcang.access import Role, Scope, Viewer

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = ["overview", "map", "community", "trends", "warning", "present"]
CDN = re.compile(r"https?://", re.I)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """The small demo district in a SQLite file; FANGCANG_DB_URL points at it."""
    from fangcang import demo

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    url = f"sqlite:///{path}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    demo.build(engine, scale="small")
    with db.session_factory(engine)() as s:
        from fangcang.models import Community, WarningRun

        first = s.scalar(select(Community).order_by(Community.community_id).limit(1))
        info = {
            "url": url,
            "community": first.community_id,
            "community_name": first.name,
            "period": s.scalar(
                select(WarningRun.period).order_by(WarningRun.period.desc()).limit(1)
            ),
        }
    engine.dispose()
    old = os.environ.get("FANGCANG_DB_URL")
    os.environ["FANGCANG_DB_URL"] = url
    yield info
    if old is None:
        os.environ.pop("FANGCANG_DB_URL", None)
    else:
        os.environ["FANGCANG_DB_URL"] = old


def open_page(page: str, viewer: Viewer | None = None, lang: str = "zh", **params) -> AppTest:
    """Run ``page`` through app.py (navigation) as ``viewer`` with URL ``params``."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["viewer"] = viewer or Viewer(username="leader", role=Role.LEADER)
    at.session_state["lang"] = lang
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def table(at: AppTest, i: int = 0):
    value = at.dataframe[i].value
    return value.data if hasattr(value, "data") else value


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(demo_db, page):
    params = {"community": demo_db["community"]} if page == "community" else {}
    at = open_page(page, **params)
    if page != "present":
        assert at.title, f"{page} shows no title"
    assert not at.error


@pytest.mark.parametrize("slide", ["1", "2", "3", "4"])
def test_presentation_slides(demo_db, slide):
    at = open_page("present", slide=slide)
    html = " ".join(m.value for m in at.markdown)
    assert "fc-title" in html
    assert f"第 {slide} / 4 页" in html


def test_overview_numbers_come_from_data(demo_db):
    at = open_page("overview")
    labels = [m.label for m in at.metric]
    assert "110警情总量" in labels and "刑事治安警情" in labels
    assert all(re.fullmatch(r"[\d,]+|—|\d+%", m.value) for m in at.metric)
    assert any(el.type == "plotly_chart" for el in at.main)


def test_warning_filters_change_the_table(demo_db):
    everything = table(open_page("warning"))
    red = table(open_page("warning", level="red"))
    assert 0 < len(red) < len(everything)
    assert set(red["预警等级"]) == {"红"}


def test_url_restores_view(demo_db):
    # pick a sub-district that has red communities in the newest run
    at = open_page("warning", level="red")
    street = table(at)["街道"].iloc[0]
    at = open_page("warning", level="red", street=street, period=demo_db["period"])
    shown = table(at)
    assert len(shown) >= 1 and set(shown["街道"]) == {street} and set(shown["预警等级"]) == {"红"}
    side = {w.label: w.value for w in at.sidebar.selectbox}
    assert side["月份"] == demo_db["period"]
    assert at.sidebar.multiselect[0].value == ["red"]
    assert at.query_params["street"] == [street] or at.query_params["street"] == street


def test_sidebar_widget_updates_url(demo_db):
    at = open_page("warning")
    at.sidebar.multiselect[0].set_value(["yellow"]).run()
    assert not at.exception
    assert set(table(at)["预警等级"]) == {"黄"}
    qp = at.query_params["level"]
    assert (qp[0] if isinstance(qp, list) else qp) == "yellow"


def test_english_switch_changes_labels(demo_db):
    zh = open_page("overview")
    en = open_page("overview", lang="en")
    assert zh.title[0].value == "总览" and en.title[0].value == "Overview"
    assert "110 total" in [m.label for m in en.metric]


def test_map_is_offline_and_complete(demo_db):
    at = open_page("map")
    comps = at.get("component_instance")
    assert comps, "no st_folium component"
    args = json.loads(comps[0].proto.json_args)
    links = args["js_links"] + args["css_links"]
    assert links and not [u for u in links if CDN.match(u)], links
    assert all(u.startswith("/app/static/") for u in links)
    # 120 community polygons in the level colours
    assert args["script"].count('"community_id"') >= 120
    for colour in ("#d7263d", "#f2b705", "#2f6fd0", "#2e9e44"):
        assert colour in args["script"]


def test_map_layer_picker_says_what_is_on(demo_db):
    at = open_page("map")
    layers = next(m for m in at.multiselect if m.label == "图层")
    assert layers.value == [] and layers.proto.placeholder == "未叠加图层（仅社区着色）"
    # Streamlit's "Select all" entry is English only: not offered in the Chinese UI
    assert not layers.proto.select_all
    panel = next(w for w in at.toggle if w.label == "地图旁显示详情面板")
    panel.set_value(False).run()
    assert not at.exception and at.get("component_instance")


def test_map_filters_polygons(demo_db):
    at = open_page("map", level="red")
    args = json.loads(at.get("component_instance")[0].proto.json_args)
    n = len(re.findall(r'"community_id": "', args["script"]))
    assert 0 < n < 120


def test_community_deep_link(demo_db):
    at = open_page("community", community=demo_db["community"], period=demo_db["period"])
    html = " ".join(m.value for m in at.markdown)
    assert demo_db["community_name"] in html
    assert at.dataframe, "factor tables missing"


def test_scope_limits_what_an_officer_sees(demo_db):
    from fangcang.models import Community

    engine = db.make_engine(demo_db["url"])
    with db.session_factory(engine)() as s:
        c = s.scalar(select(Community).order_by(Community.community_id).limit(1))
        ids = list(
            s.scalars(select(Community.community_id).where(Community.officer_id == c.officer_id))
        )
    engine.dispose()
    officer = Viewer(username="o", role=Role.OFFICER, scope=Scope.of(ids), officer_id=c.officer_id)
    shown = table(open_page("warning", viewer=officer))
    assert len(shown) == len(ids)


def test_guard_without_sign_in(demo_db):
    at = AppTest.from_file(str(ROOT / "pages" / "trends.py"), default_timeout=60)
    at.run()
    assert not at.title and at.warning


def test_language_switch_keeps_filters(demo_db):
    at = open_page("warning", level="red")
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    shown = table(at)
    level_col = [c for c in shown.columns if c.lower().startswith("level") or "level" in c.lower()][
        0
    ]
    assert set(shown[level_col]) == {"Red"}
    assert at.title[0].value == "Targeted warning"


def test_an_empty_filter_says_what_it_is_and_scoped_roles_see_their_area(demo_db):
    at = open_page("warning", period=demo_db["period"], level="red", score="100")
    infos = " ".join(i.value for i in at.info)
    assert f"{demo_db['period']} 鹿城区：0 个红色社区（评分不低于 100）" in infos
    assert "没有数据" not in infos
    engine = db.make_engine(demo_db["url"])
    with db.session_factory(engine)() as s:
        from fangcang.models import Community, Station

        c = s.get(Community, demo_db["community"])
        station = s.get(Station, c.station_id)
        ids = list(
            s.scalars(
                select(Community.community_id).where(Community.station_id == station.station_id)
            )
        )
        name = station.name
    engine.dispose()
    viewer = Viewer(
        username="st", role=Role.STATION, scope=Scope.of(ids, "station"), station_id="x"
    )
    at = open_page("overview", viewer)
    captions = " ".join(c.value for c in at.caption) + " ".join(h.value for h in at.subheader)
    assert name in captions and "鹿城区" not in captions


def test_trends_give_a_plain_verdict_not_a_z_value(demo_db):
    at = open_page("trends", period=demo_db["period"])
    metrics = {m.label: m for m in at.metric}
    assert "同比" in metrics and "环比" in metrics and "z值" not in metrics
    for label in ("同比", "环比"):  # the delta reads "+12 · 正常波动"; z only in the help
        verdict = metrics[label].delta.split(" · ")[-1]
        assert verdict in {"★ 明显上升", "★ 明显下降", "正常波动"}
        assert "z =" in metrics[label].help
    assert all("z值" not in table(at, i).columns for i in range(len(at.dataframe)))


def test_community_page_overdue_count_agrees_with_the_factor_panel(demo_db):
    at = open_page("community", community=demo_db["community"], period=demo_db["period"])
    factors = next(
        table(at, i) for i in range(len(at.dataframe)) if "未按期管控" in table(at, i).columns
    )
    out = int(factors["未按期管控"].sum())
    captions = " ".join(c.value for c in at.caption)
    if out > 0:
        assert f"共 {out:,} 处逾期未管控" in captions
    else:  # none out of control: the list says so, and lists nothing
        assert "所有治安要素均已按期管控" in captions and "处逾期未管控" not in captions
