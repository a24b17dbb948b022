"""The data hub (数据): what the platform holds, where it came from, how fresh and how clean.

- ``records_by_kind_source``: records counted by kind and source department (the
  "3.8 million records" view), read from the pre-aggregated ``agg_records`` table.
- ``source_freshness``: the newest record of every source department, its age and whether it
  is stale (older than ``DEFAULT_STALE_DAYS`` unless the caller passes another threshold).
- ``import_history``: the import log, newest first (bundles, feeds, visits files).
- ``QUALITY_CHECKS`` / ``run_quality_checks``: data-quality checks as registered pieces
  (missing coordinates, invalid ID check digits, duplicates across sources).

Uploading a bundle through the browser and the rejected-rows files are in ``fangcang.uploads``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

import pandas as pd
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from .access import Scope
from .importer.reader import id_check_digit_ok
from .models import (
    AggRecords,
    Event,
    House,
    ImportLog,
    ImportStatus,
    Incident,
    ObjectRecord,
    Person,
    Place,
)
from .privacy import mask_frame

#: A source whose newest record is older than this many days is flagged stale. Departments
#: export monthly at the least; 45 days leaves two weeks of slack after a missed month.
DEFAULT_STALE_DAYS = 45


def records_by_kind_source(session: Session, scope: Scope) -> pd.DataFrame:
    """Records by kind x source department in ``scope``.

    Returns
    -------
    DataFrame
        kind, source, n, last_updated; sorted by kind then descending n. A source written as
        an empty string is reported as ``"(unknown)"``.
    """
    q = (
        select(
            AggRecords.kind,
            AggRecords.source,
            func.sum(AggRecords.n).label("n"),
            func.max(AggRecords.last_updated).label("last_updated"),
        )
        .where(scope.clause(AggRecords.community_id))
        .group_by(AggRecords.kind, AggRecords.source)
    )
    df = pd.DataFrame(session.execute(q).all(), columns=["kind", "source", "n", "last_updated"])
    if df.empty:
        return df
    df["source"] = df["source"].replace("", "(unknown)")
    df["n"] = df["n"].astype(int)
    return df.sort_values(["kind", "n"], ascending=[True, False]).reset_index(drop=True)


def source_freshness(
    session: Session,
    scope: Scope,
    as_of: date,
    stale_after_days: int = DEFAULT_STALE_DAYS,
) -> pd.DataFrame:
    """Freshness of every source department.

    Parameters
    ----------
    as_of : date
        Ages are counted to the end of this day.
    stale_after_days : int
        Threshold in days (default ``DEFAULT_STALE_DAYS``).

    Returns
    -------
    DataFrame
        source, records, kinds (comma-separated), last_updated, age_days, stale (bool),
        last_feed_import (newest successful import through the source's inbox, or NaT).
        Stale sources first, then by age.
    """
    if stale_after_days < 1:
        raise ValueError(f"stale_after_days must be at least 1, got {stale_after_days}")
    df = records_by_kind_source(session, scope)
    cols = ["source", "records", "kinds", "last_updated", "age_days", "stale", "last_feed_import"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    g = df.groupby("source").agg(
        records=("n", "sum"),
        kinds=("kind", lambda s: ", ".join(sorted(set(s)))),
        last_updated=("last_updated", "max"),
    )
    end = datetime.combine(as_of, datetime.max.time())
    g["age_days"] = [
        None if pd.isna(t) else (end - pd.Timestamp(t).to_pydatetime()).days
        for t in g["last_updated"]
    ]
    g["stale"] = [a is None or a > stale_after_days for a in g["age_days"]]
    feeds = dict(
        session.execute(
            select(ImportLog.channel, func.max(ImportLog.finished_at))
            .where(ImportLog.channel.like("feed:%"), ImportLog.status != ImportStatus.FAILED)
            .group_by(ImportLog.channel)
        ).all()
    )
    g["last_feed_import"] = [feeds.get(f"feed:{s}") for s in g.index]
    g = g.reset_index()
    g["_age"] = g["age_days"].fillna(10**9)
    g = g.sort_values(["stale", "_age"], ascending=[False, False]).drop(columns="_age")
    return g[cols].reset_index(drop=True)


def import_history(
    session: Session, limit: int = 200, status: ImportStatus | None = None
) -> pd.DataFrame:
    """The import log, newest first.

    Returns
    -------
    DataFrame
        id, started_at, actor, channel, bundle, status, files (``name: rows`` list),
        records (total of counts), rejected, duration_s, message, error_report.
    """
    q = select(ImportLog).order_by(ImportLog.started_at.desc(), ImportLog.id.desc()).limit(limit)
    if status is not None:
        q = q.where(ImportLog.status == ImportStatus(status))
    rows = []
    for log in session.scalars(q):
        files = _json(log.files)
        counts = _json(log.counts)
        rows.append(
            {
                "id": log.id,
                "started_at": log.started_at,
                "actor": log.actor,
                "channel": log.channel,
                "bundle": log.bundle,
                "status": log.status.value,
                "files": ", ".join(f"{k}: {v}" for k, v in files.items()),
                "records": int(sum(v for v in counts.values() if isinstance(v, int | float))),
                "rejected": log.rejected,
                "duration_s": log.duration_s,
                "message": log.message,
                "error_report": log.error_report,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "started_at",
            "actor",
            "channel",
            "bundle",
            "status",
            "files",
            "records",
            "rejected",
            "duration_s",
            "message",
            "error_report",
        ],
    )


def _json(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# ---------------------------------------------------------------------------------------------
# Data-quality checks (registered pieces)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QualityResult:
    """One line of a check's result: ``failing`` of ``checked`` records of ``kind`` fail."""

    check: str
    kind: str
    checked: int
    failing: int
    seconds: float = 0.0

    @property
    def share(self) -> float | None:
        return None if self.checked == 0 else self.failing / self.checked


class QualityCheck(Protocol):
    id: str  # also the i18n key suffix: datahub.check.<id>

    def run(self, session: Session, scope: Scope) -> list[QualityResult]: ...

    def sample(self, session: Session, scope: Scope, limit: int = 20) -> pd.DataFrame: ...


_POINT_MODELS = {
    "houses": (House, House.house_id),
    "places": (Place, Place.place_id),
    "objects": (ObjectRecord, ObjectRecord.object_id),
    "events": (Event, Event.event_id),
    "incidents": (Incident, Incident.incident_id),
}


class MissingCoordinates:
    """Records that should sit on the map but have no longitude or latitude."""

    id = "missing_coordinates"

    def run(self, session: Session, scope: Scope) -> list[QualityResult]:
        out = []
        for kind, (model, _) in _POINT_MODELS.items():
            missing = or_(model.lon.is_(None), model.lat.is_(None))
            checked, failing = session.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((missing, 1), else_=0)), 0),
                ).where(scope.clause(model.community_id))
            ).one()
            out.append(QualityResult(self.id, kind, int(checked), int(failing)))
        return out

    def sample(self, session: Session, scope: Scope, limit: int = 20) -> pd.DataFrame:
        frames = []
        for kind, (model, key) in _POINT_MODELS.items():
            rows = session.execute(
                select(key.label("record_id"), model.community_id, model.source)
                .where(
                    or_(model.lon.is_(None), model.lat.is_(None)), scope.clause(model.community_id)
                )
                .limit(limit)
            ).all()
            if rows:
                f = pd.DataFrame(rows, columns=["record_id", "community_id", "source"])
                f.insert(0, "kind", kind)
                frames.append(f)
        return pd.concat(frames, ignore_index=True).head(limit) if frames else pd.DataFrame()


