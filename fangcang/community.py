"""The community page (社区): profile, public-order factors and the overdue ones (masked),
the score explanation and level history, and the incident trend against last year.

Personal data leaves here masked (``fangcang.privacy.mask_frame``); the scope is checked first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from . import trends
from .access import Scope
from .divisions import district_code
from .models import (
    AggFactor,
    AggPopulation,
    Community,
    FactorKind,
    House,
    HouseUse,
    Officer,
    Person,
    Place,
    PlaceKind,
    PlaceSubtype,
    ResidenceType,
    Station,
    SubDistrict,
)
from .privacy import mask_frame, mask_phone
from .scoring import store
from .scoring.config import load_config
from .scoring.explain import sentences
from .scoring.hotspots import explanation_for
from .tasks import community_tasks as task_items
from .timeutil import Month
from .views.shared import INDICATORS, visit_coverage, warning_frame

log = logging.getLogger(__name__)

OVERDUE_COLUMNS = [
    "kind",
    "record_id",
    "name",
    "address",
    "last_checked",
    "interval_days",
    "days_overdue",
]


def default_intervals() -> dict[str, int]:
    """Default check interval per factor kind (the scoring configuration's ``factor_intervals``)."""
    return {FactorKind(k).value: int(v) for k, v in load_config().factor_intervals.items()}


def factor_status(session: Session, scope: Scope, as_of: date) -> pd.DataFrame:
    """Public-order factors per community and kind, and how many are out of control at ``as_of``.

    In control at day D = last checked on a day in [D - interval + 1, D] (the record's interval,
    else the kind's default); never checked or checked after D = out of control.

    Returns
    -------
    DataFrame
        community_id, kind, n, out_of_control.
    """
    defaults = default_intervals()
    rows = session.execute(
        select(
            AggFactor.community_id,
            AggFactor.kind,
            AggFactor.checked_on,
            AggFactor.interval_days,
            func.sum(AggFactor.n),
        )
        .where(scope.clause(AggFactor.community_id))
        .group_by(
            AggFactor.community_id, AggFactor.kind, AggFactor.checked_on, AggFactor.interval_days
        )
    ).all()
    acc: dict[tuple[str, str], list[int]] = {}
    for cid, kind, checked_on, interval, n in rows:
        kind = FactorKind(kind).value
        interval = int(interval) or defaults.get(kind, 0)
        ok = checked_on is not None and checked_on <= as_of and (as_of - checked_on).days < interval
        cell = acc.setdefault((cid, kind), [0, 0])
        cell[0] += int(n)
        cell[1] += 0 if ok else int(n)
    return pd.DataFrame(
        [(c, k, n, o) for (c, k), (n, o) in sorted(acc.items())],
        columns=["community_id", "kind", "n", "out_of_control"],
    )


def overdue_factors(
    session: Session, scope: Scope, community_id: str, as_of: date, limit: int = 200
) -> pd.DataFrame:
    """The factors of one community out of control at ``as_of``, masked, most overdue first.

    ``days_overdue`` is None for factors never checked (listed first).
    """
    scope.check(community_id)
    defaults = default_intervals()
    out = []

    def add(kind: str, rid: str, name: str, address: str, last: date | None, interval: int | None):
        interval = int(interval or 0) or defaults.get(kind, 0)
        if last is not None and last <= as_of and (as_of - last).days < interval:
            return
        overdue = None if last is None else (as_of - last).days - interval + 1
        out.append([kind, rid, name, address, last, interval, overdue])

    for p in session.execute(
        select(Person.person_id, Person.name, Person.last_visit, Person.visit_interval_days).where(
            Person.community_id == community_id, Person.key_person_type.is_not(None)
        )
    ):
        add(FactorKind.KEY_PERSON.value, p[0], p[1], "", p[2], p[3])
    for h in session.execute(
        select(
            House.house_id, House.address, House.use, House.last_checked, House.check_interval_days
        ).where(
            House.community_id == community_id,
            House.use.in_([HouseUse.RENTAL, HouseUse.GROUP_RENTAL]),
        )
    ):
        kind = (
            FactorKind.GROUP_RENTAL_HOUSE
            if h[2] == HouseUse.GROUP_RENTAL
            else FactorKind.RENTAL_HOUSE
        )
        add(kind.value, h[0], "", h[1], h[3], h[4])
    for pl in session.execute(
        select(
            Place.place_id,
            Place.name,
            Place.kind,
            Place.subtype,
            Place.last_inspected,
            Place.inspection_interval_days,
        ).where(
            Place.community_id == community_id,
            or_(
                Place.kind.in_([PlaceKind.VENUE, PlaceKind.REGULATED_TRADE]),
                Place.subtype == PlaceSubtype.DANGEROUS_GOODS,
            ),
        )
    ):
        # dangerous_goods takes precedence over kind (architecture: public-order factors)
        if pl[3] == PlaceSubtype.DANGEROUS_GOODS:
            kind = FactorKind.DANGEROUS_GOODS
        elif pl[2] == PlaceKind.VENUE:
            kind = FactorKind.VENUE
        else:
            kind = FactorKind.REGULATED_TRADE
        # Place names are business names, not personal data; kept as they are.
        add(kind.value, pl[0], pl[1], "", pl[4], pl[5])
    df = pd.DataFrame(out, columns=OVERDUE_COLUMNS)
    # Key persons are people: their names are masked. Places keep their business name.
    people = df["kind"] == FactorKind.KEY_PERSON.value
    masked = mask_frame(df.loc[people, ["name"]])
    df.loc[people, "name"] = masked["name"]
    df["address"] = mask_frame(df[["address"]])["address"]
    df["_never"] = df["days_overdue"].isna()
    df = df.sort_values(["_never", "days_overdue"], ascending=[False, False], na_position="first")
    return df.drop(columns="_never").head(limit).reset_index(drop=True)


def _num_or_none(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if x != x else x  # NaN (model-1 runs) -> None


@dataclass
class CommunityProfile:
    """Everything the community page shows (see ``profile``)."""

    community_id: str
    name: str
    sub_district: str
    district: str  # its district's code (``fangcang.divisions.district_code``)
    station: str
    officer: str
    officer_phone: str  # masked
    period: Month
    residents: dict[str, int]  # residence type -> people
    factors: pd.DataFrame  # kind, n, out_of_control
    overdue: pd.DataFrame  # see overdue_factors
    warning: dict | None  # level, score, reason, sentences, stability, significant ...
    history: pd.DataFrame  # period, level, score
    monthly: pd.DataFrame  # month_index, month, n, n_before
    by_category: pd.DataFrame  # month, category, n (this window)
    tasks: pd.DataFrame | None
    visits: pd.DataFrame | None


def community_tasks(session: Session, scope: Scope, community_id: str) -> pd.DataFrame | None:
    """The community's recent task items (``tasks.community_tasks``; None when there are
    none)."""
    df = task_items(session, community_id, scope)
    return df if len(df) else None


def search(session: Session, scope: Scope, text: str, limit: int = 20) -> pd.DataFrame:
    """Communities in scope whose name contains ``text``: community_id, name, sub_district."""
    text = (text or "").strip()
    stmt = (
        select(Community.community_id, Community.name, SubDistrict.name)
        .join(SubDistrict, SubDistrict.code == Community.sub_district_code)
        .where(scope.clause(Community.community_id))
        .order_by(Community.name)
        .limit(limit)
    )
    if text:
        stmt = stmt.where(Community.name.contains(text, autoescape=True))
    return pd.DataFrame(
        session.execute(stmt).all(), columns=["community_id", "name", "sub_district"]
    )


def profile(
    session: Session, scope: Scope, community_id: str, period: Month, lang: str = "zh"
) -> CommunityProfile:
    """The profile of one community for ``period`` (raises ``ScopeError`` outside the scope,
    ``ValueError`` for an unknown community)."""
    scope.check(community_id)
    row = session.execute(
        select(
            Community.name,
            SubDistrict.name,
            Station.name,
            Officer.name,
            Officer.phone,
            Community.sub_district_code,
        )
        .join(SubDistrict, SubDistrict.code == Community.sub_district_code)
        .join(Station, Station.station_id == Community.station_id)
        .outerjoin(Officer, Officer.officer_id == Community.officer_id)
        .where(Community.community_id == community_id)
    ).first()
    if row is None:
        raise ValueError(f"unknown community {community_id!r}")
    name, sub_district, station, officer, phone, sub_district_code = row

    residents = {rt.value: 0 for rt in ResidenceType}
    for rtype, n in session.execute(
        select(AggPopulation.residence_type, AggPopulation.n).where(
            AggPopulation.community_id == community_id
        )
    ):
        residents[ResidenceType(rtype).value] = int(n)

    one = Scope.of([community_id])
    factors = factor_status(session, one, period.last_day).drop(columns="community_id")
    overdue = overdue_factors(session, one, community_id, period.last_day)

    warnings = warning_frame(session, one, period, lang)
    warning = None
    if len(warnings):
        w = warnings.iloc[0]
        try:
            lines = sentences(w["explanation"], lang) if w["explanation"] else []
        except (KeyError, TypeError, ValueError) as exc:  # the page shows the score without them
            log.warning(
                "explanation of %s for %s left out: unreadable (%s)", community_id, period, exc
            )
            lines = []
        warning = {
            "level": w["level"],
            "score": float(w["score"]),
            "reason": w["reason"],
            "sentences": lines,
            "stability": float(w["stability"]),
            "borderline": bool(w["borderline"]),
            "significant": bool(w["significant"]),
            "pending": w["pending"],
            "trend_mark": w["trend_mark"],
            "indicators": {
                k: {"ratio": _num_or_none(w[f"ind_{k}"]), "points": _num_or_none(w[f"pt_{k}"])}
                for k in INDICATORS
            },
        }
    if warning is not None:  # emerging hot spots: "part of a cluster of high-crime communities"
        line = explanation_for(
            session, community_id, period, lang, district_code(sub_district_code)
        )
        if line:
            warning["sentences"].append(line)
    history = store.level_history(session, community_id, one, period.shift(-11), period)[
        ["period", "level", "score", "raw_level", "pending"]
    ].reset_index(drop=True)

    view = trends.trend_view(session, one, period, community_id=community_id)
    tasks = community_tasks(session, one, community_id)
    visits = visit_coverage(session, one, period)
    return CommunityProfile(
        community_id=community_id,
        name=name,
        sub_district=sub_district,
        district=district_code(sub_district_code),
        station=station,
        officer=officer or "",
        officer_phone=mask_phone(phone),
        period=period,
        residents=residents,
        factors=factors,
        overdue=overdue,
        warning=warning,
        history=history,
        monthly=view.monthly_total,
        by_category=view.monthly,
        tasks=tasks,
        visits=visits,
    )
