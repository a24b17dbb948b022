"""The content of a bulletin: what it says, computed once from data when it is issued.

``build_content`` returns a JSON-ready dict (frozen with the bulletin): the district summary
with year-on-year figures (the month and the year to date), the level counts, the red and
yellow communities with their reasons and specific requirements (``requirements``), the
communities upgraded or downgraded since the last bulletin (those whose old or new level is
yellow or red), the task completion of communities named in earlier bulletins, a 12-month
trend and every community's level for the map. Renderers (``blocks``, ``html``, ``word``)
only read this dict.
"""

from __future__ import annotations

import calendar
import json
import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import config
from ..access import Scope
from ..i18n import fmt_int, fmt_pct, t
from ..incidents import METRIC_KEYS, METRICS, district_monthly, yoy_from_monthly
from ..models import (
    Bulletin,
    BulletinCommunity,
    Community,
    Officer,
    Station,
    SubDistrict,
    WarningLevel,
    WarningRun,
)
from ..scoring import store
from ..scoring.explain import reason_line
from ..tasks.progress import completion_by_community, item_facts
from ..timeutil import Month, month_range
from .requirements import Situation, requirements

log = logging.getLogger(__name__)

#: Level values, least serious first (from the level enum: one order everywhere).
LEVEL_ORDER = tuple(lv.value for lv in WarningLevel)
NAMED_LEVELS = (WarningLevel.RED.value, WarningLevel.YELLOW.value)
CONTENT_VERSION = 1
#: How far back open task items count as unresolved work of a named community.
OPEN_TASK_DAYS = 365
#: How many earlier months the level history looks at (consecutive months at a level).
HISTORY_MONTHS = 11


def bulletin_label(year: int, number: int, lang: str = "zh") -> str:
    """2026年第3期."""
    return t("bulletin.number", lang, year=year, number=number)


def period_label(period: Month, lang: str = "zh") -> str:
    """2026年10月 / Oct 2026."""
    if lang == "zh":
        return f"{period.year}年{period.month}月"
    return f"{calendar.month_abbr[period.month]} {period.year}"


# ---------------------------------------------------------------------------------------------
# Content
# ---------------------------------------------------------------------------------------------
def _community_info(session: Session) -> dict[str, dict]:
    q = (
        select(
            Community.community_id,
            Community.name,
            SubDistrict.name.label("sub_district"),
            Station.name.label("station"),
            Officer.name.label("officer"),
        )
        .join(SubDistrict, SubDistrict.code == Community.sub_district_code)
        .join(Station, Station.station_id == Community.station_id)
        .outerjoin(Officer, Officer.officer_id == Community.officer_id)
    )
    return {
        r.community_id: {
            "name": r.name,
            "sub_district": r.sub_district,
            "station": r.station,
            "officer": r.officer or "",
        }
        for r in session.execute(q)
    }


def _reasons(explanation: dict) -> str:
    if not explanation or "indicators" not in explanation:
        return ""
    return reason_line(explanation, "zh", n=2)


def _headline_rows(monthly: dict[str, dict[str, int]], period: Month) -> list[dict]:
    month = {r.key: r for r in yoy_from_monthly(monthly, period, period)}
    ytd = {r.key: r for r in yoy_from_monthly(monthly, Month(period.year, 1), period)}
    rows = []
    for key in METRICS:
        m, y = month[key], ytd[key]
        rows.append(
            {
                "key": key,
                "label": t(METRIC_KEYS[key], "zh"),
                "month_now": m.now,
                "month_ly": m.last_year,
                "month_pct": m.pct,
                "month_significant": m.significant,
                "ytd_now": y.now,
                "ytd_ly": y.last_year,
                "ytd_pct": y.pct,
                "ytd_significant": y.significant,
            }
        )
    return rows


def _task_completion(
    session: Session, community_ids: list[str], period: Month, now: datetime
) -> list[dict]:
    """Task completion per community for items dispatched in ``period`` (as it stood at
    ``now``)."""
    frame = completion_by_community(
        session, period.start, period.end, Scope.of(community_ids), now=now
    )
    rows = []
    for r in frame.to_dict("records"):
        rate = r.get("completion_rate")
        rows.append(
            {
                "community_id": r["community_id"],
                "items": int(r.get("items") or 0),
                "done": int(r.get("completed") or 0),
                "completion": None if rate is None or rate != rate else float(rate),  # NaN
                "overdue": int(r.get("overdue") or 0),
            }
        )
    return rows


def open_tasks(session: Session, community_ids: list[str], now: datetime) -> dict[str, tuple]:
    """Community -> (open items, overdue items): task items dispatched in the
    ``OPEN_TASK_DAYS`` before ``now`` and not completed as of ``now``."""
    if not community_ids:
        return {}
    facts = item_facts(
        session, Scope.of(community_ids), now - timedelta(days=OPEN_TASK_DAYS), now, now=now
    )
    if facts.empty:
        return {}
    facts = facts[~facts["completed"]]
    grouped = facts.groupby("community_id").agg(n=("id", "size"), overdue=("overdue", "sum"))
    return {cid: (int(r.n), int(r.overdue)) for cid, r in grouped.iterrows()}


