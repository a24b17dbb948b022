"""Department feeds (数据通道): a watched inbox folder per source department.

Layout under ``config.get_settings().inbox_dir``::

    inbox/
      公安户籍/                 one folder per source department (any name)
        2026-11-bundle/        a bundle folder ...
        houses-2026-11.zip     ... or a zipped bundle
        done/                  imported bundles are moved here
        failed/                bundles that failed (with <name>.errors.txt beside them)

``poll_once`` imports every settled bundle with the ordinary bundle importer (the same
validation as the command line and the browser upload; a bundle with errors changes nothing
and leaves a failed import-log row, shown on the data hub page), then moves it to ``done/`` or
``failed/``. A bundle counts as settled when nothing in it changed for ``settle_seconds``, so a
bundle still being copied in is left for the next poll. Hidden entries and names ending in
``.part`` or ``.tmp`` are ignored.
"""

from __future__ import annotations

import functools
import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from . import audit, db, tempfiles
from .config import get_settings
from .models import ImportLog, ImportStatus
from .timeutil import now_local

# ``log`` names import-log rows in this module; the module logger is ``logger``.
logger = logging.getLogger(__name__)

DONE = "done"
FAILED = "failed"
#: Seconds a bundle must be unchanged before it is imported.
DEFAULT_SETTLE_SECONDS = 10.0
_IGNORED_SUFFIXES = (".part", ".tmp", ".crdownload", ".errors.txt")


@dataclass(frozen=True)
class FeedOutcome:
    department: str
    bundle: str  # file or folder name as dropped
    status: ImportStatus
    log_id: int | None
    moved_to: Path
    message: str = ""


def channel_for(department: str) -> str:
    """Import-log channel of a department's feed (``feed:<department>``, at most 32 chars)."""
    return f"feed:{department}"[:32]


def _newest_mtime(path: Path) -> float:
    # lstat: a link in a bundle is its own entry (never followed; the importer refuses it)
    if path.is_file():
        return path.lstat().st_mtime
    times = [path.lstat().st_mtime] + [p.lstat().st_mtime for p in path.rglob("*")]
    return max(times)


def departments(root: Path) -> list[Path]:
    """Department folders under the inbox root (sorted by name)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def pending_bundles(dept_dir: Path, settle_seconds: float, now: float | None = None) -> list[Path]:
    """Settled bundle folders and .zip files in one department folder, oldest first."""
    now = time.time() if now is None else now
    out = []
    for p in dept_dir.iterdir():
        if p.name in (DONE, FAILED) or p.name.startswith(".") or p.name.endswith(_IGNORED_SUFFIXES):
            continue
        if not (p.is_dir() or (p.is_file() and p.suffix.lower() == ".zip")):
            continue
        if now - _newest_mtime(p) < settle_seconds:
            continue
        out.append(p)
    return sorted(out, key=lambda p: (_newest_mtime(p), p.name))


def _default_importer(
    engine: Engine, folder: Path, *, actor: str, channel: str, department: str = ""
):
    from .importer.bundle import import_bundle

    return import_bundle(
        engine, folder, actor=actor, channel=channel, partial=False, default_source=department
    )


def _bundle_root(extracted: Path) -> Path:
    """A zip holding one top folder is that folder's bundle."""
    entries = [p for p in extracted.iterdir() if not p.name.startswith(("__MACOSX", "."))]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return extracted


def _move(path: Path, target_dir: Path) -> Path:
    target_dir.mkdir(parents=True, exist_ok=True)
    stamp = now_local().strftime("%Y%m%d-%H%M%S")
    target = target_dir / f"{stamp}-{path.name}"
    n = 1
    while target.exists():
        n += 1
        target = target_dir / f"{stamp}-{n}-{path.name}"
    shutil.move(str(path), str(target))
    return target


def _log_failure(engine: Engine, department: str, bundle: Path, message: str) -> int:
    """A failed import-log row (and audit entry) for a bundle the importer never saw."""
    started = now_local()
    with Session(engine) as session:
        log = ImportLog(
            started_at=started,
            finished_at=started,
            actor=channel_for(department),
            bundle=str(bundle)[:500],
            channel=channel_for(department),
            files="{}",
            counts="{}",
            rejected=0,
            status=ImportStatus.FAILED,
            message=message[:20000],
            duration_s=0.0,
        )
        session.add(log)
        session.flush()
        audit.log(
            session,
            actor=channel_for(department),
            action="import.bundle",
            target=str(bundle)[:200],
            detail={
                "import_log_id": log.id,
                "status": "failed",
                "channel": channel_for(department),
                "message": message[:500],
            },
        )
        db.bump_data_version(session)
        session.commit()
        return log.id


