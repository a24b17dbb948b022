"""Accounts and sign-in: argon2 password hashes, lockout, disabling, idle time-out, single sign-on.

Every sign-in attempt (successful or not) and every change to an account appends an audit entry
in the caller's transaction; the caller commits. Nothing here imports streamlit: ``ui.login``
draws the form and calls :func:`authenticate` / :func:`oidc_sign_in`.

Size: 683 lines because it is the one place accounts are created, changed and signed in (local
password, lockout, idle time-out, single sign-on) under one audit rule; split, the lockout counting
and the account changes that clear it would live apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from . import audit, sessions
from .access import Role, Viewer, scope_for
from .config import get_settings
from .models import Community, Officer, SignInThrottle, Station, User
from .timeutil import now_local

#: How long an account stays locked after ``lockout_attempts`` failures in a row.
LOCKOUT_MINUTES = 15
MIN_PASSWORD_LENGTH = 8
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
#: Stored instead of a hash for single-sign-on users: never verifies against any password.
NO_PASSWORD = "!sso"

# One hasher per process (argon2id, the library's RFC 9106 "low memory" defaults).
_hasher = PasswordHasher()
# A real hash to verify against when the username is unknown, so the answer takes the same time
# for unknown users and wrong passwords (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash("fangcang-dummy-password")


# ---------------------------------------------------------------------------------------------
# Passwords
# ---------------------------------------------------------------------------------------------
def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password`` (validated with :func:`check_password_rules`)."""
    check_password_rules(password)
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    """Raise ``ValueError`` unless ``password`` has at least 8 characters, a letter and a digit."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        raise ValueError("password must contain at least one letter and one digit")


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; False for a mismatch or a non-hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# ---------------------------------------------------------------------------------------------
# Accounts
# ---------------------------------------------------------------------------------------------
def _validate_jurisdiction(
    session: Session, role: Role, station_id: str | None, officer_id: str | None, branch: str | None
) -> None:
    if role is Role.STATION:
        if not station_id:
            raise ValueError("a station account needs --station (a station_id)")
        if session.get(Station, station_id) is None:
            raise ValueError(f"station {station_id!r} does not exist")
    if role is Role.OFFICER:
        if not officer_id:
            raise ValueError("an officer account needs --officer (an officer_id)")
        if session.get(Officer, officer_id) is None:
            raise ValueError(f"officer {officer_id!r} does not exist")
    if role is Role.BRANCH and not branch:
        raise ValueError("a branch account needs --branch (e.g. public_order)")


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role | str,
    actor: str,
    display_name: str = "",
    station_id: str | None = None,
    officer_id: str | None = None,
    branch: str | None = None,
) -> User:
    """Add a local account and audit ``user.add``.

    Raises
    ------
    ValueError
        Bad username, weak password, unknown role, missing or unknown station/officer, or an
        existing username.
    """
    if not isinstance(username, str) or not _USERNAME.match(username):
        raise ValueError(
            f"username {username!r} must be 2-64 letters, digits or . _ @ - (no spaces)"
        )
    try:
        role = Role(role)
    except ValueError:
        raise ValueError(
            f"role {role!r} is not one of {', '.join(r.value for r in Role)}"
        ) from None
    if session.get(User, username) is not None:
        raise ValueError(f"user {username!r} already exists")
    _validate_jurisdiction(session, role, station_id, officer_id, branch)
    now = now_local()
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        station_id=station_id if role is Role.STATION else None,
        officer_id=officer_id if role is Role.OFFICER else None,
        branch=branch if role is Role.BRANCH else None,
        disabled=False,
        failed_attempts=0,
        created_at=now,
        password_changed_at=now,
        source="local",
    )
    session.add(user)
    session.flush()
    audit.log(
        session,
        actor=actor,
        action="user.add",
        target=username,
        detail={
            "role": role.value,
            "station_id": user.station_id,
            "officer_id": user.officer_id,
            "branch": user.branch,
        },
    )
    return user


def _get(session: Session, username: str) -> User:
    user = session.get(User, username)
    if user is None:
        raise ValueError(f"user {username!r} does not exist")
    return user


def set_disabled(session: Session, username: str, disabled: bool, *, actor: str) -> User:
    """Disable (or re-enable) an account; audited as ``user.disable`` / ``user.enable``."""
    user = _get(session, username)
    if disabled and actor == username:
        raise ValueError("you cannot disable your own account")
    user.disabled = disabled
    session.flush()
    ended = sessions.revoke_user(session, username, "disabled") if disabled else 0
    audit.log(
        session,
        actor=actor,
        action="user.disable" if disabled else "user.enable",
        target=username,
        detail={"sessions_ended": ended} if disabled else None,
    )
    return user


def reset_password(session: Session, username: str, new_password: str, *, actor: str) -> User:
    """Set a new password, clear failures and any lock; audited as ``user.reset``."""
    user = _get(session, username)
    if user.source != "local":
        raise ValueError(f"user {username!r} signs in through single sign-on; no password")
    user.password_hash = hash_password(new_password)
    user.failed_attempts = 0
    user.locked_until = None
    user.password_changed_at = now_local()
    session.flush()
    ended = sessions.revoke_user(session, username, "reset")
    audit.log(
        session, actor=actor, action="user.reset", target=username, detail={"sessions_ended": ended}
    )
    return user


def unlock(session: Session, username: str, *, actor: str) -> User:
    """Lift a lockout now; audited as ``user.unlock``."""
    user = _get(session, username)
    user.failed_attempts = 0
    user.locked_until = None
    session.flush()
    audit.log(session, actor=actor, action="user.unlock", target=username)
    return user


def end_sessions(session: Session, username: str, *, actor: str) -> int:
    """End every open session of an account (a lost phone); audited as ``user.signout``.
    The caller commits. Returns how many were open."""
    _get(session, username)
    ended = sessions.revoke_user(session, username, "admin")
    audit.log(session, actor=actor, action="user.signout", target=username, detail={"ended": ended})
    return ended


def list_users(session: Session) -> list[User]:
    """All accounts ordered by role then username."""
    return list(session.scalars(select(User).order_by(User.role, User.username)))


def is_active(session: Session, username: str) -> bool:
    """False when an account named ``username`` exists and is disabled (sign it out at once)."""
    user = session.get(User, username)
    return user is None or not user.disabled


def viewer_for(session: Session, user: User) -> Viewer:
    """The ``Viewer`` (role and jurisdiction scope) of an account."""
    return Viewer(
        username=user.username,
        role=user.role,
        scope=scope_for(session, user.role, station_id=user.station_id, officer_id=user.officer_id),
        officer_id=user.officer_id,
        station_id=user.station_id,
        branch=user.branch,
        display_name=user.display_name or user.username,
    )


# ---------------------------------------------------------------------------------------------
# Sign-in
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoginResult:
    """Outcome of a sign-in attempt.

    ``reason`` is ``""`` on success, else ``bad_credentials`` (unknown user or wrong password:
    deliberately the same), ``locked`` (see ``locked_until``), ``disabled`` or ``no_role``.
    """

    ok: bool
    viewer: Viewer | None = None
    reason: str = ""
    locked_until: datetime | None = None


def _reserve_attempt(
    session: Session,
    username: str,
    exists: bool,
    now: datetime,
    max_attempts: int,
    lock_minutes: int,
) -> tuple[int, datetime | None] | None:
    """Count one attempt BEFORE its password is checked, atomically, in one statement.

    Returns ``(attempts in a row, locked_until)`` or None when the name is locked now (no
    password may be checked). The attempt that reaches ``max_attempts`` sets the lock in the
    same statement, so however many attempts run in parallel, at most ``max_attempts``
    passwords are checked per lock period. A correct password clears the count and the lock.
    Real accounts count in ``users``; names without an account in ``sign_in_throttle``, with
    the same rule, so the answers cannot tell them apart.
    """
    lock_at = now + timedelta(minutes=lock_minutes)
    if exists:
        t = User.__table__
        key_match = t.c.username == username
    else:
        t = SignInThrottle.__table__
        key_match = t.c.name == username
    expired = and_(t.c.locked_until.is_not(None), t.c.locked_until <= now)
    new_count = case((expired, 1), else_=t.c.failed_attempts + 1)
    new_lock = case((new_count >= max_attempts, lock_at), else_=None)
    not_locked = or_(t.c.locked_until.is_(None), t.c.locked_until <= now)
    if exists:
        stmt = (
            update(t)
            .where(key_match, not_locked)
            .values(failed_attempts=new_count, locked_until=new_lock)
            .returning(t.c.failed_attempts, t.c.locked_until)
        )
    else:
        dialect = session.get_bind().dialect.name
        insert_ = pg_insert if dialect == "postgresql" else sqlite_insert
        first_lock = lock_at if max_attempts <= 1 else None
        stmt = (
            insert_(t)
            .values(name=username, failed_attempts=1, locked_until=first_lock, updated_at=now)
            .on_conflict_do_update(
                index_elements=[t.c.name],
                set_={"failed_attempts": new_count, "locked_until": new_lock, "updated_at": now},
                where=not_locked,
            )
            .returning(t.c.failed_attempts, t.c.locked_until)
        )
    row = session.execute(stmt).first()
    return None if row is None else (int(row[0]), row[1])


def _current_lock(session: Session, username: str, exists: bool) -> datetime | None:
    model = User if exists else SignInThrottle
    key = User.username if exists else SignInThrottle.name
    return session.scalar(select(model.locked_until).where(key == username))


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    now: datetime | None = None,
    max_attempts: int | None = None,
    lock_minutes: int = LOCKOUT_MINUTES,
) -> LoginResult:
    """Check a local sign-in; count failures and lock the name after ``max_attempts``.

    The attempt is counted (and, at the limit, the lock set) in one atomic statement that is
    committed before the password is checked (see :func:`_reserve_attempt`): parallel attempts
    cannot check more than ``max_attempts`` passwords. Unknown usernames take the same path
    (an argon2 check against a dummy hash, the same count and lock), so neither the answer nor
    its timing tells whether an account exists; a disabled account says so only after its
    correct password.

    Audits ``login.ok`` or ``login.fail`` (with the reason) in the caller's transaction; the
    caller must commit whatever the result, so failures are logged.

    Parameters
    ----------
    max_attempts : int, optional
        Failures in a row that lock the name (default: settings ``lockout_attempts``).
    lock_minutes : int
        How long the lock lasts.

    Raises
    ------
    sqlalchemy.exc.OperationalError
        The database stayed locked (another long write); nothing was checked. Callers retry
        (``fangcang.db.run_write``).
    """
    now = now or now_local()
    max_attempts = max_attempts or get_settings().lockout_attempts
    username = (username or "").strip()[:64]
    user = session.get(User, username) if username else None
    exists = user is not None
    if not username:
        verify_password(_DUMMY_HASH, password or "")
        audit.log(session, actor="?", action="login.fail", detail={"reason": "unknown_user"})
        return LoginResult(False, reason="bad_credentials")
    reserved = _reserve_attempt(session, username, exists, now, max_attempts, lock_minutes)
    session.commit()  # the count is visible to every parallel attempt before any check
    if reserved is None:
        until = _current_lock(session, username, exists)
        audit.log(
            session,
            actor=username,
            action="login.fail",
            target=username,
            detail={"reason": "locked", "locked_until": until},
        )
        return LoginResult(False, reason="locked", locked_until=until)
    attempts, locked = reserved
    if exists:  # the statement bypassed the ORM: keep the loaded object truthful
        set_committed_value(user, "failed_attempts", attempts)
        set_committed_value(user, "locked_until", locked)
    ok = verify_password(user.password_hash if exists else _DUMMY_HASH, password or "")
    if ok and exists:
        session.refresh(user)
        if user.disabled:
            audit.log(
                session,
                actor=username,
                action="login.fail",
                target=username,
                detail={"reason": "disabled"},
            )
            return LoginResult(False, reason="disabled")
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.failed_attempts = 0
        user.locked_until = None
        user.last_login = now
        session.flush()
        audit.log(
            session,
            actor=username,
            action="login.ok",
            target=username,
            detail={"method": "password", "role": user.role.value},
        )
        return LoginResult(True, viewer=viewer_for(session, user))
    detail: dict = {
        "reason": "bad_password" if exists else "unknown_user",
        "failed_attempts": attempts,
    }
    if locked is not None:
        detail["locked_until"] = locked
    audit.log(session, actor=username, action="login.fail", target=username, detail=detail)
    if locked is not None:
        return LoginResult(False, reason="locked", locked_until=locked)
    return LoginResult(False, reason="bad_credentials")


def log_logout(
    session: Session, viewer: Viewer, *, idle: bool = False, session_id: int | None = None
) -> int:
    """Sign out: audit ``logout`` and end EVERY session of the account (all tabs and devices);
    an idle time-out (``logout.idle``) ends only the idle session ``session_id``. The caller
    commits. Returns how many sessions ended."""
    if idle:
        ended = 0
        if session_id is not None:
            sessions.revoke(session, session_id, "idle")
            ended = 1
    else:
        ended = sessions.revoke_user(session, viewer.username, "logout")
    audit.log(
        session,
        actor=viewer.username,
        action="logout.idle" if idle else "logout",
        target=viewer.username,
        detail={"sessions_ended": ended},
    )
    return ended


def idle_expired(last_active: datetime | None, now: datetime, minutes: int | None = None) -> bool:
    """True when more than ``minutes`` (default: settings ``idle_timeout_minutes``) have passed
    since ``last_active``. ``minutes <= 0`` disables the time-out."""
    minutes = get_settings().idle_timeout_minutes if minutes is None else minutes
    if last_active is None or minutes <= 0:
        return False
    return now - last_active > timedelta(minutes=minutes)


# ---------------------------------------------------------------------------------------------
# Single sign-on (Streamlit's st.login with an OIDC provider)
# ---------------------------------------------------------------------------------------------
#: When several claim values map to roles, the most privileged wins, in this order.
_ROLE_PRECEDENCE = [
    Role.ADMIN,
    Role.LEADER,
    Role.DISPATCHER,
    Role.BRANCH,
    Role.STATION,
    Role.OFFICER,
]


@dataclass(frozen=True)
class ClaimRole:
    """A role granted by an identity-provider claim, with its jurisdiction argument."""

    role: Role
    arg: str | None = None  # station_id, officer_id or branch


def parse_role_map(text: str | Mapping[str, str]) -> dict[str, ClaimRole]:
    """Parse ``{"claim value": "role[:arg]"}`` (JSON text or a mapping).

    Examples: ``{"gaj-leaders": "leader", "pcs-nanhui": "station:ST03",
    "sq-officer-0042": "officer:O0042", "zhian": "branch:public_order"}``.
    """
    if isinstance(text, str):
        if not text.strip():
            return {}
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"FANGCANG_OIDC_ROLE_MAP is not valid JSON: {exc}") from None
    else:
        raw = dict(text)
    if not isinstance(raw, dict):
        raise ValueError("FANGCANG_OIDC_ROLE_MAP must be a JSON object {claim value: role}")
    out = {}
    for key, value in raw.items():
        role_text, _, arg = str(value).partition(":")
        try:
            role = Role(role_text)
        except ValueError:
            raise ValueError(
                f"FANGCANG_OIDC_ROLE_MAP: {key!r} maps to unknown role {role_text!r}"
            ) from None
        if role in (Role.STATION, Role.OFFICER, Role.BRANCH) and not arg:
            raise ValueError(
                f"FANGCANG_OIDC_ROLE_MAP: {key!r}: role {role.value} needs '{role.value}:<id>'"
            )
        out[str(key)] = ClaimRole(role, arg or None)
    return out


def role_from_claims(
    claims: Mapping, role_claim: str, role_map: Mapping[str, ClaimRole]
) -> ClaimRole | None:
    """Map the identity provider's claims to one Fangcang role (most privileged match), or None.

    ``claims[role_claim]`` may be a string or a list of strings (groups).
    """
    values = claims.get(role_claim)
    if values is None:
        return None
    if isinstance(values, str):
        values = [values]
    matches = [role_map[v] for v in values if isinstance(v, str) and v in role_map]
    if not matches:
        return None
    return min(matches, key=lambda m: _ROLE_PRECEDENCE.index(m.role))


def oidc_sign_in(
    session: Session,
    claims: Mapping,
    *,
    role_claim: str | None = None,
    role_map: Mapping[str, ClaimRole] | None = None,
    now: datetime | None = None,
) -> LoginResult:
    """Sign in a user authenticated by the identity provider; roles come from its claims.

    Creates or updates a ``source="oidc"`` account (no usable password) so admins can see and
    disable it. Audits ``login.ok`` / ``login.fail`` like :func:`authenticate`.
    """
    settings = get_settings()
    role_claim = role_claim or settings.oidc_role_claim
    role_map = parse_role_map(settings.oidc_role_map) if role_map is None else role_map
    now = now or now_local()
    username = str(
        claims.get("preferred_username") or claims.get("email") or claims.get("sub") or ""
    )[:64]
    if not username:
        raise ValueError("the identity provider sent no preferred_username, email or sub claim")
    granted = role_from_claims(claims, role_claim, role_map)
    if granted is None:
        audit.log(
            session,
            actor=username,
            action="login.fail",
            target=username,
            detail={"reason": "no_role", "method": "oidc"},
        )
        return LoginResult(False, reason="no_role")
    user = session.get(User, username)
    if user is not None and user.source != "oidc":
        audit.log(
            session,
            actor=username,
            action="login.fail",
            target=username,
            detail={"reason": "local_account_exists", "method": "oidc"},
        )
        return LoginResult(False, reason="bad_credentials")
    if user is not None and user.disabled:
        audit.log(
            session,
            actor=username,
            action="login.fail",
            target=username,
            detail={"reason": "disabled", "method": "oidc"},
        )
        return LoginResult(False, reason="disabled")
    if user is None:
        user = User(
            username=username,
            password_hash=NO_PASSWORD,
            created_at=now,
            failed_attempts=0,
            disabled=False,
            source="oidc",
            role=granted.role,
        )
        session.add(user)
    user.display_name = str(claims.get("name") or username)[:64]
    user.role = granted.role
    user.station_id = granted.arg if granted.role is Role.STATION else None
    user.officer_id = granted.arg if granted.role is Role.OFFICER else None
    user.branch = granted.arg if granted.role is Role.BRANCH else None
    user.last_login = now
    session.flush()
    audit.log(
        session,
        actor=username,
        action="login.ok",
        target=username,
        detail={"method": "oidc", "role": granted.role.value},
    )
    return LoginResult(True, viewer=viewer_for(session, user))


# ---------------------------------------------------------------------------------------------
# Demo accounts
# ---------------------------------------------------------------------------------------------
#: (username, password, role): one account per role, created only in demo databases.
DEMO_ACCOUNTS: list[tuple[str, str, Role]] = [
    ("leader", "demo-leader-1", Role.LEADER),
    ("dispatcher", "demo-dispatcher-1", Role.DISPATCHER),
    ("station", "demo-station-1", Role.STATION),
    ("officer", "demo-officer-1", Role.OFFICER),
    ("branch", "demo-branch-1", Role.BRANCH),
    ("admin", "demo-admin-1", Role.ADMIN),
]
DEMO_BRANCH = "public_order"  # 治安
DEMO_COMMUNITY = "沿江社区"


def demo_accounts(session: Session) -> list[tuple[User, str]]:
    """The demo accounts present in this database, with their published passwords."""
    out = []
    for username, password, _role in DEMO_ACCOUNTS:
        user = session.get(User, username)
        if user is not None:
            out.append((user, password))
    return out


def demo_extend(ctx) -> dict[str, int]:
    """Demo extension: one account per role (see ``DEMO_ACCOUNTS`` for names and passwords).

    The station account is the station of 沿江社区 and the officer account its community
    officer (falling back to the first station / officer when that community is absent).
    """
    with Session(ctx.engine, expire_on_commit=False) as session:
        community = (
            session.scalars(
                select(Community).where(Community.name == DEMO_COMMUNITY).limit(1)
            ).first()
            or session.scalars(select(Community).order_by(Community.community_id)).first()
        )
        station_id = (
            community.station_id
            if community is not None
            else session.scalar(select(Station.station_id).order_by(Station.station_id).limit(1))
        )
        officer_id = community.officer_id if community is not None else None
        officer_id = officer_id or session.scalar(
            select(Officer.officer_id).order_by(Officer.officer_id).limit(1)
        )
        names = {
            Role.LEADER: "区局领导（演示）",
            Role.DISPATCHER: "指挥中心值班（演示）",
            Role.STATION: "派出所（演示）",
            Role.OFFICER: "社区民警（演示）",
            Role.BRANCH: "治安大队（演示）",
            Role.ADMIN: "系统管理员（演示）",
        }
        if officer_id is not None:
            officer = session.get(Officer, officer_id)
            names[Role.OFFICER] = f"{officer.name}（社区民警，演示）"
        if station_id is not None:
            names[Role.STATION] = f"{session.get(Station, station_id).name}（演示）"
        created = 0
        for username, password, role in DEMO_ACCOUNTS:
            if session.get(User, username) is not None:
                continue
            if role is Role.STATION and station_id is None:
                continue
            if role is Role.OFFICER and officer_id is None:
                continue
            create_user(
                session,
                username=username,
                password=password,
                role=role,
                actor="system:demo",
                display_name=names[role][:64],
                station_id=station_id,
                officer_id=officer_id,
                branch=DEMO_BRANCH,
            )
            created += 1
        session.commit()
    return {"users": created}
