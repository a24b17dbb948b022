"""Input limits and hostile-file checks shared by every import path.

Every path that reads a department file (``python -m fangcang import``, the data hub's upload
preview, the feed watcher, ``visits.csv``, the mobile-terminal exchange) applies the limits of
``fangcang.config.ImportLimits`` BEFORE the expensive work, so memory and time stay bounded on
any input:

- bytes of a file (before it is read), lines and header width of a CSV (counted on the bytes
  before parsing), an XLSX's unpacked size and sheet dimension (read from the archive before
  parsing; the sheet is then streamed and reading stops at the row limit);
- a zip's members, unpacked size and per-member ratio (from its directory, before anything is
  extracted); corrupt, CRC-broken and encrypted zips, members whose names differ only in case
  (``people.csv`` and ``PEOPLE.CSV``) and links are refused;
- cell length and control characters (every cell), errors listed per file and in total (the
  rest counted), values quoted in messages shortened (``shorten``).

Nothing here touches the database.
"""

from __future__ import annotations

import logging
import re
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..config import ImportLimits, get_import_limits

log = logging.getLogger(__name__)

#: Characters of a value quoted in an error message; longer values are cut and their length
#: given, so a 5 MB cell is never echoed whole (reports, logs, pages).
VALUE_CHARS = 80
#: Characters of an error's reason (reasons may quote header names; the coordinate-system
#: hint, the longest of our own reasons, is about 430 characters and must stay whole).
REASON_CHARS = 1000

#: Control characters refused in any cell: C0 except tab, line feed and carriage return,
#: DEL, and the C1 range (U+0080-U+009F, what a wrong single-byte decoding leaves behind).
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

#: Separators a CSV header may use (the widest count bounds its columns before parsing).
_SEPARATORS = (b",", b"\t", b";", b"|")


def limits() -> ImportLimits:
    """The limits in force (``fangcang.config.get_import_limits``)."""
    return get_import_limits()


def for_path(path: str) -> ImportLimits:
    """The limits of one input path: ``bundle`` (CLI, upload, feeds), ``visits``, ``exchange``.

    ``visits`` and ``exchange`` files hold far fewer rows than a registry export, so their row
    limit is their own (``FANGCANG_VISITS_MAX_ROWS``, ``FANGCANG_EXCHANGE_MAX_ROWS``).
    """
    from dataclasses import replace

    lim = get_import_limits()
    if path == "bundle":
        return lim
    if path == "visits":
        return replace(lim, max_rows=min(lim.max_rows, lim.visits_max_rows))
    if path == "exchange":
        return replace(lim, max_rows=min(lim.max_rows, lim.exchange_max_rows))
    raise ValueError(f"unknown input path {path!r} (bundle, visits, exchange)")


def shorten(value: object, chars: int = VALUE_CHARS) -> str:
    """``value`` as text of at most about ``chars`` characters, control characters shown as
    escapes (``\\x00``); a longer value is cut and ends with its full length."""
    text = "" if value is None else str(value)
    if len(text) > chars:
        text = f"{text[:chars]}… ({len(text):,} characters)"
    if CONTROL_CHARS.search(text):
        text = CONTROL_CHARS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text


def mb(n: int) -> str:
    return f"{n / 1024 / 1024:,.0f} MB" if n >= 1024 * 1024 else f"{n:,} bytes"


# ---------------------------------------------------------------------------------------------
# Checks on bytes, before parsing (return a reason, or None when within the limits)
# ---------------------------------------------------------------------------------------------
def file_size_problem(size: int, lim: ImportLimits) -> str | None:
    if size > lim.max_file_bytes:
        return (
            f"the file is {mb(size)}, over the limit of {mb(lim.max_file_bytes)} "
            "(FANGCANG_IMPORT_MAX_FILE_MB): split it"
        )
    return None


def csv_shape_problem(data: bytes, lim: ImportLimits) -> str | None:
    """Lines and header width of CSV bytes, counted without parsing (upper bounds: a quoted
    line break or separator counts too)."""
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if lines - 1 > lim.max_rows:
        return (
            f"{lines - 1:,} data lines, over the limit of {lim.max_rows:,} rows "
            "(FANGCANG_IMPORT_MAX_ROWS): split the file"
        )
    end = data.find(b"\n")
    header = data if end < 0 else data[:end]
    width = max(header.count(sep) for sep in _SEPARATORS) + 1
    if width > lim.max_columns:
        return (
            f"the header has {width:,} columns, over the limit of {lim.max_columns:,} "
            "(FANGCANG_IMPORT_MAX_COLUMNS)"
        )
    return None


