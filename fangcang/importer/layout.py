"""How a department file is laid out: encoding, delimiter, sheet, header row, skipped rows.

Real exports are not tidy. Excel on Chinese Windows writes "Unicode text" as UTF-16 with tabs;
WPS and European Excel write semicolons; a blank line or a row of bare commas sits between
records; every line carries trailing commas; a workbook opens on an instructions sheet and
its data sheet has a title row above the header. ``read_source`` finds its way through all of
that and says what it found (``Layout``), so the report can name it:

- **Encoding** (CSV): UTF-16 with a byte-order mark (or without one, recognised by its zero
  bytes), else UTF-8 / GB18030 as ``fangcang.importer.reader.decode`` decides.
- **Delimiter** (CSV): comma, tab or semicolon, whichever makes the most header cells match
  the file's contract (ties: the one splitting the header line into the most cells).
- **Sheet and header row** (XLSX; the header row also for CSV): the sheet and row, among the
  first ``HEADER_SEARCH_ROWS`` rows of each sheet, whose cells match the most contract
  columns. A file that matches nothing is read from its first sheet, row 1.
- **Row numbers** stay the ones the user sees in Excel/WPS: blank rows and rows of empty
  cells are skipped (and listed in ``Layout.skipped_rows``), never renumbered.
- **Trailing empty columns** (no header and no value) are dropped.
- **Numeric cells** (XLSX): which cells were numbers (``Layout.numeric``), so a column that
  should be text can tell that Excel may have cut its digits (``fangcang.importer.cells``).
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .spec import FileSpec, RowError, fold_header

log = logging.getLogger(__name__)

#: Rows searched for the header at the top of every sheet (title rows, notes above it).
HEADER_SEARCH_ROWS = 20
#: Bytes of a CSV looked at to find its delimiter and header line.
SNIFF_BYTES = 256 * 1024
DELIMITERS = (",", "\t", ";")
_DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon"}


@dataclass
class Layout:
    """What ``read_source`` found out about a file's shape.

    Attributes
    ----------
    encoding : str
        ``utf-8``, ``gb18030``, ``utf-16`` or ``xlsx``.
    delimiter : str
        CSV only: ``,``, ``\\t`` or ``;``.
    sheet : str
        XLSX only: the sheet the data was read from; ``sheets`` lists them all.
    header_row : int
        Spreadsheet row of the header (1 unless rows above it were skipped).
    skipped_rows : list of int
        Blank rows and rows of empty cells (row numbers as in Excel), skipped.
    dropped_columns : int
        Trailing columns with neither a header nor a value, ignored.
    numeric : dict
        XLSX only: original header -> bool array (per data row) of numeric cells.
    """

    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)
    header_row: int = 1
    skipped_rows: list[int] = field(default_factory=list)
    dropped_columns: int = 0
    numeric: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def describe(self) -> str:
        """One line for the report, e.g. ``UTF-16, tab-separated`` or ``sheet 人口 (2 of 3),
        header on row 2``."""
        parts = []
        if self.encoding == "xlsx":
            where = f"sheet {self.sheet}"
            if len(self.sheets) > 1:
                where += f" ({self.sheets.index(self.sheet) + 1} of {len(self.sheets)})"
            parts.append(where)
        else:
            parts.append(self.encoding.upper())
            if self.delimiter:
                parts.append(f"{_DELIMITER_NAMES[self.delimiter]}-separated")
        parts.append(f"header on row {self.header_row}")
        if self.skipped_rows:
            rows = ", ".join(str(r) for r in self.skipped_rows[:10])
            more = f" and {len(self.skipped_rows) - 10} more" if len(self.skipped_rows) > 10 else ""
            parts.append(f"empty rows skipped: {rows}{more}")
        return ", ".join(parts)


def header_score(cells: list[Any], spec: FileSpec | None) -> int:
    """How many of the spec's columns a row of cells names (0 without a spec)."""
    if spec is None:
        return 0
    header_map = spec.header_map()
    found = {header_map.get(fold_header(c)) for c in cells if c is not None and str(c).strip()}
    found.discard(None)
    return len(found)