def level_history(
    session: Session, period: Month, community_ids: list[str]
) -> tuple[dict[str, int], dict[str, str | None]]:
    """For each community: the consecutive months up to ``period`` at its level of ``period``
    (1 = this month only), and its level the month before (None without a run).

    Reads the stored runs of at most ``HISTORY_MONTHS`` earlier months, newest first, and
    stops as soon as no community's streak continues."""
    now = store.levels_for_month(session, period) or {}
    streak = {cid: 1 for cid in community_ids}
    before: dict[str, str | None] = dict.fromkeys(community_ids)
    running = set(community_ids)
    for back in range(1, HISTORY_MONTHS + 1):
        levels = store.levels_for_month(session, period.shift(-back))
        if levels is None:
            break
        if back == 1:
            before = {cid: levels.get(cid) for cid in community_ids}
        running = {cid for cid in running if levels.get(cid) == now.get(cid)}
        if not running:
            break
        for cid in running:
            streak[cid] += 1
    return streak, before


def previous_bulletin(session: Session, period: Month | str) -> Bulletin | None:
    """The bulletin a bulletin for ``period`` is compared with: the newest one issued for an
    earlier month (a reissue for the same month compares with the previous month's bulletin,
    never with the issue it replaces)."""
    return session.scalars(
        select(Bulletin)
        .where(Bulletin.period < str(period))
        .order_by(Bulletin.period.desc(), Bulletin.issued_at.desc(), Bulletin.id.desc())
        .limit(1)
    ).first()


