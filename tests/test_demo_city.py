"""Other districts of a synthetic city (bench/bench_city.py): the Lucheng generator moved and
recoded must give distinct, valid codes and keys, and points inside their own communities."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import shape

from fangcang.demo import builder
from fangcang.demo.geography import CITY_DISTRICTS, build_geography, relocate
from fangcang.timeutil import Month

UNTIL = Month(2026, 10)


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    out = {}
    for d in (0, 4):
        folder = tmp_path_factory.mktemp(f"district{d}")
        builder.write_bundle(folder, scale="small", seed=7 + d, until=UNTIL, district=d)
        out[d] = folder
    return out


def _csv(folder, name):
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)


def test_another_district_has_its_own_codes_keys_and_region(bundles):
    region, name = CITY_DISTRICTS[4]
    lucheng, other = bundles[0], bundles[4]
    for file, key in [
        ("sub_districts.csv", "code"),
        ("stations.csv", "station_id"),
        ("officers.csv", "officer_id"),
        ("houses.csv", "house_id"),
        ("people.csv", "person_id"),
        ("places.csv", "place_id"),
        ("objects.csv", "object_id"),
        ("events.csv", "event_id"),
        ("incidents.csv", "incident_id"),
    ]:
        a, b = _csv(lucheng, file)[key], _csv(other, file)[key]
        assert b.str.startswith(str(region)).all(), file
        assert b.is_unique and not set(a) & set(b), file
    people = _csv(other, "people.csv")
    houses = set(_csv(other, "houses.csv")["house_id"])
    assert set(people.loc[people["house_id"] != "", "house_id"]) <= houses
    registered = people[people["residence_type"] == "registered"]["id_number"]
    assert (registered.str[:6] == str(region)).mean() > 0.8
    assert _csv(other, "sub_districts.csv")["name"].str.startswith(name[:2]).all()
    assert _csv(other, "houses.csv")["address"].str.startswith(name).all()


def test_points_fall_inside_their_own_moved_communities(bundles):
    doc = json.loads((bundles[4] / "communities.geojson").read_text(encoding="utf-8"))
    polys = {f["properties"]["community_id"]: shape(f["geometry"]) for f in doc["features"]}
    lucheng = json.loads((bundles[0] / "communities.geojson").read_text(encoding="utf-8"))
    first = shape(lucheng["features"][0]["geometry"])
    assert not any(p.intersects(first) for p in polys.values())  # its own place
    for file in ("houses.csv", "places.csv", "incidents.csv"):
        df = pd.read_csv(bundles[4] / file, dtype={"community_id": str})
        for cid, rows in df.groupby("community_id"):
            inside = shapely.contains_xy(polys[cid], rows["lon"], rows["lat"])
            assert inside.all(), (file, cid)


def test_relocate_zero_is_lucheng_and_a_bad_index_is_an_error():
    geo = build_geography(np.random.default_rng(builder.GEOGRAPHY_SEED))
    assert relocate(geo, 0) is geo
    with pytest.raises(ValueError, match="district index"):
        relocate(geo, len(CITY_DISTRICTS))