class InvalidIdNumbers:
    """People whose ID number is not 18 characters with a correct GB 11643 check digit."""

    id = "invalid_id_number"

    def _bad(self, session: Session, scope: Scope) -> tuple[int, list[str]]:
        # One column, checked vectorised: the whole people table is read on full data.
        ids = pd.Series(
            session.scalars(
                select(Person.id_number).where(
                    Person.id_number.is_not(None),
                    Person.id_number != "",
                    scope.clause(Person.community_id),
                )
            ).all(),
            dtype=object,
        )
        if ids.empty:
            return 0, []
        return len(ids), ids[~id_check_digit_ok(ids)].tolist()

    def run(self, session: Session, scope: Scope) -> list[QualityResult]:
        checked, bad = self._bad(session, scope)
        return [QualityResult(self.id, "people", checked, len(bad))]

    def sample(self, session: Session, scope: Scope, limit: int = 20) -> pd.DataFrame:
        _, bad = self._bad(session, scope)
        if not bad:
            return pd.DataFrame(columns=["person_id", "id_number", "community_id", "source"])
        rows = session.execute(
            select(Person.person_id, Person.id_number, Person.community_id, Person.source)
            .where(
                Person.id_number.in_(sorted(set(bad))[:limit]), scope.clause(Person.community_id)
            )
            .order_by(Person.person_id)
            .limit(limit)
        ).all()
        df = pd.DataFrame(rows, columns=["person_id", "id_number", "community_id", "source"])
        return mask_frame(df)


