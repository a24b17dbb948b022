"""Community profile: residents, factors, overdue list (masked), explanation, history."""

from __future__ import annotations

from datetime import date

import dashboard_data as dd
import pandas as pd
import pytest

from fangcang import community
from fangcang.access import Scope, ScopeError
from fangcang.models import Community, HouseUse, KeyPersonType


@pytest.fixture
def district(session, factory):
    ids = dd.build(session, factory, n=8)
    c = session.get(Community, "C001")
    factory.person(
        c,
        name="陈小华",
        key_person_type=KeyPersonType.DRUGS,
        last_visit=date(2026, 8, 1),
        visit_interval_days=30,
    )
    factory.person(
        c,
        name="王五",
        key_person_type=KeyPersonType.MENTAL,
        last_visit=date(2026, 10, 25),
        visit_interval_days=30,
    )
    factory.house(c, use=HouseUse.RENTAL, address="测试路12号", last_checked=None)
    session.commit()
    return ids


def test_profile(session, district):
    p = community.profile(session, Scope.district(), "C001", dd.PERIOD)
    assert p.name == "沿江社区" and p.sub_district == "仰义街道" and p.station == "仰义派出所"
    assert p.officer_phone == "138****0000"
    assert p.residents == {"registered": 100, "floating": 50, "overseas": 0}
    f = p.factors.set_index("kind")
    # key persons checked 2026-10-20 with a 30-day interval: in control on 10-31; rentals never
    assert (f.loc["key_person", "n"], f.loc["key_person", "out_of_control"]) == (4, 0)
    assert (f.loc["rental_house", "n"], f.loc["rental_house", "out_of_control"]) == (2, 2)
    assert p.warning["level"] == "red" and p.warning["sentences"]
    assert list(p.history["level"]) == ["green", "red"]
    assert list(p.monthly["n"][-1:]) == [6]


def test_overdue_list_is_masked(session, district):
    o = community.overdue_factors(session, Scope.district(), "C001", dd.PERIOD.last_day)
    assert len(o) == 2  # 王五 was visited 6 days before the end of the month
    never = o.iloc[0]
    assert never["kind"] == "rental_house" and never["address"] == "测试路**号"
    assert pd.isna(never["days_overdue"])  # never checked: no day count
    person = o.iloc[1]
    assert person["name"] == "陈*华"
    # last visit 08-01, 30-day interval: in control until 08-30; on 10-31 overdue by 62 days
    assert person["days_overdue"] == 62
    assert "陈小华" not in o.to_string()


def test_scope_is_enforced(session, district):
    with pytest.raises(ScopeError):
        community.profile(session, Scope.of(["C002"]), "C001", dd.PERIOD)
    with pytest.raises(ScopeError):
        community.overdue_factors(session, Scope.of(["C002"]), "C001", dd.PERIOD.last_day)


def test_search(session, district):
    found = community.search(session, Scope.district(), "沿江")
    assert list(found["community_id"]) == ["C001"]
    assert community.search(session, Scope.of(["C002"]), "沿江").empty
    assert len(community.search(session, Scope.district(), "社区%")) == 0
