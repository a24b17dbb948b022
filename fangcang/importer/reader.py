"""Read a CSV/XLSX file against a ``FileSpec``: decode, map headers, parse, validate.

Everything is vectorised (pandas/numpy over whole columns) so a million-row file validates in
seconds. Nothing here touches the database.

Encodings: UTF-8 (with or without BOM) is tried first, strictly; then GB18030 (a superset of
GBK/GB2312, what Excel exports on Chinese Windows). A file that is valid UTF-8 for a stretch
of non-ASCII text and then breaks is reported as damaged UTF-8 (never re-read as GB18030,
which would silently turn it into nonsense); a file neither encoding decodes is an error
naming the byte offset and line.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .aliases import mapping_for
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
    STRING,
    Field,
    FileSpec,
    RowError,
    _fold,
)

#: File suffixes the reader understands, in the order a bundle looks for them.
SUFFIXES = (".csv", ".xlsx")

#: Non-ASCII characters decoded as UTF-8 before a bad byte that make the file "UTF-8 with a
#: damaged byte" rather than GB18030.
_UTF8_EVIDENCE = 8

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
        Every problem, file-level ones first, then by row.
    raw : DataFrame
        The cells as read (text), same index, original headers: used to write rejected rows.
    encoding : str
    """

    file: str
    spec: FileSpec
    frame: pd.DataFrame
    errors: list[RowError] = field(default_factory=list)
    raw: pd.DataFrame | None = None
    encoding: str = ""

    @property
    def rows(self) -> int:
        return len(self.frame)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def file_errors(self) -> list[RowError]:
        return [e for e in self.errors if e.row is None]

    @property
    def bad_rows(self) -> set[int]:
        return {e.row for e in self.errors if e.row is not None}

    @property
    def valid(self) -> pd.DataFrame:
        """The rows without any error (all rows are bad when the file has a file-level error)."""
        if self.file_errors:
            return self.frame.iloc[0:0]
        bad = self.bad_rows
        if not bad:
            return self.frame
        return self.frame.loc[~self.frame.index.isin(list(bad))]


