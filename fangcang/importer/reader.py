"""Read a CSV/XLSX file against a ``FileSpec``: decode, map headers, parse, validate.

Everything is vectorised (pandas/numpy over whole columns) so a million-row file validates in
seconds. Nothing here touches the database.

Encodings: UTF-8 (with or without BOM) is tried first, strictly; then GB18030 (a superset of
GBK/GB2312, what Excel exports on Chinese Windows). One file is in one encoding: a file that
starts in UTF-8 (a BOM, or a line of Chinese text in UTF-8 before the first bad byte) and then
breaks, or a GB18030 file with a line of UTF-8 Chinese in it, is an error naming the first line
that does not decode in the file's encoding (never re-read whole as GB18030, which would store
mojibake: 张三 -> 寮犱笁). A file neither encoding decodes is an error naming the byte offset
and line.

Limits (``fangcang.importer.limits``, settings ``fangcang.config.ImportLimits``) are checked
before the expensive work: file bytes, lines and header width on the bytes, an XLSX's archive
and sheet dimension before its rows are streamed (reading stops at the row limit). Every cell is
checked for control characters and length; errors are listed up to a per-file limit and the
rest counted; a duplicated id is reported once per group with its size and first rows.

Size: 1178 lines because it is one pipeline (bytes -> decoded text -> raw cells -> typed, validated
table) whose steps share one error list (``_Errors``, row numbers, per-file limits); it should
still be split into decoding/limits (``decode``, ``read_raw``, the archive and dimension checks)
and column parsing/validation (not done yet).
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import ImportLimits, get_import_limits
from . import limits as L
from .aliases import fold, mapping_for
from .cells import normalize_codes
from .spec import (
    BOOL,
    DATE,
    DATETIME,
    ENUM,
    FIRST_DATA_ROW,
    FLOAT,
    ID_NUMBER,
    INT,
    LAT,
    LAT_RANGE,
    LON,
    LON_RANGE,
    PHONE,
    STRING,
    Field,
    FileSpec,
    RowError,
    _fold,
)

#: File suffixes the reader understands, in the order a bundle looks for them.
SUFFIXES = (".csv", ".xlsx")

log = logging.getLogger(__name__)

#: Characters at or above U+0800 (Chinese text takes three bytes in UTF-8) on the line of the
#: first bad byte, before it, that make the file UTF-8 rather than GB18030. One such character
#: on an earlier, complete line is enough: a GBK line is almost never valid UTF-8 with one
#: (none in 200,000 simulated lines of names and addresses).
_UTF8_EVIDENCE = 3

#: Excel's own row limit (a sheet cannot hold more).
XLSX_MAX_ROWS = 1_048_576
#: Rows of an XLSX read into Python lists before they are packed into compact arrays.
#: Smallest rapidfuzz ratio (0-100) between an unused header and a contract spelling that
#: makes the header a near miss ("did you mean ..."): one wrong character in four or five.
NEAR_MISS_RATIO = 75.0

#: Control characters refused in cells (a pattern both Python and pyarrow's RE2 accept).
_CONTROL_PATTERN = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
#: Bytes that are control characters in UTF-8 text (C0 except tab, LF, CR; DEL).
_CONTROL_BYTES = np.zeros(256, dtype=bool)
_CONTROL_BYTES[[*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]] = True
#: A header pandas renamed because it repeats an earlier one (``loss_yuan`` -> ``loss_yuan.1``).
_MANGLED = re.compile(r"^(.*)\.(\d+)$", re.DOTALL)

#: Largest whole number accepted (32-bit database integers).
INT_LIMIT = 2**31 - 1

_TRUE = {"1", "true", "t", "yes", "y", "是", "有", "√", "涉酒"}
_FALSE = {"0", "false", "f", "no", "n", "否", "无", "×", ""}

_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK_CODES = np.array([ord(c) for c in "10X98765432"], dtype=np.int64)


class FileError(ValueError):
    """A problem with a whole file (encoding, header, emptiness); carries the RowError."""

    def __init__(self, error: RowError):
        super().__init__(str(error))
        self.error = error


@dataclass
class Table:
    """A file read against a spec.

    Attributes
    ----------
    file : str
        File name as reported in errors.
    frame : DataFrame
        Every data row, typed (strings, floats, ``Int64``, ``datetime64`` (dates at midnight),
        ``bool``), indexed
        by spreadsheet row number; columns = the spec's fields (missing optional ones filled
        with their default). Cells that failed to parse are missing (NA).
    errors : list of RowError
        The problems listed: file-level ones first, then by row, at most
        ``ImportLimits.max_errors_per_file`` row errors (``unlisted`` counts the rest).
    raw : DataFrame
        The cells as read (text), same index, original headers: used to write rejected rows.
    encoding : str
    unlisted : int
        Errors found beyond the listing limit (their rows are in ``bad_rows`` all the same).
    layout : Layout, optional
        How the file was laid out (delimiter, sheet, header row, skipped empty rows).
    unused_columns : list of str
        Headers of the file that no contract column takes (listed in every report).
    near_misses : list of (header, field, spelling)
        Unused headers that look like a contract column's spelling (rapidfuzz): an error in
        strict mode unless declared ignored.
    ignored_columns : list of str
        Unused headers the importer was told to ignore.
    """

    file: str
    spec: FileSpec
    frame: pd.DataFrame
    errors: list[RowError] = field(default_factory=list)
    raw: pd.DataFrame | None = None
    encoding: str = ""
    unlisted: int = 0
    #: Rows with an error, listed or not (errors appended to ``errors`` by hand count too).
    bad: set[int] = field(default_factory=set, repr=False)
    #: (rows, reason) of errors not listed: a duplicate id's later copies, errors past the
    #: listing limit. Used to explain rejected rows.
    unlisted_reasons: list[tuple[np.ndarray, str]] = field(default_factory=list, repr=False)
    max_errors: int | None = None
    layout: Any = None
    unused_columns: list[str] = field(default_factory=list)
    near_misses: list[tuple[str, str, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.bad

    @property
    def error_count(self) -> int:
        """Errors found: listed plus unlisted."""
        return len(self.errors) + self.unlisted

    @property
    def file_errors(self) -> list[RowError]:
        return [e for e in self.errors if e.row is None]

    @property
    def bad_rows(self) -> set[int]:
        listed = {e.row for e in self.errors if e.row is not None}
        return (self.bad | listed) if self.bad else listed

    @property
    def valid(self) -> pd.DataFrame:
        """The rows without any error (all rows are bad when the file has a file-level error)."""
        if self.file_errors:
            return self.frame.iloc[0:0]
        bad = self.bad_rows
        if not bad:
            return self.frame
        return self.frame.loc[~self.frame.index.isin(list(bad))]

    def add_errors(self, rows, column: str, values, reason) -> None:
        """Record errors on ``rows`` (array-like; ``values`` / ``reason`` scalar or alike),
        listing them while the per-file limit allows and counting the rest."""
        rows = np.asarray(rows).reshape(-1)
        if rows.size == 0:
            return
        cap = self.max_errors if self.max_errors is not None else _limits().max_errors_per_file
        room = max(cap - sum(1 for e in self.errors if e.row is not None), 0)
        values = [values] * rows.size if np.isscalar(values) or values is None else list(values)
        reasons = [reason] * rows.size if isinstance(reason, str) else list(reason)
        self.errors.extend(
            RowError(self.file, int(r), column, "" if v is None else str(v), str(why))
            for r, v, why in zip(rows[:room], values[:room], reasons[:room], strict=True)
        )
        self.bad.update(int(r) for r in rows)
        if rows.size > room:
            self.unlisted += int(rows.size - room)
            summary = reason if isinstance(reason, str) else "invalid value"
            self.unlisted_reasons.append((rows[room:], f"{column}: {summary}"))

    def reasons_by_row(self, rows: Iterable[int]) -> dict[int, list[str]]:
        """``column: reason`` texts per row, listed and unlisted (for rejected-row files)."""
        wanted = set(rows)
        out: dict[int, list[str]] = {}
        for e in self.errors:
            if e.row is not None and e.row in wanted:
                out.setdefault(e.row, []).append(f"{e.column}: {e.reason}")
        for r_arr, why in self.unlisted_reasons:
            hit = r_arr[np.isin(r_arr, list(wanted))] if len(wanted) < len(r_arr) else r_arr
            for r in hit.tolist():
                if r in wanted:
                    out.setdefault(int(r), []).append(why)
        return out


def _limits() -> ImportLimits:
    return get_import_limits()


# ---------------------------------------------------------------------------------------------
# Decoding and raw reading
# ---------------------------------------------------------------------------------------------
def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _wide_chars(text: str) -> int:
    """Characters at or above U+0800 (three or more bytes in UTF-8: Chinese text)."""
    return sum(1 for ch in text if ord(ch) >= 0x800 and ch != "\ufeff")


def _is_utf8_text(line: bytes, evidence: int = 1) -> bool:
    """The line decodes as UTF-8 and holds at least ``evidence`` wide characters."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _wide_chars(text) >= evidence


