"""User accounts (local sign-in), the roles and permissions they hold, and the audit chain's
fork guard. ``Role`` and ``Permission`` live here, beside the table that stores them, so
``fangcang.access`` (which maps roles to permissions and scopes) imports the models and never
the other way round.

Passwords are stored only as argon2 hashes (``fangcang.auth``). A user's jurisdiction is derived
from ``role`` plus ``station_id`` / ``officer_id`` (``fangcang.access.scope_for``).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, enum_type
from .core import AuditEntry


class Role(enum.StrEnum):
    """What a user is (stored in ``users.role``); ``fangcang.access.ROLE_PERMISSIONS`` says
    what each may do."""

    LEADER = "leader"  # whole district, read
    DISPATCHER = "dispatcher"  # duty officer: whole district, dispatch and evaluate
    STATION = "station"  # their station's communities
    OFFICER = "officer"  # community officer: their own communities and inbox
    BRANCH = "branch"  # a police branch: proposes task templates
    ADMIN = "admin"  # users, configuration, imports


class Permission(enum.StrEnum):
    """Actions beyond reading what the scope allows."""

    DISPATCH = "dispatch"  # dispatch tasks, urgent instructions
    EVALUATE = "evaluate"  # evaluate officers' feedback
    FEEDBACK = "feedback"  # accept and answer tasks in the own inbox
    PROPOSE_TEMPLATE = "propose_template"  # branches propose task templates
    UNMASK = "unmask"  # show one person's record in the clear (with a reason; audited)
    EXPORT = "export"  # download tables (masked)
    CORRECT_REGISTRY = "correct_registry"  # confirm field-visit discrepancies
    IMPORT = "import"  # upload and import bundles
    MANAGE_USERS = "manage_users"  # users, audit log
    CONFIGURE = "configure"  # scoring configuration and other settings


class User(Base):
    """A person who signs in to the dashboard."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(64), default="", nullable=False)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[Role] = mapped_column(enum_type(Role), nullable=False)
    station_id: Mapped[str | None] = mapped_column(String(32))
    officer_id: Mapped[str | None] = mapped_column(String(32))
    branch: Mapped[str | None] = mapped_column(String(32))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_login: Mapped[datetime | None] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    # "local" (password) or "oidc" (single sign-on; password_hash is then unusable).
    source: Mapped[str] = mapped_column(String(16), default="local", nullable=False)


# Two writers can never append entries that claim the same predecessor: the second insert
# fails instead of forking the chain (fangcang.audit retries it on the new head).
Index("ux_audit_log_prev_hash", AuditEntry.prev_hash, unique=True)