# ---------------------------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------------------------
def _utf16(data: bytes) -> str | None:
    """``data`` as text when it is UTF-16 (with a BOM, or without one but with the zero
    bytes of ASCII text in every other byte), else None."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    head = data[:200]
    if len(head) >= 8:
        odd, even = head[1::2].count(0), head[0::2].count(0)
        if odd > len(head) / 4 and even == 0:
            return data.decode("utf-16-le")
        if even > len(head) / 4 and odd == 0:
            return data.decode("utf-16-be")
    return None


def _head_text(payload: bytes) -> str:
    head = payload[:SNIFF_BYTES]
    text = head.decode("utf-8", errors="ignore")
    if len(payload) > SNIFF_BYTES and "\n" in text:
        text = text[: text.rindex("\n")]  # drop the partial last line
    return text


def sniff(text: str, spec: FileSpec | None) -> tuple[str, int]:
    """Return ``(delimiter, header line index)`` for the start of a CSV text."""
    lines = text.splitlines()[: HEADER_SEARCH_ROWS + 1]
    best: tuple[int, int, int] = (-1, -1, 0)  # (score, cells, -index)
    choice = (",", 0)
    for delim in DELIMITERS:
        rows = list(csv.reader(lines, delimiter=delim))
        for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
            cells = [c for c in row if c.strip()]
            key = (header_score(row, spec), len(cells) if len(cells) > 1 else 0, -i)
            if spec is None and i > 0:
                break  # without a contract the header is the first line
            if key > best:
                best, choice = key, (delim, i)
    if best[0] <= 0:  # nothing matched: keep the first line as the header
        first = next((row for row in [lines[0]] if row), "") if lines else ""
        counts = {d: first.count(d) for d in DELIMITERS}
        delim = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
        return (delim if counts[delim] else ","), 0
    return choice


def _has_blank_line(payload: bytes) -> bool:
    """An empty line at the start or between lines (pyarrow would skip it and shift the row
    numbers). ``bytes.find`` scans at memory speed; a regex here costs seconds per 100 MB."""
    return (
        payload.startswith((b"\n", b"\r\n"))
        or payload.find(b"\n\n") >= 0
        or payload.find(b"\n\r\n") >= 0
    )


def _parse_csv(payload: bytes, sep: str, skip: int, blank_lines: bool) -> pd.DataFrame:
    if not blank_lines:
        try:
            return pd.read_csv(
                io.BytesIO(payload),
                sep=sep,
                dtype=str,
                keep_default_na=False,
                engine="pyarrow",
                skiprows=skip,
            )
        except Exception as exc:  # ragged rows, quoting pyarrow refuses: the C parser explains
            log.debug("pyarrow could not parse the CSV (%s); using the C parser", exc)
    return pd.read_csv(
        io.BytesIO(payload),
        sep=sep,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        skiprows=skip,
        index_col=False,
    )


def read_csv(data: bytes, file: str, spec: FileSpec | None) -> tuple[pd.DataFrame, Layout]:
    """Parse CSV bytes; see the module docstring. Raises ``FileError``."""
    from .reader import FileError, decode

    text16 = None
    try:
        text16 = _utf16(data)
    except UnicodeDecodeError as exc:
        raise FileError(
            RowError(
                file,
                None,
                "",
                "",
                f"damaged UTF-16 text: byte offset {exc.start} is not valid UTF-16; "
                "save the file again as UTF-8 or GB18030",
            )
        ) from None
    if text16 is not None:
        payload, encoding = text16.lstrip("\ufeff").encode("utf-8"), "utf-16"
    else:
        payload = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
        encoding = "utf-8"
        head = payload[:SNIFF_BYTES]
        try:
            head.decode("utf-8")
            utf8_head = True
        except UnicodeDecodeError as exc:
            utf8_head = exc.start > len(head) - 4 and len(payload) > SNIFF_BYTES
        if not utf8_head:
            text, encoding = decode(data, file)
            if encoding != "utf-8":
                payload = text.encode("utf-8")
    delimiter, header_index = sniff(_head_text(payload), spec)
    blank = _has_blank_line(payload)
    try:
        frame = _parse_csv(payload, delimiter, header_index, blank)
    except UnicodeDecodeError:
        text, encoding = decode(data, file)  # damaged UTF-8 further down: decode() explains
        payload = text.encode("utf-8")
        frame = _parse_csv(payload, delimiter, header_index, True)
    except Exception as exc:
        if encoding == "utf-8":
            try:  # pyarrow refuses bytes that are not UTF-8: let decode() decide
                text, encoding = decode(data, file)
            except FileError:
                raise
            if encoding != "utf-8":
                payload = text.encode("utf-8")
                frame = _parse_csv(payload, delimiter, header_index, True)
                return _finish(frame, Layout(encoding, delimiter, header_row=header_index + 1))
        raise FileError(RowError(file, None, "", "", f"cannot read as CSV: {exc}")) from exc
    return _finish(frame, Layout(encoding, delimiter, header_row=header_index + 1))


def _finish(frame: pd.DataFrame, layout: Layout) -> tuple[pd.DataFrame, Layout]:
    """Number rows as in the spreadsheet, drop trailing empty columns and empty rows."""
    frame.columns = [str(c) for c in frame.columns]
    start = layout.header_row + 1
    frame.index = pd.RangeIndex(start, start + len(frame), name="row")
    frame, layout.dropped_columns = _drop_empty_columns(frame)
    frame, layout.skipped_rows = _drop_empty_rows(frame)
    for col in list(layout.numeric):
        if col in frame:
            layout.numeric[col] = layout.numeric[col][frame.index.to_numpy() - start]
        else:
            del layout.numeric[col]
    return frame, layout


def _unnamed(name: str) -> bool:
    return name.strip() == "" or name.startswith("Unnamed: ")


def _drop_empty_columns(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    drop = [c for c in frame.columns if _unnamed(c) and not frame[c].str.strip().ne("").any()]
    return (frame.drop(columns=drop), len(drop)) if drop else (frame, 0)


def _drop_empty_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[int]]:
    if frame.empty or len(frame.columns) == 0:
        return frame, []
    cand = np.ones(len(frame), dtype=bool)
    for col in frame.columns:  # narrow down column by column: cheap when rows are full
        idx = np.flatnonzero(cand)
        if idx.size == 0:
            return frame, []
        cand[idx] = frame[col].iloc[idx].str.strip().eq("").to_numpy(dtype=bool)
    if not cand.any():
        return frame, []
    skipped = frame.index[cand].tolist()
    return frame.loc[~cand], [int(r) for r in skipped]


# ---------------------------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------------------------
def excel_shows(value: float, number_format: str) -> str:
    """The text Excel shows for a number that has lost digits (a long integer): with the
    ``General`` format 6 significant digits in scientific notation (``3.30302E+17``), with a
    number format (``0``) the digits it kept followed by zeros."""
    if (number_format or "General") == "General":
        mant, exp = f"{value:.5E}".split("E")
        mant = mant.rstrip("0").rstrip(".")
        return f"{mant}E+{int(exp):02d}" if int(exp) >= 0 else f"{mant}E{int(exp):03d}"
    return str(int(Decimal(f"{value:.15g}")))


def _cell_text(cell) -> tuple[str, bool]:
    """(text, was a number) for one openpyxl cell."""
    value = cell.value
    if value is None:
        return "", False
    if isinstance(value, bool):
        return ("1" if value else "0"), False
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float):
            if np.isnan(value):
                return "", False
            if value.is_integer():
                if abs(value) >= 1e15:
                    return excel_shows(value, getattr(cell, "number_format", "General")), True
                return str(int(value)), True
            return repr(value), True
        if abs(value) >= 10**15:  # an int cell with more digits than Excel keeps
            return excel_shows(float(value), getattr(cell, "number_format", "General")), True
        return str(value), True
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if hasattr(value, "isoformat") and hasattr(value, "year"):
        text = value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
        return text.removesuffix(" 00:00:00"), False
    return str(value), False


def read_xlsx(
    data: bytes, file: str, spec: FileSpec | None, lim=None
) -> tuple[pd.DataFrame, Layout]:
    """Read the sheet and header row that match ``spec`` best; see the module docstring.

    The archive is checked against the limits before parsing, the chosen sheet's declared
    dimension before its rows are read (``fangcang.importer.reader``)."""
    import openpyxl

    from . import reader
    from .limits import shorten

    FileError = reader.FileError
    lim = lim or reader._limits()
    reader.check_xlsx_archive(data, file, lim)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged workbooks
        raise FileError(
            RowError(file, None, "", "", f"cannot read as XLSX: {shorten(exc, 200)}")
        ) from None
    try:
        sheets = [ws.title for ws in book.worksheets]
        best = (-1, 0, 0)  # (score, -sheet index, -row index)
        for si, ws in enumerate(book.worksheets):
            for ri, row in enumerate(ws.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True)):
                key = (header_score(list(row), spec), -si, -ri)
                if key > best:
                    best = key
        if best[0] <= 0:
            best = (0, 0, 0)
        sheet_index, header_index = -best[1], -best[2]
        if not book.worksheets:
            raise FileError(RowError(file, None, "", "", "cannot read as XLSX: no sheet"))
        ws = book.worksheets[sheet_index]
        reader.check_sheet_dimension(ws, file, lim)
        ws.reset_dimensions()  # a wrong dimension must neither cut nor pad the rows
        rows = ws.iter_rows(min_row=header_index + 1)
        header_cells = next(rows, ())
        header = [_cell_text(c)[0].strip() for c in header_cells]
        while header and header[-1] == "":
            header.pop()
        if repeated := reader._repeated(header):
            raise reader._repeated_error(file, repeated)
        columns: list[list[str]] = [[] for _ in header]
        numeric: list[list[bool]] = [[] for _ in header]
        n = 0
        max_rows = min(lim.max_rows, reader.XLSX_MAX_ROWS)
        for row in rows:
            n += 1
            if n > max_rows + HEADER_SEARCH_ROWS:
                raise FileError(
                    RowError(
                        file,
                        None,
                        "",
                        "",
                        f"more than {max_rows:,} rows, over the limit "
                        "(FANGCANG_IMPORT_MAX_ROWS): split the file",
                    )
                )
            if len(row) > len(columns):
                texts = [_cell_text(c) for c in row[len(columns) :]]
                if any(t for t, _ in texts):
                    if len(row) > lim.max_columns:
                        raise FileError(
                            RowError(
                                file,
                                None,
                                "",
                                "",
                                f"row {header_index + 1 + n} has {len(row):,} columns, over "
                                f"the limit of {lim.max_columns:,} (FANGCANG_IMPORT_MAX_COLUMNS)",
                            )
                        )
                    for _ in range(len(row) - len(columns)):  # data beyond the header
                        columns.append([""] * (n - 1))
                        numeric.append([False] * (n - 1))
            for j in range(len(columns)):
                text, num = _cell_text(row[j]) if j < len(row) else ("", False)
                columns[j].append(text)
                numeric[j].append(num)
    except FileError:
        raise
    except Exception as exc:  # damaged sheet XML and the like
        raise FileError(
            RowError(file, None, "", "", f"cannot read as XLSX: {shorten(exc, 200)}")
        ) from None
    finally:
        book.close()
    width = len(columns)
    header += [""] * (width - len(header))
    names = [h if h else f"Unnamed: {j}" for j, h in enumerate(header)]
    seen: dict[str, int] = {}
    unique = []
    for n in names:  # the same header twice keeps both columns (the reader reports it)
        k = seen.get(n, 0)
        unique.append(n if k == 0 else f"{n}.{k}")
        seen[n] = k + 1
    frame = pd.DataFrame(
        {n: pd.Series(c, dtype=object) for n, c in zip(unique, columns, strict=True)}
    )
    frame = frame.astype(str) if len(frame.columns) else frame
    layout = Layout(
        "xlsx",
        sheet=sheets[sheet_index],
        sheets=sheets,
        header_row=header_index + 1,
        numeric={
            n: np.asarray(m, dtype=bool) for n, m in zip(unique, numeric, strict=True) if any(m)
        },
    )
    # rows after the last non-empty one are formatting, not skipped data
    frame, layout = _finish(frame, layout)
    if layout.skipped_rows and len(frame):
        last = int(frame.index.max())
        layout.skipped_rows = [r for r in layout.skipped_rows if r < last]
    elif not len(frame):
        layout.skipped_rows = []
    return frame, layout


def read_source(
    source: str | Path | bytes,
    file: str | None = None,
    spec: FileSpec | None = None,
    limits=None,
) -> tuple[pd.DataFrame, Layout, str]:
    """Read a CSV or XLSX into text cells; return ``(frame, layout, file name)``.

    The frame's index is the spreadsheet row number; empty rows are not in it. Limits
    (``ImportLimits``, default the settings) are checked as ``read_raw`` describes. Raises
    ``FileError`` for an unreadable file (see ``fangcang.importer.reader.read_raw``).
    """
    from . import limits as L
    from . import reader
    from .reader import SUFFIXES, FileError

    lim = limits or reader._limits()
    if isinstance(source, bytes | bytearray):
        if not file:
            raise ValueError("reading bytes needs a file name (for the suffix and errors)")
        size = len(source)
    else:
        path = Path(source)
        file = file or path.name
        size = path.stat().st_size
    if problem := L.file_size_problem(size, lim):
        raise FileError(RowError(file, None, "", "", problem))
    data = bytes(source) if isinstance(source, bytes | bytearray) else path.read_bytes()
    suffix = Path(file).suffix.lower()
    if suffix not in SUFFIXES:
        raise FileError(
            RowError(file, None, "", "", f"unsupported file type {suffix!r} (use .csv or .xlsx)")
        )
    if len(data) < 4096 and not data.replace(b"\x00", b"").strip(b" \t\r\n,;\xef\xbb\xbf\xff\xfe"):
        raise FileError(RowError(file, None, "", "", "empty file (no header and no rows)"))
    if suffix == ".xlsx":
        frame, layout = read_xlsx(data, file, spec, lim)
    else:
        if problem := L.csv_shape_problem(data, lim):
            raise FileError(RowError(file, None, "", "", problem))
        frame, layout = read_csv(data, file, spec)
        reader._check_repeated_headers(frame.columns, file)
    reader.check_frame_limits(frame, file, lim)
    if len(frame) == 0:
        raise FileError(RowError(file, None, "", "", "empty file: a header but no data rows"))
    return frame, layout, file
