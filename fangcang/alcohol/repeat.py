"""Repeat-person files (一人一档, the 涉酒人员库) and the measures taken with them.

A person (identified by ID number: people without one cannot be linked across incidents and
are never filed) involved in at least ``MIN_INCIDENTS`` alcohol-related incidents within
``WINDOW_DAYS`` days (an incident counts when it occurred after ``as_of - WINDOW_DAYS`` and
not after ``as_of``) gets a file: the responsible community officer (the officer of the
community of the person's latest alcohol incident), the measures taken (亲友带回, 劝导教育,
强制醒酒/戒酒; date and officer) and the next review date (``REVIEW_DAYS`` after opening, then
after each review). Files feed the task loop: a review visit (回访) is a task template
(``review_template_draft``) that goes through admission and dispatch like any other.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit, db
from ..access import Permission, Role, Scope, ScopeError, Viewer
from ..models import (
    AlcoholMeasure,
    AlcoholPersonFile,
    Community,
    Incident,
    IncidentPerson,
    MeasureKind,
    Officer,
)
from ..models.tasks import Branch, Cycle, TargetKind
from ..timeutil import now_local

log = logging.getLogger(__name__)

WINDOW_DAYS = 365
MIN_INCIDENTS = 2
REVIEW_DAYS = 30
REVIEW_TITLE = "涉酒重复人员回访"
REVIEW_INSTRUCTIONS = (
    "对本社区涉酒人员库中到期的人员逐一回访：了解近况，落实亲友带回、劝导教育等措施，"
    "在涉酒人员回访页登记回访情况和下次回访日期。"
)


def repeat_people(
    session: Session,
    scope: Scope,
    as_of: datetime,
    *,
    window_days: int = WINDOW_DAYS,
    min_incidents: int = MIN_INCIDENTS,
) -> pd.DataFrame:
    """People with ``min_incidents`` or more alcohol incidents in the window ending ``as_of``.

    Returns
    -------
    DataFrame
        id_number, name, community_id (of the latest incident), incidents (count), first,
        last (times), incident_ids (list), ordered by incidents then latest first.
    """
    since = as_of - timedelta(days=window_days)
    rows = session.execute(
        select(
            IncidentPerson.id_number,
            IncidentPerson.name,
            IncidentPerson.incident_id,
            Incident.occurred_at,
            Incident.community_id,
        )
        .join(Incident, Incident.incident_id == IncidentPerson.incident_id)
        .where(
            Incident.alcohol_related.is_(True),
            Incident.occurred_at > since,
            Incident.occurred_at <= as_of,
            IncidentPerson.id_number.is_not(None),
            scope.clause(Incident.community_id),
        )
        .order_by(Incident.occurred_at)
    ).all()
    cols = ["id_number", "name", "community_id", "incidents", "first", "last", "incident_ids"]
    if not rows:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(
        [tuple(r) for r in rows], columns=["id_number", "name", "incident_id", "at", "community_id"]
    )
    df = df.drop_duplicates(["id_number", "incident_id"])
    g = df.groupby("id_number", sort=False)
    out = pd.DataFrame(
        {
            "name": g["name"].last(),
            "community_id": g["community_id"].last(),
            "incidents": g.size(),
            "first": g["at"].min(),
            "last": g["at"].max(),
            "incident_ids": g["incident_id"].agg(list),
        }
    ).reset_index()
    out = out[out["incidents"] >= min_incidents]
    return out.sort_values(["incidents", "last"], ascending=[False, False]).reset_index(drop=True)[
        cols
    ]


def sync_files(session: Session, as_of: datetime, *, actor: str) -> int:
    """Open a file for every repeat person who has none (district-wide); returns how many.

    The caller commits. Audited and the data version bumped when any file is opened.
    """
    found = repeat_people(session, Scope.district(), as_of)
    if found.empty:
        return 0
    have = set(session.scalars(select(AlcoholPersonFile.id_number)))
    officer_of = dict(session.execute(select(Community.community_id, Community.officer_id)).all())
    opened = 0
    for r in found.itertuples(index=False):
        if r.id_number in have:
            continue
        session.add(
            AlcoholPersonFile(
                id_number=r.id_number,
                name=r.name,
                community_id=r.community_id,
                officer_id=officer_of.get(r.community_id),
                opened_on=as_of.date(),
                next_review=as_of.date() + timedelta(days=REVIEW_DAYS),
                review_note="",
            )
        )
        opened += 1
    if opened:
        session.flush()
        audit.log(
            session,
            actor=actor,
            action="alcohol.files.open",
            target="alcohol_person_files",
            detail={"opened": opened, "as_of": as_of.isoformat(timespec="minutes")},
        )
        db.bump_data_version(session)
    return opened


FILE_COLUMNS = [
    "file_id",
    "name",
    "id_number",
    "community_id",
    "community",
    "officer_id",
    "officer_name",
    "incidents",
    "last_incident",
    "measures",
    "last_measure",
    "opened_on",
    "last_review",
    "next_review",
    "due",
]


def person_files(
    session: Session, scope: Scope, as_of: datetime, *, officer_id: str | None = None
) -> pd.DataFrame:
    """The files inside ``scope`` (optionally one officer's), soonest review first.

    ``incidents`` counts the person's alcohol incidents in the ``WINDOW_DAYS`` before
    ``as_of``; ``due`` is true when the next review is on or before ``as_of``'s day. Names and
    ID numbers are in the clear here: pages and downloads mask them (``privacy.mask_frame``).
    """
    q = (
        select(
            AlcoholPersonFile.id,
            AlcoholPersonFile.name,
            AlcoholPersonFile.id_number,
            AlcoholPersonFile.community_id,
            Community.name,
            AlcoholPersonFile.officer_id,
            Officer.name,
            AlcoholPersonFile.opened_on,
            AlcoholPersonFile.last_review,
            AlcoholPersonFile.next_review,
        )
        .join(Community, Community.community_id == AlcoholPersonFile.community_id, isouter=True)
        .join(Officer, Officer.officer_id == AlcoholPersonFile.officer_id, isouter=True)
        .where(scope.clause(AlcoholPersonFile.community_id))
        .order_by(AlcoholPersonFile.next_review, AlcoholPersonFile.id)
    )
    if officer_id is not None:
        q = q.where(AlcoholPersonFile.officer_id == officer_id)
    rows = session.execute(q).all()
    base = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=[
            "file_id",
            "name",
            "id_number",
            "community_id",
            "community",
            "officer_id",
            "officer_name",
            "opened_on",
            "last_review",
            "next_review",
        ],
    )
    if base.empty:
        return pd.DataFrame(columns=FILE_COLUMNS)
    ids = base["id_number"].tolist()
    since = as_of - timedelta(days=WINDOW_DAYS)
    inc = dict(
        (k, (n, last))
        for k, n, last in session.execute(
            select(
                IncidentPerson.id_number,
                func.count(func.distinct(IncidentPerson.incident_id)),
                func.max(Incident.occurred_at),
            )
            .join(Incident, Incident.incident_id == IncidentPerson.incident_id)
            .where(
                IncidentPerson.id_number.in_(ids),
                Incident.alcohol_related.is_(True),
                Incident.occurred_at > since,
                Incident.occurred_at <= as_of,
            )
            .group_by(IncidentPerson.id_number)
        )
    )
    meas = dict(
        (k, (n, last))
        for k, n, last in session.execute(
            select(AlcoholMeasure.id_number, func.count(), func.max(AlcoholMeasure.taken_on))
            .where(AlcoholMeasure.id_number.in_(ids))
            .group_by(AlcoholMeasure.id_number)
        )
    )
    base["incidents"] = [inc.get(k, (0, None))[0] for k in ids]
    base["last_incident"] = [inc.get(k, (0, None))[1] for k in ids]
    base["measures"] = [meas.get(k, (0, None))[0] for k in ids]
    base["last_measure"] = [meas.get(k, (0, None))[1] for k in ids]
    base["due"] = [d <= as_of.date() for d in base["next_review"]]
    return base[FILE_COLUMNS]


def file_detail(session: Session, scope: Scope, file_id: int) -> dict:
    """One file: ``{"file": row dict, "incidents": DataFrame, "measures": DataFrame}``.

    Raises ``ScopeError`` when the file does not exist or lies outside ``scope``.
    """
    f = session.get(AlcoholPersonFile, file_id)
    if f is None or not scope.allows(f.community_id):
        raise ScopeError(f"file {file_id} is outside your jurisdiction")
    incidents = session.execute(
        select(
            Incident.incident_id,
            Incident.occurred_at,
            Incident.category,
            IncidentPerson.role,
            Community.name,
        )
        .join(IncidentPerson, IncidentPerson.incident_id == Incident.incident_id)
        .join(Community, Community.community_id == Incident.community_id)
        .where(IncidentPerson.id_number == f.id_number, Incident.alcohol_related.is_(True))
        .order_by(Incident.occurred_at.desc())
    ).all()
    measures = session.execute(
        select(
            AlcoholMeasure.taken_on,
            AlcoholMeasure.kind,
            AlcoholMeasure.officer_id,
            AlcoholMeasure.incident_id,
            AlcoholMeasure.note,
        )
        .where(AlcoholMeasure.id_number == f.id_number)
        .order_by(AlcoholMeasure.taken_on.desc())
    ).all()
    return {
        "file": {
            "file_id": f.id,
            "name": f.name,
            "id_number": f.id_number,
            "community_id": f.community_id,
            "officer_id": f.officer_id,
            "opened_on": f.opened_on,
            "last_review": f.last_review,
            "next_review": f.next_review,
            "review_note": f.review_note,
        },
        "incidents": pd.DataFrame(
            [(a, b, c.value, d.value, e) for a, b, c, d, e in incidents],
            columns=["incident_id", "occurred_at", "category", "role", "community"],
        ),
        "measures": pd.DataFrame(
            [(a, b.value, c, d, e) for a, b, c, d, e in measures],
            columns=["taken_on", "kind", "officer_id", "incident_id", "note"],
        ),
    }


def _writer(viewer: Viewer) -> None:
    if viewer.role not in (Role.OFFICER, Role.STATION):
        raise PermissionError(f"role {viewer.role.value} does not record measures or reviews")


def record_measure(
    session: Session,
    viewer: Viewer,
    *,
    id_number: str,
    kind: MeasureKind | str,
    taken_on: date,
    officer_id: str | None = None,
    incident_id: str | None = None,
    note: str = "",
) -> AlcoholMeasure:
    """Record one measure taken with a filed person (the caller commits); audited."""
    _writer(viewer)
    f = session.scalar(select(AlcoholPersonFile).where(AlcoholPersonFile.id_number == id_number))
    if f is None or not viewer.scope.allows(f.community_id):
        raise ScopeError("this person has no file inside your jurisdiction")
    kind = MeasureKind(kind)
    if taken_on > now_local().date():
        raise ValueError(f"taken_on {taken_on} is in the future")
    row = AlcoholMeasure(
        id_number=id_number,
        community_id=f.community_id,
        kind=kind,
        taken_on=taken_on,
        officer_id=officer_id or viewer.officer_id,
        incident_id=incident_id,
        note=(note or "").strip(),
        recorded_by=viewer.username,
        created_at=now_local(),
    )
    session.add(row)
    session.flush()
    audit.log(
        session,
        actor=viewer.username,
        action="alcohol.measure",
        target=f"alcohol_file:{f.id}",
        detail={"kind": kind.value, "taken_on": taken_on.isoformat()},
    )
    db.bump_data_version(session)
    return row


def record_review(
    session: Session,
    viewer: Viewer,
    file_id: int,
    *,
    reviewed_on: date,
    note: str,
    next_review: date | None = None,
    measure: MeasureKind | str | None = None,
) -> AlcoholPersonFile:
    """Record a review visit of a file (and optionally the measure taken); audited.

    The next review defaults to ``REVIEW_DAYS`` after this one. The note must say something
    (at least 4 characters). A review older than the file's last review (entered late) is
    recorded (its audit entry, its measure) but leaves the file's last review, next review
    and note as they are: the newer review stands (the audit entry says ``superseded``).
    """
    _writer(viewer)
    f = session.get(AlcoholPersonFile, file_id)
    if f is None or not viewer.scope.allows(f.community_id):
        raise ScopeError(f"file {file_id} is outside your jurisdiction")
    note = (note or "").strip()
    if len(note) < 4:
        raise ValueError("note: say what the review found (at least 4 characters)")
    today = now_local().date()
    if reviewed_on > today:
        raise ValueError(f"reviewed_on {reviewed_on} is in the future")
    next_review = next_review or reviewed_on + timedelta(days=REVIEW_DAYS)
    if next_review <= reviewed_on:
        raise ValueError("next_review must come after the review")
    superseded = f.last_review is not None and reviewed_on < f.last_review
    if not superseded:
        f.last_review, f.next_review, f.review_note = reviewed_on, next_review, note
    if measure:
        record_measure(
            session,
            viewer,
            id_number=f.id_number,
            kind=measure,
            taken_on=reviewed_on,
            note=note,
        )
    session.flush()
    audit.log(
        session,
        actor=viewer.username,
        action="alcohol.review",
        target=f"alcohol_file:{f.id}",
        detail={
            "reviewed_on": reviewed_on.isoformat(),
            "next_review": next_review.isoformat(),
            **({"superseded": True} if superseded else {}),
        },
    )
    db.bump_data_version(session)
    return f


def review_template_draft(session: Session, scope: Scope | None = None):
    """The review visit as a task template draft (a ``fangcang.tasks.TemplateDraft``): monthly,
    public-order branch, targeted at the communities that hold files (inside ``scope``).

    A branch user proposes it (``tasks.propose_template``), the office admits it and the
    ordinary dispatch sends one item a month to each community's officer. Raises
    ``ValueError`` when no community holds a file.
    """
    from ..tasks import TemplateDraft

    scope = scope or Scope.district()
    ids = sorted(
        set(
            session.scalars(
                select(AlcoholPersonFile.community_id).where(
                    scope.clause(AlcoholPersonFile.community_id)
                )
            )
        )
    )
    if not ids:
        raise ValueError("no community holds a repeat-person file yet")
    return TemplateDraft(
        branch=Branch.PUBLIC_ORDER,
        title=REVIEW_TITLE,
        instructions=REVIEW_INSTRUCTIONS,
        cycle=Cycle.MONTHLY,
        target_kind=TargetKind.COMMUNITIES,
        target=ids,
        est_minutes=60,
        deadline_days=None,
    )


def can_record(viewer: Viewer) -> bool:
    """Officers and station users record reviews and measures (they may also unmask)."""
    return viewer.role in (Role.OFFICER, Role.STATION) and viewer.can(Permission.UNMASK)
