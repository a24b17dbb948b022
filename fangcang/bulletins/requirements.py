"""The specific requirements (具体要求) of a bulletin, generated from each named community's
situation rather than one sentence per level.

For every red or yellow community the requirements say, in this order:

1. what its level asks, given how it got there: newly named, named again (with the number of
   consecutive months at yellow or red: three or more red months escalate to the
   sub-bureau), or downgraded from red; with a deadline counted from the issue date (red:
   ``RED_DAYS``, yellow: ``YELLOW_DAYS``);
2. one requirement per indicator that adds points to its score (largest first, at most
   ``MAX_DRIVERS``), stating the figure that drives it (the ratio to the district, the count);
3. the trend of its criminal and public-order incidents against a year earlier when it is
   significant and not already named as a driver (a rise to analyse, a fall to keep);
4. its control gap: public-order factors (治安要素) not checked in time, with a deadline;
5. its unresolved tasks: items dispatched and not completed, and how many are overdue.

The facts come from the stored warning explanation (``fangcang.scoring.explain.build``: the
indicators, the trend test, the factor counts), the level history of the stored runs and the
task items (``fangcang.tasks.progress.item_facts``). Old (model 1) explanations carry fewer
figures; their drivers are stated by the action alone.

The method follows the practice of CompStat-style review meetings: every requirement names the
problem it answers, who acts and by when (Bratton & Malinowski, "Police performance management
in practice: taking COMPSTAT to the next level", Policing 2(3), 2008).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..i18n import fmt_int, t

RED_DAYS = 7
YELLOW_DAYS = 14
MAX_DRIVERS = 2
#: Consecutive red months from which the sub-bureau takes over the supervision.
ESCALATE_RED_MONTHS = 3
#: Indicator keys (model 2, and model 1 for stored old runs) -> the action key that answers them.
ACTION_OF = {
    "crime_ratio": "crime",
    "crime_rate": "crime",
    "incident_ratio": "incident",
    "incident_rate": "incident",
    "trend": "trend",
    "incident_trend": "trend",
    "control_ratio": "control",
    "control_gap": "control",
    "floating_ratio": "floating",
    "floating_share": "floating",
}


@dataclass(frozen=True)
class Situation:
    """What a bulletin knows about one named community.

    Attributes
    ----------
    level : str
        ``red`` or ``yellow``.
    months_at_level : int
        Consecutive months (this one included) at this level, from the stored runs (>= 1).
    previous_level : str or None
        The level of the month before (None when that month has no run).
    explanation : dict
        The stored warning explanation (indicators, top, model_version).
    open_tasks, overdue_tasks : int
        Task items dispatched to the community and not completed as of the issue date;
        overdue: of those, past their deadline.
    """

    name: str
    level: str
    months_at_level: int
    previous_level: str | None
    explanation: dict
    open_tasks: int = 0
    overdue_tasks: int = 0


def drivers(explanation: dict) -> list[dict]:
    """The indicators that add points to the score, largest contribution first (model 2:
    contribution > 0; model 1: the stored ``top`` order)."""
    e = explanation or {}
    by_key = {i["key"]: i for i in e.get("indicators", [])}
    keys = [k for k in e.get("top", []) if k in by_key]
    if e.get("model_version") == 2:
        keys = [k for k in keys if by_key[k].get("contribution", 0) > 0]
    return [by_key[k] for k in keys[:MAX_DRIVERS]]


def _deadline(issued: date, level: str) -> str:
    days = RED_DAYS if level == "red" else YELLOW_DAYS
    d = issued + timedelta(days=days)
    return f"{d.month}月{d.day}日"


def _level_line(s: Situation, issued: date) -> str:
    deadline = _deadline(issued, s.level)
    if s.level == "red":
        if s.months_at_level >= ESCALATE_RED_MONTHS:
            return t("bulletin.req.red_escalate", "zh", n=s.months_at_level, deadline=deadline)
        if s.months_at_level >= 2:
            return t("bulletin.req.red_again", "zh", n=s.months_at_level, deadline=deadline)
        return t("bulletin.req.red_new", "zh", deadline=deadline)
    if s.previous_level == "red":
        return t("bulletin.req.yellow_down", "zh", deadline=deadline)
    if s.months_at_level >= 2:
        return t("bulletin.req.yellow_again", "zh", n=s.months_at_level, deadline=deadline)
    return t("bulletin.req.yellow_new", "zh", deadline=deadline)


def _driver_line(item: dict, months: int, issued: date, level: str) -> str | None:
    """The requirement answering one driving indicator, with its figure when stored."""
    action = ACTION_OF.get(item["key"])
    if action is None:
        return None
    key = item["key"]
    if key in ("crime_ratio", "incident_ratio") and item.get("ratio") is not None:
        return t(
            f"bulletin.req.{action}",
            "zh",
            ratio=f"{item['ratio']:.1f}",
            count=fmt_int(item.get("count", 0)),
            months=months,
        )
    if key == "trend":
        return _trend_line(item) if item.get("mark") in ("up", "down") else None
    if key == "control_ratio":
        return _control_line(item, issued, level)
    if key == "floating_ratio" and item.get("raw") is not None:
        return t(
            "bulletin.req.floating",
            "zh",
            share=f"{100 * item['raw']:.1f}",
            district=f"{100 * (item.get('district') or 0.0):.1f}",
        )
    return t(f"bulletin.req.{action}_plain", "zh")


def _trend_line(item: dict) -> str:
    return t(
        f"bulletin.req.trend_{item['mark']}",
        "zh",
        months=item.get("months", 3),
        now=fmt_int(item.get("now", 0)),
        before=fmt_int(item.get("before", 0)),
    )


def _control_line(item: dict, issued: date, level: str) -> str | None:
    if not item.get("out"):
        return None
    return t(
        "bulletin.req.control",
        "zh",
        out=fmt_int(item["out"]),
        total=fmt_int(item.get("factors", 0)),
        deadline=_deadline(issued, level),
    )


def requirements(s: Situation, issued: date) -> list[str]:
    """The specific requirements for one named community (Chinese; the document is Chinese).

    Parameters
    ----------
    s : Situation
        The community's level, level history, warning explanation and open tasks.
    issued : date
        The issue date: deadlines are counted from it.

    Returns
    -------
    list of str
        One sentence per requirement, the level's first (see the module docstring).

    Raises
    ------
    ValueError
        When ``s.level`` is not red or yellow (only they are named with requirements).
    """
    if s.level not in ("red", "yellow"):
        raise ValueError(f"requirements are made for red or yellow communities, not {s.level!r}")
    e = s.explanation or {}
    months = e.get("months_covered") or e.get("window_months", 3)
    lines = [_level_line(s, issued)]
    driving = drivers(e)
    done = set()
    for item in driving:
        line = _driver_line(item, months, issued, s.level)
        action = ACTION_OF.get(item["key"])
        if line and action not in done:
            lines.append(line)
            done.add(action)
    by_key = {i["key"]: i for i in e.get("indicators", [])}
    trend = by_key.get("trend")
    if "trend" not in done and trend and trend.get("mark") in ("up", "down"):
        lines.append(_trend_line(trend))
    control = by_key.get("control_ratio")
    if "control" not in done and control:
        line = _control_line(control, issued, s.level)
        if line:
            lines.append(line)
    if s.open_tasks > 0:
        overdue = (
            t("bulletin.req.tasks_overdue", "zh", n=fmt_int(s.overdue_tasks))
            if s.overdue_tasks
            else ""
        )
        lines.append(
            t(
                "bulletin.req.tasks",
                "zh",
                n=fmt_int(s.open_tasks),
                overdue=overdue,
                deadline=_deadline(issued, s.level),
            )
        )
    return lines
