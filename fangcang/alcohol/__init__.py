"""Alcohol-related incidents handled actively (涉酒警情) and the practice files.

Public functions (all take a ``Session``; the caller commits):

- patrol: ``record_checkin``, ``points_frame``, ``plans_frame``, ``checkins_frame``,
  ``recent_checkins``, ``slots``, ``gaps``, ``coverage``, ``nearest_points``, ``units_at``.
- analysis: ``alcohol_incidents``, ``hour_dow``, ``by_hour``, ``by_point``, ``by_community``,
  ``patrol_effect`` (before/after with the effect module's method).
- repeat: ``repeat_people``, ``sync_files``, ``person_files``, ``file_detail``,
  ``record_measure``, ``record_review``, ``review_template_draft``.
- escalation: ``escalations``, ``counts_by_station`` (民转刑 within 90 days).
- practice: ``practice`` (the page's figures), ``coverage_map`` (folium).
- files: ``contract_files()`` (every practice contract file, mediation included, in order),
  ``import_file(session, name, source, actor=..., scope=...)``.
- demo: ``demo_extend(ctx)`` (registered in ``fangcang.demo.EXTENSIONS``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from ..access import Scope
from .analysis import (
    VENUE_DISTANCE_M,
    alcohol_incidents,
    by_community,
    by_hour,
    by_point,
    hour_dow,
    patrol_effect,
)
from .escalation import ESCALATION_DAYS, counts_by_station, escalations
from .filekit import PracticeFile, PracticeImportReport, import_practice_file
from .patrol import (
    checkins_frame,
    coverage,
    gaps,
    nearest_points,
    plans_frame,
    points_frame,
    recent_checkins,
    record_checkin,
    slots,
    units_at,
)
from .practice import Practice, coverage_map, practice
from .repeat import (
    file_detail,
    person_files,
    record_measure,
    record_review,
    repeat_people,
    review_template_draft,
    sync_files,
)


def contract_files() -> dict[str, PracticeFile]:
    """Every practice contract file by name, in load order (alcohol, then mediation)."""
    from ..mediation.files import MEDIATION_FILES
    from .files import ALCOHOL_FILES

    return {f.name: f for f in [*ALCOHOL_FILES, *MEDIATION_FILES]}


def import_file(
    session: Session,
    source: str | Path | bytes,
    *,
    actor: str,
    scope: Scope,
    name: str | None = None,
    file: str | None = None,
    channel: str = "cli",
) -> PracticeImportReport:
    """Import one practice file; its kind is ``name`` or the file's stem (``patrol_plans``)."""
    registry = contract_files()
    kind = name or Path(file or str(source)).stem.lower()
    if kind not in registry:
        raise ValueError(f"unknown practice file {kind!r}; known: {', '.join(registry)}")
    return import_practice_file(
        session, registry[kind], source, actor=actor, scope=scope, file=file, channel=channel
    )


def demo_extend(ctx):
    """Demo extension: one station runs both practices over the last year."""
    from .demo import demo_extend as _extend

    return _extend(ctx)


__all__ = [
    "ESCALATION_DAYS",
    "VENUE_DISTANCE_M",
    "Practice",
    "PracticeImportReport",
    "alcohol_incidents",
    "by_community",
    "by_hour",
    "by_point",
    "checkins_frame",
    "counts_by_station",
    "coverage",
    "coverage_map",
    "demo_extend",
    "escalations",
    "file_detail",
    "contract_files",
    "gaps",
    "hour_dow",
    "import_file",
    "nearest_points",
    "patrol_effect",
    "person_files",
    "plans_frame",
    "points_frame",
    "practice",
    "recent_checkins",
    "record_checkin",
    "record_measure",
    "record_review",
    "repeat_people",
    "review_template_draft",
    "slots",
    "sync_files",
    "units_at",
]
