"""Temporary files in one private folder, removed when done and swept at start-up.

Upload copies and other temporary files hold names and ID numbers: they never go to the
shared system temp folder. Everything lives under ``FANGCANG_TEMP_DIR`` (default
``data/tmp``), a folder only the server's user may open (0700); each temporary folder carries
the creating process id in its name (``fangcang-upload-<pid>-<random>``), so :func:`sweep`
at start-up removes what a crashed or killed process left behind without touching folders of
processes still running (a CLI import next to the dashboard).
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .config import get_settings

log = logging.getLogger(__name__)
PREFIX = "fangcang-"
#: Leftovers in the system temp folder from versions before the private folder (swept too).
LEGACY_PATTERNS = ("fangcang-upload-*",)


def private_dir() -> Path:
    """The private temp folder, created 0700 (and tightened to 0700 if it was wider)."""
    path = get_settings().temp_dir
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != 0o700:
        path.chmod(0o700)
    return path


def make_dir(kind: str) -> Path:
    """A new private folder ``fangcang-<kind>-<pid>-<random>`` (0700) for the caller to remove."""
    if not kind.replace("-", "").isalnum():
        raise ValueError(f"temp folder kind {kind!r} must be letters, digits and '-'")
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-{os.getpid()}-", dir=private_dir()))


@contextmanager
def temp_dir(kind: str) -> Iterator[Path]:
    """``with temp_dir("feed") as folder:`` a private folder removed on leaving the block."""
    path = make_dir(kind)
    try:
        yield path
    finally:
        remove(path)


def remove(path: str | Path | None) -> None:
    """Remove a temporary folder or file (missing is fine; failures are logged)."""
    if not path:
        return
    path = Path(path)
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not remove temporary %s: %s", path, exc)


def _pid_of(name: str) -> int | None:
    parts = name[len(PREFIX) :].split("-")
    for part in parts[1:]:
        if part.isdigit():
            return int(part)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep(*, legacy_min_age_s: float = 3600.0) -> int:
    """Remove leftovers: private entries whose process is gone, and old ``fangcang-upload-*``
    folders in the system temp folder. Returns how many were removed. Run at start-up."""
    removed = 0
    for entry in private_dir().iterdir():
        if not entry.name.startswith(PREFIX):
            continue
        pid = _pid_of(entry.name)
        if pid is not None and (pid == os.getpid() or _alive(pid)):
            continue
        remove(entry)
        removed += 1
    system = Path(tempfile.gettempdir())
    now = time.time()
    for pattern in LEGACY_PATTERNS:
        for entry in system.glob(pattern):
            try:
                if now - entry.stat().st_mtime < legacy_min_age_s:
                    continue
            except OSError as exc:  # gone meanwhile, or not ours to read: leave it
                log.debug("temp sweep skips %s: %s", entry, exc)
                continue
            remove(entry)
            removed += 1
    if removed:
        log.info("removed %d leftover temporary folders", removed)
    return removed
