"""Import the practice files (alcohol incidents, patrols, mediation): one runner for all.

Each file is a registered ``PracticeFile``: its ``FileSpec`` (columns, types, Chinese
aliases, frame checks), a ``context`` builder (what the checks look up in the database, with
the importer's scope) and a ``load`` step. ``import_practice_file`` reads the file with the
importer's reader (encodings, XLSX, Chinese headers, row numbers), refuses the whole file on
any error (nothing changes except a failed ``import_log`` row), and otherwise loads it,
logs the import, writes an audit entry and bumps the data version, in the caller's
transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from .. import audit, db
from ..access import Scope
from ..i18n import plural
from ..importer import FileSpec, RowError, format_errors, read_table
from ..models import ImportLog, ImportStatus
from ..timeutil import now_local


@dataclass(frozen=True)
class PracticeFile:
    """One practice file: spec, context builder ``(session, scope) -> ctx`` and loader
    ``(session, valid frame, ctx, actor) -> rows written``."""

    spec: FileSpec
    context: Callable[[Session, Scope], Any]
    load: Callable[[Session, pd.DataFrame, Any, str], int]

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass
class PracticeImportReport:
    file: str
    kind: str
    rows: int = 0
    written: int = 0
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            return (
                f"{self.file}: {plural(len(self.errors), 'error')}, nothing imported\n"
                + format_errors(self.errors, limit=20)
            )
        return f"{self.file}: {plural(self.rows, 'row')} read, {self.written} written ({self.seconds:.1f} s)"


def import_practice_file(
    session: Session,
    pf: PracticeFile,
    source: str | Path | bytes,
    *,
    actor: str,
    scope: Scope,
    file: str | None = None,
    channel: str = "cli",
) -> PracticeImportReport:
    """Validate and import one file (the caller commits). See the module docstring."""
    t0 = time.perf_counter()
    started = now_local()
    name = file or (
        Path(source).name if not isinstance(source, bytes | bytearray) else f"{pf.name}.csv"
    )
    ctx = pf.context(session, scope)
    table = read_table(source, pf.spec, file=name, context=ctx)
    report = PracticeImportReport(
        file=name, kind=pf.name, rows=table.rows, errors=list(table.errors)
    )
    if not report.errors and table.rows == 0:
        report.errors.append(RowError(name, None, "", "", "the file has no data rows"))
    entry = ImportLog(
        started_at=started,
        actor=actor,
        bundle=name,
        channel=channel,
        files=json.dumps({name: table.rows}, ensure_ascii=False),
    )
    if report.errors:
        entry.status = ImportStatus.FAILED
        entry.rejected = len({e.row for e in report.errors if e.row is not None})
        entry.message = format_errors(report.errors, limit=20)
    else:
        report.written = pf.load(session, table.valid, ctx, actor)
        entry.status = ImportStatus.OK
        entry.counts = json.dumps({pf.name: report.written})
        audit.log(
            session,
            actor=actor,
            action=f"import.{pf.name}",
            target=name,
            detail={"rows": table.rows, "written": report.written},
        )
        db.bump_data_version(session)
    report.seconds = time.perf_counter() - t0
    entry.finished_at = now_local()
    entry.duration_s = report.seconds
    session.add(entry)
    session.flush()
    return report


def opt(value):
    """A frame cell as a Python value, or None when missing."""
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def outside_scope(frame: pd.DataFrame, column: str, communities: pd.Series, scope: Scope):
    """Check tuple for rows whose community (``communities``, aligned) is outside ``scope``."""
    bad = communities.notna() & ~communities.map(
        lambda c: scope.allows(str(c)) if pd.notna(c) else True
    )
    if bad.any():
        return [
            (frame.index[bad], column, frame[column][bad].astype(str), "outside your jurisdiction")
        ]
    return []
