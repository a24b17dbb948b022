"""Reading issued bulletins: history, search, the frozen content, export audit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from .. import audit
from ..models import Bulletin, BulletinCommunity
from ..timeutil import Month
from .model import NAMED_LEVELS, bulletin_label


@dataclass(frozen=True)
class BulletinSummary:
    id: int
    year: int
    number: int
    label: str
    period: str
    issued_at: datetime
    issued_by: str
    red: list[str]
    yellow: list[str]
    others: list[str]  # named for a change only (downgraded out of yellow)


def record_export(session: Session, bulletin: Bulletin, fmt: str, actor: str) -> None:
    """Audit a download or file export of a bulletin (the caller commits)."""
    audit.log(
        session,
        actor=actor,
        action=f"export.bulletin_{fmt}",
        target=bulletin_label(bulletin.year, bulletin.number),
        detail={"bulletin_id": bulletin.id, "period": bulletin.period},
    )


def content(bulletin: Bulletin) -> dict:
    """The frozen content of an issued bulletin."""
    return json.loads(bulletin.content_json)


def get_bulletin(session: Session, bulletin_id: int) -> Bulletin:
    """The bulletin with ``bulletin_id``; ``ValueError`` when there is none."""
    b = session.get(Bulletin, bulletin_id)
    if b is None:
        raise ValueError(f"no bulletin with id {bulletin_id}")
    return b


def bulletins_for_period(session: Session, period: Month) -> list[Bulletin]:
    """Every bulletin issued for ``period``, oldest first."""
    return list(
        session.scalars(
            select(Bulletin).where(Bulletin.period == str(period)).order_by(Bulletin.id)
        )
    )


def search_bulletins(
    session: Session,
    text: str | None = None,
    year: int | None = None,
    community_id: str | None = None,
) -> list[BulletinSummary]:
    """Issued bulletins, newest first, with the communities each names.

    ``text`` matches the number label (``2026年第3期``, ``第3期``), the period (``2026-10``) or
    the name of a community named in the bulletin.
    """
    q = select(Bulletin).options(selectinload(Bulletin.communities))
    if year is not None:
        q = q.where(Bulletin.year == year)
    if community_id:
        q = q.where(
            Bulletin.id.in_(
                select(BulletinCommunity.bulletin_id).where(
                    BulletinCommunity.community_id == community_id
                )
            )
        )
    text = (text or "").strip()
    if text:
        like = f"%{text}%"
        q = q.where(
            or_(
                Bulletin.title.like(like),
                Bulletin.period.like(like),
                Bulletin.id.in_(
                    select(BulletinCommunity.bulletin_id).where(
                        BulletinCommunity.community_name.like(like)
                    )
                ),
            )
        )
    q = q.order_by(Bulletin.issued_at.desc(), Bulletin.id.desc())
    out = []
    for b in session.scalars(q):
        red = [c.community_name for c in b.communities if c.level == "red"]
        yellow = [c.community_name for c in b.communities if c.level == "yellow"]
        others = [c.community_name for c in b.communities if c.level not in NAMED_LEVELS]
        out.append(
            BulletinSummary(
                b.id,
                b.year,
                b.number,
                bulletin_label(b.year, b.number),
                b.period,
                b.issued_at,
                b.issued_by,
                red,
                yellow,
                others,
            )
        )
    return out
