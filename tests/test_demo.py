"""The Lucheng demo district: geography, fake identities, the story, and the build through the
importer (small scale; the full-size timing lives in bench/bench_demo.py)."""

from __future__ import annotations

import filecmp
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fangcang import db, demo
from fangcang.demo import builder, idcard, incidents, names, people, places, story
from fangcang.demo.geography import build_geography, load_outline
from fangcang.models import Community, House, Incident, Person, SubDistrict
from fangcang.timeutil import Month

UNTIL = Month(2026, 10)
CRIME = ("criminal", "public_order")


# ---------------------------------------------------------------------------------------------
# Geography
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def geo():
    return build_geography(np.random.default_rng(builder.GEOGRAPHY_SEED))


def test_120_communities_tile_the_outline(geo):
    comm = geo.communities
    assert len(comm) == 120
    assert comm["community_id"].is_unique
    geoms = list(comm["geometry"])
    assert all(g.is_valid and g.geom_type == "Polygon" for g in geoms)
    outline = load_outline()
    union = shapely.union_all(geoms)
    # No gaps: the union covers the outline; no overlaps: the areas add up to the union.
    assert union.area == pytest.approx(outline.area, rel=1e-5)
    assert sum(g.area for g in geoms) == pytest.approx(union.area, rel=1e-9)
    assert shapely.coverage_is_valid(shapely.GeometryCollection(geoms))
    assert outline.buffer(1e-6).contains(union)
    # Modest vertex counts (the map builder simplifies further).
    assert max(len(g.exterior.coords) for g in geoms) < 80


def test_divisions_and_their_communities(geo):
    assert len(geo.divisions) == 14
    assert geo.communities["division"].nunique() == 14
    yanjiang = geo.communities[geo.communities["name"] == "沿江社区"]
    assert list(yanjiang["division"]) == ["仰义街道"]
    assert geo.communities["name"].is_unique
    # Each community lies in its division's label-point Voronoi region: its centroid is
    # nearer to its own division's label point than to most others (sanity of assignment),
    # and urban communities are smaller than rural ones.
    area = geo.communities.groupby("urban")["area_km2"].median()
    assert area[2] < area[1] < area[0]
    per_station = geo.communities.groupby("station_id")["sub_district_code"].nunique()
    assert len(per_station) == 8 and per_station.max() >= 2
    assert geo.communities["officer_id"].is_unique


