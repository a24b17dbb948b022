"""Headline figures of the database: records by kind and source, communities, incidents this
year against the same period last year, database size and the last import.

Everything reads the pre-aggregated tables (``agg_records``; incidents through
``fangcang.incidents``) or small tables, never the millions of records, so the overview page and ``info`` answer at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from . import incidents
from .access import Scope
from .aggregates import RECORD_TABLES
from .models import AggRecords, Community, ImportLog, Officer, SubDistrict

#: Basic-record kinds in display order (i18n key ``record_kind.<kind>``).
KINDS: tuple[str, ...] = tuple(RECORD_TABLES)


def _scope(scope: Scope | None) -> Scope:
    return scope or Scope.district()


def records_by_kind(session: Session, scope: Scope | None = None) -> dict[str, int]:
    """Basic records per kind (people, houses, places, objects, events, incidents), every kind
    present (0 when none), in display order."""
    scope = _scope(scope)
    rows = session.execute(
        select(AggRecords.kind, func.sum(AggRecords.n))
        .where(scope.clause(AggRecords.community_id))
        .group_by(AggRecords.kind)
    ).all()
    got = {k: int(n or 0) for k, n in rows}
    return {k: got.get(k, 0) for k in KINDS}


def records_by_source(session: Session, scope: Scope | None = None) -> pd.DataFrame:
    """Records per kind and source department with the newest ``updated_at``.

    Columns: kind, source, n, last_updated; sorted by kind (display order) then by n.
    """
    scope = _scope(scope)
    rows = session.execute(
        select(
            AggRecords.kind,
            AggRecords.source,
            func.sum(AggRecords.n),
            func.max(AggRecords.last_updated),
        )
        .where(scope.clause(AggRecords.community_id))
        .group_by(AggRecords.kind, AggRecords.source)
    ).all()
    frame = pd.DataFrame(rows, columns=["kind", "source", "n", "last_updated"])
    if frame.empty:
        return frame
    frame["n"] = frame["n"].astype(int)
    order = {k: i for i, k in enumerate(KINDS)}
    frame["_o"] = frame["kind"].map(order).fillna(len(order))
    frame = frame.sort_values(["_o", "n"], ascending=[True, False]).drop(columns="_o")
    return frame.reset_index(drop=True)


def records_by_community(session: Session, scope: Scope | None = None) -> pd.DataFrame:
    """Records per community: one row per community (in scope), one column per kind, ``total``.

    Columns: community_id, name, sub_district, <kinds...>, total; sorted by total, largest
    first.
    """
    scope = _scope(scope)
    counts = session.execute(
        select(AggRecords.community_id, AggRecords.kind, func.sum(AggRecords.n))
        .where(scope.clause(AggRecords.community_id))
        .group_by(AggRecords.community_id, AggRecords.kind)
    ).all()
    comms = session.execute(
        select(Community.community_id, Community.name, SubDistrict.name)
        .join(SubDistrict, SubDistrict.code == Community.sub_district_code)
        .where(scope.clause(Community.community_id))
    ).all()
    base = pd.DataFrame(comms, columns=["community_id", "name", "sub_district"])
    wide = pd.DataFrame(counts, columns=["community_id", "kind", "n"])
    if not wide.empty:
        wide = wide.pivot_table(
            index="community_id", columns="kind", values="n", aggfunc="sum", fill_value=0
        ).reset_index()
    else:
        wide = pd.DataFrame(columns=["community_id"])
    out = base.merge(wide, on="community_id", how="outer")
    for kind in KINDS:
        out[kind] = out[kind].fillna(0).astype(int) if kind in out else 0
    out["total"] = out[list(KINDS)].sum(axis=1).astype(int)
    out = out[["community_id", "name", "sub_district", *KINDS, "total"]]
    return out.sort_values(["total", "community_id"], ascending=[False, True]).reset_index(
        drop=True
    )


@dataclass(frozen=True)
class Headline:
    """The district at a glance.

    ``incidents_this_year`` counts 1 January .. ``as_of`` (inclusive) of ``as_of``'s year;
    ``incidents_last_year`` the same calendar span one year earlier; ``change_pct`` is None
    when last year's count is 0; ``significant`` is the exact Poisson test of the change
    (``stats.compare_counts``).
    """

    records: dict[str, int]
    records_total: int
    communities: int
    officers: int
    as_of: date | None
    incidents_this_year: int
    incidents_last_year: int
    change_pct: float | None
    this_year: tuple[date, date] | None = None
    last_year: tuple[date, date] | None = None
    significant: bool = False
    extra: dict = field(default_factory=dict)


def headline(session: Session, scope: Scope | None = None, as_of: date | None = None) -> Headline:
    """Records by kind, communities, officers, incidents this year vs the same period last year.

    Parameters
    ----------
    scope : Scope, optional
        Jurisdiction (default: the whole district).
    as_of : date, optional
        Last day of "this year so far". Default: the latest day with incident data, but not
        after today (data usually ends with the last complete month, and comparing a full
        November last year with no November this year would be unfair).
    """
    scope = _scope(scope)
    records = records_by_kind(session, scope)
    communities = int(
        session.scalar(
            select(func.count()).select_from(Community).where(scope.clause(Community.community_id))
        )
        or 0
    )
    if scope.is_district:
        officers = int(session.scalar(select(func.count()).select_from(Officer)) or 0)
    else:
        officers = int(
            session.scalar(
                select(func.count(func.distinct(Community.officer_id))).where(
                    scope.clause(Community.community_id)
                )
            )
            or 0
        )
    ytd = incidents.year_to_date(session, scope, as_of)
    if ytd.as_of is None:
        return Headline(records, sum(records.values()), communities, officers, None, 0, 0, None)
    return Headline(
        records=records,
        records_total=sum(records.values()),
        communities=communities,
        officers=officers,
        as_of=ytd.as_of,
        incidents_this_year=ytd.change.now,
        incidents_last_year=ytd.change.before,
        change_pct=ytd.change.pct,
        this_year=ytd.this_year,
        last_year=ytd.last_year,
        significant=ytd.change.significant,
    )


def database_size(bind: Engine | Session) -> int:
    """Size of the database in bytes: the SQLite file plus its WAL, or ``pg_database_size``."""
    engine = bind.get_bind() if isinstance(bind, Session) else bind
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:":
            return 0
        return sum(p.stat().st_size for p in (Path(path), Path(path + "-wal")) if p.exists())
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar())
    raise ValueError(f"database size is known for sqlite and postgresql, not {engine.dialect.name}")


@dataclass(frozen=True)
class LastImport:
    id: int
    started_at: object
    finished_at: object
    actor: str
    channel: str
    status: str
    counts: dict
    files: dict
    rejected: int
    duration_s: float | None
    bundle: str
    error_report: str | None


def last_import(session: Session) -> LastImport | None:
    """The most recent import (any status), or None."""
    log = session.scalars(select(ImportLog).order_by(ImportLog.id.desc()).limit(1)).first()
    if log is None:
        return None
    return LastImport(
        id=log.id,
        started_at=log.started_at,
        finished_at=log.finished_at,
        actor=log.actor,
        channel=log.channel,
        status=log.status.value,
        counts=json.loads(log.counts or "{}"),
        files=json.loads(log.files or "{}"),
        rejected=log.rejected,
        duration_s=log.duration_s,
        bundle=log.bundle,
        error_report=log.error_report,
    )
