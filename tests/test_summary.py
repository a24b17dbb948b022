"""Headline figures (fangcang.summary) and the ``info`` / ``import`` commands."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from fangcang import aggregates, summary
from fangcang.access import Scope
from fangcang.cli import main
from fangcang.importer.example import write_example_bundle
from fangcang.models import IncidentCategory, ResidenceType


def _district(factory):
    a = factory.community("CA", name="甲社区", bbox=(120.60, 28.0, 120.61, 28.01))
    b = factory.community("CB", name="乙社区", bbox=(120.61, 28.0, 120.62, 28.01))
    factory.community("CC", name="丙社区", bbox=(120.62, 28.0, 120.63, 28.01))  # empty
    for _ in range(3):
        factory.person(a, source="户籍")
    factory.person(b, residence_type=ResidenceType.FLOATING, source="流动")
    factory.house(a)
    factory.place(b)
    # this year (to 2026-10-31): 3 in A, 1 in B; last year same span: 2 in A; outside spans: 2
    for d in (date(2026, 1, 1), date(2026, 5, 5), date(2026, 10, 31)):
        factory.incident(a, datetime(d.year, d.month, d.day, 12), IncidentCategory.CRIMINAL)
    factory.incident(b, datetime(2026, 3, 1, 8), IncidentCategory.FIRE)
    factory.incident(a, datetime(2025, 1, 1, 0, 0), IncidentCategory.DISPUTE)
    factory.incident(a, datetime(2025, 10, 31, 23, 59), IncidentCategory.DISPUTE)
    factory.incident(a, datetime(2025, 11, 1, 0, 0), IncidentCategory.DISPUTE)  # after span
    factory.incident(a, datetime(2024, 12, 31, 23, 59), IncidentCategory.DISPUTE)  # before
    aggregates.rebuild(factory.s)
    return a, b


def test_headline_counts_and_same_period_last_year(session, factory):
    _district(factory)
    head = summary.headline(session)
    assert head.records == {
        "people": 4,
        "houses": 1,
        "places": 1,
        "objects": 0,
        "events": 0,
        "incidents": 8,
    }
    assert head.records_total == 14 and head.communities == 3 and head.officers == 3
    # as_of defaults to the latest day with data (2026-10-31), not today
    assert head.as_of == date(2026, 10, 31)
    assert head.this_year == (date(2026, 1, 1), date(2026, 10, 31))
    assert head.last_year == (date(2025, 1, 1), date(2025, 10, 31))
    assert (head.incidents_this_year, head.incidents_last_year) == (4, 2)
    assert head.change_pct == pytest.approx(100.0)
    earlier = summary.headline(session, as_of=date(2026, 3, 1))
    assert (earlier.incidents_this_year, earlier.incidents_last_year) == (2, 1)


def test_headline_respects_scope_and_leap_days(session, factory):
    a, b = _district(factory)
    only_b = summary.headline(session, scope=Scope.of(["CB"]))
    assert only_b.records["people"] == 1 and only_b.communities == 1 and only_b.officers == 1
    assert only_b.incidents_this_year == 1 and only_b.incidents_last_year == 0
    assert only_b.change_pct is None
    leap = summary.headline(session, as_of=date(2028, 2, 29))
    assert leap.last_year == (date(2027, 1, 1), date(2027, 2, 28))


def test_headline_of_an_empty_database(session):
    head = summary.headline(session)
    assert head.records_total == 0 and head.as_of is None and head.change_pct is None


def test_records_by_community_and_source(session, factory):
    _district(factory)
    frame = summary.records_by_community(session)
    assert list(frame["community_id"]) == ["CA", "CB", "CC"]
    assert list(frame["total"]) == [3 + 1 + 7, 1 + 1 + 1, 0]
    assert frame.loc[2, "people"] == 0
    assert list(summary.records_by_community(session, Scope.of(["CC"]))["community_id"]) == ["CC"]
    src = summary.records_by_source(session)
    people = src[src["kind"] == "people"]
    assert list(zip(people["source"], people["n"], strict=True)) == [("户籍", 3), ("流动", 1)]
    assert list(src["kind"].drop_duplicates()) == ["people", "houses", "places", "incidents"]


def test_database_size_and_last_import(engine, session, tmp_path, monkeypatch):
    from fangcang.importer import import_bundle

    monkeypatch.setenv("FANGCANG_REPORTS_DIR", str(tmp_path / "r"))
    assert summary.last_import(session) is None
    result = import_bundle(engine, write_example_bundle(tmp_path / "b"), actor="carol")
    last = summary.last_import(session)
    assert last.id == result.log_id and last.actor == "carol" and last.status == "ok"
    assert last.counts["people"] == 8 and last.files["incidents.csv"] == 8
    assert summary.database_size(engine) > 100_000


def _url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_import_and_info_commands(engine, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FANGCANG_DB_URL", _url(engine))
    monkeypatch.setenv("FANGCANG_REPORTS_DIR", str(tmp_path / "r"))
    folder = write_example_bundle(tmp_path / "b")
    assert main(["import", str(folder), "--actor", "dave", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "people                  8 loaded (8 new" in out and "import ok" in out

    assert main(["info", "--top", "2", "--by-source"]) == 0
    out = capsys.readouterr().out
    assert "records: 29" in out  # 8 + 5 + 4 + 2 + 2 + 8
    assert "People (人口)" in out and "communities: 4   officers: 2" in out
    assert "top 2 communities by records (of 4):" in out
    assert "incidents 2026-01-01..2026-10-12: 5; same period last year: 2 (+150.0%)" in out
    assert "last import: #" in out and "by dave (cli): ok" in out
    assert "110指挥中心" in out

    (folder / "incidents.csv").write_text("incident_id,occurred_at\nI1,bad\n", encoding="utf-8")
    assert main(["import", str(folder), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "missing required column category" in out and "nothing was imported" in out
    assert main(["import", str(tmp_path / "missing"), "--quiet"]) == 2
    assert "bundle folder not found" in capsys.readouterr().err
