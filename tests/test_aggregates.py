"""Pre-aggregated tables (fangcang.aggregates): local-time days/months, factor rules, and
equality with a direct count of the records."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, func, select, text

from fangcang import aggregates
from fangcang.importer import import_bundle
from fangcang.importer.example import write_example_bundle
from fangcang.models import (
    AggFactor,
    AggIncidentDay,
    AggIncidentHour,
    AggIncidentMonth,
    AggPopulation,
    AggRecords,
    Community,
    HouseUse,
    Incident,
    IncidentCategory,
    KeyPersonType,
    Person,
    PlaceKind,
    PlaceSubtype,
    ResidenceType,
)


def _rows(session, model, *cols):
    rows = session.execute(select(*[getattr(model, c) for c in cols]))
    return sorted((tuple(r) for r in rows), key=lambda r: tuple(str(v) for v in r))


def test_month_boundaries_are_local_calendar_days_and_months(session, factory):
    c = factory.community()
    factory.incident(c, datetime(2025, 1, 31, 23, 59), IncidentCategory.CRIMINAL)
    factory.incident(c, datetime(2025, 2, 1, 0, 0), IncidentCategory.CRIMINAL)
    factory.incident(c, datetime(2025, 2, 28, 23, 59, 59), IncidentCategory.CRIMINAL)
    aggregates.rebuild(session)
    days = _rows(session, AggIncidentDay, "day", "n")
    assert days == [(date(2025, 1, 31), 1), (date(2025, 2, 1), 1), (date(2025, 2, 28), 1)]
    hours = _rows(session, AggIncidentHour, "month", "dow", "hour", "n")
    # 2025-01-31 is a Friday (dow 4), 2025-02-01 a Saturday (5), 2025-02-28 a Friday (4)
    assert hours == [
        (date(2025, 1, 1), 4, 23, 1),
        (date(2025, 2, 1), 4, 23, 1),
        (date(2025, 2, 1), 5, 0, 1),
    ]


def test_incident_day_sums_alcohol_and_loss(session, factory):
    c = factory.community()
    day = datetime(2026, 3, 5, 10, 0)
    factory.incident(c, day, subtype="theft", loss_yuan=100.0, alcohol_related=True)
    factory.incident(c, day.replace(hour=22), subtype="theft", loss_yuan=50.5)
    factory.incident(c, day, subtype="assault")
    aggregates.rebuild(session)
    got = _rows(session, AggIncidentDay, "subtype", "n", "n_alcohol", "loss_yuan")
    assert got == [("assault", 1, 0, 0.0), ("theft", 2, 1, 150.5)]


def test_factor_rules(session, factory):
    c = factory.community()
    factory.person(
        c, key_person_type=KeyPersonType.DRUGS, last_visit=date(2026, 9, 1), visit_interval_days=30
    )
    factory.person(c, key_person_type=KeyPersonType.MENTAL)  # never visited, no interval
    factory.person(c)  # not a key person
    factory.house(c, use=HouseUse.RENTAL, last_checked=date(2026, 8, 1), check_interval_days=90)
    factory.house(c, use=HouseUse.GROUP_RENTAL)
    factory.house(c, use=HouseUse.SELF_OCCUPIED)
    factory.place(
        c,
        kind=PlaceKind.VENUE,
        subtype=PlaceSubtype.KTV,
        last_inspected=date(2026, 10, 1),
        inspection_interval_days=30,
    )
    factory.place(c, kind=PlaceKind.REGULATED_TRADE, subtype=PlaceSubtype.PAWNSHOP)
    # dangerous goods takes precedence over the kind, even for an enterprise
    factory.place(c, kind=PlaceKind.ENTERPRISE, subtype=PlaceSubtype.DANGEROUS_GOODS)
    factory.place(c, kind=PlaceKind.VENUE, subtype=PlaceSubtype.DANGEROUS_GOODS)
    factory.place(c, kind=PlaceKind.ENTERPRISE, subtype=PlaceSubtype.FACTORY)  # not a factor
    aggregates.rebuild(session)
    got = _rows(session, AggFactor, "kind", "checked_on", "interval_days", "n")
    got = [(k.value, d, i, n) for k, d, i, n in got]
    assert sorted(got, key=str) == sorted(
        [
            ("key_person", date(2026, 9, 1), 30, 1),
            ("key_person", None, 0, 1),
            ("rental_house", date(2026, 8, 1), 90, 1),
            ("group_rental_house", None, 0, 1),
            ("venue", date(2026, 10, 1), 30, 1),
            ("regulated_trade", None, 0, 1),
            ("dangerous_goods", None, 0, 2),
        ],
        key=str,
    )


def test_rebuild_replaces_old_rows(session, factory):
    c = factory.community()
    factory.incident(c, datetime(2026, 1, 1, 1, 0))
    factory.person(c, residence_type=ResidenceType.FLOATING)
    aggregates.rebuild(session)
    session.execute(text("DELETE FROM incidents"))
    session.execute(text("DELETE FROM people"))
    out = aggregates.rebuild(session)
    assert out["agg_incident_day"] == 0 and out["agg_population"] == 0
    assert session.scalars(select(AggRecords)).all() == []


def _random_records(factory, rng):
    comms = [
        factory.community(bbox=(120.6 + i * 0.01, 28.0, 120.61 + i * 0.01, 28.01)) for i in range(3)
    ]
    cats = list(IncidentCategory)
    for _ in range(150):
        c = comms[rng.integers(0, 3)]
        t = datetime(2025, 1, 1) + pd.Timedelta(minutes=int(rng.integers(0, 60 * 24 * 500)))
        factory.incident(
            c,
            t.to_pydatetime() if hasattr(t, "to_pydatetime") else t,
            category=cats[rng.integers(0, len(cats))],
            subtype=["", "theft", "assault"][rng.integers(0, 3)],
            loss_yuan=float(rng.integers(0, 500)),
            alcohol_related=bool(rng.integers(0, 2)),
            source=["110", "反诈"][rng.integers(0, 2)],
        )
    for _ in range(60):
        c = comms[rng.integers(0, 3)]
        factory.person(
            c,
            residence_type=list(ResidenceType)[rng.integers(0, 3)],
            key_person_type=[None, KeyPersonType.DRUGS][rng.integers(0, 2)],
            source=["户籍", "流动"][rng.integers(0, 2)],
        )
    for _ in range(20):
        factory.house(comms[rng.integers(0, 3)], use=list(HouseUse)[rng.integers(0, 5)])


def test_aggregates_equal_a_direct_count(engine, session, factory, tmp_path, monkeypatch):
    monkeypatch.setenv("FANGCANG_REPORTS_DIR", str(tmp_path / "reports"))
    _random_records(factory, np.random.default_rng(7))
    session.commit()
    # ... plus an imported bundle, so the import path's rebuild is what we check
    result = import_bundle(engine, write_example_bundle(tmp_path / "b"))
    assert result.ok, result.report
    session.expire_all()
    inc = pd.read_sql("SELECT * FROM incidents", session.connection())
    inc["occurred_at"] = pd.to_datetime(inc["occurred_at"])
    inc["day"] = inc["occurred_at"].dt.date
    direct = (
        inc.groupby(["community_id", "day", "category", "subtype"])
        .agg(
            n=("incident_id", "size"),
            n_alcohol=("alcohol_related", "sum"),
            loss_yuan=("loss_yuan", "sum"),
        )
        .reset_index()
    )
    agg = pd.DataFrame(
        _rows(
            session,
            AggIncidentDay,
            "community_id",
            "day",
            "category",
            "subtype",
            "n",
            "n_alcohol",
            "loss_yuan",
        ),
        columns=["community_id", "day", "category", "subtype", "n", "n_alcohol", "loss_yuan"],
    )
    agg["category"] = agg["category"].map(str)
    direct = direct.sort_values(list(direct.columns[:4])).reset_index(drop=True)
    agg = agg.sort_values(list(agg.columns[:4])).reset_index(drop=True)
    assert len(agg) == len(direct) and agg["n"].sum() == len(inc)
    assert list(map(tuple, agg.iloc[:, :4].astype(str).values)) == list(
        map(tuple, direct.iloc[:, :4].astype(str).values)
    )
    assert list(agg["n"]) == list(direct["n"])
    assert list(agg["n_alcohol"]) == [int(x) for x in direct["n_alcohol"]]
    assert np.allclose(agg["loss_yuan"], direct["loss_yuan"])

    hours = pd.DataFrame(
        _rows(session, AggIncidentHour, "community_id", "month", "dow", "hour", "n"),
        columns=["community_id", "month", "dow", "hour", "n"],
    )
    inc["month"] = inc["occurred_at"].dt.to_period("M").dt.start_time.dt.date
    inc["dow"] = inc["occurred_at"].dt.day_of_week
    inc["hour"] = inc["occurred_at"].dt.hour
    direct_h = inc.groupby(["community_id", "month", "dow", "hour"]).size()
    got_h = hours.groupby(["community_id", "month", "dow", "hour"])["n"].sum()
    assert got_h.to_dict() == direct_h.to_dict()

    people = pd.read_sql("SELECT * FROM people", session.connection())
    direct_p = people.groupby(["community_id", "residence_type"]).size().to_dict()
    got_p = {
        (c, str(r)): n
        for c, r, n in _rows(session, AggPopulation, "community_id", "residence_type", "n")
    }
    assert got_p == direct_p

    recs = {
        (k, s, c): n
        for k, s, c, n in _rows(session, AggRecords, "kind", "source", "community_id", "n")
    }
    for kind, table in aggregates.RECORD_TABLES.items():
        frame = pd.read_sql(f"SELECT source, community_id FROM {table}", session.connection())
        direct_r = frame.groupby(["source", "community_id"]).size().to_dict()
        assert {(s, c): n for (k, s, c), n in recs.items() if k == kind} == direct_r
    key_persons = int(people["key_person_type"].notna().sum())
    got_kp = sum(n for k, n in _rows(session, AggFactor, "kind", "n") if k.value == "key_person")
    assert got_kp == key_persons > 0


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_plan_fills_every_aggregate_table(dialect):
    sql = " ".join(" ".join(q.split()) for _, step in aggregates._plan(dialect) for q in step)
    for model in aggregates.TABLES:
        assert f"INSERT INTO {model.__tablename__} " in sql
    with pytest.raises(ValueError, match="sqlite and postgresql"):
        aggregates._plan("mysql")


def _agg_rows(session) -> dict:
    out = {}
    for model in aggregates.TABLES:
        cols = [c.name for c in model.__table__.columns if c.name != "id"]
        rows = session.execute(select(*[model.__table__.c[c] for c in cols])).all()
        out[model.__tablename__] = sorted(tuple(str(v) for v in r) for r in rows)
    return out


def test_rebuild_of_some_communities_matches_a_full_rebuild(session, factory):
    rng = np.random.default_rng(7)
    _random_records(factory, rng)
    aggregates.rebuild(session)
    communities = sorted(session.scalars(select(Community.community_id)))
    # Change records of one community only, then refresh just that community.
    changed = communities[0]
    session.execute(
        text("UPDATE people SET residence_type = 'overseas' WHERE community_id = :c"),
        {"c": changed},
    )
    session.execute(text("DELETE FROM incidents WHERE community_id = :c"), {"c": changed})
    aggregates.rebuild(session, communities=[changed])
    partial = _agg_rows(session)
    aggregates.rebuild(session)
    assert partial == _agg_rows(session)
    pop = session.execute(
        select(AggPopulation.residence_type).where(AggPopulation.community_id == changed)
    ).scalars()
    assert {p.value for p in pop} == {"overseas"}
    with pytest.raises(ValueError, match="at least one community"):
        aggregates.rebuild(session, communities=[])


# --- incremental maintenance (aggregates.track) ---------------------------------------------
def _snapshot(session) -> dict:
    """Every aggregate row as strings, floats rounded (sums subtracted and re-added)."""
    out = {}
    for model in aggregates.TABLES:
        cols = [c.name for c in model.__table__.columns if c.name != "id"]
        rows = session.execute(select(*[model.__table__.c[c] for c in cols])).all()
        out[model.__tablename__] = sorted(
            tuple(f"{v:.4f}" if isinstance(v, float) else str(v) for v in r) for r in rows
        )
    return out


def _assert_incremental_equals_full(session, step: str) -> None:
    incremental = _snapshot(session)
    aggregates.rebuild(session)
    full = _snapshot(session)
    for name in full:
        assert incremental[name] == full[name], f"{name} differs after {step}"


def _feed(rng, folder, kind: str, n: int):
    """A department feed of ``n`` rows of ``kind`` (incidents, people or houses) drawn from the
    example bundle's ids and a few new ones: new rows, changed rows (community, time,
    category, factor fields, source) and rows older than the stored copy (kept)."""
    from fangcang.importer.example import frames

    base = frames()[kind]
    rows = base.sample(n=n, replace=True, random_state=int(rng.integers(0, 2**31))).copy()
    pk = aggregates.PRIMARY_KEYS[kind]
    pool = list(base[pk]) + [f"{pk[0].upper()}N{i}" for i in range(6)]
    rows[pk] = [pool[i] for i in rng.integers(0, len(pool), n)]
    rows = rows.drop_duplicates(pk)
    m = len(rows)
    comms = np.array(["C001", "C002", "C003", "C004"])
    rows["community_id"] = comms[rng.integers(0, 4, m)]
    day = pd.Timestamp("2026-10-01") + pd.to_timedelta(rng.integers(-5, 25, m), unit="D")
    rows["updated_at"] = day.strftime("%Y-%m-%d %H:%M:%S")
    rows["source"] = np.array(["甲", "乙"])[rng.integers(0, 2, m)]
    if kind == "incidents":
        t = pd.Timestamp("2025-12-30") + pd.to_timedelta(rng.integers(0, 60 * 24 * 70, m), "min")
        rows["occurred_at"] = t.strftime("%Y-%m-%d %H:%M:%S")
        rows["category"] = np.array(["criminal", "dispute", "traffic"])[rng.integers(0, 3, m)]
        rows["subtype"] = np.array(["", "theft"])[rng.integers(0, 2, m)]
        rows["loss_yuan"] = rng.integers(0, 900, m).astype(str)
        rows["alcohol_related"] = rng.integers(0, 2, m).astype(str)
        rows["lon"], rows["lat"] = "", ""
    elif kind == "people":
        rows["key_person_type"] = np.array(["", "drugs", "mental"])[rng.integers(0, 3, m)]
        rows["residence_type"] = np.array(["registered", "floating"])[rng.integers(0, 2, m)]
        rows["last_visit"] = np.array(["", "2026-09-01", "2026-10-03"])[rng.integers(0, 3, m)]
        rows["house_id"] = ""
        rows["id_number"] = ""
    elif kind == "houses":
        rows["use"] = np.array(["rental", "group_rental", "vacant"])[rng.integers(0, 3, m)]
        rows["last_checked"] = np.array(["", "2026-09-01"])[rng.integers(0, 2, m)]
        rows["lon"], rows["lat"] = "", ""
    folder.mkdir(parents=True, exist_ok=True)
    rows.to_csv(folder / f"{kind}.csv", index=False)
    return folder


def test_incremental_aggregates_equal_a_full_rebuild(engine, session, tmp_path, monkeypatch):
    """Random imports, record edits, deletions and corrections, each followed by incremental
    maintenance only: the aggregates always equal a full rebuild."""
    monkeypatch.setenv("FANGCANG_REPORTS_DIR", str(tmp_path / "reports"))
    # Small tables: force the incremental path (a large share would refresh in full).
    monkeypatch.setattr(aggregates, "FULL_SHARE", 10.0)
    assert import_bundle(engine, write_example_bundle(tmp_path / "b")).ok
    rng = np.random.default_rng(16)
    modes = Counter()
    for step in range(14):
        what = ["incidents", "people", "houses", "edit", "delete", "correct"][step % 6]
        label = f"step {step} ({what})"
        if what in ("incidents", "people", "houses"):
            folder = _feed(rng, tmp_path / f"feed{step}", what, int(rng.integers(3, 12)))
            result = import_bundle(engine, folder, partial=True)
            assert result.ok, result.report
            modes[result.aggregates[what]] += 1
        elif what == "edit":
            ids = list(session.scalars(select(Person.person_id)))[:4]
            with aggregates.track(session, {"people": ids, "incidents": ["I001", "I002"]}):
                session.execute(
                    text(
                        "UPDATE people SET key_person_type = NULL, residence_type = 'overseas',"
                        " community_id = 'C002', updated_at = '2020-01-01 00:00:00'"
                        " WHERE person_id = :p"
                    ),
                    {"p": ids[0]},
                )
                session.execute(
                    text(
                        "UPDATE incidents SET occurred_at = '2026-02-01 00:30:00' "
                        "WHERE incident_id = 'I002'"
                    )  # fmt: skip
                )
            session.commit()
        elif what == "delete":
            gone = list(session.scalars(select(Incident.incident_id).limit(2)))
            with aggregates.track(session, {"incidents": gone, "people": ["P002"]}):
                session.execute(delete(Incident).where(Incident.incident_id.in_(gone)))
                session.execute(delete(Person).where(Person.person_id == "P002"))
            session.commit()
        else:  # a registry correction refreshes its communities, one table
            session.execute(text("UPDATE houses SET use = 'rental' WHERE community_id = 'C003'"))
            aggregates.rebuild(session, communities=["C003"], tables=["houses"])
            session.commit()
        session.expire_all()
        _assert_incremental_equals_full(session, label)
        session.commit()
    assert modes["incremental"] >= 5, modes


def test_track_rejects_unknown_tables_and_refreshes_large_changes_in_full(session, factory):
    c = factory.community()
    factory.incident(c, datetime(2026, 1, 1, 1, 0))
    with pytest.raises(ValueError, match="no aggregates are fed by"):
        with aggregates.track(session, {"visits": [1]}):
            pass
    # never aggregated: the table's aggregates are rebuilt in full
    with aggregates.track(session, {"incidents": ["X1"]}) as stats:
        factory.incident(c, datetime(2026, 1, 2, 1, 0), incident_id="X1")
    assert stats.full == ["incidents"]
    assert _rows(session, AggIncidentMonth, "month", "n") == [(date(2026, 1, 1), 2)]
    with aggregates.track(session, {"incidents": ["X2"]}, full_share=1.0) as stats:
        factory.incident(c, datetime(2026, 2, 2, 1, 0), incident_id="X2")
    assert stats.full == [] and stats.touched == {"incidents": 1}
    assert _rows(session, AggIncidentMonth, "month", "n") == [
        (date(2026, 1, 1), 2),
        (date(2026, 2, 1), 1),
    ]


def test_deferred_runs_the_community_rebuilds_once(session, factory):
    c1, c2 = factory.community(), factory.community(bbox=(120.7, 28.0, 120.71, 28.01))
    factory.person(c1)
    aggregates.rebuild(session)
    with aggregates.deferred(session):
        factory.person(c2)
        assert aggregates.rebuild(session, communities=[c2.community_id], tables=["people"]) == {}
        assert _rows(session, AggPopulation, "community_id", "n") == [(c1.community_id, 1)]
    assert _rows(session, AggPopulation, "community_id", "n") == [
        (c1.community_id, 1),
        (c2.community_id, 1),
    ]


def test_cli_rebuild_aggregates(sqlite_engine, capsys):
    from sqlalchemy.orm import Session

    from fangcang.cli import main
    from tests.conftest import Factory

    with Session(sqlite_engine) as s:
        f = Factory(s)
        f.incident(f.community(), datetime(2026, 3, 1, 9, 0))
        s.commit()  # records without aggregates (as after a direct SQL change)
    url = sqlite_engine.url.render_as_string(hide_password=False)
    assert main(["--db", url, "db", "rebuild-aggregates"]) == 0
    assert "agg_incident_month 1" in capsys.readouterr().out
    with Session(sqlite_engine) as s:
        assert _rows(s, AggIncidentMonth, "month", "n") == [(date(2026, 3, 1), 1)]


def test_district_month_table_is_the_month_table_summed_over_communities(session, factory):
    """agg_incident_district_month after a full rebuild, a rebuild of some communities and
    ``derive`` equals agg_incident_month summed over communities."""
    from fangcang.models import AggIncidentDistrictMonth

    rng = np.random.default_rng(11)
    _random_records(factory, rng)

    def summed() -> list:
        m = AggIncidentMonth
        rows = session.execute(
            select(
                m.month,
                m.category,
                m.subtype,
                func.sum(m.n),
                func.sum(m.n_alcohol),
                func.sum(m.loss_yuan),
            ).group_by(m.month, m.category, m.subtype)
        ).all()
        return sorted(tuple(str(v) for v in r) for r in rows)

    def district() -> list:
        d = AggIncidentDistrictMonth
        rows = session.execute(
            select(d.month, d.category, d.subtype, d.n, d.n_alcohol, d.loss_yuan)
        ).all()
        return sorted(tuple(str(v) for v in r) for r in rows)

    aggregates.rebuild(session)
    assert district() == summed() and len(district()) > 5
    changed = sorted(session.scalars(select(Community.community_id)))[0]
    session.execute(text("DELETE FROM incidents WHERE community_id = :c"), {"c": changed})
    aggregates.rebuild(session, communities=[changed], tables=["incidents"])
    assert district() == summed()
    session.execute(delete(AggIncidentDistrictMonth))
    aggregates.derive(session)
    assert district() == summed()


def test_metric_tables_are_the_category_tables_summed_per_metric(session, factory):
    """agg_incident_metric_day / _month hold, per community and day / month, each headline
    metric as fangcang.incidents sums it from the category x subtype tables."""
    from fangcang import incidents
    from fangcang.metrics import METRIC_COLUMNS
    from fangcang.models import AggIncidentMetricDay, AggIncidentMetricMonth

    rng = np.random.default_rng(12)
    _random_records(factory, rng)
    aggregates.rebuild(session)
    for wide, narrow, grain in (
        (AggIncidentMetricDay, AggIncidentDay, "day"),
        (AggIncidentMetricMonth, AggIncidentMonth, "month"),
    ):
        keys = [narrow.community_id, getattr(narrow, grain)]
        expected = session.execute(
            select(*keys, *[incidents.sum_column(narrow, m) for m in METRIC_COLUMNS]).group_by(
                *keys
            )
        ).all()
        cols = [wide.community_id, getattr(wide, grain)]
        cols += [getattr(wide, c) for c in METRIC_COLUMNS.values()]
        got = session.execute(select(*cols)).all()
        assert sorted(map(tuple, got)) == sorted(map(tuple, expected)) and len(got) > 10
    # derived from the category x subtype tables (tests' fixtures): the same rows
    full = _snapshot(session)
    session.execute(delete(AggIncidentMetricDay))
    session.execute(delete(AggIncidentMetricMonth))
    aggregates.derive(session)
    assert _snapshot(session) == full


def test_district_hour_table_is_the_hour_table_summed_over_communities(session, factory):
    from fangcang.models import AggIncidentDistrictHour

    _random_records(factory, np.random.default_rng(13))
    aggregates.rebuild(session)
    h, d = AggIncidentHour, AggIncidentDistrictHour
    keys = [h.month, h.dow, h.hour, h.category]
    summed = session.execute(select(*keys, func.sum(h.n)).group_by(*keys)).all()
    got = session.execute(select(d.month, d.dow, d.hour, d.category, d.n)).all()
    assert sorted(map(tuple, got)) == sorted(map(tuple, summed)) and len(got) > 20
