"""The append-only, tamper-evident audit log (查询留痕).

Each entry carries ``hash = sha256(prev_hash + canonical entry)``; ``verify`` walks the chain
and reports the first entry whose stored hash or link does not match.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .models import AuditEntry
from .timeutil import now_local

GENESIS = "0" * 64


def _digest(prev_hash: str, at: datetime, actor: str, action: str, target: str, detail: str) -> str:
    payload = json.dumps(
        [prev_hash, at.isoformat(timespec="microseconds"), actor, action, target, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    # Serialise writers so two entries never claim the same predecessor.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(424242)"))


def log(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str = "",
    detail: dict | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (it lands when the caller commits).

    Parameters
    ----------
    actor : str
        Username (or ``system`` / ``cli:<user>``).
    action : str
        Dotted verb, e.g. ``login.ok``, ``login.fail``, ``person.view``, ``person.unmask``,
        ``export.csv``, ``import.bundle``, ``task.dispatch``, ``task.evaluate``,
        ``registry.correct``, ``config.change``, ``user.add``.
    """
    if not actor or not action:
        raise ValueError("audit entries need an actor and an action")
    _lock_chain(session)
    prev = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    prev = prev or GENESIS
    at = now_local()
    detail_json = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        target=target or "",
        detail=detail_json,
        prev_hash=prev,
        hash=_digest(prev, at, actor, action, target or "", detail_json),
    )
    session.add(entry)
    session.flush()
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""


def verify(session: Session) -> VerifyResult:
    """Walk the chain in id order; report the first entry that does not match."""
    prev = GENESIS
    checked = 0
    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(5000):
        if e.prev_hash != prev:
            return VerifyResult(False, checked, e.id, "link to the previous entry is broken")
        if _digest(e.prev_hash, e.at, e.actor, e.action, e.target, e.detail) != e.hash:
            return VerifyResult(False, checked, e.id, "entry content does not match its hash")
        prev = e.hash
        checked += 1
    return VerifyResult(True, checked)
