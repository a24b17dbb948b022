"""Sign-in sessions that survive reloads and new tabs, and end everywhere at once.

How a browser stays signed in
-----------------------------
1. A successful sign-in (password or single sign-on) calls :func:`start`: one
   ``user_sessions`` row, plus a one-time hand-off code (valid ``HANDOFF_SECONDS``) that only
   the page which signed in receives.
2. That page posts the code to the server route ``/auth/session`` (``fangcang.webroutes``),
   which calls :func:`redeem` and answers with the session token in an ``HttpOnly``,
   ``SameSite=Strict`` cookie: page scripts can never read it, other sites never send it.
3. A reload or a new tab opens a new Streamlit session whose WebSocket carries the cookie;
   :func:`resume` checks the token and signs the browser in again.

The token is ``v1.<session secret>.<expiry>.<signature>``: the signature is an HMAC (key from
``fangcang.keys``) over the secret and the expiry, so a forged or altered token is refused
before any database query and an expired one by its own expiry; the database stores only the
SHA-256 of the secret and can revoke a session at any time. Every page view checks the row
(:func:`check`): revoked (sign-out, password reset, disable, in any tab), idle for longer than
``FANGCANG_IDLE_TIMEOUT_MINUTES``, past ``FANGCANG_SESSION_HOURS``, or the account disabled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from . import keys
from .config import get_settings
from .models import User, UserSession
from .timeutil import now_local

log = logging.getLogger(__name__)

COOKIE = "fangcang_session"
HANDOFF_SECONDS = 120
TOUCH_EVERY = timedelta(seconds=60)
TOUCH_WAIT_MS = 250
_VERSION = "v1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _sign(payload: str) -> str:
    return _b64(hmac.new(keys.subkey("session"), payload.encode("ascii"), hashlib.sha256).digest())


def make_token(secret: str, expires: datetime) -> str:
    """The cookie value for a session secret expiring at ``expires`` (naive local time)."""
    payload = f"{_VERSION}.{secret}.{int(expires.timestamp())}"
    return f"{payload}.{_sign(payload)}"


def parse_token(token: str | None, *, now: datetime | None = None) -> str | None:
    """The session secret inside a well-formed, correctly signed, unexpired token, else None.

    Needs no database: a forged, altered, truncated or expired token is refused here.
    """
    if not token or not isinstance(token, str) or len(token) > 300:
        return None
    parts = token.split(".")
    if len(parts) != 4 or parts[0] != _VERSION:
        return None
    payload = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3], _sign(payload)):
        return None
    try:
        expires = int(parts[2])
        _unb64(parts[1])
    except (ValueError, TypeError):
        return None
    now = now or now_local()
    if expires <= now.timestamp():
        return None
    return parts[1]


@dataclass(frozen=True)
class Started:
    """A new session: its row id (kept by the signed-in page) and the one-time hand-off code."""

    session_id: int
    handoff_code: str
    expires_at: datetime


def start(
    session: Session, username: str, *, method: str = "password", now: datetime | None = None
) -> Started:
    """Open a session for ``username`` after a successful sign-in (the caller commits)."""
    now = now or now_local()
    code = _b64(secrets.token_bytes(24))
    row = UserSession(
        username=username,
        method=method,
        created_at=now,
        last_seen=now,
        expires_at=now + timedelta(hours=get_settings().session_hours),
        handoff_hash=_sha(code),
        handoff_expires=now + timedelta(seconds=HANDOFF_SECONDS),
    )
    session.add(row)
    session.flush()
    return Started(row.id, code, row.expires_at)


def _handoff_refusal(row, now: datetime) -> str | None:
    """Why the hand-off row found for a code (``handoff_expires``, ``revoked_at``,
    ``expires_at``; None: no such code) cannot be traded now, or None when it can: the one
    rule :func:`redeem` and :func:`handoff_open` share."""
    if row is None or row.handoff_expires is None or row.handoff_expires < now:
        return "the hand-off code is unknown, used or expired"
    if row.revoked_at is not None or row.expires_at <= now:
        return "the session has ended"
    return None


def _handoff_row(session: Session, code: str, *, lock: bool = False):
    query = select(
        UserSession.id, UserSession.handoff_expires, UserSession.revoked_at, UserSession.expires_at
    ).where(UserSession.handoff_hash == _sha(code))
    return session.execute(query.with_for_update() if lock else query).first()


def redeem(session: Session, code: str, *, now: datetime | None = None) -> tuple[str, datetime]:
    """Trade a hand-off code for the session token (once); the caller commits.

    The trade is one conditional UPDATE (``WHERE handoff_hash = ...``): of two posts of the
    same code at the same moment exactly one gets a token, on SQLite too, where
    ``SELECT ... FOR UPDATE`` locks nothing (two tokens would otherwise be issued and the
    browser could keep the one overwritten).

    Returns
    -------
    (token, expires_at)

    Raises
    ------
    ValueError
        Unknown, used or expired code, or the session was revoked meanwhile.
    """
    now = now or now_local()
    if not code or len(code) > 100:
        raise ValueError("no hand-off code")
    row = _handoff_row(session, code, lock=True)
    refusal = _handoff_refusal(row, now)
    if refusal:
        raise ValueError(refusal)
    secret = _b64(secrets.token_bytes(32))
    traded = session.execute(
        update(UserSession)
        .where(UserSession.id == row.id, UserSession.handoff_hash == _sha(code))
        .values(token_hash=_sha(secret), handoff_hash=None, handoff_expires=None)
        .execution_options(synchronize_session="fetch")
    )
    if traded.rowcount != 1:  # another post of the code traded it meanwhile
        raise ValueError("the hand-off code is unknown, used or expired")
    session.flush()
    return make_token(secret, row.expires_at), row.expires_at


def handoff_open(session: Session, code: str, *, now: datetime | None = None) -> bool:
    """Whether ``code`` can still be traded for the cookie: issued, not yet redeemed, not
    expired, its session not ended (what :func:`redeem` would accept; read only).

    The page that signed in draws the script posting the code on every run until this is
    false, so a run that ended early (a page switch right after signing in) cannot lose it.
    """
    now = now or now_local()
    if not code or len(code) > 100:
        return False
    return _handoff_refusal(_handoff_row(session, code), now) is None


def _reason(row: UserSession | None, user: User | None, now: datetime) -> str | None:
    if row is None or user is None:
        return "unknown"
    if row.revoked_at is not None:
        return row.revoked_reason or "revoked"
    if user.disabled:
        return "disabled"
    if row.expires_at <= now:
        return "expired"
    minutes = get_settings().idle_timeout_minutes
    if minutes > 0 and now - row.last_seen > timedelta(minutes=minutes):
        return "idle"
    return None


def resume(
    session: Session, token: str | None, *, now: datetime | None = None
) -> tuple[int, User] | None:
    """The (session id, account) a cookie token stands for, or None when it is not valid.

    Forged or expired tokens are refused without a query; otherwise the row must exist, be
    neither revoked, idle nor past its lifetime, and the account must be enabled.
    """
    now = now or now_local()
    secret = parse_token(token, now=now)
    if secret is None:
        return None
    found = session.execute(
        select(UserSession, User)
        .join(User, User.username == UserSession.username)
        .where(UserSession.token_hash == _sha(secret))
    ).first()
    if found is None:
        return None
    row, user = found
    if _reason(row, user, now) is not None:
        return None
    touch(session, row.id, now=now, force=True)
    return row.id, user


def check(session: Session, session_id: int, *, now: datetime | None = None) -> str | None:
    """None while session ``session_id`` is valid; else why it ended (``logout``, ``reset``,
    ``disabled``, ``idle``, ``expired``, ``unknown`` ...). Marks it seen (at most once a minute)."""
    now = now or now_local()
    found = session.execute(
        select(UserSession, User)
        .join(User, User.username == UserSession.username)
        .where(UserSession.id == session_id)
    ).first()
    row, user = found if found is not None else (None, None)
    reason = _reason(row, user, now)
    if reason is None and now - row.last_seen >= TOUCH_EVERY:
        touch(session, session_id, now=now)
    return reason


def touch(session: Session, session_id: int, *, now: datetime | None = None, force=False) -> None:
    """Record activity on a session, on its own connection, waiting at most ``TOUCH_WAIT_MS``.

    A database busy with a long write must neither sign anyone out nor hold up a page view:
    the touch is skipped (logged) and made at a later interaction.
    """
    now = now or now_local()
    bind = session.get_bind()
    stmt = update(UserSession).where(UserSession.id == session_id).values(last_seen=now)
    with bind.connect() as conn:
        sqlite = bind.dialect.name == "sqlite"
        try:
            if sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={TOUCH_WAIT_MS}")
            else:
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {TOUCH_WAIT_MS}")
            conn.execute(stmt)
            conn.commit()
        except OperationalError as exc:
            conn.rollback()
            log.info("session %s: activity not recorded (database busy: %s)", session_id, exc.orig)
        finally:
            if sqlite:  # back to the engine's wait for whoever uses this connection next
                wait_ms = min(get_settings().write_wait_seconds, 30) * 1000
                conn.exec_driver_sql(f"PRAGMA busy_timeout={int(wait_ms)}")


def revoke(session: Session, session_id: int, reason: str, *, now=None) -> None:
    """End one session (the caller commits)."""
    session.execute(
        update(UserSession)
        .where(UserSession.id == session_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=now or now_local(), revoked_reason=reason[:32])
    )


def revoke_user(session: Session, username: str, reason: str, *, now=None) -> int:
    """End every open session of ``username`` (sign-out, password reset, disable); the caller
    commits. Returns how many were open."""
    result = session.execute(
        update(UserSession)
        .where(UserSession.username == username, UserSession.revoked_at.is_(None))
        .values(revoked_at=now or now_local(), revoked_reason=reason[:32])
    )
    return result.rowcount or 0


def revoke_token(session: Session, token: str | None, reason: str, *, now=None) -> bool:
    """End the session a cookie token stands for (its signature must be valid)."""
    secret = parse_token(token, now=now)
    if secret is None:
        return False
    result = session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _sha(secret), UserSession.revoked_at.is_(None))
        .values(revoked_at=now or now_local(), revoked_reason=reason[:32])
    )
    return bool(result.rowcount)


def open_sessions(session: Session, username: str, *, now: datetime | None = None) -> int:
    """How many sessions of ``username`` are valid now (admin page, tests)."""
    now = now or now_local()
    rows = session.execute(
        select(UserSession, User)
        .join(User, User.username == UserSession.username)
        .where(UserSession.username == username, UserSession.revoked_at.is_(None))
    ).all()
    return sum(1 for row, user in rows if _reason(row, user, now) is None)


def prune(session: Session, *, older_than_days: int = 30, now: datetime | None = None) -> int:
    """Delete sessions that ended more than ``older_than_days`` ago (the caller commits)."""
    cutoff = (now or now_local()) - timedelta(days=older_than_days)
    result = session.execute(delete(UserSession).where(UserSession.expires_at < cutoff))
    return result.rowcount or 0
