"""Warning bulletins (预警通报): numbered, frozen documents issued from a stored warning run.

Issuing
-------
``issue_bulletin(session, period, actor)`` takes the stored warning run of ``period`` (the
newest version) and builds the content: the district summary with year-on-year figures (the
month and the year to date), the level counts, the red and yellow communities with their reasons
and the actions required, the communities upgraded or downgraded since the last bulletin (those
whose old or new level is yellow or red), the task completion of communities named in earlier
bulletins, a 12-month trend and every community's level for the map.

Numbering
---------
Bulletins are numbered per calendar year of issue (2026年第N期): N = the year's highest number
+ 1. Nothing deletes a bulletin, so numbers are never reused and never skipped. Two people
issuing at the same moment are kept apart by the unique constraint on (year, number): the
loser's insert fails inside a savepoint and it retries with the next number. On SQLite a write
is made first (the data-version bump) so the transaction holds the write lock before reading
the highest number.

Freezing
--------
The content (JSON), the printable HTML (charts and map embedded as images) and the map image
are stored when the bulletin is issued. Nothing recomputes them: later imports or a re-run of
the warning never change an issued bulletin.

Personal data
-------------
A bulletin names communities, sub-districts, stations and community officers (officers' names
are not residents' personal data; their phones are left out). It holds no resident-level data:
reasons are aggregate sentences from the warning explanation. Every text is HTML-escaped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from . import audit, db
from .access import Role, Scope
from .effect import (
    HEADLINES,
    METRIC_KEYS,
    district_monthly,
    yoy_from_monthly,
)
from .i18n import fmt_int, t
from .models import (
    Bulletin,
    BulletinCommunity,
    Community,
    Officer,
    Station,
    SubDistrict,
    WarningLevel,
)
from .scoring import store
from .timeutil import Month, month_range, now_local

#: Level values, least serious first (from the level enum: one order everywhere).
LEVEL_ORDER = tuple(lv.value for lv in WarningLevel)
#: Roles that may issue bulletins (everyone who opens the page may read them).
ISSUER_ROLES = frozenset({Role.DISPATCHER, Role.ADMIN})
NAMED_LEVELS = (WarningLevel.RED.value, WarningLevel.YELLOW.value)
CONTENT_VERSION = 1
MAX_NUMBER_ATTEMPTS = 8


def can_issue(role: Role | str) -> bool:
    """True when ``role`` may issue bulletins (duty officers and administrators)."""
    return Role(role) in ISSUER_ROLES


def issuable_periods(session: Session) -> list[str]:
    """Periods with a stored warning run, newest first (a bulletin needs one)."""
    from .models import WarningRun

    return sorted(set(session.scalars(select(WarningRun.period).distinct())), reverse=True)


def bulletin_label(year: int, number: int, lang: str = "zh") -> str:
    """2026年第3期."""
    return t("bulletin.number", lang, year=year, number=number)


def period_label(period: Month, lang: str = "zh") -> str:
    return f"{period.year}年{period.month}月" if lang == "zh" else str(period)


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
    from .scoring.explain import reason_line

    return reason_line(explanation, "zh", n=2)


def _actions(explanation: dict) -> str:
    """What the community must do about the indicators that drive its score (the top two);
    the requirement that goes with the level itself is stated once per section."""
    e = explanation or {}
    keys = e.get("top", [])
    if e.get("model_version") == 2:  # only the indicators that add points
        adds = {i["key"] for i in e.get("indicators", []) if i.get("contribution", 0) > 0}
        keys = [k for k in keys if k in adds]
    return "".join(t(f"bulletin.action.{key}", "zh") for key in keys[:2])


def _headline_rows(monthly: dict[str, dict[str, int]], period: Month) -> list[dict]:
    month = {r.key: r for r in yoy_from_monthly(monthly, period, period)}
    ytd = {r.key: r for r in yoy_from_monthly(monthly, Month(period.year, 1), period)}
    rows = []
    for key in HEADLINES:
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
) -> list[dict] | None:
    """Task completion per community for items dispatched in ``period`` (from the task
    feature, as it stood at ``now``); None when the task feature is not installed."""
    try:
        from .tasks import completion_by_community  # issue 5
    except ImportError:
        return None
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

    ``monthly`` may hold ``effect.district_monthly`` output covering ``period - 23`` ..
    ``period`` (the demo computes it once for a year of bulletins); default: queried here."""
    from .models import WarningRun

    run = session.get(WarningRun, run_id)
    if run is None:
        raise ValueError(f"no warning run with id {run_id}")
    info = _community_info(session)
    results = store.run_results(session, run.id).to_dict("records")
    levels = {r["community_id"]: r["level"] for r in results}
    counts = {lv: sum(1 for v in levels.values() if v == lv) for lv in LEVEL_ORDER}

    named: dict[str, list[dict]] = {lv: [] for lv in NAMED_LEVELS}
    for r in results:  # highest score first
        if r["level"] not in NAMED_LEVELS:
            continue
        c = info.get(
            r["community_id"],
            {"name": r["community_id"], "sub_district": "", "station": "", "officer": ""},
        )
        named[r["level"]].append(
            {
                "community_id": r["community_id"],
                **c,
                "score": round(r["score"], 1),
                "reasons": _reasons(r["explanation"]),
                "actions": _actions(r["explanation"]),
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
        if rows is not None and sum(r["items"] for r in rows) > 0:
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
        "issuer": t("bulletin.issuer", "zh"),
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
        "requirements": {lv: t(f"bulletin.action.{lv}", "zh") for lv in NAMED_LEVELS},
        "red": named["red"],
        "yellow": named["yellow"],
        "changes": changes,
        "tasks": tasks,
        "trend": trend,
        "all_levels": levels,
    }


def _pct_words(pct: float | None, last_year: int) -> str:
    """-15.21% -> 下降15.21%, +3% -> 上升3.00%, zero last year -> 去年同期为0."""
    if pct is None:
        return t("effect.zero_last_year", "zh") if last_year == 0 else "—"
    if pct < 0:
        return f"下降{abs(pct):.2f}%"
    if pct > 0:
        return f"上升{pct:.2f}%"
    return "持平"


# ---------------------------------------------------------------------------------------------
# Issuing (numbering, freezing)
# ---------------------------------------------------------------------------------------------
def issue_bulletin(
    session: Session,
    period: Month,
    actor: str,
    *,
    issued_at: datetime | None = None,
    run_id: int | None = None,
    _cache: dict | None = None,
) -> Bulletin:
    """Issue (and freeze) the bulletin for ``period`` from its stored warning run.

    Parameters
    ----------
    session : Session
        The caller commits; the bulletin, the named communities, an audit entry and the data
        version bump land together.
    period : Month
        The assessment month.
    actor : str
        Who issues it (recorded, shown in history).
    issued_at : datetime, optional
        Default now (local). The year of this date is the numbering year.
    run_id : int, optional
        A specific stored run; default the newest version for ``period``.
    _cache : dict, optional
        For issuing many at once (the demo): keeps the district's monthly counts and the
        community polygons between calls.

    Returns
    -------
    Bulletin
        With ``year``, ``number`` and the frozen ``content_json``, ``html`` and ``map_png``.

    Raises
    ------
    ValueError
        When no warning run is stored for ``period`` (or ``run_id`` does not belong to it).
    """
    from . import bulletin_export
    from .models import WarningRun

    if not isinstance(period, Month):
        period = Month.parse(str(period))
    if not actor:
        raise ValueError("a bulletin needs the name of who issues it")
    if run_id is None:
        run = store.latest_run(session, period)
        if run is None:
            raise ValueError(
                f"no stored warning run for {period}; run `python -m fangcang score --period "
                f"{period}` first"
            )
    else:
        run = session.get(WarningRun, run_id)
        if run is None or run.period != str(period):
            raise ValueError(f"warning run {run_id} is not a run for {period}")
    issued_at = issued_at or now_local()
    cache = _cache if _cache is not None else {}
    content = build_content(session, period, run.id, issued_at, actor, cache.get("monthly"))
    if "geo" not in cache:
        cache["geo"] = bulletin_export.community_geometries(session)
    info_geo = cache["geo"]
    map_png = bulletin_export.map_png(info_geo, content["all_levels"])
    charts = bulletin_export.chart_pngs(content)

    # Take the write lock first (SQLite), then read the highest number (see module docstring).
    db.bump_data_version(session)
    year = issued_at.year
    for _ in range(MAX_NUMBER_ATTEMPTS):
        number = (
            session.scalar(
                select(func.coalesce(func.max(Bulletin.number), 0)).where(Bulletin.year == year)
            )
            + 1
        )
        frozen = dict(content, year=year, number=number, number_label=bulletin_label(year, number))
        bulletin = Bulletin(
            year=year,
            number=number,
            period=str(period),
            issued_at=issued_at,
            issued_by=actor,
            warning_run_id=run.id,
            title=f"{frozen['title']}（{frozen['number_label']}）",
            content_json=json.dumps(frozen, ensure_ascii=False, sort_keys=True),
            html=bulletin_export.render_html(frozen, map_png, charts),
            map_png=map_png,
        )
        for level in NAMED_LEVELS:
            for c in frozen[level]:
                bulletin.communities.append(
                    BulletinCommunity(
                        community_id=c["community_id"],
                        community_name=c["name"],
                        level=level,
                        change="",
                    )
                )
        named_ids = {bc.community_id for bc in bulletin.communities}
        for key in ("upgraded", "downgraded"):
            for c in frozen["changes"][key]:
                if c["community_id"] in named_ids:
                    for bc in bulletin.communities:
                        if bc.community_id == c["community_id"]:
                            bc.change = key
                else:  # downgraded out of yellow: still named, with its new level
                    bulletin.communities.append(
                        BulletinCommunity(
                            community_id=c["community_id"],
                            community_name=c["name"],
                            level=c["to"],
                            change=key,
                        )
                    )
        try:
            with session.begin_nested():
                session.add(bulletin)
                session.flush()
        except IntegrityError:
            continue  # someone took this number a moment ago: take the next one
        audit.log(
            session,
            actor=actor,
            action="bulletin.issue",
            target=frozen["number_label"],
            detail={"bulletin_id": bulletin.id, "period": str(period), "run_id": run.id},
        )
        return bulletin
    raise RuntimeError(
        f"could not allocate a bulletin number for {year} after {MAX_NUMBER_ATTEMPTS} tries"
    )


# ---------------------------------------------------------------------------------------------
# Reading: history and search
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BulletinSummary:
    id: int
    year: int
    number: int
    label: str
    period: str
    issued_at: datetime
    issued_by: str
    red: list[str]
    yellow: list[str]
    others: list[str]  # named for a change only (downgraded out of yellow)


def record_export(session: Session, bulletin: Bulletin, fmt: str, actor: str) -> None:
    """Audit a download or file export of a bulletin (the caller commits)."""
    audit.log(
        session,
        actor=actor,
        action=f"export.bulletin_{fmt}",
        target=bulletin_label(bulletin.year, bulletin.number),
        detail={"bulletin_id": bulletin.id, "period": bulletin.period},
    )


def content(bulletin: Bulletin) -> dict:
    """The frozen content of an issued bulletin."""
    return json.loads(bulletin.content_json)


def get_bulletin(session: Session, bulletin_id: int) -> Bulletin:
    b = session.get(Bulletin, bulletin_id)
    if b is None:
        raise ValueError(f"no bulletin with id {bulletin_id}")
    return b


def bulletins_for_period(session: Session, period: Month) -> list[Bulletin]:
    return list(
        session.scalars(
            select(Bulletin).where(Bulletin.period == str(period)).order_by(Bulletin.id)
        )
    )


def search_bulletins(
    session: Session,
    text: str | None = None,
    year: int | None = None,
    community_id: str | None = None,
) -> list[BulletinSummary]:
    """Issued bulletins, newest first, with the communities each names.

    ``text`` matches the number label (``2026年第3期``, ``第3期``), the period (``2026-10``) or
    the name of a community named in the bulletin.
    """
    q = select(Bulletin).options(selectinload(Bulletin.communities))
    if year is not None:
        q = q.where(Bulletin.year == year)
    if community_id:
        q = q.where(
            Bulletin.id.in_(
                select(BulletinCommunity.bulletin_id).where(
                    BulletinCommunity.community_id == community_id
                )
            )
        )
    text = (text or "").strip()
    if text:
        like = f"%{text}%"
        q = q.where(
            or_(
                Bulletin.title.like(like),
                Bulletin.period.like(like),
                Bulletin.id.in_(
                    select(BulletinCommunity.bulletin_id).where(
                        BulletinCommunity.community_name.like(like)
                    )
                ),
            )
        )
    q = q.order_by(Bulletin.issued_at.desc(), Bulletin.id.desc())
    out = []
    for b in session.scalars(q):
        red = [c.community_name for c in b.communities if c.level == "red"]
        yellow = [c.community_name for c in b.communities if c.level == "yellow"]
        others = [c.community_name for c in b.communities if c.level not in NAMED_LEVELS]
        out.append(
            BulletinSummary(
                b.id,
                b.year,
                b.number,
                bulletin_label(b.year, b.number),
                b.period,
                b.issued_at,
                b.issued_by,
                red,
                yellow,
                others,
            )
        )
    return out


# ---------------------------------------------------------------------------------------------
# Demo
# ---------------------------------------------------------------------------------------------
def named_changed(session: Session, period: Month) -> bool:
    """Whether ``period``'s yellow and red communities (and their levels) differ from the month
    before: a new, changed or dropped yellow/red community. True when the month before has no
    run."""
    now = store.levels_for_month(session, period) or {}
    before = store.levels_for_month(session, period.shift(-1))
    if before is None:
        return True

    def named(levels: dict[str, str]) -> dict[str, str]:
        return {c: lv for c, lv in levels.items() if lv in NAMED_LEVELS}

    return named(now) != named(before)


def demo_bulletins(ctx) -> dict:
    """Issue a bulletin for each of the last 12 months with a stored warning run whose yellow
    and red communities are new or changed (``named_changed``), each dated the third day of
    the following month (as the real platform did: about 17 in a year)."""
    from .models import WarningRun

    issued = 0
    with Session(ctx.engine, expire_on_commit=False) as s:
        periods = set(s.scalars(select(WarningRun.period).distinct()))
        months = [ctx.until.shift(-i) for i in range(11, -1, -1)]
        months = [m for m in months if str(m) in periods and named_changed(s, m)]
        cache: dict = {}
        if months:
            from .effect import district_monthly

            cache["monthly"] = district_monthly(s, months[0].shift(-23), months[-1])
        for i, m in enumerate(months):
            nxt = m.shift(1)
            issue_bulletin(
                s, m, "demo", issued_at=datetime(nxt.year, nxt.month, 3, 9, 30), _cache=cache
            )
            s.commit()
            issued += 1
            ctx.progress((i + 1) / max(len(months), 1), f"bulletin {m}")
    return {"bulletins": issued}