# ---------------------------------------------------------------------------------------------
# Zip archives (zipped bundles and XLSX files)
# ---------------------------------------------------------------------------------------------
class ArchiveError(ValueError):
    """A zip (bundle or XLSX) that must not be read; the message names no server path."""


def check_zip(zf: zipfile.ZipFile, name: str, lim: ImportLimits, *, what: str = "zip") -> list:
    """Check a zip's directory before anything is extracted; return its members.

    Refuses: more than ``max_zip_members`` entries, encrypted members, members whose names
    differ only in case, a member expanding more than ``max_ratio`` times, more than
    ``max_unpacked_bytes`` in total.

    Raises
    ------
    ArchiveError
    """
    infos = zf.infolist()
    if len(infos) > lim.max_zip_members:
        raise ArchiveError(
            f"{name}: {len(infos):,} entries in the {what}, over the limit of "
            f"{lim.max_zip_members:,} (FANGCANG_IMPORT_MAX_ZIP_MEMBERS)"
        )
    seen: dict[str, str] = {}
    total = 0
    for info in infos:
        member = shorten(info.filename)
        if info.flag_bits & 0x1:
            raise ArchiveError(f"{name}: {member} is encrypted; send the {what} without a password")
        key = PurePosixPath(info.filename.replace("\\", "/").rstrip("/")).as_posix().casefold()
        if key in seen and not info.is_dir():
            raise ArchiveError(
                f"{name}: {shorten(seen[key])} and {member} differ only in upper/lower case; "
                "keep one"
            )
        seen[key] = info.filename
        if info.file_size > max(info.compress_size, 1) * lim.max_ratio and info.file_size > 2**20:
            raise ArchiveError(
                f"{name}: {member} unpacks to {mb(info.file_size)} from {mb(info.compress_size)}"
                f", more than {lim.max_ratio} times its size (FANGCANG_IMPORT_MAX_RATIO): "
                "refused as a zip bomb"
            )
        total += info.file_size
        if total > lim.max_unpacked_bytes:
            raise ArchiveError(
                f"{name}: the {what} unpacks to more than {mb(lim.max_unpacked_bytes)} "
                "(FANGCANG_IMPORT_MAX_UNPACKED_MB)"
            )
    return infos


#: What reading a damaged archive raises: bad headers or CRC (BadZipFile), damaged deflate
#: data (zlib.error), a truncated member (EOFError), an unknown compression method
#: (NotImplementedError), a password (RuntimeError).
ARCHIVE_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


def _read_error(name: str, exc: BaseException) -> str:
    if isinstance(exc, RuntimeError) and "encrypt" in str(exc).lower():
        return f"{name}: a member is encrypted; send the zip without a password"
    if isinstance(exc, zipfile.BadZipFile) and "CRC" in str(exc):
        return f"{name}: the archive is damaged (a member fails its CRC check); send it again"
    return f"{name}: the archive is damaged and cannot be unpacked; send it again"


def extract_zip(zip_path: str | Path, dest: str | Path, *, name: str | None = None) -> list[Path]:
    """Unpack a zipped bundle safely (``websafe.safe_extract``) after ``check_zip``.

    Every failure is a ``websafe.UploadError`` whose message names the archive (``name``,
    default the file's name) and never a server path: not a zip, damaged (bad CRC, truncated,
    bad deflate data), encrypted, over a limit, names differing only in case, links or members
    escaping the folder.
    """
    from ..websafe import UploadError, safe_extract

    name = name or Path(zip_path).name
    lim = get_import_limits()
    try:
        with zipfile.ZipFile(zip_path) as zf:
            check_zip(zf, name, lim)
    except zipfile.BadZipFile:
        raise UploadError(f"{name}: not a valid zip archive") from None
    except ArchiveError as exc:
        raise UploadError(str(exc)) from None
    try:
        return safe_extract(
            zip_path, dest, max_members=lim.max_zip_members, max_bytes=lim.max_unpacked_bytes
        )
    except UploadError as exc:  # its messages name the archive by its (temporary) file name
        raise UploadError(str(exc).replace(Path(zip_path).name, name, 1)) from None
    except ARCHIVE_READ_ERRORS as exc:
        log.warning("zip %s could not be unpacked: %r", name, exc)
        raise UploadError(_read_error(name, exc)) from None
