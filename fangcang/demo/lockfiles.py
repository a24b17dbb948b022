"""Lock and status files of the demo's child processes (the first-start build,
``fangcang.demo.background``, and the side extensions, ``fangcang.demo.side``).

Both modules use these helpers; they live here so that neither imports the other (the build
imports the side extensions through ``fangcang.demo.builder``). POSIX only: callers check for
``fcntl`` first.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sqlalchemy import URL

from .. import tempfiles

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: callers run no child process
    fcntl = None


def private_file(url: URL, stem: str, suffix: str) -> Path:
    """A file of the server database at ``url`` in the private temp folder, named by a hash
    of the URL without its password: ``<stem>-<hash><suffix>``."""
    key = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return tempfiles.private_dir() / f"{stem}-{key}{suffix}"


def open_lock(path: Path) -> int:
    """A read-write descriptor of the lock file ``path`` (created ``0600`` with its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def held(lock: Path) -> bool:
    """Whether some process holds ``lock`` (probed with a non-blocking ``flock``)."""
    if not lock.exists():
        return False
    fd = open_lock(lock)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock the probe took
    return False
