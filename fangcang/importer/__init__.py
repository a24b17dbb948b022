"""Import department files: the bundle importer and the reusable, declarative file reader.

Reusable pieces (for any feature that reads department CSV/XLSX files)::

    from fangcang.importer import Field, FileSpec, read_table, format_errors
    SPEC = FileSpec("feedback", key="task_id", fields=(
        Field("task_id", required=True, aliases=("任务编号",)),
        Field("done_on", "date", required=True, aliases=("完成日期",)),
    ))
    table = read_table(path, SPEC)      # never raises for bad content
    table.errors                        # [RowError(file, row, column, value, reason), ...]
    table.valid                         # typed DataFrame of the good rows (index = row number)

The bundle importer (see docs/data-contract.md)::

    from fangcang.importer import import_bundle, validate_bundle
    report = validate_bundle(engine, folder)          # no writes: report.ok, report.errors
    result = import_bundle(engine, folder, actor="admin", channel="upload", partial=False)
    result.status, result.counts, result.report, result.error_report
"""

from .bundle import import_bundle
from .kinds import KINDS, RecordKind
from .reader import (
    FileError,
    Table,
    format_errors,
    read_raw,
    read_table,
    validate_frame,
    write_errors,
)
from .report import BundleError, BundleReport, ImportResult
from .spec import Field, FileSpec, RowError
from .validate import stable_station_id, validate_bundle

__all__ = [
    "BundleError",
    "BundleReport",
    "ImportResult",
    "KINDS",
    "RecordKind",
    "import_bundle",
    "stable_station_id",
    "validate_bundle",
    "Field",
    "FileError",
    "FileSpec",
    "RowError",
    "Table",
    "format_errors",
    "read_raw",
    "read_table",
    "validate_frame",
    "write_errors",
]
