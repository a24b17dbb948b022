"""Rejected-rows files of partial imports: kept private, listed, audited, deleted in time.

A partial import writes the rows it rejected, with their original values, to
``<reports_dir>/import-<stamp>-rejected/<file>.csv`` so the department can correct and send
them again. Those values are personal data in the clear, so:

- the folder is created owner-only (``0700``) and every file in it owner-only (``0600``);
- ``list_rejected`` lists them for the administrator (the data hub's import history);
- ``read_rejected`` returns one file's bytes and writes an audit entry
  (``import.rejected_download``) in the caller's transaction;
- ``purge_rejected`` deletes folders older than ``FANGCANG_REJECTED_KEEP_DAYS`` days
  (default 14); every import and every listing runs it.

The error reports (``import-<stamp>-errors.csv``) mask personal values and are not covered here.
"""

from __future__ import annotations

import logging
import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from .. import audit
from ..config import get_settings
from ..timeutil import now_local

log = logging.getLogger(__name__)

#: Folder names of rejected rows under the reports folder.
PATTERN = "import-*-rejected"


def write_private_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as CSV (UTF-8 with BOM, cells defused by ``fangcang.spreadsheet``:
    a value Excel would run as a formula gets a leading apostrophe) readable by its owner
    only."""
    from ..spreadsheet import csv_bytes

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path.parent, 0o700)
    data = csv_bytes(frame)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # also when the file existed with wider permissions
        os.write(fd, data)
    finally:
        os.close(fd)
    return path


def _folders(reports_dir: Path) -> list[Path]:
    if not reports_dir.is_dir():
        return []
    return sorted((p for p in reports_dir.glob(PATTERN) if p.is_dir()), reverse=True)


def _created(folder: Path) -> datetime:
    """When the folder was written, in local time (Asia/Shanghai, like every stored time)."""
    from ..timeutil import from_timestamp

    return from_timestamp(folder.stat().st_mtime)


def purge_rejected(
    reports_dir: Path | None = None, keep_days: int | None = None, now: datetime | None = None
) -> list[Path]:
    """Delete rejected-rows folders older than ``keep_days``; return the deleted folders.

    ``now`` is local time (default: ``now_local()``)."""
    settings = get_settings()
    reports_dir = Path(reports_dir or settings.reports_dir)
    keep_days = settings.rejected_keep_days if keep_days is None else keep_days
    if keep_days < 1:
        raise ValueError(f"keep_days must be at least 1, got {keep_days}")
    limit = (now or now_local()).replace(tzinfo=None) - timedelta(days=keep_days)
    gone = []
    for folder in _folders(reports_dir):
        if _created(folder) < limit:
            try:
                shutil.rmtree(folder)
                gone.append(folder)
            except OSError as exc:  # keep going; the next run tries again
                log.warning("could not delete rejected rows %s: %s", folder, exc)
    if gone:
        log.info("deleted %d rejected-rows folders older than %d days", len(gone), keep_days)
    return gone


def list_rejected(reports_dir: Path | None = None) -> pd.DataFrame:
    """Rejected-rows files still kept (after purging expired ones), newest first.

    Returns
    -------
    DataFrame
        folder (name), file, path, rows, bytes, created, expires.
    """
    settings = get_settings()
    reports_dir = Path(reports_dir or settings.reports_dir)
    purge_rejected(reports_dir)
    rows = []
    for folder in _folders(reports_dir):
        created = _created(folder)
        for f in sorted(folder.glob("*.csv")):
            with f.open("rb") as fh:
                lines = sum(1 for _ in fh)
            rows.append(
                {
                    "folder": folder.name,
                    "file": f.name,
                    "path": str(f),
                    "rows": max(lines - 1, 0),
                    "bytes": f.stat().st_size,
                    "created": created,
                    "expires": created + timedelta(days=settings.rejected_keep_days),
                }
            )
    return pd.DataFrame(
        rows, columns=["folder", "file", "path", "rows", "bytes", "created", "expires"]
    )


def read_rejected(session: Session, path: str | Path, *, actor: str) -> bytes:
    """One rejected-rows file's bytes for download; audited in ``session`` (commit it).

    Raises
    ------
    ValueError
        ``path`` is not a rejected-rows file under the reports folder.
    """
    reports_dir = get_settings().reports_dir.resolve()
    p = Path(path).resolve()
    if (
        p.suffix != ".csv"
        or p.parent.parent != reports_dir
        or not p.parent.match(PATTERN)
        or not p.is_file()
    ):
        raise ValueError(f"not a rejected-rows file: {path}")
    data = p.read_bytes()
    audit.log(
        session,
        actor=actor,
        action="import.rejected_download",
        target=f"{p.parent.name}/{p.name}"[:200],
        detail={"bytes": len(data)},
    )
    return data
