"""Cloud household visits (云入户): record what officers saw, reconcile it with the registry,
queue the discrepancies for confirmation, and measure coverage.

Public API
----------
- ``record_visit(session, scope, *, house_id, visited_at, recorded_by, ...)``
- ``reconcile(session, scope, *, visit_ids=None)``
- ``confirm(session, scope, discrepancy_id, *, actor)`` /
  ``dismiss(session, scope, discrepancy_id, *, actor, reason)`` /
  ``decide(session, scope, [Decision, ...], *, actor)`` (many at once, the same rules)
- ``discrepancy_queue(session, scope, ...)``, ``registry_changes(session, scope)``
- ``visit_measures(session, scope, as_of, level="community")``
- ``match_people(session, observed)``; ``CHECKS`` (the registered reconciliation checks)
- ``import_visits(session, path, *, actor, scope)`` (visits.csv)
- ``demo_extend(ctx)`` (the demo district's visits; ``demo_prepare`` and ``demo_reconcile``
  run its first steps ahead, see ``fangcang.visits.demo``)
"""

from .checks import CHECKS, Finding, HouseContext
from .matching import Match, Observed, id_number_valid, match_people
from .measures import visit_measures
from .queue import (
    Decided,
    Decision,
    StaleDiscrepancy,
    confirm,
    decide,
    discrepancy_queue,
    dismiss,
    registry_changes,
)
from .reconcile import ReconcileResult, reconcile
from .record import record_visit

__all__ = [
    "CHECKS",
    "Decided",
    "Decision",
    "Finding",
    "HouseContext",
    "Match",
    "Observed",
    "ReconcileResult",
    "StaleDiscrepancy",
    "confirm",
    "decide",
    "demo_extend",
    "demo_prepare",
    "demo_reconcile",
    "discrepancy_queue",
    "dismiss",
    "id_number_valid",
    "import_visits",
    "match_people",
    "reconcile",
    "record_visit",
    "registry_changes",
    "visit_measures",
]


def demo_extend(ctx):
    """Demo extension entry point (see ``fangcang.visits.demo``)."""
    from .demo import demo_extend as _extend

    return _extend(ctx)


def demo_prepare(ctx):
    """Demo extension entry point: the visits written (see ``fangcang.visits.demo``)."""
    from .demo import demo_prepare as _prepare

    return _prepare(ctx)


def demo_reconcile(ctx):
    """Demo side extension: the visits reconciled ahead (see ``fangcang.visits.demo``)."""
    from .demo import demo_reconcile as _reconcile

    return _reconcile(ctx)


def import_visits(session, path, **kwargs):
    """Import visits.csv (see ``fangcang.visits.csvimport.import_visits``)."""
    from .csvimport import import_visits as _import

    return _import(session, path, **kwargs)
