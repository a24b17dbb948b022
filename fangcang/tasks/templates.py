"""Task templates and the admission gate (准入): a branch proposes, the office admits or rejects.

Nothing reaches officers without passing ``review_template``; the review screen shows the
duplicates (``admission.find_duplicates``) and the workload projection
(``admission.project_workload``) for the proposal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import audit, db
from ..access import Permission, Role, Viewer, can
from ..models.tasks import Branch, Cycle, TargetKind, TaskTemplate, TemplateStatus
from ..timeutil import now_local
from . import targets
from .errors import ConflictError

#: Longest sensible deadline (days into the cycle) per cycle.
MAX_DEADLINE_DAYS = {Cycle.WEEKLY: 7, Cycle.MONTHLY: 31, Cycle.QUARTERLY: 92, Cycle.AD_HOC: 60}
MAX_MINUTES = 8 * 60


@dataclass
class TemplateDraft:
    """A proposed template as a form or a file gives it (strings are accepted for enums)."""

    branch: Branch | str
    title: str
    instructions: str
    cycle: Cycle | str
    target_kind: TargetKind | str = TargetKind.ALL
    target: list | dict | str | None = None
    est_minutes: int = 30
    deadline_days: int | None = None
    extra: dict = field(default_factory=dict)


def _enum(cls, value, field_name: str):
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        raise ValueError(f"{field_name}: {value!r} is not one of {allowed}") from None


def validate_draft(session: Session, draft: TemplateDraft) -> dict:
    """Check a draft; return the column values of a template. ``ValueError`` names the field.

    Rules: known branch and cycle; title 4-200 characters; instructions at least 10; estimated
    minutes a whole number 1-480; deadline days empty or 1..(cycle length); target valid for its
    kind (existing sub-districts or communities, a registered rule with valid parameters).
    """
    branch = _enum(Branch, draft.branch, "branch")
    cycle = _enum(Cycle, draft.cycle, "cycle")
    kind = _enum(TargetKind, draft.target_kind, "target_kind")
    title = (draft.title or "").strip()
    if not 4 <= len(title) <= 200:
        raise ValueError(f"title: must be 4-200 characters, got {len(title)}")
    instructions = (draft.instructions or "").strip()
    if len(instructions) < 10:
        raise ValueError("instructions: say how to do it (at least 10 characters)")
    minutes = draft.est_minutes
    if isinstance(minutes, float) and minutes.is_integer():
        minutes = int(minutes)
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= MAX_MINUTES:
        raise ValueError(f"est_minutes: must be a whole number 1-{MAX_MINUTES}, got {minutes!r}")
    days = draft.deadline_days
    if days is not None:
        limit = MAX_DEADLINE_DAYS[cycle]
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= limit:
            raise ValueError(
                f"deadline_days: must be 1-{limit} for a {cycle.value} cycle, got {days!r}"
            )
    target_value = targets.validate_target(session, kind, draft.target)
    return dict(
        branch=branch,
        title=title,
        instructions=instructions,
        cycle=cycle,
        target_kind=kind,
        target_value=target_value,
        est_minutes=minutes,
        deadline_days=days,
    )


def propose_template(session: Session, draft: TemplateDraft, viewer: Viewer) -> TaskTemplate:
    """Record a branch's proposal (status ``proposed``) after validating it; audited.

    A branch user may only propose for their own branch.
    """
    if not can(viewer.role, Permission.PROPOSE_TEMPLATE):
        raise PermissionError(f"role {viewer.role.value} cannot propose task templates")
    values = validate_draft(session, draft)
    if viewer.role is Role.BRANCH and viewer.branch and viewer.branch != values["branch"].value:
        raise PermissionError(
            f"branch user of {viewer.branch} cannot propose for {values['branch'].value}"
        )
    tpl = TaskTemplate(
        **values,
        status=TemplateStatus.PROPOSED,
        proposed_by=viewer.username,
        proposed_at=now_local(),
        review_reason="",
    )
    session.add(tpl)
    session.flush()
    audit.log(
        session,
        actor=viewer.username,
        action="task.template.propose",
        target=f"template:{tpl.id}",
        detail={"title": tpl.title, "branch": tpl.branch.value},
    )
    db.bump_data_version(session)
    return tpl


def review_template(
    session: Session,
    template_id: int,
    viewer: Viewer,
    *,
    admit: bool,
    reason: str = "",
    expected_version: int | None = None,
) -> TaskTemplate:
    """Admit or reject a proposal (a rejection needs a reason); audited.

    Raises
    ------
    ConflictError
        When ``expected_version`` is given and the template changed since (someone else reviewed).
    ValueError
        When the template is not waiting for review or a rejection has no reason.
    """
    # The coordinating office (those who dispatch) decides what reaches officers.
    if not can(viewer.role, Permission.DISPATCH):
        raise PermissionError(f"role {viewer.role.value} cannot review task templates")
    tpl = session.get(TaskTemplate, template_id)
    if tpl is None:
        raise ValueError(f"no task template {template_id}")
    if expected_version is not None and tpl.version != expected_version:
        raise ConflictError("task template", template_id, expected_version, tpl.version)
    if tpl.status is not TemplateStatus.PROPOSED:
        raise ValueError(f"task template {template_id} is already {tpl.status.value}")
    reason = (reason or "").strip()
    if not admit and not reason:
        raise ValueError("reason: a rejection needs a reason")
    tpl.status = TemplateStatus.ADMITTED if admit else TemplateStatus.REJECTED
    tpl.reviewed_by, tpl.reviewed_at, tpl.review_reason = viewer.username, now_local(), reason
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        raise ConflictError("task template", template_id, expected_version, None) from None
    audit.log(
        session,
        actor=viewer.username,
        action="task.template.review",
        target=f"template:{tpl.id}",
        detail={"admit": admit, "reason": reason},
    )
    db.bump_data_version(session)
    return tpl


def list_templates(
    session: Session, *, status: TemplateStatus | str | None = None, branch: str | None = None
) -> pd.DataFrame:
    """Templates as a table (newest first), optionally by status and branch."""
    q = select(TaskTemplate).order_by(TaskTemplate.id.desc())
    if status is not None:
        q = q.where(TaskTemplate.status == TemplateStatus(status))
    if branch:
        q = q.where(TaskTemplate.branch == Branch(branch))
    rows = [
        {
            "id": t.id,
            "branch": t.branch.value,
            "title": t.title,
            "instructions": t.instructions,
            "cycle": t.cycle.value,
            "target_kind": t.target_kind.value,
            "target": describe_target(t),
            "target_value": t.target_value,
            "est_minutes": t.est_minutes,
            "deadline_days": t.deadline_days,
            "status": t.status.value,
            "proposed_by": t.proposed_by,
            "proposed_at": t.proposed_at,
            "review_reason": t.review_reason,
            "version": t.version,
        }
        for t in session.scalars(q)
    ]
    cols = [
        "id",
        "branch",
        "title",
        "instructions",
        "cycle",
        "target_kind",
        "target",
        "target_value",
        "est_minutes",
        "deadline_days",
        "status",
        "proposed_by",
        "proposed_at",
        "review_reason",
        "version",
    ]
    return pd.DataFrame(rows, columns=cols)


def describe_target(tpl: TaskTemplate) -> str:
    """A short language-neutral description: ``all``, ``3 sub-districts``, ``rule ...``."""
    if tpl.target_kind is TargetKind.ALL:
        return "all"
    data = json.loads(tpl.target_value) if tpl.target_value else None
    if tpl.target_kind is TargetKind.RULE:
        params = ", ".join(f"{k}={v}" for k, v in data.items() if k != "rule")
        return f"{data['rule']}({params})"
    return f"{len(data)} {tpl.target_kind.value}"
