"""The task loop (一键派单): admission, one-click dispatch, officer feedback, evaluation, progress.

Public functions (all take a ``Session``; the caller commits):

- templates: ``TemplateDraft``, ``validate_draft``, ``propose_template``, ``review_template``,
  ``list_templates``; admission screen: ``find_duplicates``, ``project_workload``, ``admission_review``.
- dispatch: ``dispatch_cycle(session, cycle, actor, on=...)`` (idempotent),
  ``dispatch_to(session, actor, community_ids, template_id=... | text=...)`` (a filter's
  communities in one action; ``selection.select_communities`` / ``selection.preview``),
  ``urgent_instruction(session, actor, text=..., minutes=30, lon/lat | community | address)``,
  ``locate_point``, ``locate_address``, ``locate_community``.
- items: ``accept``, ``feedback``, ``evaluate`` (each with ``expected_version``; a stale one
  raises ``ConflictError``), ``inbox``, ``items_frame``, ``items_page``, ``history``, ``return_reason``, ``history_photo``,
  ``is_overdue``.
- progress: ``rates(session, who, start, end, by=...)``, ``overdue_items``,
  ``monthly_scorecard``, ``completion_by_community``, ``community_tasks``, ``urgent_board``.
- exchange: ``export_open_items``, ``to_csv_bytes``, ``import_feedback``, ``FEEDBACK_SPEC``.
- demo: ``demo_extend(ctx)`` (registered in ``fangcang.demo.EXTENSIONS``).
"""

from .admission import admission_review, find_duplicates, project_workload, similarity
from .cycles import CyclePeriod, parse_key, period_of
from .dispatch import (
    DispatchResult,
    dispatch_cycle,
    dispatch_to,
    locate_address,
    locate_community,
    locate_point,
    urgent_instruction,
)
from .errors import ConflictError, TransitionError
from .exchange import (
    FEEDBACK_SPEC,
    FeedbackImportError,
    export_open_items,
    import_feedback,
    open_items_frame,
    to_csv_bytes,
)
from .items import (
    PHOTO_UPLOAD_MAX_MB,
    accept,
    count_items,
    evaluate,
    evaluate_many,
    feedback,
    get_item,
    history,
    history_photo,
    inbox,
    is_overdue,
    item_choices,
    items_frame,
    items_page,
    return_reason,
    shrink_photo,
)
from .progress import (
    URGENT_STALE_HOURS,
    community_tasks,
    completion_by_community,
    completion_totals,
    monthly_scorecard,
    overdue_items,
    rates,
    task_months,
    urgent_board,
    urgent_history,
)
from .templates import (
    TemplateDraft,
    list_templates,
    propose_template,
    review_template,
    validate_draft,
)


def demo_extend(ctx):
    """Demo extension: templates and a year of items (see ``fangcang.tasks.demo``)."""
    from .demo import demo_extend as _extend

    return _extend(ctx)


__all__ = [
    "admission_review",
    "FEEDBACK_SPEC",
    "PHOTO_UPLOAD_MAX_MB",
    "URGENT_STALE_HOURS",
    "ConflictError",
    "CyclePeriod",
    "DispatchResult",
    "FeedbackImportError",
    "TemplateDraft",
    "TransitionError",
    "accept",
    "community_tasks",
    "count_items",
    "completion_by_community",
    "completion_totals",
    "demo_extend",
    "dispatch_cycle",
    "dispatch_to",
    "evaluate",
    "evaluate_many",
    "export_open_items",
    "feedback",
    "find_duplicates",
    "get_item",
    "history",
    "history_photo",
    "import_feedback",
    "inbox",
    "is_overdue",
    "item_choices",
    "items_frame",
    "items_page",
    "list_templates",
    "locate_address",
    "locate_community",
    "locate_point",
    "monthly_scorecard",
    "open_items_frame",
    "overdue_items",
    "parse_key",
    "period_of",
    "project_workload",
    "propose_template",
    "rates",
    "return_reason",
    "review_template",
    "shrink_photo",
    "similarity",
    "task_months",
    "to_csv_bytes",
    "urgent_board",
    "urgent_history",
    "urgent_instruction",
    "validate_draft",
]