class DuplicatesAcrossSources:
    """The same person (ID number and name) or house (address) exported by more than one
    department as separate records."""

    id = "duplicates_across_sources"

    def _people(self, scope: Scope):
        return (
            select(
                Person.id_number.label("key"),
                func.count().label("records"),
                func.count(func.distinct(Person.source)).label("sources"),
            )
            .where(
                Person.id_number.is_not(None),
                Person.id_number != "",
                scope.clause(Person.community_id),
            )
            .group_by(Person.id_number, Person.name)
            .having(and_(func.count() > 1, func.count(func.distinct(Person.source)) > 1))
        )

    def _houses(self, scope: Scope):
        return (
            select(
                House.address.label("key"),
                func.count().label("records"),
                func.count(func.distinct(House.source)).label("sources"),
            )
            .where(scope.clause(House.community_id))
            .group_by(House.address)
            .having(and_(func.count() > 1, func.count(func.distinct(House.source)) > 1))
        )

    def run(self, session: Session, scope: Scope) -> list[QualityResult]:
        out = []
        for kind, q, model in (
            ("people", self._people(scope), Person),
            ("houses", self._houses(scope), House),
        ):
            sub = q.subquery()
            records = session.scalar(select(func.coalesce(func.sum(sub.c.records), 0)))
            checked = session.scalar(
                select(func.count()).select_from(model).where(scope.clause(model.community_id))
            )
            out.append(QualityResult(self.id, kind, int(checked or 0), int(records)))
        return out

    def sample(self, session: Session, scope: Scope, limit: int = 20) -> pd.DataFrame:
        p = pd.DataFrame(
            session.execute(self._people(scope).limit(limit)).all(),
            columns=["id_number", "records", "sources"],
        )
        h = pd.DataFrame(
            session.execute(self._houses(scope).limit(limit)).all(),
            columns=["address", "records", "sources"],
        )
        p.insert(0, "kind", "people")
        h.insert(0, "kind", "houses")
        return mask_frame(pd.concat([p, h], ignore_index=True)).head(limit)


class ConflictingIdNumbers:
    """One ID number carried by records with different names: at least one record holds
    someone else's number (a typing or matching error upstream)."""

    id = "conflicting_id_number"

    def _query(self, scope: Scope):
        return (
            select(
                Person.id_number.label("id_number"),
                func.count().label("records"),
                func.count(func.distinct(Person.name)).label("names"),
            )
            .where(
                Person.id_number.is_not(None),
                Person.id_number != "",
                scope.clause(Person.community_id),
            )
            .group_by(Person.id_number)
            .having(func.count(func.distinct(Person.name)) > 1)
        )

    def run(self, session: Session, scope: Scope) -> list[QualityResult]:
        sub = self._query(scope).subquery()
        records = session.scalar(select(func.coalesce(func.sum(sub.c.records), 0)))
        checked = session.scalar(
            select(func.count())
            .select_from(Person)
            .where(Person.id_number.is_not(None), scope.clause(Person.community_id))
        )
        return [QualityResult(self.id, "people", int(checked or 0), int(records))]

    def sample(self, session: Session, scope: Scope, limit: int = 20) -> pd.DataFrame:
        df = pd.DataFrame(
            session.execute(self._query(scope).limit(limit)).all(),
            columns=["id_number", "records", "names"],
        )
        return mask_frame(df)


#: The registered data-quality checks, in display order.
QUALITY_CHECKS: list[QualityCheck] = [
    MissingCoordinates(),
    InvalidIdNumbers(),
    DuplicatesAcrossSources(),
    ConflictingIdNumbers(),
]


def run_quality_checks(
    session: Session, scope: Scope, checks: list[QualityCheck] | None = None
) -> pd.DataFrame:
    """Run the checks; one row per check x kind.

    Returns
    -------
    DataFrame
        check, kind, checked, failing, share (None when nothing was checked), seconds
        (time the check took, for the whole check, on each of its rows).
    """
    rows = []
    for check in checks or QUALITY_CHECKS:
        t0 = time.perf_counter()
        results = check.run(session, scope)
        secs = time.perf_counter() - t0
        for r in results:
            rows.append(
                {
                    "check": r.check,
                    "kind": r.kind,
                    "checked": r.checked,
                    "failing": r.failing,
                    "share": r.share,
                    "seconds": round(secs, 3),
                }
            )
    return pd.DataFrame(rows, columns=["check", "kind", "checked", "failing", "share", "seconds"])


def quality_sample(session: Session, scope: Scope, check_id: str, limit: int = 20) -> pd.DataFrame:
    """Up to ``limit`` failing records of one check, personal columns masked."""
    for check in QUALITY_CHECKS:
        if check.id == check_id:
            return check.sample(session, scope, limit)
    raise ValueError(
        f"unknown quality check {check_id!r} (one of {[c.id for c in QUALITY_CHECKS]})"
    )