def build_content(
    session: Session,
    period: Month,
    run_id: int,
    issued_at: datetime,
    actor: str,
    monthly: dict[str, dict[str, int]] | None = None,
) -> dict:
    """The bulletin's content (everything but its number) as a JSON-ready dict.

    ``monthly`` may hold ``incidents.district_monthly`` output covering ``period - 23`` ..
    ``period`` (the demo computes it once for a year of bulletins); default: queried here.

    Raises
    ------
    ValueError
        When ``run_id`` names no stored warning run.
    """
    run = session.get(WarningRun, run_id)
    if run is None:
        raise ValueError(f"no warning run with id {run_id}")
    info = _community_info(session)
    results = store.run_results(session, run.id).to_dict("records")
    levels = {r["community_id"]: r["level"] for r in results}
    counts = {lv: sum(1 for v in levels.values() if v == lv) for lv in LEVEL_ORDER}

    named: dict[str, list[dict]] = {lv: [] for lv in NAMED_LEVELS}
    named_ids = [r["community_id"] for r in results if r["level"] in NAMED_LEVELS]
    streak, before = level_history(session, period, named_ids)
    tasks_open = open_tasks(session, named_ids, issued_at)
    for r in results:  # highest score first
        if r["level"] not in NAMED_LEVELS:
            continue
        cid = r["community_id"]
        c = info.get(cid, {"name": cid, "sub_district": "", "station": "", "officer": ""})
        n_open, n_overdue = tasks_open.get(cid, (0, 0))
        situation = Situation(
            name=c["name"],
            level=r["level"],
            months_at_level=streak[cid],
            previous_level=before.get(cid),
            explanation=r["explanation"] or {},
            open_tasks=n_open,
            overdue_tasks=n_overdue,
        )
        reqs = requirements(situation, issued_at.date())
        named[r["level"]].append(
            {
                "community_id": cid,
                **c,
                "score": round(r["score"], 1),
                "reasons": _reasons(r["explanation"]),
                "requirements": reqs,
                "actions": "\n".join(reqs),
                "months_at_level": streak[cid],
                "open_tasks": n_open,
                "overdue_tasks": n_overdue,
            }
        )

    prev = previous_bulletin(session, period)
    changes = {"previous": None, "upgraded": [], "downgraded": []}
    if prev is not None:
        prev_content = json.loads(prev.content_json)
        prev_levels = prev_content.get("all_levels", {})
        changes["previous"] = {"label": prev_content["number_label"], "period": prev.period}
        for cid, new in levels.items():
            old = prev_levels.get(cid)
            if old is None or old == new:
                continue
            if old not in NAMED_LEVELS and new not in NAMED_LEVELS:
                continue  # green <-> blue is not a warning matter
            row = {
                "community_id": cid,
                "name": info.get(cid, {}).get("name", cid),
                "from": old,
                "to": new,
            }
            key = "upgraded" if LEVEL_ORDER.index(new) > LEVEL_ORDER.index(old) else "downgraded"
            changes[key].append(row)
        for key in ("upgraded", "downgraded"):
            changes[key].sort(key=lambda r: (-LEVEL_ORDER.index(r["to"]), r["name"]))

    # Communities warned (named red or yellow) in earlier bulletins, and their tasks now.
    warned_before = sorted(
        set(
            session.scalars(
                select(BulletinCommunity.community_id)
                .join(Bulletin, Bulletin.id == BulletinCommunity.bulletin_id)
                .where(
                    Bulletin.issued_at <= issued_at,
                    BulletinCommunity.level.in_(NAMED_LEVELS),
                )
            )
        )
    )
    tasks: dict = {"available": False, "rows": [], "warned_before": len(warned_before)}
    if warned_before:
        rows = _task_completion(session, warned_before, period, issued_at)
        if sum(r["items"] for r in rows) > 0:
            tasks["available"] = True
            tasks["rows"] = sorted(
                (
                    dict(r, name=info.get(r["community_id"], {}).get("name", r["community_id"]))
                    for r in rows
                ),
                key=lambda r: (r["completion"] if r["completion"] is not None else 2.0, r["name"]),
            )

    first = period.shift(-23)
    if monthly is None or str(first) not in monthly or str(period) not in monthly:
        monthly = district_monthly(session, first, period)
    headline = _headline_rows(monthly, period)
    h = {r["key"]: r for r in headline}
    summary_text = t(
        "bulletin.summary_text",
        "zh",
        period=period_label(period),
        total=fmt_int(h["total"]["month_now"]),
        total_pct=_pct_words(h["total"]["month_pct"], h["total"]["month_ly"]),
        crime=fmt_int(h["crime"]["month_now"]),
        crime_pct=_pct_words(h["crime"]["month_pct"], h["crime"]["month_ly"]),
        crime_ytd_pct=_pct_words(h["crime"]["ytd_pct"], h["crime"]["ytd_ly"]),
        assault_ytd_pct=_pct_words(h["assault"]["ytd_pct"], h["assault"]["ytd_ly"]),
        fraud_ytd_pct=_pct_words(h["telecom_fraud"]["ytd_pct"], h["telecom_fraud"]["ytd_ly"]),
        n_red=counts["red"],
        n_yellow=counts["yellow"],
    )
    trend = [
        {
            "month": str(m),
            "crime": monthly[str(m)]["crime"],
            "crime_ly": monthly[str(m.shift(-12))]["crime"],
            "total": monthly[str(m)]["total"],
            "total_ly": monthly[str(m.shift(-12))]["total"],
        }
        for m in month_range(period.shift(-11), period)
    ]
    return {
        "version": CONTENT_VERSION,
        "title": t("bulletin.doc_title", "zh"),
        "issuer": config.issuing_unit(),
        "period": str(period),
        "period_label": period_label(period),
        "issued_at": issued_at.isoformat(timespec="seconds"),
        "issued_by": actor,
        "run": {
            "id": run.id,
            "period": run.period,
            "version": run.version,
            "created_at": run.created_at.isoformat(timespec="seconds"),
        },
        "summary": {"text": summary_text, "headline": headline},
        "levels": counts,
        "requirements": {lv: _level_requirement(lv, named[lv]) for lv in NAMED_LEVELS},
        "red": named["red"],
        "yellow": named["yellow"],
        "changes": changes,
        "tasks": tasks,
        "trend": trend,
        "all_levels": levels,
    }


def _level_requirement(level: str, rows: list[dict]) -> str:
    """The paragraph heading a level's section: how many communities, how many are new and
    how many stay at the level, then what the level asks of them all."""
    if not rows:
        return ""
    new = sum(1 for r in rows if r["months_at_level"] == 1)
    n_open = sum(r["open_tasks"] for r in rows)
    level_name = t(f"bulletin.level.{level}", "zh")
    parts = [t("bulletin.req.section", "zh", level=level_name, n=len(rows))]
    if new:
        parts.append(t("bulletin.req.section_new", "zh", n=new))
    if len(rows) - new:
        parts.append(t("bulletin.req.section_again", "zh", n=len(rows) - new))
    if n_open:
        parts.append(t("bulletin.req.section_open", "zh", n=fmt_int(n_open)))
    return "，".join(parts) + "。" + t(f"bulletin.action.{level}", "zh")


def _pct_words(pct: float | None, last_year: int) -> str:
    """-15.21% -> 下降15.2%, +3% -> 上升3.0%, zero last year -> 去年同期为0: the figure as
    ``fmt_pct`` writes it on the dashboard (one formatter, so both read the same)."""
    if pct is None:
        return t("effect.zero_last_year", "zh") if last_year == 0 else "—"
    shown = fmt_pct(abs(pct), signed=False)
    if float(shown.rstrip("%")) == 0:
        return "持平"
    return f"下降{shown}" if pct < 0 else f"上升{shown}"
