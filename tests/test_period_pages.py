"""AppTest of the review-meeting periods on the dashboard pages (every page, every period kind),
the cross-filter chips and thousands separators, on the small demo district."""

from __future__ import annotations

import re

import pytest
from sqlalchemy.orm import Session

from fangcang import db, periods
from fangcang.access import Scope
from fangcang.i18n import fmt_int
from fangcang.periods import PeriodChoice, PeriodKind
from tests import test_dashboard_pages as dash

demo_db = dash.demo_db  # the small demo district (module fixture), built once for this module
open_page, table = dash.open_page, dash.table

PAGES = ["overview", "trends", "map", "warning", "community"]
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
        from datetime import timedelta

        return PeriodChoice.of_range(max(data_first, as_of - timedelta(days=27)), as_of)
    return PeriodChoice(PeriodKind(kind))


@pytest.mark.parametrize("page", PAGES)
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
    errors = [e.value for e in at.sidebar.error]
    assert any("is in the future" in e or "after the last day with data" in e for e in errors)
    assert any("last:" in e for e in errors)


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