# ---------------------------------------------------------------------------------------------
# Decoding and raw reading
# ---------------------------------------------------------------------------------------------
def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes, file: str) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM optional) or GB18030; return ``(text, encoding)``.

    Raises
    ------
    FileError
        Naming the byte offset and line of the first byte that neither encoding accepts.
    """
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    prefix = data[: utf8_error.start].decode("utf-8", errors="ignore")
    non_ascii = sum(1 for ch in prefix if ord(ch) > 127 and ch != "\ufeff")
    if non_ascii >= _UTF8_EVIDENCE:
        pos = utf8_error.start
        raise FileError(
            RowError(
                file,
                None,
                "",
                data[pos : pos + 4].hex(" "),
                f"damaged UTF-8: byte offset {pos} (line {_line_of(data, pos)}) is not valid "
                "UTF-8; re-export the file as UTF-8 or GB18030",
            )
        )
    try:
        return data.decode("gb18030"), "gb18030"
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


def read_raw(source: str | Path | bytes, file: str | None = None) -> tuple[pd.DataFrame, str]:
    """Read a CSV or XLSX into a frame of text cells (``""`` for empty), headers as written.

    Parameters
    ----------
    source : path or bytes
        A ``.csv`` / ``.xlsx`` path, or the file's bytes (then ``file`` names it and its
        suffix decides the format).
    file : str, optional
        Name used in errors (default: the path's name).

    Returns
    -------
    (DataFrame, encoding)
        Index = spreadsheet row number (first data row = 2).

    Raises
    ------
    FileError
        Bad encoding, unreadable file, no header, or no data rows.
    """
    if isinstance(source, bytes | bytearray):
        if not file:
            raise ValueError("reading bytes needs a file name (for the suffix and errors)")
        data = bytes(source)
    else:
        path = Path(source)
        file = file or path.name
        data = path.read_bytes()
    suffix = Path(file).suffix.lower()
    if suffix not in SUFFIXES:
        raise FileError(
            RowError(file, None, "", "", f"unsupported file type {suffix!r} (use .csv or .xlsx)")
        )
    if len(data) < 4096 and not data.strip():  # (no copy of a big file just to check)
        raise FileError(RowError(file, None, "", "", "empty file (no header and no rows)"))
    if suffix == ".xlsx":
        frame, encoding = _read_xlsx(data, file), "xlsx"
    else:
        frame, encoding = _read_csv(data, file)
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise FileError(RowError(file, None, "", "", "empty file: a header but no data rows"))
    frame.index = pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(frame), name="row")
    return frame, encoding


def _parse_csv(payload: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(payload), dtype=str, keep_default_na=False, engine="pyarrow")


def _read_csv(data: bytes, file: str) -> tuple[pd.DataFrame, str]:
    """Parse CSV bytes. UTF-8 is parsed directly (pyarrow checks it); anything else goes
    through ``decode`` (GB18030, or a precise error) first."""
    payload = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    try:
        return _parse_csv(payload), "utf-8"
    except Exception:  # not UTF-8, or malformed CSV: find out which below
        pass
    text, encoding = decode(data, file)
    if encoding != "utf-8":
        payload = text.encode("utf-8")
    try:
        return _parse_csv(payload), encoding
    except Exception as exc:  # the C parser's messages name the line; use them
        try:
            frame = pd.read_csv(
                io.BytesIO(payload), dtype=str, keep_default_na=False, na_filter=False
            )
        except Exception as exc2:
            raise FileError(RowError(file, None, "", "", f"cannot read as CSV: {exc2}")) from exc
        return frame, encoding


def _read_xlsx(data: bytes, file: str) -> pd.DataFrame:
    try:
        frame = pd.read_excel(io.BytesIO(data), sheet_name=0, dtype=object, engine="openpyxl")
    except Exception as exc:
        raise FileError(RowError(file, None, "", "", f"cannot read as XLSX: {exc}")) from exc
    frame = frame.dropna(how="all")
    out = {}
    for col in frame.columns:
        values = frame[col]
        out[str(col)] = [_cell_text(v) for v in values]
    return pd.DataFrame(out, dtype=str)


def _cell_text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if hasattr(value, "isoformat") and hasattr(value, "year"):
        text = value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
        return text.removesuffix(" 00:00:00")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ---------------------------------------------------------------------------------------------
# Parsing and validation
# ---------------------------------------------------------------------------------------------
class _Errors:
    """Collects errors as arrays (cheap for millions of rows), builds RowErrors at the end."""

    def __init__(self, file: str):
        self.file = file
        self.file_level: list[RowError] = []
        self.chunks: list[pd.DataFrame] = []

    def whole_file(self, column: str, value: str, reason: str) -> None:
        self.file_level.append(RowError(self.file, None, column, value, reason))

    def add(self, rows, column: str, values, reason) -> None:
        rows = np.asarray(rows)
        if rows.size == 0:
            return
        values = np.asarray(values, dtype=object)
        reasons = np.asarray(reason, dtype=object) if not isinstance(reason, str) else reason
        self.chunks.append(
            pd.DataFrame({"row": rows, "column": column, "value": values, "reason": reasons})
        )

    def row_errors(self, personal: Iterable[str] = ()) -> list[RowError]:
        """Every error; values of ``personal`` columns masked (fangcang.privacy)."""
        from ..privacy import PERSONAL_COLUMNS

        out = list(self.file_level)
        if self.chunks:
            df = pd.concat(self.chunks, ignore_index=True)
            df = df.sort_values(["row", "column"], kind="stable")
            for column in personal:
                mask = PERSONAL_COLUMNS.get(column)
                hit = df["column"] == column
                if mask is not None and hit.any():
                    df.loc[hit, "value"] = [mask(v) if v else "" for v in df.loc[hit, "value"]]
            out.extend(
                RowError(self.file, int(r), str(c), "" if v is None else str(v), str(why))
                for r, c, v, why in zip(
                    df["row"], df["column"], df["value"], df["reason"], strict=True
                )
            )
        return out


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


def _parse_column(col, text: pd.Series, errors: _Errors) -> pd.Series:
    """Parse one column; record errors; return typed values (NA where unparseable/empty)."""
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
        mapped = np.array([mapping.get(str(u).casefold()) for u in uniques] + [None], dtype=object)
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


def validate_frame(
    raw: pd.DataFrame, spec: FileSpec, file: str | None = None, context: Any = None
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
    """
    file = file or f"{spec.name}.csv"
    errors = _Errors(file)
    if isinstance(raw.index, pd.RangeIndex) and raw.index.start == 0:
        raw = raw.set_axis(pd.RangeIndex(FIRST_DATA_ROW, FIRST_DATA_ROW + len(raw), name="row"))
    headers = map_headers(raw, spec, errors)
    by_field = {v: k for k, v in headers.items()}
    columns: dict[str, pd.Series] = {}
    for f in spec.fields:
        if f.name in by_field:
            text = _text(raw[by_field[f.name]])
            columns[f.name] = _parse_column(f, text, errors)
        else:  # an absent optional column: typed, filled with the default
            blank = pd.Series("", index=raw.index, dtype=str)
            columns[f.name] = _parse_column(
                Field(f.name, f.type, False, choices=f.choices, default=f.default), blank, errors
            )
    frame = pd.DataFrame(columns, index=raw.index)
    if spec.key and spec.key in by_field:
        keys = columns[spec.key]
        dup = keys.notna() & keys.duplicated(keep=False)
        if dup.any():
            firsts = (
                pd.Series(keys.index[dup], index=keys.index[dup])
                .groupby(keys[dup].to_numpy())
                .transform(lambda s: ", ".join(str(r) for r in s))
            )
            errors.add(
                keys.index[dup],
                spec.key,
                keys[dup],
                ("duplicate id in this file (rows " + firsts.astype(str) + ")").to_numpy(),
            )
    if not errors.file_level:
        for check in spec.checks:
            for rows, column, values, reason in check(frame, context) or ():
                errors.add(rows, column, values, reason)
    personal = [f.name for f in spec.fields if f.personal]
    return Table(file=file, spec=spec, frame=frame, errors=errors.row_errors(personal), raw=raw)


def read_table(
    source: str | Path | bytes, spec: FileSpec, *, file: str | None = None, context: Any = None
) -> Table:
    """Read and validate one CSV/XLSX file against ``spec``.

    Never raises for bad content: every problem (encoding, missing column, bad cell, duplicate
    id, the spec's own checks) is a ``RowError`` in ``Table.errors``.

    Parameters
    ----------
    source : path or bytes
        ``.csv`` (UTF-8, UTF-8 BOM, GB18030/GBK) or ``.xlsx`` (first sheet).
    spec : FileSpec
    file : str, optional
        Name used in errors (default: the path's name; required for bytes).
    context : object, optional
        Passed to the spec's frame checks.

    Examples
    --------
    >>> table = read_table("feedback.csv", FEEDBACK_SPEC)        # doctest: +SKIP
    >>> if table.errors: print(format_errors(table.errors))      # doctest: +SKIP
    >>> good = table.valid                                       # doctest: +SKIP
    """
    name = file or (Path(source).name if not isinstance(source, bytes | bytearray) else None)
    try:
        raw, encoding = read_raw(source, name)
    except FileError as exc:
        empty = pd.DataFrame({f.name: pd.Series([], dtype=object) for f in spec.fields})
        return Table(file=exc.error.file, spec=spec, frame=empty, errors=[exc.error], raw=None)
    table = validate_frame(raw, spec, name, context)
    table.encoding = encoding
    return table


def format_errors(errors: Iterable[RowError], limit: int = 50) -> str:
    """One line per error, at most ``limit`` lines, then ``... and N more``."""
    errors = list(errors)
    lines = [str(e) for e in errors[:limit]]
    if len(errors) > limit:
        lines.append(f"... and {len(errors) - limit} more (see the full report file)")
    return "\n".join(lines)


def write_errors(errors: Iterable[RowError], path: str | Path) -> Path:
    """Write every error to a CSV (UTF-8 with BOM so Excel/WPS open it in Chinese)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(
        [e.as_dict() for e in errors], columns=["file", "row", "column", "value", "reason"]
    )
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path