def process_bundle(
    engine: Engine,
    department: str,
    path: Path,
    *,
    importer: Callable | None = None,
) -> FeedOutcome:
    """Import one dropped bundle (folder or .zip) and move it to done/ or failed/.

    Never raises for a bad bundle: every failure is an import-log row with status failed.
    """
    from .importer.limits import extract_zip
    from .websafe import UploadError

    importer = importer or functools.partial(_default_importer, department=department)
    dept_dir = path.parent
    actor = channel = channel_for(department)
    status, log_id, message = ImportStatus.FAILED, None, ""
    with tempfiles.temp_dir("feed") as tmp:  # private folder (0700), removed after
        try:
            folder = path
            if path.is_file():
                extract_zip(path, Path(tmp), name=path.name)
                folder = _bundle_root(Path(tmp))
            result = importer(engine, folder, actor=actor, channel=channel)
            status, log_id, message = result.status, result.log_id, result.report
            # Name the dropped bundle, not the temporary folder, in the log.
            if path.is_file() and log_id is not None:
                with Session(engine) as session:
                    log = session.get(ImportLog, log_id)
                    if log is not None:
                        log.bundle = str(path)[:500]
                        session.commit()
        except UploadError as exc:
            message = f"{path.name}: {exc}"
            log_id = _log_failure(engine, department, path, message)
        except Exception as exc:  # a watcher must survive any bad bundle; the log says why
            logger.exception("feed %s: %s failed", department, path.name)
            message = f"{path.name}: {type(exc).__name__}: {exc}"
            log_id = _log_failure(engine, department, path, message)
    ok = status in (ImportStatus.OK, ImportStatus.PARTIAL)
    logger.log(
        logging.INFO if ok else logging.WARNING,
        "feed %s: %s %s (import log #%s)",
        department,
        path.name,
        ImportStatus(status).value,
        log_id,
    )
    moved = _move(path, dept_dir / (DONE if ok else FAILED))
    if not ok:
        moved.with_name(moved.name + ".errors.txt").write_text(message or "", encoding="utf-8")
        if log_id is not None:
            with Session(engine) as session:
                log = session.get(ImportLog, log_id)
                if log is not None:
                    log.bundle = str(moved)[:500]
                    session.commit()
    return FeedOutcome(department, path.name, ImportStatus(status), log_id, moved, message)


def poll_once(
    engine: Engine,
    root: Path | None = None,
    *,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    importer: Callable | None = None,
    log: Callable[[str], None] | None = None,
) -> list[FeedOutcome]:
    """Import every settled bundle in every department inbox once.

    Parameters
    ----------
    engine : Engine
    root : Path, optional
        The inbox root (default ``get_settings().inbox_dir``); created when missing.
    settle_seconds : float
        A bundle changed more recently than this is left for the next poll.
    importer : callable, optional
        ``importer(engine, folder, actor=, channel=) -> result`` with ``status``, ``log_id``
        and ``report``; default the bundle importer.
    log : callable, optional
        Receives one line per bundle processed.
    """
    root = Path(root or get_settings().inbox_dir)
    root.mkdir(parents=True, exist_ok=True)
    outcomes = []
    for dept_dir in departments(root):
        for bundle in pending_bundles(dept_dir, settle_seconds):
            outcome = process_bundle(engine, dept_dir.name, bundle, importer=importer)
            outcomes.append(outcome)
            if log:
                log(
                    f"{dept_dir.name}/{bundle.name}: {outcome.status.value} "
                    f"(import log {outcome.log_id}) -> {outcome.moved_to}"
                )
    return outcomes


def watch(
    engine: Engine,
    root: Path | None = None,
    *,
    interval: float = 30.0,
    once: bool = False,
    settle_seconds: float = DEFAULT_SETTLE_SECONDS,
    log: Callable[[str], None] = print,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Poll the inboxes every ``interval`` seconds (or once); return the bundles processed."""
    if interval <= 0:
        raise ValueError(f"interval must be positive, got {interval}")
    total = 0
    while True:
        total += len(poll_once(engine, root, settle_seconds=settle_seconds, log=log))
        if once or should_stop():
            return total
        time.sleep(interval)


def feed_status(session: Session, limit: int = 50) -> list[dict]:
    """Recent feed imports (newest first): department, bundle, status, when, message."""
    from sqlalchemy import select

    rows = session.scalars(
        select(ImportLog)
        .where(ImportLog.channel.like("feed:%"))
        .order_by(ImportLog.started_at.desc(), ImportLog.id.desc())
        .limit(limit)
    )
    return [
        {
            "department": r.channel.removeprefix("feed:"),
            "bundle": Path(r.bundle).name,
            "status": r.status.value,
            "started_at": r.started_at,
            "files": json.loads(r.files or "{}"),
            "message": r.message,
        }
        for r in rows
    ]
