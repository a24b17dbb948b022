"""Web safety helpers: HTML escaping, upload checks and safe unzipping.

- :func:`escape` every text from data or users before it goes into HTML (folium tooltips and
  popups, ``st.markdown(..., unsafe_allow_html=True)``, printable bulletins);
  :func:`escape_markdown` before it goes into plain ``st.markdown``.
- :func:`check_upload` before reading a browser upload: size limit (settings
  ``upload_limit_mb``), allowed extension, and content that matches the extension.
- :func:`safe_extract` instead of ``ZipFile.extractall``: no member may land outside the
  destination folder (zip-slip), no links, no absurd sizes (zip bombs).
"""

from __future__ import annotations

import html
import stat
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from .config import get_settings

#: Extensions a bundle upload may carry (CSV/Excel tables, a GeoJSON, or a zipped bundle).
BUNDLE_EXTENSIONS = (".csv", ".xlsx", ".geojson", ".json", ".zip")
#: Most members and most unpacked bytes a zipped bundle may hold.
MAX_ZIP_MEMBERS = 2000
MAX_UNPACKED_BYTES = 4 * 1024**3
MAX_RATIO = 200  # unpacked / packed per member: beyond this it is a zip bomb


def escape(value: object) -> str:
    """Text safe to place inside HTML (element content or a quoted attribute).

    ``None`` becomes ``""``; everything else is ``str()``-ed and has ``& < > " '`` escaped,
    so a community named ``<img src=x onerror=alert(1)>`` shows as that text.
    """
    if value is None:
        return ""
    return html.escape(str(value), quote=True)


_MARKDOWN_SPECIAL = set("\\`*_{}[]<>()#+-.!|~$:")


def escape_markdown(value: object) -> str:
    """Text safe inside ``st.markdown`` (no HTML allowed): markdown syntax is backslashed, so
    data cannot make links, images or formatting; ``< >`` become entities."""
    if value is None:
        return ""
    out = []
    for ch in str(value):
        if ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == "&":
            out.append("&amp;")
        elif ch in _MARKDOWN_SPECIAL:
            out.append("\\" + ch)
        elif ch in "\r\n":
            out.append(" ")
        else:
            out.append(ch)
    # GitHub-flavoured markdown turns bare "http://..." and "www." into links even when their
    # punctuation is escaped: a zero-width space keeps them plain text.
    text = "".join(out)
    return text.replace("\\://", "\\:\u200b//").replace("www\\.", "www\u200b\\.")


class UploadError(ValueError):
    """An upload that must not be read: the message says which file and why."""


def _sniff_ok(ext: str, head: bytes) -> bool:
    if ext in (".xlsx", ".zip"):
        return head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06")
    # Text formats: no NUL bytes in the first block (binary files have them), except UTF-16
    # text (Excel's "Unicode text"), recognised by its byte-order mark.
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return b"\x00" not in head


def check_upload(
    name: str,
    data: bytes,
    *,
    allowed: Iterable[str] = BUNDLE_EXTENSIONS,
    limit_mb: int | None = None,
) -> str:
    """Validate one uploaded file before anything reads it; return its lower-case extension.

    Parameters
    ----------
    name : str
        The file name the browser sent (only its extension is trusted, never its folders).
    data : bytes
        The content.
    allowed : iterable of str
        Extensions with the dot, e.g. ``(".csv", ".xlsx")``.
    limit_mb : int, optional
        Size limit; default settings ``upload_limit_mb``.

    Raises
    ------
    UploadError
        Empty, too large, an extension not allowed, or content that does not match it.
    """
    limit_mb = get_settings().upload_limit_mb if limit_mb is None else limit_mb
    base = PurePosixPath(str(name).replace("\\", "/")).name
    ext = PurePosixPath(base).suffix.lower()
    allowed = tuple(a.lower() for a in allowed)
    if ext not in allowed:
        raise UploadError(
            f"{base}: type {ext or '(none)'} is not accepted (allowed: {', '.join(allowed)})"
        )
    if not data:
        raise UploadError(f"{base}: the file is empty")
    if len(data) > limit_mb * 1024 * 1024:
        raise UploadError(
            f"{base}: {len(data) / 1024 / 1024:.1f} MB is over the {limit_mb} MB upload limit"
        )
    if not _sniff_ok(ext, data[:4096]):
        raise UploadError(f"{base}: the content is not a {ext} file")
    return ext


def safe_extract(
    zip_path: str | Path,
    dest: str | Path,
    *,
    max_members: int = MAX_ZIP_MEMBERS,
    max_bytes: int = MAX_UNPACKED_BYTES,
) -> list[Path]:
    """Extract a zip archive into ``dest`` refusing anything that could escape it.

    Checks every member before writing any: absolute paths, ``..`` parts, drive letters,
    symbolic links, too many members, too many unpacked bytes, or a suspicious compression
    ratio raise ``UploadError`` and nothing is written.

    Returns
    -------
    list of Path
        The extracted files (not folders), inside ``dest``.
    """
    dest = Path(dest).resolve()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        zf = zipfile.ZipFile(zip_path)
    except zipfile.BadZipFile:
        raise UploadError(f"{Path(zip_path).name}: not a valid zip archive") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_members:
            raise UploadError(
                f"{Path(zip_path).name}: {len(infos)} members is over the limit of {max_members}"
            )
        total = 0
        plan: list[tuple[zipfile.ZipInfo, Path]] = []
        for info in infos:
            raw = info.filename.replace("\\", "/")
            parts = PurePosixPath(raw).parts
            if raw.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
                raise UploadError(
                    f"{Path(zip_path).name}: member {info.filename!r} would be "
                    "written outside the bundle folder"
                )
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UploadError(f"{Path(zip_path).name}: member {info.filename!r} is a link")
            target = (dest / Path(*parts)).resolve() if parts else dest
            if target != dest and dest not in target.parents:
                raise UploadError(
                    f"{Path(zip_path).name}: member {info.filename!r} would be "
                    "written outside the bundle folder"
                )
            total += info.file_size
            if total > max_bytes:
                raise UploadError(
                    f"{Path(zip_path).name}: unpacks to more than {max_bytes // 1024**2} MB"
                )
            if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
                raise UploadError(
                    f"{Path(zip_path).name}: member {info.filename!r} has a "
                    "suspicious compression ratio (zip bomb)"
                )
            plan.append((info, target))
        written = []
        for info, target in plan:
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                remaining = info.file_size
                while chunk := src.read(1024 * 1024):
                    remaining -= len(chunk)
                    if remaining < 0:  # the header lied about the size
                        raise UploadError(
                            f"{Path(zip_path).name}: member {info.filename!r} "
                            "is larger than its header says"
                        )
                    out.write(chunk)
            written.append(target)
    return written
