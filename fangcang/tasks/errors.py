"""Errors of the task loop, each with a message a page can show as it is."""

from __future__ import annotations


class ConflictError(RuntimeError):
    """Someone else changed the record since the caller read it (optimistic concurrency).

    Attributes
    ----------
    kind, record_id : what was changed; expected, actual : the versions involved.
    """

    def __init__(self, kind: str, record_id: int, expected: int | None, actual: int | None):
        self.kind, self.record_id, self.expected, self.actual = kind, record_id, expected, actual
        versions = f"your version {expected}" + (f", now {actual}" if actual is not None else "")
        super().__init__(
            f"{kind} {record_id} was changed by someone else since you opened it "
            f"({versions}); nothing was saved: reload and try again"
        )


class TransitionError(ValueError):
    """A state change that the state machine does not allow (e.g. rating an open item)."""
