"""Declarative file specifications and row errors, shared by every importer.

A ``FileSpec`` lists the columns of one department file (``Field``: name, type, required,
allowed values, Chinese header aliases). ``fangcang.importer.reader.read_table`` reads a CSV or
XLSX file against a spec and returns a ``Table``: the typed frame plus every ``RowError``.
Other features (task feedback, visits) declare their own ``FileSpec`` and reuse the reader.

Row numbers follow the spreadsheet convention: the header is row 1, so the first data row is
row 2 (what a user sees in Excel or WPS on the left margin).
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

#: Column types understood by the reader.
STRING = "string"
INT = "int"
FLOAT = "float"
DATE = "date"
DATETIME = "datetime"
BOOL = "bool"
ENUM = "enum"
ID_NUMBER = "id_number"  # 18-character PRC resident ID with a GB 11643 check digit
LON = "lon"
LAT = "lat"
PHONE = "phone"  # mobile or landline, validated and stored canonically (fangcang.phone)
TYPES = (STRING, INT, FLOAT, DATE, DATETIME, BOOL, ENUM, ID_NUMBER, LON, LAT, PHONE)

#: Accepted longitude / latitude ranges: mainland China. A point outside is a swapped or
#: projected coordinate, never a real place in the district.
LON_RANGE = (73.0, 136.0)
LAT_RANGE = (3.0, 54.0)

#: The first data row's number (header is row 1).
FIRST_DATA_ROW = 2


@dataclass(frozen=True)
class RowError:
    """One problem in an input file.

    ``row`` is the spreadsheet row (header = 1, first data row = 2; for GeoJSON the 1-based
    feature number); ``None`` for a problem with the whole file (missing column, bad
    encoding, empty file).
    """

    file: str
    row: int | None
    column: str
    value: str
    reason: str

    def __post_init__(self) -> None:
        # A quoted value (or a header quoted in a reason) may be megabytes long or carry
        # control characters: messages hold a short, printable excerpt (limits.shorten).
        from .limits import REASON_CHARS, VALUE_CHARS, shorten

        value = "" if self.value is None else str(self.value)
        if len(value) > VALUE_CHARS or not value.isprintable():
            object.__setattr__(self, "value", shorten(value))
        reason = str(self.reason)
        if len(reason) > REASON_CHARS or not reason.isprintable():
            object.__setattr__(self, "reason", shorten(reason, REASON_CHARS))
        if len(self.column) > VALUE_CHARS or not self.column.isprintable():
            object.__setattr__(self, "column", shorten(self.column))

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file} row {self.row}"
        col = f", column {self.column}" if self.column else ""
        val = f", value {self.value!r}" if self.value != "" else ""
        return f"{where}{col}{val}: {self.reason}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "row": "" if self.row is None else self.row,
            "column": self.column,
            "value": self.value,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Field:
    """One column of a file.

    Parameters
    ----------
    name : str
        English snake_case column name (what the frame's column is called after reading).
    type : str
        One of ``TYPES``. ``enum`` needs ``choices``.
    required : bool
        The column must be present (file-level error otherwise) and every cell non-empty.
    aliases : tuple of str
        Other accepted header names, e.g. the Chinese ones departments use (``社区编号``).
    choices : enum class or mapping, optional
        For ``enum``: a ``StrEnum`` (its values, English and Chinese labels and the aliases in
        ``fangcang.importer.aliases`` are accepted) or a mapping ``{accepted text: stored}``.
    default : object, optional
        Value used for an empty cell or a missing optional column.
    max_length : int, optional
        Longest accepted text (the database column's length).
    min, max : float, optional
        Inclusive numeric bounds for ``int`` / ``float``.
    description : str
        One line for the data contract.
    personal : bool
        Personal data (a resident's name, ID number, phone, address): values quoted in error
        reports are masked with ``fangcang.privacy`` (by type for ID numbers and phones, else
        by the field's name).
    future : bool
        For ``date`` / ``datetime``: a time after now (plus the tolerance
        ``FANGCANG_IMPORT_FUTURE_TOLERANCE_MINUTES``) is accepted. Default False: a record
        time in the future is an error (a typo in the year, or a future ``updated_at`` that
        would make the record uncorrectable). Set it only for planned times (a deadline).
    code : bool
        A code made of digits (ids, community codes): a value Excel turned into a number
        (``330302028001.0``, ``3.30302E+11``, a numeric .xlsx cell) is turned back into its
        digits when none was lost and rejected when some were (``fangcang.importer.cells``).
        Always on for ``id_number`` and ``phone`` columns.
    """

    name: str
    type: str = STRING
    required: bool = False
    aliases: tuple[str, ...] = ()
    choices: type[enum.Enum] | Mapping[str, str] | None = None
    default: Any = None
    max_length: int | None = None
    min: float | None = None
    max: float | None = None
    description: str = ""
    personal: bool = False
    future: bool = False
    code: bool = False

    @property
    def text_number(self) -> bool:
        """Cells are checked for Excel's number damage (see ``code``)."""
        return self.code or self.type in (ID_NUMBER, PHONE)

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"field {self.name!r}: unknown type {self.type!r} (one of {TYPES})")
        if self.type == ENUM and self.choices is None:
            raise ValueError(f"field {self.name!r}: an enum field needs choices")


#: A whole-frame check run after the per-column parsing: ``check(frame, ctx) -> errors``.
#: ``frame`` is typed, indexed by row number; ``ctx`` is whatever the caller passes (the
#: bundle importer passes its reference sets). Return a list of ``(rows, column, values,
#: reason)`` tuples (``rows``/``values`` array-like, ``reason`` a string or array-like).
FrameCheck = Callable[[pd.DataFrame, Any], list[tuple]]


@dataclass(frozen=True)
class FileSpec:
    """The columns of one file, its key and any cross-column checks.

    Parameters
    ----------
    name : str
        File stem (``people`` for ``people.csv`` / ``people.xlsx``).
    fields : tuple of Field
    key : str, optional
        The id column: the same value twice in one file is an error on every copy.
    checks : tuple of FrameCheck
        Extra checks across columns (run on rows that parsed).
    description : str
    """

    name: str
    fields: tuple[Field, ...]
    key: str | None = None
    checks: tuple[FrameCheck, ...] = field(default_factory=tuple)
    description: str = ""

    def __post_init__(self) -> None:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"file spec {self.name!r} lists a column twice")
        if self.key is not None and self.key not in names:
            raise ValueError(f"file spec {self.name!r}: key {self.key!r} is not a field")

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def header_map(self) -> dict[str, str]:
        """Accepted header text (folded with ``fold_header``) -> field name."""
        out: dict[str, str] = {}
        for f in self.fields:
            for alias in (f.name, *f.aliases):
                out[_fold(alias)] = f.name
        return out


_HEADER_NOISE = re.compile(r"[\s_\-]+")


def fold_header(text: str) -> str:
    """How header text is compared: Unicode NFKC (full-width letters, digits and punctuation
    to their ASCII forms: ``检查周期（天）`` -> ``检查周期(天)``), byte-order mark removed,
    case-folded, spaces, underscores and dashes dropped (``Updated At`` = ``updated_at``)."""
    text = unicodedata.normalize("NFKC", str(text)).replace("\ufeff", "")
    return _HEADER_NOISE.sub("", text.casefold())


_fold = fold_header
