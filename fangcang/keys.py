"""The server's secret key, kept outside the database.

One master key signs session tokens (``fangcang.sessions``) and keys the audit chain
(``fangcang.audit``); each use gets its own sub-key (``HMAC(master, purpose)``), so a token
signature never equals an audit MAC.

Where the key comes from, first match wins:

1. ``FANGCANG_SECRET_KEY`` (at least 32 characters), e.g. from a secrets manager;
2. the key file ``FANGCANG_KEY_FILE`` (default ``data/fangcang.key``): created on first use
   (``python -m fangcang db upgrade`` at install, or the first start) with 32 random bytes and
   owner-only permissions (0600). A key file readable by others is refused.

Losing the key signs every user out and makes ``audit verify`` report every keyed entry as
not matching: back it up with the database, but store it elsewhere (see docs/access.md).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

from .config import get_settings

log = logging.getLogger(__name__)
MIN_ENV_KEY_CHARS = 32


class KeyError_(RuntimeError):
    """The key file is unusable (permissions or content); the message says how to fix it."""


def _read_or_create(path: Path) -> bytes:
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        log.warning("created a new secret key file %s (0600): back it up", path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise KeyError_(
            f"{path}: the key file is readable by others (mode {mode:o}); run chmod 600 {path}"
        )
    text = path.read_text(encoding="ascii").strip()
    if len(text) < MIN_ENV_KEY_CHARS:
        raise KeyError_(f"{path}: the key file holds fewer than {MIN_ENV_KEY_CHARS} characters")
    return text.encode("ascii")


def ensure_key_file(path: str | Path | None = None) -> Path:
    """Create the key file if missing (install step); return its path."""
    path = Path(path or get_settings().key_file)
    path.parent.mkdir(parents=True, exist_ok=True)
    _read_or_create(path)
    return path


def master_key() -> bytes:
    """The master secret (environment or key file; the key file is created when missing)."""
    settings = get_settings()
    if settings.secret_key:
        if len(settings.secret_key) < MIN_ENV_KEY_CHARS:
            raise ValueError(
                f"FANGCANG_SECRET_KEY must have at least {MIN_ENV_KEY_CHARS} characters"
            )
        return settings.secret_key.encode("utf-8")
    path = settings.key_file
    path.parent.mkdir(parents=True, exist_ok=True)
    return _read_or_create(path)


def subkey(purpose: str) -> bytes:
    """``HMAC-SHA256(master, purpose)``: a separate key per use (``"audit"``, ``"session"``)."""
    return hmac.new(master_key(), purpose.encode("utf-8"), hashlib.sha256).digest()


def key_id(purpose: str) -> str:
    """A short public fingerprint of a sub-key (which key signed what; never the key)."""
    return hashlib.sha256(subkey(purpose)).hexdigest()[:12]
