"""Issuing a bulletin: numbering and freezing.

Numbering
---------
Bulletins are numbered per calendar year of issue (2026年第N期, document number
〔2026〕N号): N = the year's highest number + 1. Nothing deletes a bulletin, so numbers are
never reused and never skipped. Two people issuing at the same moment are kept apart by the
unique constraint on (year, number): the loser's insert fails inside a savepoint and it
retries with the next number. On SQLite a write is made first (the data-version bump) so the
transaction holds the write lock before reading the highest number.

Freezing
--------
The content (JSON), the printable HTML (charts and map embedded as images) and the map image
are stored when the bulletin is issued. Nothing recomputes them: later imports or a re-run of
the warning never change an issued bulletin.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .. import audit, db
from ..access import Role
from ..i18n import t
from ..models import Bulletin, BulletinCommunity, WarningRun
from ..scoring import store
from ..timeutil import Month, now_local
from . import figures
from .html import render_html
from .model import NAMED_LEVELS, build_content, bulletin_label

log = logging.getLogger(__name__)

#: Roles that may issue bulletins (everyone who opens the page may read them).
ISSUER_ROLES = frozenset({Role.DISPATCHER, Role.ADMIN})
MAX_NUMBER_ATTEMPTS = 8


def can_issue(role: Role | str) -> bool:
    """True when ``role`` may issue bulletins (duty officers and administrators)."""
    return Role(role) in ISSUER_ROLES


def issuable_periods(session: Session) -> list[str]:
    """Periods with a stored warning run, newest first (a bulletin needs one)."""
    return sorted(set(session.scalars(select(WarningRun.period).distinct())), reverse=True)


def doc_number(year: int, number: int) -> str:
    """The document number in the official style: 鹿公预〔2026〕3号."""
    return t("bulletin.doc_number", "zh", year=year, number=number)


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
        cache["geo"] = figures.community_geometries(session)
    map_png = figures.map_png(cache["geo"], content["all_levels"])
    charts = figures.chart_pngs(content)

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
        frozen = dict(
            content,
            year=year,
            number=number,
            number_label=bulletin_label(year, number),
            doc_number=doc_number(year, number),
        )
        bulletin = Bulletin(
            year=year,
            number=number,
            period=str(period),
            issued_at=issued_at,
            issued_by=actor,
            warning_run_id=run.id,
            title=f"{frozen['title']}（{frozen['number_label']}）",
            content_json=json.dumps(frozen, ensure_ascii=False, sort_keys=True),
            html=render_html(frozen, map_png, charts),
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
            # someone took this number a moment ago: take the next one
            log.info("bulletin number %s/%s taken meanwhile; trying the next", year, number)
            continue
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
