"""Emerging hot spots: Gi* on a 3x3 grid against the formula, Mann-Kendall by hand, the category
rules on crafted series, and the district analysis end to end (islands, no residents, scope,
the map mode and the explanation line).

The grid district (``grid_district``): nine 0.01-degree squares G<r><c> (row r, column c),
1,000 residents each, and criminal incidents per month k = 0 .. 11 (2025-01 .. 2025-12):

    G00: 9 + k   G01: 8   G02: 1
    G10: 7       G11: 6   G12: 1
    G20: 1       G21: 1   G22: 1

plus an island I (far away, 1,000 residents, 1 a month) and N, touching G02, with no residents
(not assessed, so not anybody's neighbour). Rates per 1,000 residents equal the counts.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.stats import norm
from support import GRID, LAST, XS, YS, grid_counts, grid_district

from fangcang.access import Scope
from fangcang.models import AggIncidentDay
from fangcang.scoring import hotspots
from fangcang.scoring.hotspots import HotSpotCategory as C
from fangcang.timeutil import Month


def queen_neighbours(cid: str) -> set[str]:
    """Queen neighbours of a grid cell by its coordinates (itself included), the island alone."""
    if cid == "I":
        return {"I"}
    r, c = int(cid[1]), int(cid[2])
    return {f"G{r + dr}{c + dc}" for dr in (-1, 0, 1) for dc in (-1, 0, 1)} & set(GRID)


def gi_star_by_formula(values: dict[str, float], cid: str) -> float:
    """Ord & Getis (1995) z of Gi* with binary weights, the location included."""
    x = np.array(list(values.values()), dtype=float)
    n = len(x)
    xbar = x.mean()
    s = math.sqrt((x**2).mean() - xbar**2)
    nb = queen_neighbours(cid)
    w = len(nb)
    total = sum(values[j] for j in nb)
    return (total - w * xbar) / (s * math.sqrt((n * w - w * w) / (n - 1)))


# ---------------------------------------------------------------------------------------------
# Gi* on a 3x3 grid
# ---------------------------------------------------------------------------------------------
def _grid_weights(with_island: bool = False):
    geoms = [
        shapely.box(XS[int(c[2])], YS[int(c[1])], XS[int(c[2]) + 1], YS[int(c[1]) + 1])
        for c in GRID
    ]
    ids = list(GRID)
    if with_island:
        geoms.append(shapely.box(121.0, 28.5, 121.01, 28.51))
        ids.append("I")
    return hotspots.queen_weights(geoms, ids), ids


def test_queen_weights_of_a_grid():
    w, _ = _grid_weights(with_island=True)
    assert w.cardinalities["G00"] == 3  # a corner
    assert w.cardinalities["G01"] == 5  # an edge
    assert w.cardinalities["G11"] == 8  # the centre
    assert set(w.neighbors["G00"]) == {"G01", "G10", "G11"}
    assert w.islands == ["I"]


def test_gi_star_on_a_3x3_grid_matches_the_formula():
    # 9 8 1 / 7 6 1 / 1 1 1: the high corner is a hot spot, the opposite corner is not cold.
    values = dict(zip(GRID, [9, 8, 1, 7, 6, 1, 1, 1, 1], strict=True))
    w, ids = _grid_weights()
    z, p = hotspots.gi_star([values[c] for c in ids], w)
    got = dict(zip(ids, z, strict=True))
    # By hand for the corner: n = 9, mean 35/9, s = sqrt(235/9 - (35/9)^2), W = 4, sum 30.
    s = math.sqrt(235 / 9 - (35 / 9) ** 2)
    corner = (30 - 4 * 35 / 9) / (s * math.sqrt((9 * 4 - 16) / 8))
    assert corner == pytest.approx(2.7559, abs=1e-4)
    assert got["G00"] == pytest.approx(corner)
    for cid in GRID:
        if cid == "G11":
            continue  # its neighbourhood is the whole grid: see below
        assert got[cid] == pytest.approx(gi_star_by_formula(values, cid)), cid
    # The centre's neighbourhood is every location: it cannot stand out (z = 0, p = 1).
    assert got["G11"] == 0.0
    assert p[ids.index("G00")] == pytest.approx(2 * norm.sf(corner))
    assert p[ids.index("G11")] == 1.0


def test_gi_star_islands_and_constant_values():
    w, ids = _grid_weights(with_island=True)
    values = dict(zip(GRID, [9, 8, 1, 7, 6, 1, 1, 1, 1], strict=True)) | {"I": 1}
    z, p = hotspots.gi_star([values[c] for c in ids], w)
    assert math.isnan(z[ids.index("I")]) and math.isnan(p[ids.index("I")])
    # The island's value still counts in the district's mean and spread.
    assert z[ids.index("G00")] == pytest.approx(gi_star_by_formula(values, "G00"))
    z, p = hotspots.gi_star([3.0] * len(ids), w)
    assert np.all(z[:-1] == 0) and np.all(p[:-1] == 1)
    with pytest.raises(ValueError, match="one value per location"):
        hotspots.gi_star([1.0, 2.0], w)
    with pytest.raises(ValueError, match="finite"):
        hotspots.gi_star([float("nan")] * len(ids), w)


# ---------------------------------------------------------------------------------------------
# Mann-Kendall
# ---------------------------------------------------------------------------------------------
def test_mann_kendall_monotone_and_flat():
    up = hotspots.mann_kendall(list(range(1, 11)))
    # S = 45 pairs all rising; Var(S) = n(n-1)(2n+5)/18 = 10*9*25/18 = 125; z = (S-1)/sqrt(Var).
    assert up.s == 45 and up.tau == pytest.approx(1.0)
    assert up.z == pytest.approx(44 / math.sqrt(125))
    assert up.p == pytest.approx(2 * norm.sf(44 / math.sqrt(125)))
    assert up.trend == "up"
    down = hotspots.mann_kendall(list(range(10, 0, -1)))
    assert down.s == -45 and down.trend == "down" and down.z == pytest.approx(-44 / math.sqrt(125))
    flat = hotspots.mann_kendall([3] * 12)
    assert (flat.s, flat.z, flat.p, flat.trend) == (0, 0, 1.0, "flat")
    short = hotspots.mann_kendall([1, 3, 2])  # S = (+1) + (+1) + (-1) = 1: not significant
    assert short.s == 1 and short.trend == "flat"
    with pytest.raises(ValueError, match="at least 3"):
        hotspots.mann_kendall([1, 2])


# ---------------------------------------------------------------------------------------------
# Category rules
# ---------------------------------------------------------------------------------------------
def flags(n: int, hot=(), cold=()):
    h = np.zeros(n, dtype=bool)
    c = np.zeros(n, dtype=bool)
    h[list(hot)] = True
    c[list(cold)] = True
    return h, c


@pytest.mark.parametrize(
    ("hot", "cold", "trend", "expected"),
    [
        ((23,), (), "flat", C.NEW_HOT),
        ((23,), (3,), "flat", C.NEW_HOT),  # a cold past does not stop "new" (checked first)
        ((21, 22, 23), (), "flat", C.CONSECUTIVE_HOT),
        ((22, 23), (), "down", C.CONSECUTIVE_HOT),
        ((5, 22, 23), (), "flat", C.SPORADIC_HOT),  # hot before the final run
        ((2, 9, 23), (), "up", C.SPORADIC_HOT),
        ((9, 23), (3,), "flat", C.OSCILLATING_HOT),
        (tuple(range(2, 24)), (), "up", C.INTENSIFYING_HOT),  # 22 of 24 >= 90%
        (tuple(range(2, 24)), (), "flat", C.PERSISTENT_HOT),
        (tuple(range(2, 24)), (), "down", C.DIMINISHING_HOT),
        ((0, *range(4, 24)), (), "up", C.SPORADIC_HOT),  # 21 of 24 < 90%: not persistent
        (tuple(range(3, 24)), (), "up", C.CONSECUTIVE_HOT),  # 21 in one final run
        (tuple(range(0, 22)), (), "flat", C.HISTORICAL_HOT),  # 22 hot, the final month not
        ((), (23,), "flat", C.NEW_COLD),
        ((), (20, 21, 22, 23), "flat", C.CONSECUTIVE_COLD),
        ((), tuple(range(2, 24)), "down", C.INTENSIFYING_COLD),  # counts keep falling
        ((), tuple(range(2, 24)), "up", C.DIMINISHING_COLD),
        ((), tuple(range(2, 24)), "flat", C.PERSISTENT_COLD),
        ((), (1, 7, 23), "flat", C.SPORADIC_COLD),
        ((4,), (10, 23), "flat", C.OSCILLATING_COLD),
        ((), tuple(range(0, 22)), "up", C.HISTORICAL_COLD),
        ((), (), "up", C.NO_PATTERN),
        ((3, 4, 5), (), "flat", C.NO_PATTERN),  # hot in the past, not now, < 90%
        ((22,), (), "flat", C.NO_PATTERN),  # hot last month only, not in the final month
    ],
)
def test_category_rules(hot, cold, trend, expected):
    h, c = flags(24, hot, cold)
    assert hotspots.classify(h, c, trend) is expected


def test_category_rules_at_the_90_percent_line_and_errors():
    h, c = flags(10, hot=range(1, 10))  # 9 of 10 = 90%
    assert hotspots.classify(h, c, "flat") is C.PERSISTENT_HOT
    h, c = flags(10, hot=range(2, 10))  # 8 of 10, one run ending now, never hot before
    assert hotspots.classify(h, c, "flat") is C.CONSECUTIVE_HOT
    with pytest.raises(ValueError, match="both hot and cold"):
        hotspots.classify(*flags(3, hot=(1,), cold=(1,)))
    with pytest.raises(ValueError, match="trend"):
        hotspots.classify(*flags(3), trend="rising")
    with pytest.raises(ValueError, match="equal-length"):
        hotspots.classify([True], [False, False])
    assert C.PERSISTENT_HOT.hot_now and not C.HISTORICAL_HOT.hot_now
    assert C.NEW_COLD.is_cold and not C.ISLAND.is_hot and not C.NO_PATTERN.is_cold


# ---------------------------------------------------------------------------------------------
# The district
# ---------------------------------------------------------------------------------------------
def test_categories_of_the_grid_district(session, factory):
    grid_district(session, factory)
    df = hotspots.categories(session, LAST)
    assert list(df.columns) == hotspots.COLUMNS
    assert df.attrs["first"] == "2025-01" and df.attrs["last"] == "2025-12"
    assert df.attrs["months"] == 12 and df.attrs["islands"] == ["I"]
    assert df.attrs["not_assessed"] == ["N"]
    row = df.set_index("community_id")
    # Final month (k = 11): every Gi* z as the formula gives over the ten assessed rates.
    values = grid_counts(11)
    for cid in GRID:
        if cid != "G11":
            assert row.at[cid, "gi_z"] == pytest.approx(gi_star_by_formula(values, cid)), cid
    # The high corner is hot every month and its counts rise every month: intensifying.
    hot_months = sum(gi_star_by_formula(grid_counts(k), "G00") > norm.isf(0.025) for k in range(12))
    assert hot_months == 12 and row.at["G00", "hot_months"] == 12
    assert row.at["G00", "category"] == C.INTENSIFYING_HOT.value
    assert row.at["G00", "trend"] == "up" and row.at["G00", "mk_tau"] == pytest.approx(1.0)
    assert row.at["G00", "crime_last"] == 20 and row.at["G00", "rate_last"] == pytest.approx(20.0)
    assert df.iloc[0]["community_id"] == "G00"  # hot spots first
    for cid in ("G01", "G02", "G10", "G11", "G12", "G20", "G21", "G22"):
        assert row.at[cid, "category"] == C.NO_PATTERN.value, cid
        assert row.at[cid, "trend"] == "flat"
    # N has no residents: not assessed and nobody's neighbour (G02 keeps its 3 grid neighbours).
    assert row.at["N", "category"] == C.NOT_ASSESSED.value and row.at["G02", "neighbours"] == 3
    assert row.at["I", "category"] == C.ISLAND.value and row.at["I", "neighbours"] == 0
    assert math.isnan(row.at["I", "gi_z"]) and row.at["I", "hot_months"] == 0
    counts = hotspots.category_counts(df)
    assert counts["intensifying_hot"] == 1 and counts["no_pattern"] == 8
    assert counts["island"] == 1 and counts["not_assessed"] == 1 and sum(counts.values()) == 11

    # A scope filters the rows only: Gi* still uses the whole district.
    one = hotspots.categories(session, LAST, Scope.of(["G00", "I"]))
    assert sorted(one["community_id"]) == ["G00", "I"]
    assert one.set_index("community_id").at["G00", "gi_z"] == pytest.approx(row.at["G00", "gi_z"])
    frame, reason = hotspots.categories_or_reason(session, LAST, Scope.of(["G00", "I"]))
    assert reason == "" and frame.equals(one) and frame.attrs == one.attrs


def test_explanation_line_in_both_languages(session, factory):
    grid_district(session, factory)
    zh = hotspots.explanation_for(session, "G00", LAST, "zh")
    assert zh.startswith("属于高发案社区聚集区") and "加剧热点" in zh and "近12个月" in zh
    en = hotspots.explanation_for(session, "G00", LAST, "en")
    assert en.startswith("Part of a cluster of high-crime communities") and "Intensifying" in en
    assert hotspots.explanation_for(session, "G22", LAST) is None  # no pattern: no line
    assert hotspots.explanation_for(session, "G00", LAST.shift(5)) is None  # beyond the data


def test_too_few_months_and_bad_arguments(session, factory):
    grid_district(session, factory, months=9)
    with pytest.raises(ValueError, match="at least 10 complete months"):
        hotspots.categories(session, LAST)
    frame, reason = hotspots.categories_or_reason(session, LAST)
    assert frame is None and "at least 10 complete months" in reason
    with pytest.raises(ValueError, match="after the last complete month"):
        hotspots.categories(session, LAST.shift(1))
    with pytest.raises(ValueError, match="months must be"):
        hotspots.categories(session, LAST, months=5)
    with pytest.raises(ValueError, match="alpha"):
        hotspots.categories(session, LAST, alpha=1.5)


def test_no_incident_data(session, factory):
    factory.community("X")
    with pytest.raises(ValueError, match="no incident data"):
        hotspots.categories(session, LAST)


def test_partial_first_and_last_months_are_not_analysed(session, factory):
    """Data from 2025-01-15 to 2025-12-20: the complete months are 2025-02 .. 2025-11."""
    from fangcang.scoring.monthly import data_span

    grid_district(session, factory)
    session.query(AggIncidentDay).filter(
        AggIncidentDay.day.in_([date(2025, 1, 1), date(2025, 12, 31)])
    ).delete(synchronize_session=False)
    session.commit()
    assert data_span(session) == (Month(2025, 2), Month(2025, 11))
    df = hotspots.categories(session, Month(2025, 11))
    assert (df.attrs["first"], df.attrs["months"]) == ("2025-02", 10)


def test_map_in_hot_spot_mode(session, factory):
    from fangcang import maps, palette

    grid_district(session, factory)
    view = maps.map_view(session, Scope.district(), LAST, colour_by="hotspot", lang="zh")
    html = maps.map_html(view.map)
    assert palette.HOTSPOT_COLOURS["intensifying_hot"] in html
    assert "加剧热点 (1)" in html and "无显著模式 (8)" in html and "无相邻社区 (1)" in html
    assert "Gi* 按月（p&lt;0.05），2025-01 至 2025-12" in html
    assert "branca" not in html and "d3js" not in html
    table = view.communities.set_index("community_id")
    assert table.at["G00", "value"] == "intensifying_hot"
    en = maps.map_html(
        maps.map_view(session, Scope.district(), LAST, colour_by="hotspot", lang="en").map
    )
    assert "Intensifying hot spot (1)" in en
    # Too little data: every community "no value" and the reason in the legend; no error.
    short = maps.map_view(session, Scope.district(), Month(2025, 6), colour_by="hotspot")
    assert short.communities["value"].isna().all()
    assert "at least 10 complete months" in maps.map_html(short.map)


def test_community_explanation_gets_the_cluster_line(session, factory):
    from fangcang import community
    from tests.dashboard_data import add_run

    grid_district(session, factory)
    add_run(session, LAST, {cid: "yellow" for cid in GRID})
    session.commit()
    p = community.profile(session, Scope.district(), "G00", LAST, "zh")
    assert p.warning["sentences"][-1].startswith("属于高发案社区聚集区")
    q = community.profile(session, Scope.district(), "G22", LAST, "zh")
    assert not any("聚集区" in line for line in q.warning["sentences"])


def test_counts_by_month_query(session, factory):
    from fangcang.scoring.monthly import crime_by_month, months_without_data

    grid_district(session, factory)
    m = crime_by_month(session, ["G00", "G22", "zzz"], Month(2025, 1), Month(2025, 3))
    assert m.tolist() == [[9, 10, 11], [1, 1, 1], [0, 0, 0]]  # disputes are not crime
    assert months_without_data(session, Month(2024, 11), Month(2025, 2)) == [
        Month(2024, 11),
        Month(2024, 12),
    ]
    with pytest.raises(ValueError, match="ends"):
        crime_by_month(session, ["G00"], Month(2025, 3), Month(2025, 1))


def test_a_city_district_is_its_own_study_area(session, factory):
    """A second district (standard codes) adjacent to the grid: it never enters the grid's Gi*,
    though it touches it. ``district=`` analyses one district and reads only its communities;
    the default analyses each district on its own (the same categories whichever page asks:
    the map's colours too); a community's explanation line uses its district."""
    from fangcang import community
    from fangcang.models import AggPopulation, IncidentCategory, ResidenceType
    from tests.dashboard_data import add_run

    grid_district(session, factory)  # local codes (SDG): the unnamed district ""
    sd = factory.sub_district("330303024", "海滨街道")
    st = factory.station("STL", "海滨派出所")
    for k, cid in enumerate(("L1", "L2")):  # touching G02's east side, many crimes
        x0 = XS[3] + 0.01 * k
        factory.community(
            cid, name=f"龙{k}社区", sub_district=sd, station=st, bbox=(x0, YS[0], x0 + 0.01, YS[1])
        )
        session.add(
            AggPopulation(community_id=cid, residence_type=ResidenceType.REGISTERED, n=1000)
        )
    for k in range(12):
        for cid, n in (("L1", 40), ("L2", 30)):
            day = LAST.shift(-k).first_day.replace(day=15)
            session.add(
                AggIncidentDay(
                    community_id=cid,
                    day=day,
                    category=IncidentCategory.CRIMINAL,
                    subtype="",
                    n=n,
                    n_alcohol=0,
                    loss_yuan=0.0,
                )
            )
    add_run(session, LAST, {cid: "yellow" for cid in GRID})
    session.commit()

    whole = hotspots.categories(session, LAST).set_index("community_id")
    grid = hotspots.categories(session, LAST, district="").set_index("community_id")
    other = hotspots.categories(session, LAST, district="330303").set_index("community_id")
    assert "L1" in whole.index and "L1" not in grid.index
    assert sorted(other.index) == ["L1", "L2"] and other.attrs["not_assessed"] == []
    # The grid's local codes name no district: said, whenever its communities are analysed.
    assert whole.attrs["unplaced"] == grid.attrs["unplaced"] == sorted(grid.index)
    assert other.attrs["unplaced"] == []
    # The grid alone: every Gi* z as the formula gives over the grid's own rates.
    values = grid_counts(11)
    for cid in ("G00", "G02", "G21"):
        assert grid.at[cid, "gi_z"] == pytest.approx(gi_star_by_formula(values, cid)), cid
    # The default: each district its own study area, the rows of both put together.
    both = pd.concat([grid, other])
    assert sorted(whole.index) == sorted(both.index)
    pd.testing.assert_frame_equal(whole.sort_index(), both.sort_index(), check_like=True)
    # Mixing the districts would have changed the grid's edge (G02 touches L1).
    from fangcang.divisions import district_areas

    mixed = hotspots._categories(
        session,
        hotspots.analysis_months(session, LAST, hotspots.MONTHS),
        Scope.district(),
        hotspots.ALPHA,
        None,
        LAST,
    ).set_index("community_id")
    assert mixed.at["G02", "gi_z"] != pytest.approx(grid.at["G02", "gi_z"])
    assert sorted(district_areas(session)) == ["", "330303"]
    # The map's hot-spot colours are these categories.
    from fangcang.maps.colours import hotspot_values

    on_map = hotspot_values(session, Scope.district(), LAST).set_index("community_id")
    assert on_map["value"].to_dict() == whole["category"].to_dict()
    assert grid.at["G00", "category"] == C.INTENSIFYING_HOT.value
    # The community page's line: G00 analysed within its district, as the grid alone.
    p = community.profile(session, Scope.district(), "G00", LAST, "zh")
    assert p.district == ""
    assert p.warning["sentences"][-1] == hotspots.explanation_line(grid.loc["G00"], "zh")
    assert hotspots.explanation_for(session, "G00", LAST, "zh", "") == hotspots.explanation_line(
        grid.loc["G00"], "zh"
    )
