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
"""

from .reader import (
    FileError,
    Table,
    format_errors,
    read_raw,
    read_table,
    validate_frame,
    write_errors,
)
from .spec import Field, FileSpec, RowError

__all__ = [
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
