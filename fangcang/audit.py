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
``user.enable``, ``user.reset``, ``user.unlock``, ``user.signout``, ``audit.export``, ``audit.verify``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import event, func, insert, select, text, update
from sqlalchemy.orm import Session

from . import keys
from .config import get_settings
from .db import DatabaseBusy
from .models import AuditEntry, Meta
from .timeutil import now_local

log_ = logging.getLogger(__name__)

GENESIS = "0" * 64
HEAD_KEY = "audit_head"
MAC_SCHEME = "hmac1"
LEGACY_SCHEME = "sha256"
_PG_LOCK_KEY = 424242
_PENDING = "fangcang_audit_pending"


def _digest(prev_hash: str, at: datetime, actor: str, action: str, target: str, detail: str) -> str:
    """Legacy (unkeyed) entry hash, kept to verify entries written before the chain was keyed."""
    payload = json.dumps(
        [prev_hash, at.isoformat(timespec="microseconds"), actor, action, target, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _mac(
    key: bytes,
    entry_id: int,
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    target: str,
    detail: str,
) -> str:
    """Keyed entry hash: HMAC-SHA256 over the id, the link and the content."""
    payload = json.dumps(
        [entry_id, prev_hash, at.isoformat(timespec="microseconds"), actor, action, target, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hmac.new(key, payload.encode("utf-8"), hashlib.sha256).hexdigest()


def _key() -> bytes:
    return keys.subkey("audit")


def _lock_chain(session: Session) -> None:
    """Serialise writers so two entries never claim the same predecessor."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # Held until the caller's transaction ends; READ COMMITTED statements after it see
        # the entry the previous holder committed. Polled with the try- form so a writer never
        # waits forever behind a long transaction: after ``write_wait_seconds`` it gets
        # ``DatabaseBusy`` (a clear, retryable message).
        deadline = time.monotonic() + get_settings().write_wait_seconds
        pause = 0.01
        while not session.execute(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY}
        ).scalar():
            if time.monotonic() > deadline:
                raise DatabaseBusy("the audit log is locked by another long write")
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
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
    # Ids are assigned here, under the chain lock: gapless on both backends (a PostgreSQL
    # sequence skips values on rollback), so a missing id always means a deleted entry.
    entry_id = (last.id if last is not None else 0) + 1
    head = _read_head(session)
    if head is not None:
        count = int(head["count"]) + 1
    else:  # the first entry since the head was introduced: count the chain once
        count = (session.scalar(select(func.count()).select_from(AuditEntry)) or 0) + 1
    at = now_local()
    entry = AuditEntry(
        id=entry_id,
        at=at,
        actor=actor,
        action=action,
        target=target,
        detail=detail_json,
        prev_hash=prev,
        hash=_mac(_key(), entry_id, prev, at, actor, action, target, detail_json),
        mac=MAC_SCHEME,
    )
    session.add(entry)
    session.flush()
    _write_head(session, entry.hash, count, exists=head is not None)
    # Anchored outside the database once the caller commits (see _anchor_after_commit).
    session.info.setdefault(_PENDING, []).append((entry_id, entry.hash))
    return entry


def log_many(session: Session, *, actor: str, entries: list[dict]) -> list[int]:
    """Append several entries by one actor, in order (a batch of decisions): the same entries
    ``log`` would write one call at a time, with one chain lock, one head read and one insert.

    Parameters
    ----------
    entries : list of dict
        Each ``{"action": ..., "target": ..., "detail": {...}}`` as for ``log``.

    Returns
    -------
    list of int
        The new entries' ids.
    """
    if not entries:
        return []
    if not actor:
        raise ValueError("audit entries need an actor and an action")
    actor = str(actor)[:64]
    prepared = []
    for e in entries:
        action = e.get("action")
        if not action:
            raise ValueError("audit entries need an actor and an action")
        if len(action) > 64:
            raise ValueError(f"audit action {action!r} is longer than 64 characters")
        detail = json.dumps(e.get("detail") or {}, ensure_ascii=False, sort_keys=True, default=str)
        prepared.append((action, str(e.get("target") or "")[:200], detail))
    _lock_chain(session)
    session.flush()
    last = session.execute(
        select(AuditEntry.hash, AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    prev = last.hash if last is not None else GENESIS
    entry_id = last.id if last is not None else 0
    head = _read_head(session)
    if head is not None:
        count = int(head["count"])
    else:
        count = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
    key = _key()
    rows = []
    for action, target, detail in prepared:
        entry_id += 1
        count += 1
        at = now_local()
        digest = _mac(key, entry_id, prev, at, actor, action, target, detail)
        rows.append(
            {
                "id": entry_id,
                "at": at,
                "actor": actor,
                "action": action,
                "target": target,
                "detail": detail,
                "prev_hash": prev,
                "hash": digest,
                "mac": MAC_SCHEME,
            }
        )
        prev = digest
    session.execute(insert(AuditEntry.__table__), rows)
    _write_head(session, prev, count, exists=head is not None)
    session.info.setdefault(_PENDING, []).append((entry_id, prev))
    return [r["id"] for r in rows]


# ---------------------------------------------------------------------------------------------
# The head anchored outside the database
# ---------------------------------------------------------------------------------------------
def anchor_path(bind) -> Path:
    """The append-only file that records this database's committed chain heads.

    One file per database under ``FANGCANG_AUDIT_ANCHOR_DIR`` (default
    ``data/audit-anchors``), named after the database address (password left out); each line
    is ``<time>\t<entry id>\t<entry hash>`` for the last entry of a committed transaction.
    """
    if not hasattr(bind, "url") and hasattr(bind, "get_bind"):  # a Session
        bind = bind.get_bind()
    url = bind.url if hasattr(bind, "url") else bind.engine.url  # Engine or Connection
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        ident = "sqlite:" + str(Path(url.database).resolve())
    else:
        ident = url.set(password=None).render_as_string(hide_password=True)
    name = hashlib.sha256(ident.encode("utf-8")).hexdigest()[:16]
    return get_settings().audit_anchor_dir / f"{name}.log"


def _append_anchor(path: Path, entry_id: int, entry_hash: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = f"{now_local().isoformat(timespec='seconds')}\t{entry_id}\t{entry_hash}\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("ascii"))  # one write with O_APPEND: lines never interleave
    finally:
        os.close(fd)


@event.listens_for(Session, "after_commit")
def _anchor_after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    entry_id, entry_hash = pending[-1]
    try:
        _append_anchor(anchor_path(session.get_bind()), entry_id, entry_hash)
    except OSError as exc:  # the entry is committed; verify reports the missing anchor
        log_.error("audit entry #%s committed but not anchored: %s", entry_id, exc)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def anchor_head(session: Session) -> tuple[int, str] | None:
    """Append the current chain head to the anchor file (``audit anchor``: start anchoring an
    existing database, e.g. after migrating a demo); returns (id, hash) or None when empty."""
    last = session.execute(
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    if last is None:
        return None
    _append_anchor(anchor_path(session.get_bind()), last.id, last.hash)
    return last.id, last.hash


def _read_anchors(path: Path) -> dict[int, str]:
    anchors: dict[int, str] = {}
    if not path.exists():
        return anchors
    with path.open(encoding="ascii", errors="replace") as fh:
        for number, line in enumerate(fh, 1):
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or not parts[1].isdigit():
                raise ValueError(f"{path}: line {number} is not '<time> <id> <hash>'")
            anchors[int(parts[1])] = parts[2]
    return anchors


# ---------------------------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VerifyResult:
    """``ok`` when every link holds; else ``first_broken_id`` names the first bad entry.

    ``legacy``: unkeyed entries written before the chain was keyed (migration 0010);
    ``anchored``: how many anchor lines were checked; ``notes``: what the check could not
    cover (no anchor file, legacy entries).
    """

    ok: bool
    checked: int
    first_broken_id: int | None = None
    reason: str = ""
    legacy: int = 0
    anchored: int = 0
    notes: tuple[str, ...] = ()


def verify(session: Session) -> VerifyResult:
    """Walk the chain in id order; report the first entry that does not match.

    Finds, for keyed entries (HMAC with the key outside the database): an edited entry (its
    MAC no longer matches, and cannot be recomputed without the key), a deleted or inserted
    entry (the next link or the id sequence breaks), an entry renumbered (the id is inside the
    MAC), entries deleted at the end or the whole log emptied (the anchor file outside the
    database names entries that are gone; the ``meta`` head and count as a second check).
    Unkeyed legacy entries are checked with their plain hashes and reported in ``legacy``.
    """
    key = _key()
    path = anchor_path(session.get_bind())
    try:
        anchors = _read_anchors(path)
    except ValueError as exc:
        return VerifyResult(False, 0, None, f"anchor file damaged: {exc}")
    prev = GENESIS
    checked = legacy = anchored = 0
    last_id = 0
    keyed_seen = False
    first_legacy = last_legacy = None

    def broken(entry_id: int | None, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, entry_id, reason, legacy, anchored)

    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id)).yield_per(5000):
        if e.prev_hash != prev:
            return broken(
                e.id,
                f"entry #{e.id}: link to the previous entry is broken "
                "(an entry before it was deleted, inserted or changed)",
            )
        if e.mac == MAC_SCHEME:
            if e.id != last_id + 1:
                return broken(
                    e.id, f"entry #{e.id} follows #{last_id}: entries in between were deleted"
                )
            expected = _mac(key, e.id, e.prev_hash, e.at, e.actor, e.action, e.target, e.detail)
            if not hmac.compare_digest(expected, e.hash):
                return broken(
                    e.id,
                    f"entry #{e.id}: content does not match its hash "
                    "(edited; or the audit key is not the one it was written with)",
                )
            keyed_seen = True
        elif e.mac == LEGACY_SCHEME and not keyed_seen:
            if _digest(e.prev_hash, e.at, e.actor, e.action, e.target, e.detail) != e.hash:
                return broken(e.id, f"entry #{e.id}: content does not match its hash (edited)")
            legacy += 1
            first_legacy = first_legacy or e.id
            last_legacy = e.id
        else:
            return broken(
                e.id, f"entry #{e.id}: unkeyed entry after keyed ones (inserted or rewritten)"
            )
        if e.id in anchors:
            if anchors[e.id] != e.hash:
                return broken(e.id, f"entry #{e.id}: differs from the hash anchored in {path}")
            anchored += 1
        prev = e.hash
        last_id = e.id
        checked += 1
    beyond = [i for i in anchors if i > last_id]
    if beyond:
        return broken(
            last_id + 1,
            f"the chain ends at entry #{last_id} but {path} records entry #{max(beyond)}: "
            "entries at the end were deleted",
        )
    head = _read_head(session)
    if head is not None:
        if head.get("hash") != prev or head.get("count") != checked:
            return broken(
                last_id + 1,
                f"the chain ends at entry #{last_id} but the recorded head says "
                f"{head.get('count')} entries: entries at the end were deleted",
            )
    elif checked:
        return broken(last_id + 1, "the recorded chain head is missing")
    notes = []
    if legacy:
        notes.append(
            f"{legacy} unkeyed legacy entries (#{first_legacy}-#{last_legacy}) written before "
            "the chain was keyed: protected only by the keyed entry that follows them"
            + ("" if keyed_seen else " (none yet)")
        )
    if checked and not anchors:
        notes.append(
            f"no anchor file for this database ({path}): the head is not anchored outside the "
            "database yet (run `audit anchor`)"
        )
    return VerifyResult(True, checked, None, "", legacy, anchored, tuple(notes))


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
