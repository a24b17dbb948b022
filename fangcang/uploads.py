"""Browser upload (数据上传): the same validation as the command line, import only on confirmation;
and the rejected-rows files of partial imports (personal data in the clear: admin only, audited).

``save_upload`` checks and writes the uploaded files as a bundle, ``check_upload_folder``
validates it without writing (``UploadCheck``), ``import_upload`` imports it after the user
confirms; ``error_frame`` shows the errors with personal values masked. What the
platform already holds is read in ``fangcang.datahub``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from .access import Scope
from .models import ImportStatus

VISITS_FILES = ("visits.csv", "visits.xlsx")


@dataclass
class UploadCheck:
    """Validation of an uploaded bundle (and/or a visits file) before anything is written."""

    folder: Path
    bundle: object | None = None  # importer.bundle.BundleReport, None without bundle files
    visits: object | None = None  # importer.Table of visits.csv, None without one

    @property
    def errors(self) -> list:
        out = list(self.bundle.errors) if self.bundle is not None else []
        if self.visits is not None:
            out.extend(self.visits.errors)
        return out

    @property
    def files(self) -> dict[str, int]:
        out = dict(self.bundle.files) if self.bundle is not None else {}
        if self.visits is not None:
            out[self.visits.file] = self.visits.rows
        return out

    @property
    def notes(self) -> list[str]:
        return list(self.bundle.notes) if self.bundle is not None else []

    def file_frame(self) -> pd.DataFrame:
        """One row per file: rows, how it was read (encoding/delimiter or sheet, header row,
        skipped empty rows), coordinates, and the columns not used (shown before import).

        Returns
        -------
        DataFrame
            file, rows, read_as (English, as in the printed report), layout (the
            ``importer.layout.Layout``, for a localised text), coordinates (the system the
            points were read in; empty for files without points), unused_columns.
        """
        rows = []
        info = self.bundle.file_info if self.bundle is not None else {}
        for file, n in self.files.items():
            item = info.get(file, {})
            layout = item.get("layout")
            table = self.visits if self.visits is not None and self.visits.file == file else None
            if table is not None:
                layout = table.layout
                item = {"unused": table.unused_columns, "ignored": table.ignored_columns}
            unused = list(item.get("unused", ()))
            unused += [f"{c} (ignored as declared)" for c in item.get("ignored", ())]
            coord = item.get("coord")
            rows.append(
                {
                    "file": file,
                    "rows": n,
                    "read_as": layout.describe() if layout is not None else "",
                    "layout": layout,
                    "coordinates": "" if not coord else coord,
                    "unused_columns": ", ".join(unused),
                }
            )
        return pd.DataFrame(
            rows, columns=["file", "rows", "read_as", "layout", "coordinates", "unused_columns"]
        )

    @property
    def coord_hints(self) -> list[tuple[str, object]]:
        """(file, Diagnosis) for every file whose points fit another coordinate system."""
        if self.bundle is None:
            return []
        return [
            (file, item["coord_hint"])
            for file, item in self.bundle.file_info.items()
            if item.get("coord_hint") is not None
        ]

    @property
    def error_count(self) -> int:
        """Errors found, listed or not (listing limits)."""
        n = self.bundle.error_count if self.bundle is not None else 0
        return n + (self.visits.error_count if self.visits is not None else 0)

    @property
    def ok(self) -> bool:
        return bool(self.files) and not self.error_count

    @property
    def bad_rows(self) -> int:
        n = self.bundle.rejected if self.bundle is not None else 0
        if self.visits is not None:
            n += self.visits.rows if self.visits.file_errors else len(self.visits.bad_rows)
        return n


def save_upload(files: list[tuple[str, bytes]], dest: Path) -> Path:
    """Check uploaded files (type, size, content) and write them into ``dest`` as a bundle.

    A single ``.zip`` is unpacked safely (a zip holding one top folder is that folder).
    Raises ``websafe.UploadError`` naming the file when one is not acceptable.
    """
    from .importer.limits import extract_zip
    from .websafe import UploadError, check_upload

    dest = Path(dest)
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)  # uploads carry personal data
    if not files:
        raise UploadError("no file was uploaded")
    exts = [check_upload(name, data) for name, data in files]
    if ".zip" in exts:
        if len(files) > 1:
            raise UploadError("upload one .zip bundle, or the files of a bundle, not both")
        archive = dest.parent / f"{dest.name}.zip"
        _write_private(archive, files[0][1])
        try:
            extract_zip(archive, dest, name=Path(files[0][0].replace("\\", "/")).name)
        finally:
            archive.unlink(missing_ok=True)
        entries = [p for p in dest.iterdir() if not p.name.startswith(("__MACOSX", "."))]
        return entries[0] if len(entries) == 1 and entries[0].is_dir() else dest
    for name, data in files:
        _write_private(dest / Path(name.replace("\\", "/")).name, data)
    return dest


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to a file only its owner can read (0600 from the start)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _split(folder: Path) -> tuple[list[Path], Path | None]:
    from .importer.options import OPTIONS_FILE

    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.name != OPTIONS_FILE
    ]
    visits = next((p for p in files if p.name.lower() in VISITS_FILES), None)
    return [p for p in files if p is not visits], visits


def check_upload_folder(
    session: Session, folder: Path, scope: Scope, *, coord_system: str | None = None
) -> UploadCheck:
    """Validate a saved upload with the bundle importer's checks (and visits.csv's).

    Nothing is written. ``visits.csv`` is checked against the registry as it stands, so its
    houses must already be imported. ``coord_system`` (``wgs84``/``gcj02``/``bd09``) overrides
    the bundle's own option (``bundle.toml``) for every file's points.
    """
    from .importer.bundle import validate_bundle
    from .visits.csvimport import validate_visits

    folder = Path(folder)
    bundle_files, visits_file = _split(folder)
    check = UploadCheck(folder)
    if bundle_files:
        check.bundle = validate_bundle(session, folder, coord_system=coord_system)
    if visits_file is not None:
        check.visits = validate_visits(session, visits_file, scope)
    return check


def import_upload(
    engine, folder: Path, *, actor: str, scope: Scope, coord_system: str | None = None
) -> dict:
    """Import a validated upload: the bundle (one transaction), then visits.csv if present.

    Returns
    -------
    dict
        status (``ok`` / ``failed``), seconds, bundle (ImportResult or None), visits
        (VisitImportReport or None).
    """
    from .importer.bundle import import_bundle
    from .visits.csvimport import import_visits

    t0 = time.perf_counter()
    folder = Path(folder)
    bundle_files, visits_file = _split(folder)
    out: dict = {"status": "ok", "bundle": None, "visits": None}
    if bundle_files:
        result = import_bundle(
            engine, folder, actor=actor, channel="upload", coord_system=coord_system
        )
        out["bundle"] = result
        if result.status == ImportStatus.FAILED:
            out["status"] = "failed"
    if visits_file is not None and out["status"] == "ok":
        with Session(engine) as session:
            report = import_visits(session, visits_file, actor=actor, scope=scope, channel="upload")
            session.commit()
        out["visits"] = report
        if not report.ok:
            out["status"] = "failed"
    out["seconds"] = time.perf_counter() - t0
    return out


def error_frame(errors) -> pd.DataFrame:
    """Errors as a table (file, row, column, value, reason); personal values masked."""
    from .privacy import PERSONAL_COLUMNS

    aliases = {
        "resident_name": "name",
        "resident_id_number": "id_number",
        "resident_phone": "phone",
    }
    rows = []
    for e in errors:
        d = e.as_dict()
        fn = PERSONAL_COLUMNS.get(aliases.get(d["column"], d["column"]))
        if fn is not None and d["value"]:
            d["value"] = fn(d["value"])
        rows.append(d)
    return pd.DataFrame(rows, columns=["file", "row", "column", "value", "reason"])


# ---------------------------------------------------------------------------------------------
# Rejected rows of partial imports (personal data in the clear: admin only, audited)
# ---------------------------------------------------------------------------------------------
def rejected_files() -> pd.DataFrame:
    """Rejected-rows files still kept (expired ones deleted first), newest first.

    Returns
    -------
    DataFrame
        folder, file, path, rows, bytes, created, expires (``importer.rejected.list_rejected``).
    """
    from .importer.rejected import list_rejected

    return list_rejected()


def download_rejected(session: Session, path: str, *, actor: str) -> bytes:
    """One rejected-rows file's bytes, audited (``import.rejected_download``) in ``session``."""
    from .importer.rejected import read_rejected

    return read_rejected(session, path, actor=actor)
