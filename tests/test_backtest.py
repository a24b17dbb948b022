"""The back-test by hand on a five-community district (the worked example in docs/scoring.md,
"Back-test").

Communities A-E are equal squares (each 1/5 of the area); residents A 1000, B 2000, C 500,
D 0, E 1000. Criminal incidents every month from 2025-01: A 4, B 6, C 1, D 2, E 3 a month
through 2025-12; from 2026-01 A 8, B 5, C 1, D 2, E 3 a month (data end 2026-04-30).

Assessment month 2026-01 (last 12 months 2025-02 .. 2026-01, next quarter 2026-02 .. 04):

    last 12   A 52  B 71  C 12  D 24  E 36      12-month rate  A 52  B 35.5  C 24  E 36
    next      A 24  B 15  C 3   D 6   E 9 (57)  next rate      A 24  B 7.5   C 6   E 9
    model scores (given)  A 90  B 60  C 10  D 20  E 40

Assessment month 2025-12 (2025-01 .. 12; next 2026-01 .. 03, the same 24 15 3 6 9):

    last 12   A 48  B 72  C 12  D 24  E 36      12-month rate  A 48  B 36  C 24  E 36
    model scores (given)  A 50  B 70  C 10  D 20  E 40

2025-11 needs 2024-12 .. 2025-11: the data start in 2025-01, so it is left out.

The model's scores are given (``compute`` replaced in the back-test module) so these figures
do not depend on the model's configuration; ``test_backtest_uses_the_model`` checks the real
model is what the back-test ranks by.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from incident_rows import months_from_days
from sqlalchemy import select

from fangcang.models import (
    AggIncidentDay,
    AggPopulation,
    BacktestMethod,
    IncidentCategory,
    ResidenceType,
    WarningBacktest,
)
from fangcang.scoring import backtest as run_backtest
from fangcang.scoring.backtest import (
    Exclusion,
    block_bootstrap_interval,
    month_table,
    pai_at_share,
    spearman,
    stored_backtest,
    stored_summary,
    summary,
)
from fangcang.scoring.config import load_config
from fangcang.timeutil import Month, month_range

IDS = "ABCDE"
RESIDENTS = {"A": 1000, "B": 2000, "C": 500, "E": 1000}
BEFORE = {"A": 4, "B": 6, "C": 1, "D": 2, "E": 3}  # a month, through 2025-12
AFTER = {"A": 8, "B": 5, "C": 1, "D": 2, "E": 3}  # a month, from 2026-01
SCORES = {
    "2026-01": {"A": 90, "B": 60, "C": 10, "D": 20, "E": 40},
    "2025-12": {"A": 50, "B": 70, "C": 10, "D": 20, "E": 40},
}
UNTIL = Month(2026, 4)


def build(session, factory, months=None, residents=True):
    sd = factory.sub_district(name="仰义街道")
    st = factory.station(name="仰义派出所")
    for cid in IDS:
        factory.community(cid, name=f"{cid}社区", sub_district=sd, station=st)
    for m in months or month_range(Month(2025, 1), UNTIL):
        counts = BEFORE if m.year == 2025 else AFTER
        for cid, n in counts.items():
            session.add(
                AggIncidentDay(
                    community_id=cid,
                    day=m.first_day,
                    category=IncidentCategory.CRIMINAL
                    if cid != "B"
                    else IncidentCategory.PUBLIC_ORDER,
                    subtype="",
                    n=n,
                    n_alcohol=0,
                    loss_yuan=0.0,
                )
            )
    # The data run to the last day of 2026-04 (a traffic incident: not crime).
    session.add(
        AggIncidentDay(
            community_id="A",
            day=UNTIL.last_day,
            category=IncidentCategory.TRAFFIC,
            subtype="",
            n=1,
            n_alcohol=0,
            loss_yuan=0.0,
        )
    )
    if residents:
        for cid, n in RESIDENTS.items():
            session.add(
                AggPopulation(community_id=cid, residence_type=ResidenceType.REGISTERED, n=n)
            )
    months_from_days(session)
    session.commit()


@pytest.fixture
def given_scores(monkeypatch):
    """Replace the model inside the back-test by the scores above."""
    import sys

    bt = sys.modules["fangcang.scoring.backtest"]  # the module (the package exports the function)

    def fake_compute(session, period, config=None, **kwargs):
        scores = SCORES[str(period)]
        return pd.DataFrame({"community_id": list(scores), "score": list(scores.values())})

    monkeypatch.setattr(bt, "compute", fake_compute)


# ---------------------------------------------------------------------------------------------
# Pure figures
# ---------------------------------------------------------------------------------------------
def test_pai_at_a_fixed_share_by_hand():
    # Weights 2 1 1 4 2 (total 10), incidents 10 4 6 0 5 (25), ranked in this order.
    # Share 0.25 -> 2.5 of weight: the first place (2) whole, half of the second (1 of 4 -> 2).
    hit, pai = pai_at_share([5, 4, 3, 2, 1], [10, 4, 6, 0, 5], [2, 1, 1, 4, 2], 0.25)
    assert hit == pytest.approx(12 / 25) and pai == pytest.approx((12 / 25) / 0.25)
    # A place without weight (no polygon / no residents) is left out of N and A altogether.
    hit2, pai2 = pai_at_share([5, 4, 3, 2, 1, 9], [10, 4, 6, 0, 5, 100], [2, 1, 1, 4, 2, 0], 0.25)
    assert (hit2, pai2) == (hit, pai)
    # Ties keep the earlier position first; share 1 catches everything (PAI 1).
    assert pai_at_share([1, 1], [3, 1], [1, 1], 0.5) == (0.75, 1.5)
    assert pai_at_share([1, 2], [3, 1], [1, 1], 1.0) == (1.0, 1.0)
    assert pai_at_share([1, 2], [0, 0], [1, 1], 0.5) == (None, None)
    with pytest.raises(ValueError, match="share"):
        pai_at_share([1], [1], [1], 0)


def test_spearman_undefined_cases():
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 2], [1, 2]) is None
    assert spearman([1, 1, 1], [1, 2, 3]) is None


def test_block_bootstrap_interval():
    assert block_bootstrap_interval([0.5]) == (None, None)
    assert block_bootstrap_interval([0.7, 0.7, 0.7, 0.7]) == (
        pytest.approx(0.7),
        pytest.approx(0.7),
    )
    # Two months (fewer than a block): resamples are x1x1, x1x2, x2x1, x2x2 -> the interval
    # runs from the smaller to the larger value.
    assert block_bootstrap_interval([0.9, 1.0]) == (pytest.approx(0.9), pytest.approx(1.0))
    x = [0.1, 0.5, 0.2, 0.8, 0.4, 0.9, 0.3, 0.6]
    low, high = block_bootstrap_interval(x)
    assert min(x) < low < np.mean(x) < high < max(x)
    assert block_bootstrap_interval(x) == (low, high)  # seeded: reproducible
    # NaN months (an undefined figure) are left out.
    assert block_bootstrap_interval([0.9, float("nan"), 1.0]) == block_bootstrap_interval(
        [0.9, 1.0]
    )


# ---------------------------------------------------------------------------------------------
# The district by hand
# ---------------------------------------------------------------------------------------------
def test_backtest_by_hand(session, factory, given_scores):
    build(session, factory)
    df = run_backtest(session, months=3, until=UNTIL)
    assert df["period"].tolist() == ["2025-11", "2025-12", "2026-01"]
    assert df["excluded"].tolist()[0] == Exclusion.WINDOW_INCOMPLETE.value
    assert df["excluded"].isna().tolist()[1:] == [True, True]
    r = df.set_index("period").loc["2026-01"]
    assert r["next_crime"] == 57 and r["n_communities"] == 5
    # Counts: model ranks A E B D C = the next quarter's order (rho 1); the 12-month count ranks
    # B A E D C (one swap: sum d^2 = 2, rho = 1 - 6*2/(5*24) = 0.9).
    assert r["rho_count_model"] == pytest.approx(1.0)
    assert r["rho_count_last_count"] == pytest.approx(0.9)
    # Rates (D has no residents): model A B E C vs next A E B C (sum d^2 = 2, n = 4: 0.8);
    # the 12-month rate ranks A E B C like the next quarter (1.0).
    assert r["rho_rate_model"] == pytest.approx(0.8)
    assert r["rho_rate_rate_12m"] == pytest.approx(1.0)
    # PAI at 10% of the area (each square 20%): half of the top community.
    assert r["pai_model"] == pytest.approx((12 / 57) / 0.1)  # half of A's 24
    assert r["pai_last_count"] == pytest.approx((7.5 / 57) / 0.1)  # half of B's 15
    assert r["pai_rate_12m"] == pytest.approx((12 / 57) / 0.1)  # A again
    # Population-weighted PAI at 10% of the 4,500 residents (D left out: N = 51): 450 residents.
    assert r["pai_pop_model"] == pytest.approx((0.45 * 24 / 51) / 0.1)  # 450 of A's 1000
    assert r["pai_pop_last_count"] == pytest.approx((0.225 * 15 / 51) / 0.1)  # 450 of B's 2000
    assert r["pai_pop_rate_12m"] == pytest.approx((0.45 * 24 / 51) / 0.1)

    r = df.set_index("period").loc["2025-12"]
    assert r["next_crime"] == 57
    assert r["rho_count_model"] == pytest.approx(0.9)  # B A E D C, as the 12-month count
    assert r["rho_count_last_count"] == pytest.approx(0.9)
    # Rates: model B A E C vs next A E B C: d = 2, 1, 1, 0 -> 1 - 6*6/60 = 0.4. The 12-month
    # rate ties B and E at 36 (ranks 2.5): Pearson on ranks = 4.5 / sqrt(4.5 * 5) = sqrt(0.9).
    assert r["rho_rate_model"] == pytest.approx(0.4)
    assert r["rho_rate_rate_12m"] == pytest.approx(math.sqrt(0.9))
    assert r["pai_model"] == pytest.approx((7.5 / 57) / 0.1)
    assert r["pai_rate_12m"] == pytest.approx((12 / 57) / 0.1)

    s = summary(df)
    assert s["months"] == 2 and s["excluded"] == [("2025-11", "window_incomplete")]
    c = {x["key"]: x for x in s["comparisons"]}
    assert c["rho_count"]["model"] == pytest.approx(0.95)
    assert c["rho_count"]["base"] == pytest.approx(0.9)
    assert c["rho_count"]["diff"] == pytest.approx(0.05)
    assert (c["rho_count"]["wins"], c["rho_count"]["ties"], c["rho_count"]["n"]) == (1, 1, 2)
    assert (c["rho_count"]["model_low"], c["rho_count"]["model_high"]) == (
        pytest.approx(0.9),
        pytest.approx(1.0),
    )
    assert c["rho_rate"]["model"] == pytest.approx(0.6) and c["rho_rate"]["wins"] == 0
    assert c["rho_rate"]["base"] == pytest.approx((math.sqrt(0.9) + 1) / 2)
    assert c["pai_count"]["wins"] == 1 and c["pai_rate"]["wins"] == 0
    assert c["pai_pop_count"]["diff"] == pytest.approx((0.45 * 24 - 0.225 * 15) / 51 / 0.1 / 2)

    mt = month_table(df)
    assert mt["period"].tolist() == ["2025-12", "2026-01"]
    assert mt["win_count"].tolist() == [None, True]
    assert mt["win_rate"].tolist() == [False, False]


def test_exclusions(session, factory, given_scores):
    # A month without any incident on file inside M-11 .. M+3 is a gap: both months left out.
    months = [m for m in month_range(Month(2025, 1), UNTIL) if m != Month(2025, 6)]
    build(session, factory, months=months)
    df = run_backtest(session, months=2, until=UNTIL)
    assert df["excluded"].tolist() == ["gap", "gap"]
    assert summary(df)["months"] == 0
    assert all(x["model"] is None and x["n"] == 0 for x in summary(df)["comparisons"])


def test_no_residents_and_no_data(session, factory, given_scores):
    assert run_backtest(session).empty
    build(session, factory, residents=False)
    df = run_backtest(session, months=1, until=UNTIL)
    assert df["excluded"].tolist() == [Exclusion.NO_RESIDENTS.value]
    with pytest.raises(ValueError, match="months"):
        run_backtest(session, months=0)
    with pytest.raises(ValueError, match="share"):
        run_backtest(session, share=1.5)


def test_until_is_capped_at_the_data(session, factory, given_scores):
    build(session, factory)
    df = run_backtest(session, months=1, until=Month(2027, 1))
    assert df["period"].tolist() == ["2026-01"]


def test_stored_rows_round_trip(session, factory, given_scores):
    build(session, factory)
    cfg = load_config()
    df = run_backtest(session, months=3, until=UNTIL, store=True, share=0.2)
    session.commit()
    rows = session.scalars(select(WarningBacktest)).all()
    assert len(rows) == 9  # 3 months x 3 methods
    assert {r.method for r in rows} == set(BacktestMethod)
    assert all(r.share == 0.2 and r.config_hash == cfg.hash for r in rows)
    kept = stored_backtest(session)
    assert kept.attrs["share"] == 0.2
    pd.testing.assert_frame_equal(
        kept.drop(columns="excluded").reset_index(drop=True),
        df.drop(columns="excluded").astype(kept.drop(columns="excluded").dtypes.to_dict()),
        check_exact=False,
    )
    assert kept["excluded"].tolist()[0] == "window_incomplete"
    both, figures = stored_summary(session)  # what the warning page reads, in one call
    pd.testing.assert_frame_equal(both, kept)
    assert figures["months"] == 2 and repr(figures) == repr(summary(kept))
    # Storing again replaces the rows of those months (same configuration).
    run_backtest(session, months=1, until=UNTIL, store=True)
    session.commit()
    assert session.query(WarningBacktest).count() == 9
    other = cfg.with_changes(weights={next(iter(cfg.weights)): 0.9})
    assert stored_backtest(session, other).empty


def test_backtest_uses_the_model(session, factory):
    """Without replacing anything, the model's own scores at M are what is ranked."""
    from fangcang.scoring import compute

    build(session, factory)
    df = run_backtest(session, months=1, until=UNTIL)
    scores = compute(session, Month(2026, 1), config=load_config()).set_index("community_id")
    next_q = [24, 15, 3, 6, 9]
    expected = spearman([scores.at[c, "score"] for c in IDS], next_q)
    got = df.iloc[0]["rho_count_model"]
    assert (got is None and expected is None) or got == pytest.approx(expected)


def test_cli(engine, session, factory, given_scores, monkeypatch, capsys):
    from fangcang import cli

    build(session, factory)
    monkeypatch.setenv("FANGCANG_DB_URL", engine.url.render_as_string(hide_password=False))
    assert cli.main(["backtest", "--months", "3", "--until", "2026-04", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [m["period"] for m in out["months"]] == ["2025-11", "2025-12", "2026-01"]
    assert out["months"][0]["excluded"] == "window_incomplete"
    assert out["months"][2]["rho_count_model"] == pytest.approx(1.0)
    assert out["summary"]["comparisons"][0]["wins"] == 1
    assert cli.main(["backtest", "--months", "3", "--until", "2026-04", "--no-store"]) == 0
    text = capsys.readouterr().out
    assert "left out 2025-11: window_incomplete" in text and "2026-01" in text
    assert cli.main(["backtest", "--months", "0"]) == 2
    assert "months must be" in capsys.readouterr().err
