"""What the admission screen shows: look-alike templates and the officers' projected workload.

Duplicates: rapidfuzz similarity over title and instructions. Chinese text has no spaces, so
each text is compared both as written (``fuzz.ratio``) and as a bag of characters
(``token_sort_ratio`` over the characters), which catches the same words in another order
("走访出租房屋核查流动人口" / "出租房屋流动人口走访核查"). The score (0-100) is the larger of
the title score and 0.7 x title + 0.3 x instructions score: instructions share boilerplate, so
they can raise a similar title's score but never make unrelated titles look alike.

Workload: each admitted periodic template costs ``est_minutes x (cycles per week)`` per target
community; an officer's weekly minutes add up over their communities. Ad-hoc templates have no
regular frequency and are not projected.
"""

from __future__ import annotations

import re
from collections import defaultdict

import pandas as pd
from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Scope
from ..config import get_settings
from ..models import Community, Officer
from ..models.tasks import TaskTemplate, TemplateStatus
from . import targets
from .cycles import PER_WEEK

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
DUPLICATE_THRESHOLD = 70.0


def _norm(text: str) -> str:
    return _NOISE.sub("", (text or "").lower())


def _score(a: str, b: str) -> float:
    a, b = _norm(a), _norm(b)
    if not a or not b:
        return 0.0
    as_written = fuzz.ratio(a, b)
    as_bag = fuzz.token_sort_ratio(" ".join(a), " ".join(b))
    return (as_written + as_bag) / 2.0


def similarity(title_a: str, instr_a: str, title_b: str, instr_b: str) -> float:
    """Similarity 0-100 of two templates (see the module notes)."""
    title = _score(title_a, title_b)
    # Instructions often share boilerplate ("逐一登记核查结果..."), so they only add to the title.
    return max(title, 0.7 * title + 0.3 * _score(instr_a, instr_b))


def find_duplicates(
    session: Session,
    title: str,
    instructions: str,
    *,
    exclude_id: int | None = None,
    threshold: float = DUPLICATE_THRESHOLD,
    limit: int = 5,
) -> pd.DataFrame:
    """Admitted or proposed templates that look like this one, most similar first.

    Returns
    -------
    DataFrame
        id, branch, title, status, score (0-100, at or above ``threshold``).
    """
    q = select(TaskTemplate).where(TaskTemplate.status != TemplateStatus.REJECTED)
    rows = []
    for t in session.scalars(q):
        if t.id == exclude_id:
            continue
        s = similarity(title, instructions, t.title, t.instructions)
        if s >= threshold:
            rows.append(
                {
                    "id": t.id,
                    "branch": t.branch.value,
                    "title": t.title,
                    "status": t.status.value,
                    "score": round(s, 1),
                }
            )
    df = pd.DataFrame(rows, columns=["id", "branch", "title", "status", "score"])
    return (
        df.sort_values(["score", "id"], ascending=[False, True]).head(limit).reset_index(drop=True)
    )


def _weekly_minutes_by_community(session: Session, tpl: TaskTemplate) -> dict[str, float]:
    per_week = PER_WEEK[tpl.cycle] * tpl.est_minutes
    if per_week == 0:
        return {}
    return {cid: per_week for cid in targets.resolve(session, tpl.target_kind, tpl.target_value)}


def project_workload(
    session: Session,
    candidate: TaskTemplate | None = None,
    *,
    scope: Scope | None = None,
    cap: int | None = None,
) -> pd.DataFrame:
    """Each officer's projected weekly minutes now and if ``candidate`` were admitted.

    Parameters
    ----------
    candidate : TaskTemplate, optional
        The proposal under review (any status; it is counted only in ``added_minutes``).
    scope : Scope, optional
        Restrict to officers responsible for communities in the scope (default: district).
    cap : int, optional
        Weekly minutes cap; default ``config.get_settings().workload_cap_minutes``.

    Returns
    -------
    DataFrame
        officer_id, officer_name, station_id, communities, current_minutes, added_minutes,
        projected_minutes, cap, over_cap; the officers over the cap first, then by projection.
    """
    cap = get_settings().workload_cap_minutes if cap is None else int(cap)
    scope = scope or Scope.district()
    comm = session.execute(
        select(Community.community_id, Community.officer_id, Officer.name, Officer.station_id)
        .join(Officer, Officer.officer_id == Community.officer_id)
        .where(scope.clause(Community.community_id))
    ).all()
    officer_of = {cid: oid for cid, oid, _, _ in comm}
    current: dict[str, float] = defaultdict(float)
    admitted = session.scalars(
        select(TaskTemplate).where(TaskTemplate.status == TemplateStatus.ADMITTED)
    )
    for tpl in admitted:
        if candidate is not None and tpl.id == candidate.id:
            continue
        for cid, minutes in _weekly_minutes_by_community(session, tpl).items():
            if cid in officer_of:
                current[officer_of[cid]] += minutes
    added: dict[str, float] = defaultdict(float)
    if candidate is not None:
        for cid, minutes in _weekly_minutes_by_community(session, candidate).items():
            if cid in officer_of:
                added[officer_of[cid]] += minutes
    officers: dict[str, dict] = {}
    for _cid, oid, name, station in comm:
        row = officers.setdefault(
            oid, {"officer_id": oid, "officer_name": name, "station_id": station, "communities": 0}
        )
        row["communities"] += 1
    rows = []
    for oid, row in officers.items():
        cur, add = round(current[oid], 1), round(added[oid], 1)
        rows.append(
            {
                **row,
                "current_minutes": cur,
                "added_minutes": add,
                "projected_minutes": round(cur + add, 1),
                "cap": cap,
                "over_cap": cur + add > cap,
            }
        )
    cols = [
        "officer_id",
        "officer_name",
        "station_id",
        "communities",
        "current_minutes",
        "added_minutes",
        "projected_minutes",
        "cap",
        "over_cap",
    ]
    df = pd.DataFrame(rows, columns=cols)
    if df.empty:
        return df
    df["over_cap"] = df["over_cap"].astype(bool)
    return df.sort_values(
        ["over_cap", "projected_minutes", "officer_id"], ascending=[False, False, True]
    ).reset_index(drop=True)


def admission_review(session: Session, template_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the admission screen shows for one proposed template: its look-alikes
    (``find_duplicates``, the template itself left out) and the officers' projected weekly
    workload with it (``project_workload``).

    Raises
    ------
    KeyError
        No template with that id.
    """
    tpl = session.get(TaskTemplate, template_id)
    if tpl is None:
        raise KeyError(f"no task template {template_id}")
    duplicates = find_duplicates(session, tpl.title, tpl.instructions, exclude_id=tpl.id)
    return duplicates, project_workload(session, tpl)
