"""``visits.csv``: visits recorded elsewhere (a phone app, a spreadsheet), imported in one go.

One row per person seen; the rows of one visit share ``visit_ref`` and repeat its house,
time, use, count and notes. A visit where nobody was identified is one row with empty person
columns. Validation reuses the importer's declarative reader (encodings, XLSX, Chinese
headers, row errors); a file with any error changes nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, db
from ..access import Scope
from ..config import get_settings
from ..i18n import plural
from ..importer import Field, FileSpec, RowError, format_errors, read_table
from ..importer.kinds import PHONE_ALIASES
from ..importer.reader import write_errors
from ..importer.spec import DATE, DATETIME, ENUM, ID_NUMBER, INT, PHONE
from ..models import House, HouseUse, ImportLog, ImportStatus
from ..timeutil import now_local
from .matching import Observed
from .reconcile import reconcile
from .record import FUTURE_SKEW, add_visit

VISIT_FIELDS = ("house_id", "visited_at", "officer_id", "observed_use", "observed_count", "notes")
PERSON_FIELDS = ("resident_name", "resident_id_number", "resident_phone", "resident_birth_date")


@dataclass(frozen=True)
class _Context:
    houses: dict[str, str]  # house_id -> community_id
    scope: Scope
    now: datetime


def _check_people(frame: pd.DataFrame, ctx: _Context) -> list[tuple]:
    out = []
    name = frame["resident_name"].fillna("").astype(str).str.strip()
    other = (
        frame["resident_id_number"].notna()
        | frame["resident_phone"].notna()
        | frame["resident_birth_date"].notna()
    )
    bad = (name == "") & other
    if bad.any():
        out.append((frame.index[bad], "resident_name", name[bad], "a person needs a name"))
    bad = (name != "") & ~other
    if bad.any():
        out.append(
            (
                frame.index[bad],
                "resident_name",
                name[bad],
                "give an ID number, or a phone or birth date with the name",
            )
        )
    births = frame["resident_birth_date"].dropna()
    bad_birth = births[(births > pd.Timestamp(ctx.now)) | (births.dt.year < 1900)]
    if len(bad_birth):
        out.append(
            (bad_birth.index, "resident_birth_date", bad_birth.astype(str), "impossible birth date")
        )
    return out


def _check_visits(frame: pd.DataFrame, ctx: _Context) -> list[tuple]:
    out = []
    house = frame["house_id"].astype(str)
    unknown = ~house.isin(ctx.houses.keys())
    if unknown.any():
        out.append(
            (frame.index[unknown], "house_id", house[unknown], "house is not in the registry")
        )
    outside = ~unknown & ~house.map(lambda h: ctx.scope.allows(ctx.houses.get(h, "")))
    if outside.any():
        out.append(
            (frame.index[outside], "house_id", house[outside], "house is outside your jurisdiction")
        )
    future = frame["visited_at"] > pd.Timestamp(ctx.now + FUTURE_SKEW)
    if future.any():
        out.append(
            (
                frame.index[future],
                "visited_at",
                frame["visited_at"][future].astype(str),
                "in the future",
            )
        )
    # Rows of one visit must agree on the visit's own columns.
    for col in VISIT_FIELDS:
        values = frame[col].astype(str)
        n = values.groupby(frame["visit_ref"]).transform("nunique")
        bad = n > 1
        if bad.any():
            out.append(
                (
                    frame.index[bad],
                    col,
                    values[bad],
                    "rows of the same visit_ref disagree on this column",
                )
            )
    persons = frame["resident_name"].fillna("").astype(str).str.strip().ne("")
    listed = persons.groupby(frame["visit_ref"]).transform("sum")
    small = frame["observed_count"].notna() & (frame["observed_count"] < listed)
    if small.any():
        out.append(
            (
                frame.index[small],
                "observed_count",
                frame["observed_count"][small].astype(str),
                "smaller than the number of people listed for this visit",
            )
        )
    return out


SPEC = FileSpec(
    "visits",
    fields=(
        Field(
            "visit_ref",
            required=True,
            aliases=("走访编号", "走访记录编号"),
            max_length=64,
            description="groups the rows of one visit (any text unique to the visit)",
        ),
        Field(
            "house_id",
            required=True,
            aliases=("房屋编号", "房屋ID"),
            max_length=40,
            code=True,
            description="the visited house (must be in the registry)",
        ),
        Field(
            "visited_at",
            DATETIME,
            required=True,
            aliases=("走访时间", "入户时间"),
            description="local time of the visit, not in the future",
        ),
        Field(
            "officer_id",
            aliases=("民警编号", "走访民警"),
            max_length=32,
            code=True,
            description="the visiting officer",
        ),
        Field(
            "observed_use",
            ENUM,
            choices=HouseUse,
            aliases=("实际用途", "房屋实际用途"),
            description="use seen on site",
        ),
        Field(
            "observed_count",
            INT,
            min=0,
            max=500,
            aliases=("实际居住人数", "实住人数"),
            description="people living there as counted on site (at least the people listed)",
        ),
        Field(
            "notes",
            aliases=("备注", "走访情况"),
            default="",
            max_length=2000,
            description="free text",
        ),
        Field(
            "resident_name",
            aliases=("姓名", "居住人姓名"),
            max_length=64,
            personal=True,
            description="a person seen (empty on a row for a visit where nobody was identified)",
        ),
        Field(
            "resident_id_number",
            ID_NUMBER,
            aliases=("身份证号", "公民身份号码", "身份证号码", "证件号码"),
            personal=True,
            description="18-character ID number with a valid check digit, where seen",
        ),
        Field(
            "resident_phone",
            PHONE,
            aliases=PHONE_ALIASES,
            personal=True,
            description="phone (needed when no ID number and no birth date)",
        ),
        Field(
            "resident_birth_date",
            DATE,
            aliases=("出生日期",),
            description="birth date (needed when no ID number and no phone)",
        ),
    ),
    checks=(_check_people, _check_visits),
    description="household visits (云入户): one row per person seen",
)


@dataclass
class VisitImportReport:
    """What an import did (or would do, when ``errors`` is not empty: nothing)."""

    file: str
    rows: int = 0
    visits: int = 0
    residents: int = 0
    discrepancies: int = 0
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0
    unlisted: int = 0  # errors found beyond the listing limit
    #: how the file was read and its unused columns (as for bundle files)
    read_as: str = ""
    unused_columns: list[str] = field(default_factory=list)
    #: the complete error list (personal values masked), when there were errors
    error_report: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """The printed report (personal values in errors are masked)."""
        lines = []
        if self.read_as:
            lines.append(f"  read as: {self.read_as}")
        if self.unused_columns:
            lines.append("  columns not used: " + ", ".join(self.unused_columns))
        if self.errors:
            n = len(self.errors) + self.unlisted
            head = f"{self.file}: {plural(n, 'error')}, nothing imported"
            tail = [format_errors(self.errors, total=n)]
            if self.error_report is not None:
                tail.append(f"full error list: {self.error_report}")
            return "\n".join([head, *lines, *tail])
        return "\n".join(
            [
                f"{self.file}: {self.visits} visits, {self.residents} people seen, "
                f"{self.discrepancies} new discrepancies ({self.seconds:.1f} s)",
                *lines,
            ]
        )


def validate_visits(
    session: Session, source: str | Path | bytes, scope: Scope, *, file: str | None = None
):
    """Read and validate ``visits.csv`` (or .xlsx) without writing anything.

    Returns the importer's ``Table`` (``.errors``, ``.valid``, ``.frame``).
    """
    from ..importer.limits import for_path

    houses = dict(session.execute(select(House.house_id, House.community_id)).all())
    ctx = _Context(houses, scope, now_local())
    return read_table(source, SPEC, file=file, context=ctx, limits=for_path("visits"))


def _opt(value):
    return None if value is None or pd.isna(value) else value


def import_visits(
    session: Session,
    source: str | Path | bytes,
    *,
    actor: str,
    scope: Scope,
    file: str | None = None,
    channel: str = "cli",
) -> VisitImportReport:
    """Validate and import a visits file, then reconcile the new visits (caller commits).

    With any error nothing is written except a failed ``ImportLog`` row (commit it to keep
    the record); the report lists every error (file, row, column, value, reason).
    """
    t0 = time.perf_counter()
    started = now_local()
    name = file or (
        Path(source).name if not isinstance(source, bytes | bytearray) else "visits.csv"
    )
    table = validate_visits(session, source, scope, file=name)
    report = VisitImportReport(
        file=name,
        rows=table.rows,
        errors=list(table.errors),
        unlisted=table.unlisted,
        read_as=table.layout.describe() if table.layout is not None else "",
        unused_columns=list(table.unused_columns),
    )
    log = ImportLog(
        started_at=started,
        actor=actor,
        bundle=name,
        channel=channel,
        files=json.dumps({name: table.rows}, ensure_ascii=False),
    )
    if report.errors:
        stamp = started.strftime("%Y%m%d-%H%M%S-%f")[:-3]
        report.error_report = write_errors(
            report.errors, get_settings().reports_dir / f"visits-{stamp}-errors.csv"
        )
        log.status = ImportStatus.FAILED
        log.rejected = table.rows if table.file_errors else len(table.bad_rows)
        log.error_report = str(report.error_report)
        log.message = report.summary()[:20000]
        log.finished_at = now_local()
        log.duration_s = time.perf_counter() - t0
        session.add(log)
        session.flush()
        report.seconds = log.duration_s
        return report

    frame = table.valid
    houses = {
        h.house_id: h
        for h in session.scalars(
            select(House).where(House.house_id.in_(sorted(set(frame["house_id"]))))
        )
    }
    visit_ids = []
    for _, rows in frame.groupby("visit_ref", sort=False):
        first = rows.iloc[0]
        people = [
            Observed(
                str(r.resident_name).strip(),
                _opt(r.resident_id_number),
                _opt(r.resident_phone),
                _opt(r.resident_birth_date).date()
                if _opt(r.resident_birth_date) is not None
                else None,
            )
            for r in rows.itertuples()
            if _opt(r.resident_name) and str(r.resident_name).strip()
        ]
        visited_at = pd.Timestamp(first["visited_at"]).to_pydatetime()
        count = _opt(first["observed_count"])
        v = add_visit(
            session,
            house=houses[first["house_id"]],
            visited_at=visited_at,
            recorded_by=actor,
            officer_id=_opt(first["officer_id"]),
            observed_use=HouseUse(first["observed_use"]) if _opt(first["observed_use"]) else None,
            observed_count=None if count is None else int(count),
            residents=people,
            notes=_opt(first["notes"]) or "",
            source="csv",
        )
        visit_ids.append(v.id)
        report.visits += 1
        report.residents += len(people)
    result = reconcile(session, scope, visit_ids=visit_ids)
    report.discrepancies = result.created
    report.seconds = time.perf_counter() - t0
    log.status = ImportStatus.OK
    log.counts = json.dumps({"visits": report.visits, "visit_residents": report.residents})
    log.message = report.summary()[:20000]
    log.finished_at = now_local()
    log.duration_s = report.seconds
    session.add(log)
    audit.log(
        session,
        actor=actor,
        action="import.visits",
        target=name,
        detail={
            "visits": report.visits,
            "residents": report.residents,
            "discrepancies": report.discrepancies,
        },
    )
    db.bump_data_version(session)
    return report
