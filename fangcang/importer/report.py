"""What an import found and did: the validation report, the import result, the texts
printed and stored from them, and the rejected rows written back for correction."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..i18n import plural
from ..models import (
    ImportStatus,
)
from . import coords, rejected
from .options import BundleOptions
from .reader import (
    Table,
    format_errors,
)
from .spec import RowError

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]

#: How many errors the printed report shows (the report file has every one).
PRINT_LIMIT = 50


class BundleError(ValueError):
    """Raised by ``import_bundle(..., raise_on_error=True)``; carries the ``ImportResult``."""

    def __init__(self, result: ImportResult):
        super().__init__(result.report)
        self.result = result


# ---------------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------------
@dataclass
class BundleReport:
    """What validation found. ``errors`` are in load order (file by file, row by row)."""

    folder: Path
    files: dict[str, int] = field(default_factory=dict)  # file name -> data rows read
    accepted: dict[str, int] = field(default_factory=dict)  # kind -> rows that passed
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: file name -> how it was read: ``layout`` (delimiter, sheet, header row, skipped
    #: rows), ``unused`` / ``ignored`` columns, ``near_misses``, ``coord`` (system used) and
    #: ``coord_hint`` (a Diagnosis naming the system that fits, when not the declared one)
    file_info: dict[str, dict] = field(default_factory=dict)
    options: BundleOptions | None = field(default=None, repr=False)
    tables: dict[str, Table] = field(default_factory=dict, repr=False)
    new_stations: pd.DataFrame | None = field(default=None, repr=False)
    new_sub_districts: pd.DataFrame | None = field(default=None, repr=False)
    #: Errors found but not listed, per file (limits ``max_errors_per_file`` / ``max_errors``).
    unlisted: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and not any(self.unlisted.values())

    @property
    def error_count(self) -> int:
        """Errors found, listed or not."""
        return len(self.errors) + sum(self.unlisted.values())

    def _file_state(self, file: str, rows: int) -> tuple[bool, int]:
        """(whole file rejected, rows rejected) of one file."""
        table = next((t for t in self.tables.values() if t.file == file), None)
        errs = [e for e in self.errors if e.file == file]
        if any(e.row is None for e in errs) or (table is not None and table.file_errors):
            return True, rows
        bad = table.bad_rows if table is not None else set()
        return False, len(bad | {e.row for e in errs if e.row is not None})

    def file_lines(self, file: str) -> list[str]:
        """How ``file`` was read and which of its columns were not used (for reports)."""
        info = self.file_info.get(file)
        if not info:
            return []
        out = []
        if info.get("layout") is not None:
            out.append(f"read as: {info['layout'].describe()}")
        if info.get("unused"):
            out.append("columns not used: " + ", ".join(info["unused"]))
        if info.get("ignored"):
            out.append("columns ignored as declared: " + ", ".join(info["ignored"]))
        for header, name, spelling in info.get("near_misses", ()):
            out.append(f"column {header!r} looks like {spelling!r} ({name}): did you mean it?")
        if info.get("coord") and info["coord"] != coords.WGS84:
            out.append(f"coordinates converted from {coords.LABELS[info['coord']]} to WGS-84")
        if info.get("coord_kept") is not None:
            out.append(info["coord_kept"].kept_message())
        return out

    @property
    def rejected(self) -> int:
        """Data rows rejected: rows with errors, plus every row of a file with a file error."""
        return sum(self._file_state(file, rows)[1] for file, rows in self.files.items())

    def text(self, limit: int = PRINT_LIMIT, report_path: Path | None = None) -> str:
        """Human-readable summary: files and row counts, then the errors (capped)."""
        lines = [f"bundle {self.folder}"]
        for file, rows in self.files.items():
            bad_file, bad_rows = self._file_state(file, rows)
            state = (
                "file rejected"
                if bad_file
                else f"{plural(bad_rows, 'row')} rejected"
                if bad_rows
                else "ok"
            )
            lines.append(f"  {file:<22} {rows:>10,} {'row ' if rows == 1 else 'rows'}  {state}")
            lines.extend(f"      {line}" for line in self.file_lines(file))
        lines.extend(f"  note: {n}" for n in self.notes)
        if self.error_count:
            lines.append(f"{plural(self.error_count, 'error')} in {plural(self.rejected, 'row')}:")
            lines.append(format_errors(self.errors, limit, total=self.error_count))
            for file, n in self.unlisted.items():
                if n:
                    lines.append(f"{file}: {n:,} more errors not listed (listing limits)")
            if report_path is not None:
                lines.append(f"full error list: {report_path}")
        return "\n".join(lines)


@dataclass
class ImportResult:
    """Outcome of ``import_bundle``.

    ``status`` is ok (everything loaded), partial (good rows loaded, rejected rows written to
    ``rejected_dir``) or failed (nothing changed). ``counts`` are rows loaded per kind;
    ``inserted`` / ``updated`` / ``unchanged`` split them (unchanged: the stored row was newer).
    """

    status: ImportStatus
    folder: Path
    files: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    report: str = ""
    error_report: Path | None = None
    rejected_dir: Path | None = None
    duration_s: float = 0.0
    log_id: int | None = None
    #: per record kind loaded: ``incremental`` or ``full`` (how its aggregates were refreshed)
    aggregates: dict = field(default_factory=dict)
    #: seconds per phase (wall: ``validate``, ``load_<kind>``, ``aggregates_<kind>``,
    #: ``aggregates`` (their sum), ``commit``, ``lock`` (the final write transaction); process CPU: ``cpu_validate``, ``cpu_load``)
    timings: dict[str, float] = field(default_factory=dict)
    #: when the final write transaction began (perf_counter), for ``timings['lock']``
    lock_from: float = field(default=0.0, repr=False)

    @property
    def ok(self) -> bool:
        return self.status != ImportStatus.FAILED


def _write_rejected(report: BundleReport, out_dir: Path) -> Path | None:
    """Write each file's rejected rows (original columns + row number + reasons) for correction.

    They hold personal data in the clear (the department corrects them): owner-only files in
    an owner-only folder, listed and downloadable (audited) on the data hub, deleted after
    ``FANGCANG_REJECTED_KEEP_DAYS`` days (``fangcang.importer.rejected``)."""
    written = False
    for table in report.tables.values():
        if table.ok or table.raw is None:
            continue
        whole = bool(table.file_errors)
        rows = table.raw.index if whole else sorted(table.bad_rows)
        if not len(rows):
            continue
        reasons = table.reasons_by_row(rows)
        out = table.raw.loc[rows].copy()
        file_reason = "; ".join(e.reason for e in table.file_errors) or (
            "error not listed (listing limits): see the error report's counts"
        )
        out.insert(0, "_errors", ["; ".join(reasons.get(r, [file_reason])) for r in out.index])
        out.insert(0, "_row", out.index)
        rejected.write_private_csv(out, out_dir / (Path(table.file).stem + ".csv"))
        written = True
    return out_dir if written else None


def _result_text(report: BundleReport, result: ImportResult) -> str:
    lines = [report.text(report_path=result.error_report)]
    if result.status == ImportStatus.FAILED:
        lines.append(
            "nothing was imported: fix the rows above (or import with --partial to load the "
            "good rows and get the rejected ones in a file)"
        )
    else:
        for kind, n in result.counts.items():
            lines.append(
                f"  {kind:<14} {n:>10,} loaded ({result.inserted.get(kind, 0):,} new, "
                f"{result.updated.get(kind, 0):,} updated, "
                f"{result.unchanged.get(kind, 0):,} kept: stored copy newer)"
            )
        if result.rejected_dir:
            lines.append(f"rejected rows for correction: {result.rejected_dir}")
        lines.append(f"import {result.status.value} in {result.duration_s:.1f} s")
    return "\n".join(lines)