# ---------------------------------------------------------------------------------------------
# Fake identities
# ---------------------------------------------------------------------------------------------
def _check_char(first17: str) -> str:
    """GB 11643-1999, written out independently of the generator."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]


def test_id_numbers_have_correct_check_digits_birth_dates_and_gender():
    rng = np.random.default_rng(7)
    n = 5000
    birth = np.datetime64("1930-01-01") + rng.integers(0, 34000, n).astype("timedelta64[D]")
    male = rng.random(n) < 0.5
    region = np.where(rng.random(n) < 0.5, idcard.LUCHENG, idcard.OTHER_REGIONS[0])
    ids = idcard.id_numbers(region, birth, male, rng).astype(str)
    for value, b, m, r in zip(ids, birth, male, region, strict=True):
        assert len(value) == 18
        assert value[17] == _check_char(value[:17])
        assert value[:6] == str(r)
        datetime.strptime(value[6:14], "%Y%m%d")  # a real calendar date
        assert value[6:14] == str(b).replace("-", "")
        assert (int(value[16]) % 2 == 1) == bool(m)
    assert len(set(ids)) == n  # unique, like real ID numbers
    # Even 450 people of one gender born on one day in one region get distinct numbers.
    same = idcard.id_numbers(
        np.full(450, idcard.LUCHENG),
        np.full(450, np.datetime64("1990-05-01")),
        np.ones(450, bool),
        rng,
    ).astype(str)
    assert len(set(same)) == 450 and all(v[17] == _check_char(v[:17]) for v in same)
    assert idcard.is_valid_id("11010519491231002X")
    assert not idcard.is_valid_id("110105194912310021")


def test_phones_and_names_look_real():
    rng = np.random.default_rng(1)
    phones = idcard.phones(2000, rng).astype(str)
    assert all(len(p) == 11 and p.isdigit() and p[0] == "1" for p in phones)
    assert {int(p[:3]) for p in phones} <= set(idcard.MOBILE_PREFIXES.tolist())
    got = names.person_names(rng.random(2000) < 0.5, rng).to_pylist()
    assert all(2 <= len(x) <= 3 for x in got)
    assert len(set(got)) > 1500  # varied, not a handful of names


# ---------------------------------------------------------------------------------------------
# The bundle and the story (generator only: fast, and big enough that the signal is not noise)
# ---------------------------------------------------------------------------------------------
def test_same_seed_same_bundle_other_seed_other_bundle(tmp_path):
    a = demo.write_bundle(tmp_path / "a", scale="small", seed=5, until=UNTIL)
    b = demo.write_bundle(tmp_path / "b", scale="small", seed=5, until=UNTIL)
    demo.write_bundle(tmp_path / "c", scale="small", seed=6, until=UNTIL)
    assert a["files"] == b["files"]
    for name in a["files"]:
        assert filecmp.cmp(tmp_path / "a" / name, tmp_path / "b" / name, shallow=False), name
    assert not filecmp.cmp(
        tmp_path / "a" / "people.csv", tmp_path / "c" / "people.csv", shallow=False
    )
    assert set(a["files"]) == set(builder.FILES)


def _yoy(frame: pd.DataFrame, mask, until: Month) -> float:
    month = frame["occurred_at"].dt.to_period("M")
    last = month > pd.Period(str(until.shift(-12)), "M")
    return mask[last].sum() / mask[~last].sum() - 1


def _focus(frame: pd.DataFrame, community_id: str, until: Month, crime_only: bool) -> float:
    month = frame["occurred_at"].dt.to_period("M")
    start = pd.Period(str(until.shift(-story.FOCUS_MONTHS + 1)), "M")
    mine = frame["community_id"].eq(community_id)
    if crime_only:
        mine &= frame["category"].isin(CRIME)
    before = mine & (month >= start - story.FOCUS_MONTHS) & (month < start)
    after = mine & (month >= start)
    return after.sum() / before.sum() - 1


@pytest.fixture(scope="module")
def medium_incidents(geo):
    """Incidents at the medium scale (about 40,000), generated without a database."""
    scale = story.SCALES["medium"]
    prof = story.community_profile(geo, np.random.default_rng(builder.GEOGRAPHY_SEED + 1))
    months = [UNTIL.shift(k - 23) for k in range(24)]
    end = np.datetime64(UNTIL.last_day, "D")
    rng = np.random.default_rng(3)
    houses = people.make_houses(geo, prof, scale, end, rng)
    pl = places.make_places(geo, prof, scale, end, rng)
    cols = incidents.make_incidents(geo, prof, houses, pl, scale, months, rng)
    frame = pd.DataFrame(
        {
            k: (v.to_numpy(zero_copy_only=False) if hasattr(v, "to_numpy") else v)
            for k, v in cols.items()
        }
    )
    return frame, prof, houses, pl


def test_story_district_year_on_year(medium_incidents):
    frame, *_ = medium_incidents
    crime = frame["category"].isin(CRIME)
    assert _yoy(frame, crime, UNTIL) == pytest.approx(-0.15, abs=0.01)
    assert _yoy(frame, frame["subtype"].eq("assault"), UNTIL) == pytest.approx(-0.09, abs=0.01)
    assert _yoy(frame, frame["subtype"].eq("telecom_fraud"), UNTIL) == pytest.approx(
        -0.45, abs=0.01
    )
    # The other 110 calls stay about level: the fall is in crime, not in everything.
    assert -0.06 < _yoy(frame, ~crime, UNTIL) < 0.04


def test_story_yanjiang_rises_then_falls_after_focused_work(geo, medium_incidents):
    frame, *_ = medium_incidents
    cid = geo.communities.loc[geo.communities["name"] == "沿江社区", "community_id"].item()
    assert _focus(frame, cid, UNTIL, crime_only=False) == pytest.approx(-0.29, abs=0.02)
    assert _focus(frame, cid, UNTIL, crime_only=True) == pytest.approx(-0.35, abs=0.03)
    month = frame["occurred_at"].dt.to_period("M")
    mine = frame["community_id"].eq(cid)
    first_half = mine & (month <= pd.Period(str(UNTIL.shift(-18)), "M"))
    before = mine & month.between(
        pd.Period(str(UNTIL.shift(-11)), "M"), pd.Period(str(UNTIL.shift(-6)), "M")
    )
    assert before.sum() > 1.3 * first_half.sum()  # it was getting worse


def test_story_worse_communities_and_density(geo, medium_incidents):
    frame, prof, houses, pl = medium_incidents
    crime = frame[frame["category"].isin(CRIME)]
    per_comm = (
        crime.groupby("community_id").size().reindex(geo.communities["community_id"], fill_value=0)
    )
    per_comm.index = range(len(per_comm))
    # Density follows population (and venues): strong correlation across communities.
    pop = prof["pop_w"].to_numpy()
    assert np.corrcoef(per_comm.to_numpy(), pop)[0, 1] > 0.5
    # The worse communities have more crime per resident than any ordinary one on average.
    rate = per_comm.to_numpy() / pop
    worse = prof["worse"].to_numpy()
    assert rate[worse].min() > np.median(rate[~worse]) * 1.5
    # Alcohol-related incidents happen mostly at night.
    hour = frame.loc[frame["alcohol_related"], "occurred_at"].dt.hour
    assert ((hour >= 20) | (hour < 4)).mean() > 0.8
    # Losses only where money is lost; telecom fraud costs most.
    loss = frame.groupby("subtype")["loss_yuan"].median()
    assert loss["telecom_fraud"] > loss["theft"] > 0
    assert loss["assault"] == 0


# ---------------------------------------------------------------------------------------------
# The build through the importer (SQLite, and PostgreSQL when configured)
# ---------------------------------------------------------------------------------------------
CALLS: list[tuple[str, object]] = []


def record_first(ctx):
    CALLS.append(("first", ctx))
    ctx.progress(0.5, "half way")
    return {"things": 2}


def record_second(ctx):
    CALLS.append(("second", ctx))
    return {}


def test_build_small_loads_everything_through_the_importer(engine, monkeypatch, tmp_path):
    monkeypatch.setattr(
        demo, "EXTENSIONS", [f"{__name__}:record_first", f"{__name__}:record_second"]
    )
    CALLS.clear()
    seen = []
    result = demo.build(
        engine,
        scale="small",
        seed=11,
        until=UNTIL,
        out=tmp_path / "bundle",
        progress=lambda f, m: seen.append((f, m)),
    )
    imp = result["import"]
    assert imp.status.value == "ok" and imp.rejected == 0
    files = result["bundle"]["files"]
    with Session(engine) as s:
        for model, name in (
            (Person, "people.csv"),
            (House, "houses.csv"),
            (Incident, "incidents.csv"),
            (Community, "communities.geojson"),
        ):
            assert s.scalar(select(func.count()).select_from(model)) == files[name], name
        assert s.scalar(select(func.count()).select_from(SubDistrict)) == 14
        assert db.get_meta(s, "demo") == "lucheng"
        row = s.execute(
            select(Community.name, SubDistrict.name)
            .join(SubDistrict, SubDistrict.code == Community.sub_district_code)
            .where(Community.name == "沿江社区")
        ).one()
        assert row == ("沿江社区", "仰义街道")
        ids = s.scalars(select(Person.id_number).where(Person.id_number.is_not(None))).all()
        assert ids and all(v[17] == _check_char(v[:17]) for v in ids)
        assert len(set(ids)) == len(ids)
        # registered_residents is the number of people linked to the house.
        linked = dict(
            s.execute(
                select(Person.house_id, func.count())
                .where(Person.house_id.is_not(None))
                .group_by(Person.house_id)
            ).all()
        )
        for hid, n in s.execute(select(House.house_id, House.registered_residents)).all():
            assert linked.get(hid, 0) == n
        frame = pd.read_sql(
            text("SELECT occurred_at, category, subtype, community_id FROM incidents"),
            s.connection(),
            parse_dates=["occurred_at"],
        )
    # The story already holds at this size (exact totals per stratum, rounding aside).
    assert _yoy(frame, frame["category"].isin(CRIME), UNTIL) == pytest.approx(-0.15, abs=0.01)
    assert _yoy(frame, frame["subtype"].eq("telecom_fraud"), UNTIL) == pytest.approx(
        -0.45, abs=0.03
    )
    assert frame["occurred_at"].max() < UNTIL.end
    assert frame["occurred_at"].min() >= UNTIL.shift(-23).start
    # Extensions ran in order, with the build's context, after the import.
    assert [name for name, _ in CALLS] == ["first", "second"]
    ctx = CALLS[0][1]
    assert (ctx.scale, ctx.seed, ctx.until) == ("small", 11, UNTIL)
    assert result["extensions"][f"{__name__}:record_first"] == {"things": 2}
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert (tmp_path / "bundle" / "people.csv").exists()  # --out keeps the bundle
    assert imp.counts["people"] == files["people.csv"]  # parts (if any) added up


def test_big_files_are_imported_in_parts(engine, monkeypatch, tmp_path):
    """An empty database gets the bundle in parts (memory) of one first load: the same
    records as the bundle, one import log, aggregates as a full rebuild makes them, and the
    per-phase peak memory reported."""
    from fangcang import aggregates

    monkeypatch.setattr(demo, "EXTENSIONS", [])
    monkeypatch.setattr(builder, "PART_BYTES", 1)
    monkeypatch.setattr(builder, "PART_ROWS", 700)
    result = demo.build(engine, scale="small", seed=5, until=UNTIL, out=tmp_path / "b")
    imp = result["import"]
    files = result["bundle"]["files"]
    assert imp.ok and imp.counts["people"] == files["people.csv"] > 700
    assert imp.aggregates["people"] == "full"
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Person)) == files["people.csv"]
        logs = s.execute(text("SELECT files FROM import_log WHERE channel = 'demo'")).all()
        assert len(logs) == 1 and json.loads(logs[0][0]) == files
        before = _aggregate_rows(s)
        aggregates.rebuild(s)
        assert _aggregate_rows(s) == before
        assert (
            s.scalar(text("SELECT sum(n) FROM agg_records WHERE kind = 'people'"))
            == (files["people.csv"])
        )
    assert not (tmp_path / "b" / "parts").exists()
    peaks = result["peak_rss_mb"]
    assert {"generate", "import", "import: load", "extensions"} <= set(peaks)
    assert all(v > 0 for v in peaks.values())


def _aggregate_rows(s: Session) -> dict[str, list]:
    from fangcang import aggregates

    out = {}
    for name, agg in aggregates.AGGS.items():
        cols = ", ".join(agg.columns)
        rows = s.execute(text(f"SELECT {cols} FROM {name}")).all()  # noqa: S608
        out[name] = sorted(tuple(str(v) for v in r) for r in rows)
    return out


def test_build_fails_clearly_and_changes_nothing_when_a_row_is_rejected(
    engine, monkeypatch, tmp_path
):
    real = builder.write_bundle

    def broken(folder, **kw):
        out = real(folder, **kw)
        with open(Path(folder) / "incidents.csv", "a", encoding="utf-8") as f:
            f.write(
                '"JQ999999999",2026-10-01 10:00:00,"no_such_category","",120.66,28.03,'
                '"330302006001",0,false,"110",2026-10-01 11:00:00\n'
            )
        return out

    monkeypatch.setattr(builder, "write_bundle", broken)
    monkeypatch.setattr(demo, "EXTENSIONS", [])
    with pytest.raises(RuntimeError, match="rejected"):
        demo.build(engine, scale="small", seed=1, until=UNTIL)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Community)) == 0
        assert db.get_meta(s, "demo") is None


def test_unknown_scale_or_unfinished_month_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="scale must be one of"):
        demo.write_bundle(tmp_path, scale="huge", until=UNTIL)
    from fangcang.timeutil import last_complete_month

    with pytest.raises(ValueError, match="has not ended yet"):
        demo.write_bundle(tmp_path, scale="small", until=last_complete_month().shift(1))
    assert not list(tmp_path.iterdir())  # nothing written


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------
def test_cli_bundle_only_writes_files_and_no_database(tmp_path, capsys):
    from fangcang.cli import main

    url = f"sqlite:///{tmp_path / 'never.db'}"
    code = main(
        [
            "--db",
            url,
            "demo",
            "--scale",
            "small",
            "--until",
            "2026-10",
            "--out",
            str(tmp_path / "b"),
            "--bundle-only",
        ]
    )
    assert code == 0
    assert "incidents.csv" in capsys.readouterr().out
    assert (tmp_path / "b" / "communities.geojson").exists()
    assert not (tmp_path / "never.db").exists()
    doc = json.loads((tmp_path / "b" / "communities.geojson").read_text(encoding="utf-8"))
    assert len(doc["features"]) == 120


def test_cli_refuses_a_database_that_holds_data(sqlite_engine, factory_on_sqlite, capsys):
    from fangcang.cli import main

    code = main(
        [
            "--db",
            sqlite_engine.url.render_as_string(hide_password=False),
            "demo",
            "--scale",
            "small",
            "--until",
            "2026-10",
        ]
    )
    assert code == 2
    assert "already holds 1 community;" in capsys.readouterr().err


def test_cli_rejects_a_bad_until(capsys):
    from fangcang.cli import main

    assert main(["demo", "--until", "2026/10", "--bundle-only", "--out", "x"]) == 2
    assert "YYYY-MM" in capsys.readouterr().err


@pytest.fixture
def factory_on_sqlite(sqlite_engine):
    from tests.conftest import Factory

    with Session(sqlite_engine) as s:
        Factory(s).community()
        s.commit()


def test_an_interrupted_build_finishes_its_extensions(engine, monkeypatch):
    monkeypatch.setattr(
        demo, "EXTENSIONS", [f"{__name__}:record_first", f"{__name__}:record_second"]
    )
    CALLS.clear()
    ready = []
    demo.build(engine, scale="small", seed=3, until=UNTIL, ready=lambda: ready.append(1))
    assert [n for n, _ in CALLS] == ["first", "second"] and ready == [1]
    assert builder.build_state(engine) == "done"
    with Session(engine) as s:  # as if the server stopped after the first extension
        db.set_meta(s, builder.DONE_META, f"{__name__}:record_first")
        db.set_meta(s, builder.BUILD_META, "filling")
        s.commit()
    CALLS.clear()
    out = builder.finish_extensions(engine)
    assert [n for n, _ in CALLS] == ["second"] and list(out) == [f"{__name__}:record_second"]
    assert builder.build_state(engine) == "done"


def test_birth_dates_have_no_pile_ups(geo):
    """No birth date is shared by crowds (a clipped age tail once put thousands on one day,
    which also exhausted the ID sequence numbers at full size)."""
    prof = story.community_profile(geo, np.random.default_rng(builder.GEOGRAPHY_SEED + 1))
    end = np.datetime64(UNTIL.last_day, "D")
    rng = np.random.default_rng(4)
    houses = people.make_houses(geo, prof, story.SCALES["medium"], end, rng)
    ppl = people.make_people(geo, prof, houses, end, rng)
    per_day = pd.Series(ppl["birth_date"]).value_counts()
    assert per_day.max() < 40, per_day.head()
    ids = ppl["id_number"].drop_null().to_pylist()
    assert len(set(ids)) == len(ids)
    age = (end - ppl["birth_date"]).astype(np.int64) / 365.25
    assert age.min() >= 0 and age.max() < 100
    floating = np.asarray(ppl["residence_type"].to_pylist()) == "floating"
    assert 16 <= age[floating].min() and age[floating].max() < 70
