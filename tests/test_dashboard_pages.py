"""AppTest smoke and behaviour tests of the dashboard pages on the small demo district.

The demo is built once per test run into a temporary SQLite file (about a minute).
"""

from __future__ import annotations

import json
import os
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest
from support import open_page

from fangcang import db, periods
from fangcang.access import Role, Scope, Viewer
from fangcang.i18n import fmt_int
from fangcang.models import Community
from fangcang.periods import PeriodChoice, PeriodKind
from fangcang.timeutil import Month

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


@pytest.mark.parametrize("slide", ["1", "2", "3", "4", "5"])
def test_presentation_slides(demo_db, slide):
    at = open_page("present", slide=slide)
    html = " ".join(m.value for m in at.markdown)
    assert "fc-title" in html
    assert f"第 {slide} / 5 页" in html


def test_presentation_colours_only_significant_changes(demo_db):
    from fangcang import palette

    at = open_page("present", slide="5")
    rows = [m.value for m in at.markdown if "<div class='fc-row'>" in m.value]
    assert rows, "the demo has focused work to show"
    for html in rows:
        colour = re.search(r"color:(#[0-9a-f]{6});font-weight:700", html).group(1)
        if "（不显著）" in html:
            assert colour == palette.CHANGE_NOT_SIGNIFICANT
        else:
            assert "（显著）" in html and colour in (palette.CHANGE_UP, palette.CHANGE_DOWN)
    at = open_page("present", slide="1")
    for m in (m.value for m in at.markdown if "<div class='fc-metric'>" in m.value):
        colour = re.search(r"class='d' style='color:(#[0-9a-f]{6})'", m).group(1)
        assert (colour == palette.CHANGE_NOT_SIGNIFICANT) != ("★" in m)


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


def _level_cards(at: AppTest) -> dict[str, int]:
    names = {"红色预警": "red", "黄色预警": "yellow", "蓝色预警": "blue", "绿色": "green"}
    return {names[m.label]: int(m.value.replace(",", "")) for m in at.metric if m.label in names}


def _caption_n(at: AppTest) -> int:
    caption = next(c.value for c in at.caption if re.search(r"· 共 [\d,]+ 个社区", c.value))
    return int(re.search(r"共 ([\d,]+) 个社区", caption).group(1).replace(",", ""))


def test_warning_cards_and_caption_count_the_same_filtered_set(demo_db):
    at = open_page("warning", level="red")
    cards, n = _level_cards(at), _caption_n(at)
    assert n == len(table(at)) > 0
    assert sum(cards.values()) == n and cards["red"] == n
    # the level filter shows a chip that clears it
    chip = next(b for b in at.button if b.label.startswith("预警等级"))
    assert "红" in chip.label
    chip.click().run()
    assert not at.exception
    assert at.sidebar.multiselect[0].value == []
    assert "level" not in at.query_params
    everything = table(at)
    assert len(everything) > n and sum(_level_cards(at).values()) == _caption_n(at) == len(
        everything
    )
    assert not any(b.label.startswith("预警等级") for b in at.button)
    # a sub-district without red communities: 0 in the caption and 0 on the cards
    quiet = sorted(set(everything["街道"]) - set(table(open_page("warning", level="red"))["街道"]))
    at = open_page("warning", level="red", street=quiet[0])
    assert _caption_n(at) == 0 and sum(_level_cards(at).values()) == 0


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


# ---------------------------------------------------------------------------------------------
# Review-meeting periods, cross-filter chips, thousands separators (issue 13 items 4 and 7)
# ---------------------------------------------------------------------------------------------
PERIOD_PAGES = ["overview", "trends", "map", "warning", "community"]
KINDS = [k.value for k in PeriodKind]
KIND_KEY = "flt_span_kind_zh"


def _captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


def _resolved(url: str, choice: PeriodChoice) -> tuple[periods.Periods, object]:
    engine = db.make_engine(url)
    with Session(engine) as s:
        first, last = periods.data_span(s)
        p = periods.resolve(choice, last, first)
        df = periods.comparison(s, Scope.district(), p)
    engine.dispose()
    return p, df


def _default_choice(kind: str, as_of, data_first) -> PeriodChoice:
    """What the sidebar shows first for ``kind`` (newest quarter, last 28 days as the range)."""
    if kind == "quarter":
        return PeriodChoice.of_quarter(*periods.quarters(data_first, as_of)[0])
    if kind == "custom":
        return PeriodChoice.of_range(max(data_first, as_of - timedelta(days=27)), as_of)
    return PeriodChoice(PeriodKind(kind))


