"""The append-only, tamper-evident audit log (查询留痕).

Each entry carries ``hash = sha256(prev_hash + canonical entry)``; ``verify`` walks the chain
and reports the first entry whose stored hash or link does not match. The newest hash and the
entry count are also kept in ``meta`` (key ``audit_head``), so deleting entries at the end of
the chain is found too.

Concurrency: writers are serialised before they read the chain head, so two entries never claim
the same predecessor: a transaction-scoped advisory lock on PostgreSQL, the database write lock
on SQLite (taken by a write to the ``audit_head`` row before the head is read). A unique index on
``prev_hash`` (migration ``0003``) turns any fork that slipped through into an error rather than
a silently branched chain. The database refuses UPDATE and DELETE on ``audit_log`` (triggers).

Actions in use (``action`` is a dotted verb):
``login.ok``, ``login.fail``, ``logout``, ``logout.idle``, ``person.view``, ``person.unmask``,
``house.unmask``, ``export.csv``, ``export.xlsx``, ``import.bundle``, ``task.dispatch``,
``task.evaluate``, ``registry.correct``, ``config.change``, ``user.add``, ``user.disable``,
``user.enable``, ``user.reset``, ``user.unlock``, ``audit.export``, ``audit.verify``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.orm import Session

from .models import AuditEntry, Meta
from .timeutil import now_local

GENESIS = "0" * 64
HEAD_KEY = "audit_head"
_PG_LOCK_KEY = 424242


def _digest(prev_hash: str, at: datetime, actor: str, action: str, target: str, detail: str) -> str:
    payload = json.dumps(
        [prev_hash, at.isoformat(timespec="microseconds"), actor, action, target, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    """Serialise writers so two entries never claim the same predecessor."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # Held until the caller's transaction ends; READ COMMITTED statements after it see
        # the entry the previous holder committed.
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    else:
        # SQLite: a write statement takes the database write lock (waiting out busy_timeout),
        # so the head read below is the newest committed one. pysqlite runs plain SELECTs
        # outside a transaction, so no stale snapshot is held here.
        session.execute(text("UPDATE meta SET value = value WHERE key = :k"), {"k": HEAD_KEY})


def _read_head(session: Session) -> dict | None:
    # A fresh read, never the session's identity map: UI sessions live across commits
    # (expire_on_commit=False) while other processes append.
    raw = session.execute(select(Meta.value).where(Meta.key == HEAD_KEY)).scalar()
    return json.loads(raw) if raw is not None else None


def _write_head(session: Session, head: str, count: int, exists: bool) -> None:
    value = json.dumps({"hash": head, "count": count})
    if exists:
        session.execute(update(Meta).where(Meta.key == HEAD_KEY).values(value=value))
    else:
        session.execute(insert(Meta).values(key=HEAD_KEY, value=value))


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
    session : Session
        The caller's session; the entry is flushed, not committed.
    actor : str
        Username (or ``system`` / ``cli:<user>``).
    action : str
        Dotted verb, e.g. ``login.ok``, ``login.fail``, ``person.view``, ``person.unmask``,
        ``export.csv``, ``import.bundle``, ``task.dispatch``, ``task.evaluate``,
        ``registry.correct``, ``config.change``, ``user.add`` (see the module docstring).
    target : str
        What was acted on (a username, ``person:P0001``, a page id, a file name ...).
    detail : dict, optional
        JSON-serialisable facts (row counts, filters, reasons). Never put personal data in
        clear here: the audit log is exported and read by admins.
    """
    if not actor or not action:
        raise ValueError("audit entries need an actor and an action")
    if len(action) > 64:
        raise ValueError(f"audit action {action!r} is longer than 64 characters")
    actor = str(actor)[:64]
    target = str(target or "")[:200]
    detail_json = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)
    _lock_chain(session)
    # Read the head from the chain itself (the meta row only guards against truncation).
    last = session.execute(
        select(AuditEntry.hash, AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    prev = last.hash if last is not None else GENESIS
    head = _read_head(session)
    if head is not None:
        count = int(head["count"]) + 1
    else:  # the first entry since the head was introduced: count the chain once
        count = (session.scalar(select(func.count()).select_from(AuditEntry)) or 0) + 1
    at = now_local()
    entry = AuditEntry(
        at=at,
        actor=actor,
        action=action,
        target=target,
        detail=detail_json,
        prev_hash=prev,
        hash=_digest(prev, at, actor, action, target, detail_json),
    )
    session.add(entry)
    session.flush()
    _write_head(session, entry.hash, count, exists=head is not None)
    return entry


@dataclass(frozen=True)
class VerifyResult:
    """``ok`` when every link holds; else ``first_broken_id`` names the first bad entry."""

    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""


def verify(session: Session) -> VerifyResult:
    """Walk the chain in id order; report the first entry that does not match.

    Finds an edited entry (its hash no longer matches its content), a deleted or inserted
    entry (the next entry's link no longer matches) and entries deleted at the end (the
    recorded head and count no longer match).
    """
    prev = GENESIS
    checked = 0
    last_id = 0
    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(5000):
        if e.prev_hash != prev:
            return VerifyResult(
                False,
                checked,
                e.id,
                f"entry #{e.id}: link to the previous entry is broken "
                "(an entry before it was deleted, inserted or changed)",
            )
        if _digest(e.prev_hash, e.at, e.actor, e.action, e.target, e.detail) != e.hash:
            return VerifyResult(
                False, checked, e.id, f"entry #{e.id}: content does not match its hash (edited)"
            )
        prev = e.hash
        last_id = e.id
        checked += 1
    head = _read_head(session)
    if head is not None:
        if head.get("hash") != prev or head.get("count") != checked:
            return VerifyResult(
                False,
                checked,
                last_id + 1,
                f"the chain ends at entry #{last_id} but the recorded head says "
                f"{head.get('count')} entries: entries at the end were deleted",
            )
    elif checked:
        return VerifyResult(False, checked, last_id + 1, "the recorded chain head is missing")
    return VerifyResult(True, checked)


#: Columns of :func:`entries` frames, in order.
ENTRY_COLUMNS = ["id", "at", "actor", "action", "target", "detail", "prev_hash", "hash"]


def entries(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 5000,
) -> pd.DataFrame:
    """Audit entries, newest first, as a DataFrame with ``ENTRY_COLUMNS``.

    Parameters
    ----------
    actor : str, optional
        Exact username.
    action : str, optional
        An action (``login.fail``) or a prefix ending in a dot (``login.``, ``export.``).
    target : str, optional
        Substring of the target.
    since, until : datetime, optional
        ``since <= at < until``.
    limit : int or None
        Newest ``limit`` entries; None for all.
    """
    q = select(*(getattr(AuditEntry, c) for c in ENTRY_COLUMNS)).order_by(AuditEntry.id.desc())
    if actor:
        q = q.where(AuditEntry.actor == actor)
    if action:
        if action.endswith("."):
            q = q.where(AuditEntry.action.startswith(action, autoescape=True))
        else:
            q = q.where(AuditEntry.action == action)
    if target:
        q = q.where(AuditEntry.target.contains(target, autoescape=True))
    if since is not None:
        q = q.where(AuditEntry.at >= since)
    if until is not None:
        q = q.where(AuditEntry.at < until)
    if limit is not None:
        if limit <= 0:
            raise ValueError("limit must be positive")
        q = q.limit(limit)
    rows = session.execute(q).all()
    return pd.DataFrame(rows, columns=ENTRY_COLUMNS)


def actions(session: Session) -> list[str]:
    """The distinct actions present in the log (for filters)."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
