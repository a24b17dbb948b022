"""Focused work (整治): register it (start, end), find a community, list the work in a scope.

Every write is audited and bumps the data version in the caller's transaction.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .. import audit, db
from ..access import Scope
from ..models import Community, FocusWork, SubDistrict
from ..timeutil import now_local


def _community(session: Session, community_id: str) -> Community:
    c = session.get(Community, community_id)
    if c is None:
        raise ValueError(f"unknown community_id {community_id!r}")
    return c


def find_community(session: Session, text: str) -> Community:
    """A community by id or exact name; ``ValueError`` when none or several match."""
    c = session.get(Community, text)
    if c is not None:
        return c
    found = list(session.scalars(select(Community).where(Community.name == text)))
    if not found:
        raise ValueError(f"no community with id or name {text!r}")
    if len(found) > 1:
        ids = ", ".join(x.community_id for x in found)
        raise ValueError(f"several communities are named {text!r} ({ids}); give the id")
    return found[0]


def start_focus(
    session: Session,
    community_id: str,
    start_date: date,
    measures: str,
    actor: str,
    scope: Scope | None = None,
) -> FocusWork:
    """Mark a community as under focused work from ``start_date`` with the measures taken.

    Raises ``ValueError`` for an unknown community, empty measures, or when the community is
    already under focused work that is open or overlaps ``start_date``. Audited; bumps the data
    version; the caller commits.
    """
    scope = scope or Scope.district()
    _community(session, community_id)
    scope.check(community_id)
    measures = (measures or "").strip()
    if not measures:
        raise ValueError("measures must say what is being done (empty text given)")
    if not isinstance(start_date, date):
        raise ValueError(f"start_date must be a date, got {start_date!r}")
    clash = session.scalar(
        select(FocusWork).where(
            FocusWork.community_id == community_id,
            or_(FocusWork.end_date.is_(None), FocusWork.end_date >= start_date),
        )
    )
    if clash is not None:
        raise ValueError(
            f"community {community_id} is already under focused work #{clash.id} from "
            f"{clash.start_date}" + (f" to {clash.end_date}" if clash.end_date else " (open)")
        )
    fw = FocusWork(
        community_id=community_id,
        start_date=start_date,
        measures=measures,
        created_by=actor,
        created_at=now_local(),
        end_note="",
    )
    session.add(fw)
    session.flush()
    audit.log(
        session,
        actor=actor,
        action="focus.start",
        target=community_id,
        detail={"focus_id": fw.id, "start_date": start_date.isoformat()},
    )
    db.bump_data_version(session)
    return fw


def end_focus(
    session: Session,
    focus_id: int,
    end_date: date,
    actor: str,
    note: str = "",
    scope: Scope | None = None,
) -> FocusWork:
    """End focused work ``focus_id`` on ``end_date`` (not before its start; not twice)."""
    fw = session.get(FocusWork, focus_id)
    if fw is None:
        raise ValueError(f"no focused work with id {focus_id}")
    (scope or Scope.district()).check(fw.community_id)
    if fw.end_date is not None:
        raise ValueError(f"focused work #{focus_id} already ended on {fw.end_date}")
    if end_date < fw.start_date:
        raise ValueError(
            f"end date {end_date} is before the start of focused work #{focus_id} ({fw.start_date})"
        )
    fw.end_date = end_date
    fw.ended_by = actor
    fw.end_note = note or ""
    session.flush()
    audit.log(
        session,
        actor=actor,
        action="focus.end",
        target=fw.community_id,
        detail={"focus_id": fw.id, "end_date": end_date.isoformat()},
    )
    db.bump_data_version(session)
    return fw


def list_focus(session: Session, scope: Scope | None = None) -> list[dict]:
    """Every focused work in the scope, newest start first (then in the order registered),
    with the community's name."""
    scope = scope or Scope.district()
    q = (
        select(FocusWork, Community.name, SubDistrict.name)
        .join(Community, Community.community_id == FocusWork.community_id)
        .join(SubDistrict, SubDistrict.code == Community.sub_district_code)
        .where(scope.clause(FocusWork.community_id))
        .order_by(FocusWork.start_date.desc(), FocusWork.id)
    )
    return [
        {
            "focus_id": fw.id,
            "community_id": fw.community_id,
            "community_name": name,
            "sub_district": sd,
            "start_date": fw.start_date,
            "end_date": fw.end_date,
            "measures": fw.measures,
            "created_by": fw.created_by,
        }
        for fw, name, sd in session.execute(q)
    ]