@pytest.mark.parametrize("page", PERIOD_PAGES)
def test_every_period_kind_on_every_page(demo_db, page):
    params = {"community": demo_db["community"]} if page in ("community", "map") else {}
    at = open_page(page, **params)
    for kind in KINDS:
        at.sidebar.selectbox(key=KIND_KEY).set_value(kind).run()
        assert not at.exception, (kind, [e.value for e in at.exception])
        assert not at.error, (kind, [e.value for e in at.error])
        side = "\n".join(c.value for c in at.sidebar.caption)
        assert re.search(r"数据截至 \d{4}-\d{2}-\d{2}", side), kind
        span = at.query_params.get("span")
        span = span[0] if isinstance(span, list) else span
        if kind == "month":
            assert not span
        else:
            choice = PeriodChoice.parse(span)
            assert choice.kind.value == kind
        text = _captions(at) + "\n".join(i.value for i in at.info)
        monthly_note = "预警等级按月评定" in text or "月度预警" in text
        if page in ("warning", "map"):
            assert monthly_note == (kind != "month"), (page, kind)
        if page in ("overview", "community", "trends"):
            assert "同比" in text and "环比" in text, (page, kind)


def test_overview_figures_are_the_period_comparison(demo_db):
    engine = db.make_engine(demo_db["url"])
    with Session(engine) as s:
        data_first, as_of = periods.data_span(s)
    engine.dispose()
    at = open_page("overview")
    for kind in ("7d", "quarter", "ytd", "custom"):
        at.sidebar.selectbox(key=KIND_KEY).set_value(kind).run()
        p, df = _resolved(demo_db["url"], _default_choice(kind, as_of, data_first))
        shown = {m.label: m.value for m in at.metric}
        total = df.set_index("metric").loc["total"]
        assert shown["110警情总量"] == fmt_int(total["n"]), kind
        assert str(p.current) in _captions(at), kind


def test_custom_range_and_quarter_open_from_a_link(demo_db):
    at = open_page("trends", span="2026-08-01..2026-09-15")
    assert at.sidebar.selectbox(key=KIND_KEY).value == "custom"
    assert "2026-08-01 – 2026-09-15" in _captions(at)
    at = open_page("overview", span="2026-Q2")
    assert at.sidebar.selectbox(key=KIND_KEY).value == "quarter"
    assert "2026-04-01 – 2026-06-30" in _captions(at)


def test_a_link_to_a_range_after_the_data_says_why(demo_db):
    at = open_page("overview", span="2026-10-01..2030-01-01")
    warnings = [e.value for e in at.sidebar.warning]
    assert any("is in the future" in e or "after the last day with data" in e for e in warnings)
    assert any("last:" in e for e in warnings)


@pytest.mark.parametrize(
    "span", ["2019-01-01..2019-02-01", "2026-10-31..2026-10-01", "garbage", "2026-13"]
)
def test_a_bad_period_link_says_so_and_shows_the_latest_month(demo_db, span):
    at = open_page("overview", span=span)
    warnings = [w.value for w in at.sidebar.warning]
    assert len(warnings) == 1 and span in warnings[0], warnings
    assert f"现显示最近一个月 {demo_db['period']}" in warnings[0]
    assert at.sidebar.selectbox(key=KIND_KEY).value == "month"
    assert at.sidebar.selectbox(key="flt_period_zh").value == demo_db["period"]
    side = "\n".join(c.value for c in at.sidebar.caption)
    month = Month.parse(demo_db["period"])
    assert f"{month.first_day.isoformat()} – " in side  # a month, never a one-day window
    assert "span" not in at.query_params


def test_trends_heading_names_the_category(demo_db):
    at = open_page("trends", span="ytd", category="criminal")
    heads = [h.value for h in at.subheader]
    assert any(h.startswith("时段对比 · ") and "刑事" in h for h in heads), heads


def test_year_to_date_has_no_previous_period(demo_db):
    at = open_page("overview", span="ytd")
    text = _captions(at)
    assert "年初至今只与去年同期比较" in text
    assert "明显" not in "\n".join(c.value for c in at.caption if c.value.startswith("环比"))
    at = open_page("trends", span="ytd")
    metrics = {m.label: m for m in at.metric}
    assert metrics["环比"].value == "—" and metrics["环比"].delta in (None, "")
    assert all("上一周期" not in c for c in table(at).columns)
    at = open_page("overview", span="ytd", lang="en")
    assert "compared with the same days a year earlier only" in _captions(at)


def test_warning_level_stays_monthly(demo_db):
    at = open_page("warning", span="7d")
    note = " ".join(i.value for i in at.info)
    assert "预警等级按月评定" in note and demo_db["period"] in note
    assert "红" in set(table(at)["预警等级"]) or len(table(at)) > 0


def test_a_chip_shows_the_cross_filter_and_clears_it(demo_db):
    at = open_page("trends")
    street_table = table(at)  # the first tab: by sub-district, the chosen period
    assert "本期" in street_table.columns
    name = street_table.iloc[0, 0]
    at = open_page("trends", street=name)
    chip = [b for b in at.button if b.label.startswith("街道：")]
    assert chip and chip[0].label == f"街道：{name}"
    chip[0].click().run()
    assert not at.exception
    assert not [b for b in at.button if b.label.startswith("街道：")]
    assert "street" not in at.query_params
    assert at.sidebar.selectbox(key="flt_street_zh").value == ""


