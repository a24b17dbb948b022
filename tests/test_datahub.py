"""Data hub: records by kind and source, freshness, import history, data-quality checks."""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import pytest
from support import make_id

from fangcang import datahub
from fangcang.access import Scope
from fangcang.models import AggRecords, ImportLog, ImportStatus

D = Scope.district()


def test_records_by_kind_source_and_freshness(session, factory):
    c1 = factory.community(community_id="C1")
    factory.community(community_id="C2")
    session.add_all(
        [
            AggRecords(
                kind="people",
                source="公安户籍",
                community_id="C1",
                n=100,
                last_updated=datetime(2026, 10, 30),
            ),
            AggRecords(
                kind="people",
                source="公安户籍",
                community_id="C2",
                n=50,
                last_updated=datetime(2026, 10, 1),
            ),
            AggRecords(
                kind="houses",
                source="住建",
                community_id="C1",
                n=40,
                last_updated=datetime(2026, 8, 1),
            ),
            AggRecords(
                kind="incidents",
                source="",
                community_id="C2",
                n=7,
                last_updated=datetime(2026, 10, 31, 23),
            ),
        ]
    )
    session.add(
        ImportLog(
            started_at=datetime(2026, 10, 30, 8),
            finished_at=datetime(2026, 10, 30, 8, 1),
            actor="feed:公安户籍",
            bundle="b1",
            channel="feed:公安户籍",
            status=ImportStatus.OK,
        )
    )
    session.commit()
    df = datahub.records_by_kind_source(session, D)
    assert df["n"].sum() == 197
    assert df[df.kind == "people"]["n"].tolist() == [150]
    assert "(unknown)" in set(df["source"])
    only = datahub.records_by_kind_source(session, Scope.of([c1.community_id]))
    assert only["n"].sum() == 140

    f = datahub.source_freshness(session, D, date(2026, 10, 31)).set_index("source")
    # 住建's newest record is 91 days old at the end of 31 October: stale at 45 days.
    assert f.loc["住建", "age_days"] == 91 and bool(f.loc["住建", "stale"])
    assert f.loc["公安户籍", "age_days"] == 1 and not bool(f.loc["公安户籍", "stale"])
    assert f.loc["公安户籍", "records"] == 150
    assert f.loc["公安户籍", "last_feed_import"] == datetime(2026, 10, 30, 8, 1)
    assert f.index[0] == "住建"  # stale sources first
    loose = datahub.source_freshness(session, D, date(2026, 10, 31), stale_after_days=100)
    assert not loose["stale"].any()
    with pytest.raises(ValueError):
        datahub.source_freshness(session, D, date(2026, 10, 31), stale_after_days=0)


def test_import_history(session):
    session.add_all(
        [
            ImportLog(
                started_at=datetime(2026, 10, 1),
                actor="admin",
                bundle="a",
                channel="cli",
                files=json.dumps({"people.csv": 10}),
                counts=json.dumps({"people": 10}),
                status=ImportStatus.OK,
            ),
            ImportLog(
                started_at=datetime(2026, 10, 2),
                actor="feed:住建",
                bundle="b.zip",
                channel="feed:住建",
                status=ImportStatus.FAILED,
                message="houses.csv row 2",
            ),
        ]
    )
    session.commit()
    h = datahub.import_history(session)
    assert h["bundle"].tolist() == ["b.zip", "a"]
    assert h.iloc[1]["files"] == "people.csv: 10" and h.iloc[1]["records"] == 10
    failed = datahub.import_history(session, status=ImportStatus.FAILED)
    assert failed["message"].tolist() == ["houses.csv row 2"]


def test_quality_checks(session, factory):
    c = factory.community(community_id="C1")
    factory.house(c, house_id="H1", lon=120.6, lat=28.0, address="五马街1号", source="公安")
    factory.house(c, house_id="H2", lon=None, lat=None, address="五马街1号", source="住建")
    factory.house(c, house_id="H3", lon=120.6, lat=None, address="五马街3号", source="公安")
    factory.place(c, lon=120.6, lat=28.0)
    good = make_id("19900101")
    bad = good[:-1] + ("1" if good[-1] != "1" else "2")
    factory.person(c, person_id="P1", id_number=good, source="公安")
    factory.person(c, person_id="P2", id_number=good, source="人社")  # same person, other source
    factory.person(c, person_id="P3", id_number=bad, source="公安")
    factory.person(c, person_id="P4", id_number=make_id("19800101"), source="公安")
    factory.person(c, person_id="P5", id_number=make_id("19800101"), source="公安")  # same source
    factory.person(c, person_id="P6", id_number=None, source="公安")
    # Someone else's record carrying P1's number under another name: a conflict, not a copy.
    factory.person(c, person_id="P7", name="李四", id_number=good, source="交警")
    session.commit()

    r = datahub.run_quality_checks(session, D).set_index(["check", "kind"])
    assert (r.loc[("missing_coordinates", "houses"), ["checked", "failing"]] == [3, 2]).all()
    assert r.loc[("missing_coordinates", "places"), "failing"] == 0
    assert r.loc[("missing_coordinates", "incidents"), "checked"] == 0
    assert pd.isna(r.loc[("missing_coordinates", "incidents"), "share"])
    assert (r.loc[("invalid_id_number", "people"), ["checked", "failing"]] == [6, 1]).all()
    assert r.loc[("conflicting_id_number", "people"), "failing"] == 3  # P1, P2, P7
    # P1/P2 are one person from two departments; P4/P5 come from one department (not "across").
    assert r.loc[("duplicates_across_sources", "people"), "failing"] == 2
    assert r.loc[("duplicates_across_sources", "houses"), "failing"] == 2
    sample = datahub.quality_sample(session, D, "invalid_id_number")
    assert sample["person_id"].tolist() == ["P3"] and sample["id_number"][0] != bad
    dup = datahub.quality_sample(session, D, "duplicates_across_sources")
    assert set(dup["kind"]) == {"people", "houses"}
    assert "1号" not in "".join(dup["address"].dropna())
    assert datahub.run_quality_checks(session, Scope.of(["C9"]))["failing"].sum() == 0
    with pytest.raises(ValueError):
        datahub.quality_sample(session, D, "nope")
