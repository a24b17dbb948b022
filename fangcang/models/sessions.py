"""Signed-in sessions (one row per browser sign-in) and sign-in throttling of unknown names.

``fangcang.sessions`` creates, verifies and revokes sessions; ``fangcang.auth`` counts
failures. Only hashes of tokens and hand-off codes are stored, never the secrets themselves.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class UserSession(Base):
    """A sign-in that survives reloads and new tabs until it expires or is revoked.

    ``handoff_hash`` is the hash of a one-time code (valid for seconds) that the browser trades
    for the session cookie at ``/auth/session``; ``token_hash`` the hash of the cookie's token.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No foreign key: this branch of migrations does not depend on the access branch (and
    # accounts are disabled, never deleted).
    username: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    method: Mapped[str] = mapped_column(String(16), nullable=False)  # password | oidc
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    last_seen: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    handoff_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    handoff_expires: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class SignInThrottle(Base):
    """Failure counter and lock for usernames that have no account (same lockout as real ones,
    so failed sign-ins cannot tell which names exist)."""

    __tablename__ = "sign_in_throttle"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, index=True)
