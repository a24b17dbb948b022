"""Which communities a template targets: all, chosen sub-districts, a list, or a named rule.

Rules are small registered pieces sharing one interface (``TargetRule``); a template stores
``{"rule": name, ...params}``. The warning rule reads the latest stored warning run through
``latest_warning_levels`` only, so the rest of the task loop never depends on how the warning
feature stores its runs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Community, House, HouseUse, SubDistrict, WarningLevel
from ..models.tasks import TargetKind

#: Levels the warning rule accepts (the WarningLevel values, least serious first).
WARNING_LEVELS = tuple(lv.value for lv in WarningLevel)


def latest_warning_levels(session: Session) -> dict[str, str]:
    """Community id -> warning level value (``red`` ...) of the latest stored warning run.

    Reads through the warning feature's public API (``fangcang.scoring.stored_periods`` and
    ``results``: the newest month, its latest version). Empty when no run is stored.
    """
    from .. import scoring

    periods = scoring.stored_periods(session)
    if not periods:
        return {}
    df = scoring.results(session, max(periods))
    return {
        str(c): str(getattr(lv, "value", lv))
        for c, lv in zip(df["community_id"], df["level"], strict=True)
    }


def _rule_warning(session: Session, params: dict) -> set[str]:
    levels = set(params.get("levels", ["red", "yellow"]))
    return {cid for cid, lv in latest_warning_levels(session).items() if lv in levels}


def _check_warning(params: dict) -> dict:
    levels = params.get("levels", ["red", "yellow"])
    if not isinstance(levels, list) or not levels:
        raise ValueError("target rule warning_level: 'levels' must be a non-empty list")
    bad = [lv for lv in levels if lv not in WARNING_LEVELS]
    if bad:
        raise ValueError(f"target rule warning_level: unknown level(s) {bad}; use {WARNING_LEVELS}")
    return {"levels": list(levels)}


def _rule_rentals(session: Session, params: dict) -> set[str]:
    n = int(params.get("min_houses", 100))
    rows = session.execute(
        select(House.community_id)
        .where(House.use.in_([HouseUse.RENTAL, HouseUse.GROUP_RENTAL]))
        .group_by(House.community_id)
        .having(func.count() >= n)
    )
    return {cid for (cid,) in rows}


def _check_rentals(params: dict) -> dict:
    n = params.get("min_houses", 100)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(
            f"target rule rental_houses: 'min_houses' must be a positive integer, got {n!r}"
        )
    return {"min_houses": n}


@dataclass(frozen=True)
class TargetRule:
    """A named rule: ``check(params) -> params`` validates, ``resolve`` returns community ids."""

    name: str
    label_key: str  # i18n key
    check: Callable[[dict], dict]
    resolve: Callable[[Session, dict], set[str]]
    defaults: dict = field(default_factory=dict)


RULES: dict[str, TargetRule] = {
    r.name: r
    for r in [
        TargetRule(
            "warning_level",
            "tasks.rule.warning_level",
            _check_warning,
            _rule_warning,
            {"levels": ["red", "yellow"]},
        ),
        TargetRule(
            "rental_houses",
            "tasks.rule.rental_houses",
            _check_rentals,
            _rule_rentals,
            {"min_houses": 100},
        ),
    ]
}


def validate_target(session: Session, kind: TargetKind | str, value) -> str:
    """Check a target and return its stored JSON text.

    ``value`` is ``None`` for ``all``; a list of sub-district codes or community ids; or a dict
    ``{"rule": name, ...params}``. Unknown codes, ids or rules raise ``ValueError`` naming them.
    """
    kind = TargetKind(kind)
    if isinstance(value, str) and value.strip():
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"target: not valid JSON ({exc.msg})") from None
    if kind is TargetKind.ALL:
        return ""
    if kind is TargetKind.RULE:
        if not isinstance(value, dict) or "rule" not in value:
            raise ValueError("target: a rule target needs {'rule': name, ...}")
        name = value["rule"]
        if name not in RULES:
            raise ValueError(f"target: unknown rule {name!r}; known: {sorted(RULES)}")
        params = RULES[name].check({k: v for k, v in value.items() if k != "rule"})
        return json.dumps({"rule": name, **params}, ensure_ascii=False, sort_keys=True)
    if not isinstance(value, list | tuple) or not value:
        raise ValueError(f"target: {kind.value} needs a non-empty list")
    ids = sorted({str(v).strip() for v in value})
    model, col = (
        (SubDistrict, SubDistrict.code)
        if kind is TargetKind.SUB_DISTRICTS
        else (Community, Community.community_id)
    )
    known = set(session.scalars(select(col).where(col.in_(ids))))
    missing = [i for i in ids if i not in known]
    if missing:
        what = "sub-district code" if model is SubDistrict else "community id"
        raise ValueError(f"target: unknown {what}(s) {missing}")
    return json.dumps(ids, ensure_ascii=False)


def resolve(session: Session, kind: TargetKind | str, value: str) -> list[str]:
    """The community ids a stored target selects, sorted."""
    kind = TargetKind(kind)
    q = select(Community.community_id)
    if kind is TargetKind.ALL:
        return sorted(session.scalars(q))
    data = json.loads(value) if value else None
    if kind is TargetKind.SUB_DISTRICTS:
        return sorted(session.scalars(q.where(Community.sub_district_code.in_(data))))
    if kind is TargetKind.COMMUNITIES:
        return sorted(session.scalars(q.where(Community.community_id.in_(data))))
    rule = RULES[data["rule"]]
    params = {k: v for k, v in data.items() if k != "rule"}
    return sorted(rule.resolve(session, params))