def test_map_selection_is_a_chip(demo_db):
    at = open_page("map", community=demo_db["community"])
    chip = [b for b in at.button if b.label.startswith("社区：")]
    assert chip and demo_db["community_name"] in chip[0].label
    chip[0].click().run()
    assert not at.exception
    assert "community" not in at.query_params
    assert not [b for b in at.button if b.label.startswith("社区：")]


def test_category_chip_on_trends(demo_db):
    at = open_page("trends", category="criminal")
    chip = [b for b in at.button if b.label.startswith("警情类别：")]
    assert chip
    chip[0].click().run()
    assert "category" not in at.query_params


def test_counts_carry_thousands_separators(demo_db):
    at = open_page("overview", span="ytd")
    values = [m.value for m in at.metric]
    big = [v for v in values if re.fullmatch(r"[\d,]+", v) and len(v.replace(",", "")) > 3]
    assert big and all("," in v for v in big)
    # the period tables give their count columns the localized number format
    at = open_page("trends", span="ytd")
    df = at.dataframe[0]
    config = df.proto.columns
    assert "localized" in config


def test_effect_page_with_focus_management(demo_db):
    """The effect page as a dispatcher: year-on-year table, focused work, and the form's
    community picker listing the communities of the jurisdiction."""
    at = open_page("effect", Viewer(username="dispatcher", role=Role.DISPATCHER))
    assert at.title and not at.error
    picker = at.selectbox(key="eff_f_community")
    engine = db.make_engine(demo_db["url"])
    with db.session_factory(engine)() as s:
        names = sorted(s.scalars(select(Community.name)))
    engine.dispose()
    assert sorted(picker.options) == names  # every community, by name
    assert any(len(df.value) > 0 for df in at.dataframe)


def test_a_row_on_the_overview_opens_its_community(demo_db):
    at = open_page("overview")
    top = table(at)
    name = top.iloc[0]["社区"]
    at.session_state["ov_top"] = {"selection": {"rows": [0], "columns": []}}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    chip = [b for b in at.button if b.label.startswith("社区：")]
    assert chip and chip[0].label == f"社区：{name}"


def _zero_change_row():
    from datetime import date

    import pandas as pd
    import streamlit as st

    from fangcang.periods import PeriodChoice, PeriodKind, resolve
    from ui import periods as period_ui

    st.session_state["lang"] = "zh"
    p = resolve(PeriodChoice(PeriodKind.DAYS_28), date(2026, 11, 28), date(2020, 1, 1))
    row = {"metric": "total", "n": 8}
    for key in ("year_before", "previous"):
        row |= {
            f"n_{key}": 8,
            f"change_{key}": 0,
            f"pct_{key}": 0.0,
            f"z_{key}": 0.0,
            f"significant_{key}": False,
            f"verdict_{key}": "noise",
        }
    period_ui.metric_row(pd.DataFrame([row]), p)
    period_ui.single(pd.Series(row), p)


def test_a_zero_change_is_neutral_not_a_rise():
    from streamlit.proto.Metric_pb2 import Metric

    at = AppTest.from_function(_zero_change_row, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    deltas = [m for m in at.metric if m.delta]
    assert deltas
    for m in deltas:  # 8 against 8: no sign, no arrow, neither red nor green
        assert "+0" not in m.delta, m.delta
        assert m.proto.direction == Metric.MetricDirection.Value("NONE"), m.delta
        assert m.proto.color == Metric.MetricColor.Value("GRAY"), m.delta
    assert at.metric[0].delta == "0.0% 同比"
    captions = "\n".join(c.value for c in at.caption)
    assert "环比 0.0%：正常波动" in captions


def test_months_before_the_data_are_gaps_not_zeros():
    import math

    import pandas as pd

    from ui import charts

    months = [Month(2025, m) for m in (10, 11, 12)]
    df = pd.DataFrame({"month": [str(m) for m in months], "n": [0, 5, 7], "n_before": [0, 0, 0]})
    fig = charts.this_vs_last(
        df, list(df["month"]), "n", "n_before", months=months, first=months[1]
    )
    last, this = (list(trace.y) for trace in fig.data)
    assert math.isnan(this[0]) and this[1:] == [5, 7]  # 2025-10 is before the data
    assert all(math.isnan(v) for v in last)  # 2024-10..12: no data a year earlier
    fig = charts.this_vs_last(df, list(df["month"]), "n", "n_before")  # no span: as given
    assert list(fig.data[1].y) == [0, 5, 7]


def test_running_quarter_note_is_its_own_sentence(demo_db):
    engine = db.make_engine(demo_db["url"])
    with Session(engine) as s:
        _, as_of = periods.data_span(s)
    engine.dispose()
    y, q = periods.quarter_of(as_of)
    at = open_page("trends", span=f"{y}-Q{q}")
    text = _captions(at)
    if f"{y}-Q{q}尚未结束" in text:  # the quarter is still running on the data-as-of day
        assert f"。{y}-Q{q}尚未结束" in text, text
    at = open_page("trends", span=f"{y}-Q{q}", lang="en")
    text = _captions(at)
    if "is still running" in text:
        assert f". {y}-Q{q} is still running" in text, text