def decode(data: bytes, file: str) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM optional) or GB18030; return ``(text, encoding)``.

    The whole file must be in one encoding. It is UTF-8 when it decodes as UTF-8; when it does
    not, it is still taken as UTF-8 (and the bad line is an error) if it starts with a BOM, an
    earlier line holds Chinese text in UTF-8, or the bad line holds some before the bad byte.
    Otherwise it is GB18030, and a line in it that is UTF-8 Chinese text is an error.

    Raises
    ------
    FileError
        Mixed encodings (naming the first line that does not decode in the file's encoding),
        or bytes neither encoding accepts (naming the byte offset and line).
    """
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    pos = utf8_error.start
    line_start = data.rfind(b"\n", 0, pos) + 1
    head = data[:line_start].decode("utf-8", errors="replace")
    partial = data[line_start:pos].decode("utf-8", errors="replace")
    if (
        data.startswith(b"\xef\xbb\xbf")
        or _wide_chars(head) >= 1
        or _wide_chars(partial) >= _UTF8_EVIDENCE
    ):
        line = _line_of(data, pos)
        raise FileError(
            RowError(
                file,
                None,
                "",
                data[pos : pos + 4].hex(" "),
                f"mixed encodings or damaged UTF-8: the file is UTF-8 but line {line} (byte "
                f"offset {pos}) is not UTF-8; save the whole file in one encoding (UTF-8 or "
                "GB18030)",
            )
        )
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError as exc:
        pos = exc.start
        raise FileError(
            RowError(
                file,
                None,
                "",
                data[pos : pos + 4].hex(" "),
                f"unknown encoding: neither UTF-8 (bad byte at offset {utf8_error.start}, line "
                f"{_line_of(data, utf8_error.start)}) nor GB18030/GBK (bad byte at offset {pos}, "
                f"line {_line_of(data, pos)}); save the file as UTF-8 or GB18030",
            )
        ) from None
    first_gb = _line_of(data, utf8_error.start)
    start, number = 0, 0
    while start < len(data):  # line by line, one line's copy at a time
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        line = data[start:end]
        start, number = end + 1, number + 1
        # ASCII lines are both; a UTF-8 line needs two wide characters here (a whole
        # file is scanned, so the evidence asked of each line is higher).
        if not line.isascii() and _is_utf8_text(line, evidence=2):
            raise FileError(
                RowError(
                    file,
                    None,
                    "",
                    "",
                    f"mixed encodings: the file is GB18030/GBK (line {first_gb}) but line "
                    f"{number} is UTF-8; save the whole file in one encoding (UTF-8 or GB18030)",
                )
            )
    return text, "gb18030"


def read_raw(
    source: str | Path | bytes,
    file: str | None = None,
    limits: ImportLimits | None = None,
    spec: FileSpec | None = None,
) -> tuple[pd.DataFrame, str]:
    """Read a CSV or XLSX into a frame of text cells (``""`` for empty), headers as written.

    Parameters
    ----------
    source : path or bytes
        A ``.csv`` / ``.xlsx`` path, or the file's bytes (then ``file`` names it and its
        suffix decides the format).
    file : str, optional
        Name used in errors (default: the path's name).
    limits : ImportLimits, optional
        Default ``fangcang.config.get_import_limits()``. Bytes are checked before the file is
        read; lines and header width (CSV) or archive and sheet dimension (XLSX) before it is
        parsed; rows and columns after.
    spec : FileSpec, optional
        The file's contract: used to find the delimiter, the sheet and the header row
        (``fangcang.importer.layout``).

    Returns
    -------
    (DataFrame, encoding)
        Index = spreadsheet row number (header on row 1: first data row = 2); blank rows
        are skipped without renumbering the others.

    Raises
    ------
    FileError
        Over a limit, bad encoding, unreadable file, no header, a repeated header, or no data
        rows.
    """
    from .layout import read_source

    frame, layout, _ = read_source(source, file, spec, limits)
    return frame, layout.encoding


def check_frame_limits(frame: pd.DataFrame, file: str, lim: ImportLimits) -> None:
    """Columns and rows of a parsed file against the limits (``FileError`` when over)."""
    if len(frame.columns) > lim.max_columns:
        raise FileError(
            RowError(
                file,
                None,
                "",
                "",
                f"{len(frame.columns):,} columns, over the limit of {lim.max_columns:,} "
                "(FANGCANG_IMPORT_MAX_COLUMNS)",
            )
        )
    if len(frame) > lim.max_rows:
        raise FileError(
            RowError(
                file,
                None,
                "",
                "",
                f"{len(frame):,} rows, over the limit of {lim.max_rows:,} "
                "(FANGCANG_IMPORT_MAX_ROWS): split the file",
            )
        )


def _repeated(names: list[str]) -> dict[str, list[int]]:
    """Header text -> 1-based column numbers, for texts written more than once."""
    where: dict[str, list[int]] = {}
    for i, name in enumerate(names, start=1):
        key = str(name).strip()
        if key:
            where.setdefault(key, []).append(i)
    return {k: v for k, v in where.items() if len(v) > 1}


def _repeated_error(file: str, repeated: dict[str, list[int]]) -> FileError:
    name, cols = next(iter(repeated.items()))
    more = f" (and {len(repeated) - 1} more repeated)" if len(repeated) > 1 else ""
    return FileError(
        RowError(
            file,
            None,
            L.shorten(name),
            "",
            f"column {L.shorten(name)!r} appears {len(cols)} times in the header (columns "
            f"{', '.join(map(str, cols))}){more}: every column must have its own name",
        )
    )


def _check_repeated_headers(columns: Iterable, file: str) -> None:
    """A CSV header that repeats a name (the parser renamed the copy ``name.1``)."""
    names = [str(c) for c in columns]
    present = set(names)
    original = []
    for name in names:
        m = _MANGLED.match(name)
        original.append(m.group(1) if m and m.group(1) in present else name)
    if repeated := _repeated(original):
        raise _repeated_error(file, repeated)


def _xlsx_error(file: str, reason: str) -> FileError:
    return FileError(RowError(file, None, "", "", reason))


def check_xlsx_archive(data: bytes, file: str, lim: ImportLimits) -> None:
    """The XLSX archive against the limits (``limits.check_zip``: entries, unpacked size,
    ratio) before openpyxl parses it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            L.check_zip(zf, file, lim, what="XLSX")
    except zipfile.BadZipFile:
        raise _xlsx_error(file, "cannot read as XLSX: not an XLSX (zip) file") from None
    except L.ArchiveError as exc:
        raise _xlsx_error(file, str(exc).removeprefix(f"{file}: ")) from None


def check_sheet_dimension(ws, file: str, lim: ImportLimits) -> None:
    """A sheet's declared dimension against the row and column limits."""
    max_rows = min(lim.max_rows, XLSX_MAX_ROWS)
    declared_rows, declared_cols = ws.max_row, ws.max_column  # the sheet's <dimension>
    if declared_rows is not None and declared_rows - 1 > max_rows:
        raise _xlsx_error(
            file,
            f"the sheet declares {declared_rows - 1:,} rows, over the limit of "
            f"{max_rows:,} (FANGCANG_IMPORT_MAX_ROWS): split the file",
        )
    if declared_cols is not None and declared_cols > lim.max_columns:
        raise _xlsx_error(
            file,
            f"the sheet declares {declared_cols:,} columns, over the limit of "
            f"{lim.max_columns:,} (FANGCANG_IMPORT_MAX_COLUMNS)",
        )


# ---------------------------------------------------------------------------------------------
# Parsing and validation
# ---------------------------------------------------------------------------------------------
class _Errors:
    """Collects errors as arrays (cheap for millions of rows), builds RowErrors at the end.

    Every error's row is kept (to reject it); only the first ``cap`` of each kind keep their
    value and reason (the listing is capped per file, ``ImportLimits.max_errors_per_file``).
    """

    def __init__(self, file: str, cap: int | None = None):
        self.file = file
        self.cap = cap if cap is not None else _limits().max_errors_per_file
        self.file_level: list[RowError] = []
        self.chunks: list[pd.DataFrame] = []
        self.rows: list[np.ndarray] = []
        self.unlisted: list[tuple[np.ndarray, str]] = []
        self.count = 0
        #: column -> rows already rejected with the root cause (later errors there dropped)
        self.shadow: dict[str, np.ndarray] = {}

    def whole_file(self, column: str, value: str, reason: str) -> None:
        self.file_level.append(RowError(self.file, None, column, value, reason))

    def add(self, rows, column: str, values, reason) -> None:
        rows = np.asarray(rows).reshape(-1)
        if rows.size == 0:
            return
        shadow = self.shadow.get(column)
        if shadow is not None and shadow.size:
            keep = ~np.isin(rows, shadow)
            if not keep.all():
                rows = rows[keep]
                values = np.asarray(values, dtype=object).reshape(-1)[keep]
                if not isinstance(reason, str):
                    reason = np.asarray(reason, dtype=object).reshape(-1)[keep]
                if rows.size == 0:
                    return
        self.count += rows.size
        self.rows.append(rows.astype(np.int64, copy=False))
        values = np.asarray(values, dtype=object).reshape(-1)
        reasons = np.asarray(reason, dtype=object) if not isinstance(reason, str) else reason
        if rows.size > self.cap:  # keep the first rows' details only
            order = np.argsort(rows, kind="stable")
            head, rest = order[: self.cap], order[self.cap :]
            summary = reason if isinstance(reason, str) else "invalid value"
            self.unlisted.append((rows[rest], f"{column}: {summary}"))
            rows, values = rows[head], values[head]
            if not isinstance(reasons, str):
                reasons = reasons[head]
        self.chunks.append(
            pd.DataFrame({"row": rows, "column": column, "value": values, "reason": reasons})
        )

    def mark(self, rows, column: str, reason: str) -> None:
        """Rows rejected by an error listed elsewhere (a duplicate id's later copies)."""
        rows = np.asarray(rows).reshape(-1)
        if rows.size:
            self.rows.append(rows.astype(np.int64, copy=False))
            self.unlisted.append((rows, f"{column}: {reason}"))

    def row_errors(self, personal: Iterable[Field] = ()) -> tuple[list[RowError], int]:
        """(listed errors, errors found but not listed); values of ``personal`` fields
        masked (fangcang.privacy)."""
        out = list(self.file_level)
        listed = 0
        if self.chunks:
            df = pd.concat(self.chunks, ignore_index=True)
            df = df.sort_values(["row", "column"], kind="stable").head(self.cap)
            for f in personal:
                column, mask = f.name, mask_for(f)
                hit = df["column"] == column
                if mask is not None and hit.any():
                    df.loc[hit, "value"] = [mask(v) if v else "" for v in df.loc[hit, "value"]]
            out.extend(
                RowError(self.file, int(r), str(c), "" if v is None else str(v), str(why))
                for r, c, v, why in zip(
                    df["row"], df["column"], df["value"], df["reason"], strict=True
                )
            )
            listed = len(df)
        return out, self.count - listed

    def bad_rows(self) -> set[int]:
        if not self.rows:
            return set()
        return set(np.unique(np.concatenate(self.rows)).tolist())

    def fill(self, table: Table, personal: Iterable[Field] = ()) -> Table:
        """Put the errors into ``table``: listed ones, the count of the rest, bad rows."""
        table.errors, table.unlisted = self.row_errors(personal)
        table.bad = self.bad_rows()
        table.max_errors = self.cap
        # Reasons of unlisted errors (rejected-row files): the ones past the listing limit.
        table.unlisted_reasons = list(self.unlisted)
        return table


def mask_for(f: Field):
    """The masking function for a personal field's values (by type, then by name)."""
    from .. import privacy

    if f.type == ID_NUMBER:
        return privacy.mask_id_number
    if f.type == PHONE:
        return privacy.mask_phone
    return privacy.PERSONAL_COLUMNS.get(f.name, privacy.mask_name)


def _text(series: pd.Series) -> pd.Series:
    return series.astype(str).str.strip()


def _parse_datetime(text: pd.Series, date_only: bool) -> pd.Series:
    """Parse local times written ``2025-03-01 08:30[:00]``, ``2025/3/1 8:30``, ``2025年3月1日``,
    ISO 8601 with ``T``; an explicit offset (``+08:00``, ``Z``) is converted to local time.

    The usual format is tried on the whole column first (one vectorised pass); only the cells
    it does not parse go through the slower normalisation and the other formats.
    """
    primary = "%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M:%S"
    values = np.array(
        pd.to_datetime(text, format=primary, errors="coerce").to_numpy(dtype="datetime64[us]")
    )
    todo = np.isnat(values) & (text != "").to_numpy(dtype=bool)
    if todo.any():
        rest = text[todo]
        s = (
            rest.str.replace("/", "-", regex=False)
            .str.replace("年", "-", regex=False)
            .str.replace("月", "-", regex=False)
            .str.replace("日", " ", regex=False)
            .str.replace("T", " ", regex=False)
            .str.strip()
        )
        got = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[us]")
        for fmt in (
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M",
            "%Y-%m-%d",
            "%Y-%m-%d %H:%M:%S.%f",
        ):
            left = np.isnat(got)
            if not left.any():
                break
            parsed = pd.to_datetime(s[left], format=fmt, errors="coerce")
            got[left] = parsed.to_numpy(dtype="datetime64[us]")
        left = np.isnat(got)
        if left.any():  # explicit offsets: convert to local time
            from ..timeutil import TZ

            sub = s[left]
            has_offset = sub.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).fillna(False)
            aware = pd.to_datetime(
                sub.where(has_offset), errors="coerce", utc=True, format="ISO8601"
            )
            local = aware.dt.tz_convert(TZ).dt.tz_localize(None)
            got[left] = local.to_numpy(dtype="datetime64[us]")
        values[todo] = got
    out = pd.Series(values, index=text.index)
    if date_only:
        has_time = out.notna() & (out != out.dt.normalize())
        out = out.where(~has_time, pd.NaT).dt.normalize()
    return out


