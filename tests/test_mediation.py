"""Police-lawyer mediation: success rate and time to resolution by station and law firm,
computed by hand; scope."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest

from fangcang import mediation
from fangcang.access import Scope
from fangcang.models import (
    IncidentCategory,
    MediationConsultation,
    MediationOutcome,
    MediationReferral,
    MediationSession,
)
from tests.practice_support import NOW, build

R = MediationOutcome


@pytest.fixture
def d(session, factory):
    dist = build(factory)
    # station A: 3 resolved in 10, 20 and 30 days, 1 not resolved, 1 withdrawn, 1 pending;
    # station B: 1 resolved in 5 days.
    plan = [
        ("A1", dist.a1, "甲律所", R.RESOLVED, 10),
        ("A2", dist.a1, "甲律所", R.RESOLVED, 20),
        ("A3", dist.a2, "乙律所", R.RESOLVED, 30),
        ("A4", dist.a2, "乙律所", R.NOT_RESOLVED, 40),
        ("A5", dist.a1, "甲律所", R.WITHDRAWN, 3),
        ("A6", dist.a1, "乙律所", R.PENDING, None),
        ("B1", dist.b1, "甲律所", R.RESOLVED, 5),
    ]
    for rid, c, firm, outcome, days in plan:
        inc = factory.incident(c, datetime(2026, 9, 1, 20, 0), category=IncidentCategory.DISPUTE)
        referred = date(2026, 9, 2)
        session.add(
            MediationReferral(
                referral_id=rid,
                incident_id=inc.incident_id,
                community_id=c.community_id,
                station_id=c.station_id,
                referred_on=referred,
                law_firm=firm,
                lawyer="林律师",
                justice_office="五马司法所",
                outcome=outcome,
                closed_on=None if days is None else referred + timedelta(days=days),
                source="",
                updated_at=NOW,
            )
        )
    session.flush()
    session.add_all(
        [
            MediationSession(referral_id="A1", held_on=date(2026, 9, 5), note=""),
            MediationSession(referral_id="A1", held_on=date(2026, 9, 9), note=""),
            MediationConsultation(
                meeting_id="M1",
                held_on=date(2026, 9, 15),
                station_id="STA",
                law_firm="甲律所",
                justice_office="",
                topic="",
                cases_discussed=2,
            ),
            MediationConsultation(
                meeting_id="M2",
                held_on=date(2026, 9, 15),
                station_id="STB",
                law_firm="甲律所",
                justice_office="",
                topic="",
                cases_discussed=1,
            ),
        ]
    )
    session.flush()
    return dist


def test_rates_by_station_by_hand(session, d):
    refs = mediation.referrals(session, Scope.district())
    by = mediation.rates(refs, "station").set_index("station")
    a = by.loc["城东派出所"]
    assert (a["referrals"], a["resolved"], a["not_resolved"], a["withdrawn"], a["pending"]) == (
        6,
        3,
        1,
        1,
        1,
    )
    assert a["decided"] == 5
    assert a["success_rate"] == pytest.approx(3 / 5)
    assert a["days_median"] == 20 and a["days_mean"] == pytest.approx(20.0)
    b = by.loc["城西派出所"]
    assert b["success_rate"] == 1.0 and b["days_median"] == 5
    total = by.loc["total"]
    assert total["success_rate"] == pytest.approx(4 / 6)
    assert total["days_median"] == pytest.approx(15.0)  # 5, 10, 20, 30


def test_rates_by_law_firm_by_hand(session, d):
    by = mediation.rates(mediation.referrals(session, Scope.district()), "law_firm").set_index(
        "law_firm"
    )
    # 甲: A1 (10), A2 (20), A5 withdrawn, B1 (5) -> 3 / 4; 乙: A3 (30), A4 not, A6 pending -> 1 / 2
    assert by.loc["甲律所", "success_rate"] == pytest.approx(3 / 4)
    assert by.loc["甲律所", "days_median"] == 10
    assert by.loc["乙律所", "success_rate"] == pytest.approx(1 / 2)
    assert by.loc["乙律所", "pending"] == 1


def test_nothing_decided_gives_no_rate(session, d):
    refs = mediation.referrals(session, Scope.district())
    pending = refs[refs["outcome"] == "pending"]
    out = mediation.rates(pending, "station")
    assert math.isnan(out.iloc[0]["success_rate"])


def test_sessions_and_scope(session, d):
    a = d.station_viewer("a").scope
    refs = mediation.referrals(session, a)
    assert sorted(refs["referral_id"]) == ["A1", "A2", "A3", "A4", "A5", "A6"]
    assert refs.set_index("referral_id").loc["A1", "sessions"] == 2
    assert mediation.consultations(session, a)["meeting_id"].tolist() == ["M1"]
    b = mediation.referrals(session, d.station_viewer("b").scope)
    assert b["referral_id"].tolist() == ["B1"]


def test_mediation_view_period(session, d):
    view = mediation.mediation_view(session, Scope.district(), 3, last=date(2026, 10, 31))
    assert view.first == date(2026, 8, 1)
    assert view.totals["referrals"] == 7
    assert len(view.consultations) == 2
    early = mediation.mediation_view(session, Scope.district(), 1, last=date(2026, 8, 31))
    assert early.referrals.empty