def _id_shape_and_check(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(well-formed, check digit right) per value, in numpy over the characters' code points
    (no per-value Python or regex work: a million IDs take a fraction of a second)."""
    text = values.astype(str).str.upper()
    n = len(text)
    shaped = np.zeros(n, dtype=bool)
    ok = np.zeros(n, dtype=bool)
    right_len = (text.str.len() == 18).fillna(False).to_numpy(dtype=bool)
    if right_len.any():
        arr = text[right_len].to_numpy(dtype="U18")
        codes = arr.view(np.uint32).reshape(-1, 18).astype(np.int64)
        digits = codes[:, :17] - 48
        last = codes[:, 17]
        well = ((digits >= 0) & (digits <= 9)).all(axis=1) & (
            ((last >= 48) & (last <= 57)) | (last == ord("X"))
        )
        expected = _ID_CHECK_CODES[(np.clip(digits, 0, 9) @ _ID_WEIGHTS) % 11]
        shaped[right_len] = well
        ok[right_len] = well & (expected == last)
    return shaped, ok


def id_check_digit_ok(values: pd.Series) -> pd.Series:
    """True where an 18-character ID number has the GB 11643-1999 check digit (vectorised)."""
    return pd.Series(_id_shape_and_check(values)[1], index=values.index)


def _parse_column(col, text: pd.Series, errors: _Errors, latest=None) -> pd.Series:
    """Parse one column; record errors; return typed values (NA where unparseable/empty).

    ``latest``: the latest time a ``date`` / ``datetime`` may hold (now plus the tolerance;
    fields with ``future=True`` are exempt); later ones are errors and missing."""
    name = col.name
    empty = text == ""
    if col.required:
        errors.add(text.index[empty], name, text[empty], "required value is empty")
    present = ~empty
    if col.type == STRING:
        out = text.where(present, None) if col.default is None else text.where(present, col.default)
        if col.max_length:
            long = present & (text.str.len() > col.max_length)
            errors.add(
                text.index[long], name, text[long], f"longer than {col.max_length} characters"
            )
        return out
    if col.type == ENUM:
        mapping = mapping_for(col.choices)
        # Map each distinct spelling once, then spread by code (columns repeat few values).
        codes, uniques = pd.factorize(text)
        mapped = np.array([mapping.get(fold(u)) for u in uniques] + [None], dtype=object)
        out = pd.Series(mapped[codes], index=text.index, dtype=object)
        bad = present & out.isna()
        if bad.any():
            allowed = sorted(set(mapping.values()))
            errors.add(
                text.index[bad], name, text[bad], f"unknown value (allowed: {', '.join(allowed)})"
            )
        out = out.astype(object).where(present, col.default)
        return out
    if col.type in (INT, FLOAT, LON, LAT):
        num = pd.to_numeric(
            text.where(present, None).str.replace(",", "", regex=False), errors="coerce"
        )
        bad = present & num.isna()
        errors.add(text.index[bad], name, text[bad], "not a number")
        lo, hi = col.min, col.max
        if col.type == LON:
            lo, hi = LON_RANGE
        elif col.type == LAT:
            lo, hi = LAT_RANGE
        if col.type == INT:
            frac = num.notna() & (num != num.round())
            errors.add(text.index[frac], name, text[frac], "not a whole number")
            num = num.where(~frac)
            # database integers are 32-bit: bound them even when the field sets no range
            lo = -INT_LIMIT if lo is None else lo
            hi = INT_LIMIT if hi is None else hi
        else:
            finite = num.isna() | np.isfinite(num)
            errors.add(text.index[~finite], name, text[~finite], "not a finite number")
            num = num.where(finite)
        if lo is not None or hi is not None:
            out_of = num.notna() & (
                ((num < lo) if lo is not None else False)
                | ((num > hi) if hi is not None else False)
            )
            if out_of.any():
                what = (
                    "longitude" if col.type == LON else "latitude" if col.type == LAT else "value"
                )
                errors.add(
                    text.index[out_of],
                    name,
                    text[out_of],
                    f"{what} out of range [{lo}, {hi}]",
                )
                num = num.where(~out_of)
        if col.type == INT:
            out = num.round().astype("Int64")
            if col.default is not None:
                out = out.fillna(int(col.default))
            return out
        out = num.astype(float)
        if col.default is not None:
            out = out.fillna(float(col.default))
        return out
    if col.type in (DATE, DATETIME):
        parsed = _parse_datetime(text, date_only=(col.type == DATE))
        bad = present & parsed.isna()
        what = (
            "date (use YYYY-MM-DD)" if col.type == DATE else "date/time (use YYYY-MM-DD HH:MM:SS)"
        )
        errors.add(text.index[bad], name, text[bad], f"not a valid {what}")
        if latest is not None and not col.future:
            future = (parsed > pd.Timestamp(latest)).fillna(False).to_numpy(dtype=bool)
            if future.any():
                errors.add(
                    text.index[future],
                    name,
                    text[future],
                    f"in the future (later than {pd.Timestamp(latest):%Y-%m-%d %H:%M}, now plus "
                    "the tolerance FANGCANG_IMPORT_FUTURE_TOLERANCE_MINUTES)",
                )
                parsed = parsed.where(~future)
        return parsed  # dates: datetime64 at midnight (vectorised; ``.dt.date`` for objects)
    if col.type == BOOL:
        folded = text.str.casefold()
        is_true = folded.isin(_TRUE)
        is_false = folded.isin(_FALSE)
        bad = ~(is_true | is_false)
        errors.add(
            text.index[bad], name, text[bad], "not a yes/no value (use 1/0, true/false, 是/否)"
        )
        out = pd.Series(is_true.to_numpy(dtype=bool), index=text.index)
        if col.default is not None:
            out = out.where(present, bool(col.default))
        return out
    if col.type == PHONE:
        from ..phone import normalize_phones

        canon, why = normalize_phones(text.where(present, ""))
        bad = present & why.notna()
        errors.add(text.index[bad], name, text[bad], why[bad].to_numpy())
        return canon.where(~bad, None)
    if col.type == ID_NUMBER:
        upper = text.str.upper()
        shaped_np, check_np = _id_shape_and_check(upper)
        shaped = pd.Series(shaped_np, index=text.index)
        check_ok = pd.Series(check_np, index=text.index)
        bad_shape = present & ~shaped
        errors.add(
            text.index[bad_shape],
            name,
            text[bad_shape],
            "ID number must be 17 digits and a check digit (0-9 or X)",
        )
        bad_check = present & shaped & ~check_ok
        errors.add(
            text.index[bad_check],
            name,
            text[bad_check],
            "ID number check digit is wrong (GB 11643)",
        )
        return upper.where(present, None)
    raise AssertionError(col.type)  # Field validates its type


def map_headers(raw: pd.DataFrame, spec: FileSpec, errors: _Errors) -> dict[str, str]:
    """Original header -> field name; records unknown-duplicate and missing-required columns."""
    header_map = spec.header_map()
    found: dict[str, str] = {}
    for original in raw.columns:
        name = header_map.get(_fold(original))
        if name is None:
            continue  # extra columns are ignored (departments' exports carry many)
        if name in found.values():
            other = next(k for k, v in found.items() if v == name)
            errors.whole_file(
                name, original, f"column {name} appears twice (as {other!r} and {original!r})"
            )
            continue
        found[original] = name
    present = set(found.values())
    for f in spec.fields:
        if f.required and f.name not in present:
            aliases = "/".join(f.aliases)
            errors.whole_file(
                f.name,
                "",
                f"missing required column {f.name}" + (f" ({aliases})" if aliases else ""),
            )
    return found


def near_misses(
    unused: Iterable[str], spec: FileSpec, found: Iterable[str]
) -> list[tuple[str, str, str]]:
    """Unused headers that look like the spelling of a contract column not in the file.

    Compared after ``fold_header`` and with punctuation removed, by ``rapidfuzz.fuzz.ratio``
    (at least ``NEAR_MISS_RATIO``): ``检查周期【天】`` is a near miss of ``检查周期(天)``,
    ``手机号吗`` of ``手机号码``.

    Returns
    -------
    list of (header, field name, closest accepted spelling)
    """
    from rapidfuzz import fuzz, process

    taken = set(found)
    choices: dict[str, tuple[str, str]] = {}
    for f in spec.fields:
        if f.name in taken:
            continue
        for spelling in (f.name, *f.aliases):
            choices.setdefault(_skeleton(spelling), (f.name, spelling))
    out = []
    if not choices:
        return out
    keys = list(choices)
    for header in unused:
        folded = _skeleton(header)
        if not folded:
            continue
        hit = process.extractOne(folded, keys, scorer=fuzz.ratio, score_cutoff=NEAR_MISS_RATIO)
        if hit is not None:
            field_name, spelling = choices[hit[0]]
            out.append((header, field_name, spelling))
    return out


def _skeleton(text: str) -> str:
    return re.sub(r"[\W_]+", "", _fold(text))


def near_miss_reason(header: str, field_name: str, spelling: str) -> str:
    """The message for a near-miss header (strict mode: a file-level error)."""
    return (
        f"column {header!r} is not used but looks like {spelling!r} (column {field_name}): "
        f"did you mean {spelling!r}? Rename the header, or declare the column ignored "
        "(see docs/data-contract.md, 'Columns that are not used')"
    )


def _arrow_chunks(column: pd.Series) -> list | None:
    """The pyarrow chunks behind a text column (pandas' default ``str`` storage), or None."""
    pa_array = getattr(column.array, "_pa_array", None)
    return None if pa_array is None else list(pa_array.chunks)


def _may_hold(column: pd.Series, lim: ImportLimits) -> tuple[bool, bool]:
    """(may hold a control character, may hold a cell over the length limit), decided on the
    column's raw UTF-8 bytes with numpy (a fraction of a second for a million cells); the
    exact per-cell checks run only where these say "maybe"."""
    import pyarrow.compute as pc

    chunks = _arrow_chunks(column)
    if chunks is None:
        return True, True
    control = long = False
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        if not long:
            longest = pc.max(pc.binary_length(chunk)).as_py() or 0
            long = longest > lim.max_cell_chars  # characters <= bytes
        if not control:
            data = chunk.buffers()[2]
            if data is not None and data.size:
                b = np.frombuffer(data, dtype=np.uint8)
                low = np.flatnonzero(b < 0x20)  # SIMD compares; tab/LF/CR are allowed
                control = bool(_CONTROL_BYTES[b[low]].any()) or bool((b == 0x7F).any())
                if not control and (lead := np.flatnonzero(b[:-1] == 0xC2)).size:
                    nxt = b[lead + 1]  # U+0080-U+009F are C2 80 .. C2 9F
                    control = bool(((nxt >= 0x80) & (nxt <= 0x9F)).any())
        if control and long:
            break
    return control, long


def _check_cells(raw: pd.DataFrame, headers: dict[str, str], lim: ImportLimits, errors) -> None:
    """Every cell (mapped or not): no control characters, at most ``max_cell_chars``."""
    for original in raw.columns:
        name = headers.get(original, original)
        if L.CONTROL_CHARS.search(original):
            errors.whole_file(name, original, "a control character in the header")
        column = raw[original]
        if column.dtype != object and not pd.api.types.is_string_dtype(column.dtype):
            continue
        maybe_control, maybe_long = _may_hold(column, lim)
        if not (maybe_control or maybe_long):
            continue
        text = column.astype(str)
        hit = (
            text.str.contains(_CONTROL_PATTERN, regex=True).fillna(False)
            if maybe_control
            else pd.Series(False, index=text.index)
        )
        if hit.any():
            bad = text[hit]
            first = bad.str.extract(f"({_CONTROL_PATTERN})", expand=False)
            errors.add(
                bad.index,
                name,
                bad,
                (
                    "a control character (U+"
                    + first.map(lambda c: f"{ord(c):04X}" if isinstance(c, str) else "?")
                    + ") in the cell: remove it"
                ).to_numpy(dtype=object),
            )
        long = (text.str.len() > lim.max_cell_chars).fillna(False) if maybe_long else hit & False
        if long.any():
            errors.add(
                text.index[long],
                name,
                text[long],
                f"longer than {lim.max_cell_chars:,} characters (FANGCANG_IMPORT_MAX_CELL_CHARS)",
            )


def _check_duplicates(keys: pd.Series, name: str, errors: _Errors, shown: int = 5) -> None:
    """One error per group of rows sharing an id, at its first row, giving the group's size
    and first rows; the other rows are rejected with it (not listed again)."""
    dup = keys.notna() & keys.duplicated(keep=False)
    if not dup.any():
        return
    d = keys[dup]
    rows = pd.Series(d.index.to_numpy(), index=d.index)
    groups = rows.groupby(d.to_numpy(), sort=False)
    first = groups.transform("min")
    size = groups.transform("size")
    heads = rows[rows == first]
    listing = (
        groups.head(shown)
        .groupby(d[groups.head(shown).index].to_numpy(), sort=False)
        .agg(lambda s: ", ".join(str(r) for r in s))
    )
    head_keys = d[heads.index]
    sizes = size[heads.index].to_numpy()
    texts = listing.reindex(head_keys.to_numpy()).to_numpy()
    reasons = [
        f"duplicate id in this file: {n:,} rows share it (rows {t}"
        + (f", … and {n - shown:,} more)" if n > shown else ")")
        for n, t in zip(sizes, texts, strict=True)
    ]
    errors.add(heads.index, name, head_keys, reasons)
    later = rows[rows != first]
    errors.mark(later.index, name, "duplicate id in this file (its first row is listed)")


def validate_frame(
    raw: pd.DataFrame,
    spec: FileSpec,
    file: str | None = None,
    context: Any = None,
    limits: ImportLimits | None = None,
    *,
    layout: Any = None,
    ignore_columns: Iterable[str] = (),
    near_miss_errors: bool = True,
) -> Table:
    """Validate a frame of text cells (as ``read_raw`` returns) against ``spec``.

    Parameters
    ----------
    raw : DataFrame
        Text cells; index = row number (``read_raw`` sets it; a plain RangeIndex is renumbered
        so the first row is row 2).
    spec : FileSpec
    file : str, optional
        Name used in errors (default ``<spec.name>.csv``).
    context : object, optional
        Passed to the spec's frame checks.
    limits : ImportLimits, optional
        Cell length, future tolerance and the listing limit (default: the settings).
    layout : Layout, optional
        From ``fangcang.importer.layout.read_source``: numeric .xlsx cells, header row.
    ignore_columns : iterable of str
        Headers declared as not wanted: never reported as near misses.
    near_miss_errors : bool
        A header that nearly matches a contract column is a file-level error (strict
        imports, the default) or only listed in ``Table.near_misses`` (partial imports).
    """
    from ..timeutil import now_local

    lim = limits or _limits()
    file = file or f"{spec.name}.csv"
    errors = _Errors(file, lim.max_errors_per_file)
    if isinstance(raw.index, pd.RangeIndex) and raw.index.start == 0:
        raw = raw.set_axis(pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(raw), name="row"))
    if repeated := _repeated([str(c) for c in raw.columns]):
        errors.file_level.append(_repeated_error(file, repeated).error)
    headers = map_headers(raw, spec, errors)
    _check_cells(raw, headers, lim, errors)
    latest = now_local() + lim.future_tolerance
    by_field = {v: k for k, v in headers.items()}
    ignored = {_fold(c) for c in ignore_columns}
    unused = [c for c in raw.columns if c not in headers]
    ignored_cols = [c for c in unused if _fold(c) in ignored]
    misses = near_misses([c for c in unused if c not in ignored_cols], spec, by_field)
    if near_miss_errors:
        for header, field_name, spelling in misses:
            errors.whole_file(field_name, header, near_miss_reason(header, field_name, spelling))
    numeric = getattr(layout, "numeric", None) or {}
    columns: dict[str, pd.Series] = {}
    for f in spec.fields:
        if f.name in by_field:
            original = by_field[f.name]
            text = _text(raw[original])
            if f.text_number:
                fixed, why = normalize_codes(
                    text, numeric.get(original), id_number=f.type == ID_NUMBER
                )
                bad = why.notna()
                if bad.any():
                    errors.add(text.index[bad], f.name, text[bad], why[bad].to_numpy())
                    errors.shadow[f.name] = text.index[bad].to_numpy()
                text = fixed
            columns[f.name] = _parse_column(f, text, errors, latest)
        else:  # an absent optional column: typed, filled with the default
            blank = pd.Series("", index=raw.index, dtype=str)
            columns[f.name] = _parse_column(
                Field(f.name, f.type, False, choices=f.choices, default=f.default), blank, errors
            )
    frame = pd.DataFrame(columns, index=raw.index)
    if spec.key and spec.key in by_field:
        _check_duplicates(columns[spec.key], spec.key, errors)
    if not errors.file_level:
        for check in spec.checks:
            for rows, column, values, reason in check(frame, context) or ():
                errors.add(rows, column, values, reason)
    personal = [f for f in spec.fields if f.personal]
    table = Table(
        file=file,
        spec=spec,
        frame=frame,
        raw=raw,
        layout=layout,
        unused_columns=unused,
        near_misses=misses,
        ignored_columns=ignored_cols,
    )
    return errors.fill(table, personal)


def read_table(
    source: str | Path | bytes,
    spec: FileSpec,
    *,
    file: str | None = None,
    context: Any = None,
    limits: ImportLimits | None = None,
    ignore_columns: Iterable[str] = (),
    near_miss_errors: bool = True,
) -> Table:
    """Read and validate one CSV/XLSX file against ``spec``.

    Never raises for bad content: every problem (encoding, missing column, bad cell, duplicate
    id, the spec's own checks) is a ``RowError`` in ``Table.errors``.

    Parameters
    ----------
    source : path or bytes
        ``.csv`` (UTF-8, UTF-8 BOM, GB18030/GBK, UTF-16; comma, tab or semicolon) or
        ``.xlsx`` (the sheet and header row that match ``spec``; see
        ``fangcang.importer.layout``).
    spec : FileSpec
    file : str, optional
        Name used in errors (default: the path's name; required for bytes).
    context : object, optional
        Passed to the spec's frame checks.
    limits : ImportLimits, optional
        The input path's limits (``limits.for_path``); default the settings.
    ignore_columns, near_miss_errors
        See ``validate_frame``.

    Examples
    --------
    >>> table = read_table("feedback.csv", FEEDBACK_SPEC)        # doctest: +SKIP
    >>> if table.errors: print(format_errors(table.errors))      # doctest: +SKIP
    >>> good = table.valid                                       # doctest: +SKIP
    """
    from .layout import read_source

    name = file or (Path(source).name if not isinstance(source, bytes | bytearray) else None)
    try:
        raw, layout, name = read_source(source, name, spec, limits)
    except FileError as exc:
        empty = pd.DataFrame({f.name: pd.Series([], dtype=object) for f in spec.fields})
        return Table(file=exc.error.file, spec=spec, frame=empty, errors=[exc.error], raw=None)
    table = validate_frame(
        raw,
        spec,
        name,
        context,
        limits,
        layout=layout,
        ignore_columns=ignore_columns,
        near_miss_errors=near_miss_errors,
    )
    table.encoding = layout.encoding
    return table


def format_errors(errors: Iterable[RowError], limit: int = 50, total: int | None = None) -> str:
    """One line per error, at most ``limit`` lines, then ``... and N more``.

    ``total``: errors found, when more were found than ``errors`` lists (listing limits)."""
    errors = list(errors)
    total = len(errors) if total is None else max(total, len(errors))
    lines = [str(e) for e in errors[:limit]]
    if total > min(limit, len(errors)):
        where = "see the full report file" if len(errors) > limit else "not listed"
        if len(errors) > limit and total > len(errors):
            where = f"{len(errors) - limit:,} in the full report file, the rest counted only"
        lines.append(f"... and {total - min(limit, len(errors)):,} more ({where})")
    return "\n".join(lines)


def write_errors(
    errors: Iterable[RowError], path: str | Path, unlisted: dict[str, int] | None = None
) -> Path:
    """Write the errors to a CSV (UTF-8 with BOM so Excel/WPS open it in Chinese).

    ``unlisted``: errors found but not listed, per file (listing limits): one closing line
    per file says how many.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [e.as_dict() for e in errors]
    for file, n in (unlisted or {}).items():
        if n:
            rows.append(
                {
                    "file": file,
                    "row": "",
                    "column": "",
                    "value": "",
                    "reason": f"{n:,} more errors in this file not listed (listing limits "
                    "FANGCANG_IMPORT_MAX_ERRORS_PER_FILE / FANGCANG_IMPORT_MAX_ERRORS)",
                }
            )
    frame = pd.DataFrame(rows, columns=["file", "row", "column", "value", "reason"])
    from ..spreadsheet import write  # the project's one defusing writer

    return write(frame, path, fmt="csv")
