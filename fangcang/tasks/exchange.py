"""Exchange with the mobile terminal system: open items out as CSV, feedback in as CSV.

The contract is in docs/data-contract.md ("Task exchange with the mobile terminal"). The
feedback file is read with the importer's reader (``fangcang.importer``), so encodings, header
aliases, typed cells and the error report (file, row, column, value, reason) are those of every
other import. A file with any error changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, spreadsheet
from ..access import Permission, Viewer, can
from ..importer import Field, FileSpec, RowError, format_errors, read_table
from ..models.tasks import FeedbackResult, ItemState, TaskItem
from ..timeutil import now_local
from . import items as items_mod
from .items import NOTE_MAX, OPEN_STATES

EXPORT_COLUMNS = [
    "item_id",
    "version",
    "officer_id",
    "community_id",
    "community_name",
    "branch",
    "title",
    "instructions",
    "urgent",
    "state",
    "dispatched_at",
    "deadline",
]
_FEEDBACK_FROM = {ItemState.DISPATCHED, ItemState.ACCEPTED, ItemState.RETURNED}

RESULT_CHOICES = {
    "done": "done",
    "已完成": "done",
    "完成": "done",
    "partial": "partial",
    "部分完成": "partial",
    "unable": "unable",
    "无法完成": "unable",
    "未完成": "unable",
}


def _check_items(frame: pd.DataFrame, ctx: dict) -> list[tuple]:
    """Cross-checks against the database: the item exists, is the officer's, is open, the
    version matches, a non-done result has a note, the time is not in the future."""
    known: dict[int, TaskItem] = ctx["items"]
    now: datetime = ctx["now"]
    out: list[tuple] = []
    for row, rec in frame.iterrows():
        iid = rec["item_id"]
        if pd.isna(iid):
            continue
        item = known.get(int(iid))
        if item is None:
            out.append(([row], "item_id", [iid], "no such task item (or not yours to import)"))
            continue
        if not pd.isna(rec["officer_id"]) and rec["officer_id"] != item.officer_id:
            out.append(
                (
                    [row],
                    "officer_id",
                    [rec["officer_id"]],
                    f"item {int(iid)} is assigned to officer {item.officer_id}",
                )
            )
        if item.state not in _FEEDBACK_FROM:
            out.append(
                (
                    [row],
                    "item_id",
                    [iid],
                    f"item {int(iid)} is {item.state.value}; feedback is not possible",
                )
            )
        if not pd.isna(rec["version"]) and int(rec["version"]) != item.version:
            out.append(
                (
                    [row],
                    "version",
                    [rec["version"]],
                    f"item {int(iid)} changed since the export (now version {item.version})",
                )
            )
        if rec["result"] in ("partial", "unable") and (pd.isna(rec["note"]) or not rec["note"]):
            out.append(([row], "note", [""], f"a {rec['result']} result needs a note saying why"))
        at = rec["fed_back_at"]
        if not pd.isna(at):
            if at > now:
                out.append(([row], "fed_back_at", [at], "feedback time is in the future"))
            elif at < item.dispatched_at:
                out.append(([row], "fed_back_at", [at], "feedback time is before the dispatch"))
    return out


FEEDBACK_SPEC = FileSpec(
    "task_feedback",
    key="item_id",
    fields=(
        Field(
            "item_id",
            "int",
            True,
            aliases=("任务编号", "任务ID"),
            min=1,
            description="task item id from the export",
        ),
        Field(
            "officer_id",
            "string",
            True,
            aliases=("民警编号", "警号"),
            max_length=32,
            description="the officer the item is assigned to",
        ),
        Field(
            "result",
            "enum",
            True,
            aliases=("结果", "完成情况"),
            choices=RESULT_CHOICES,
            description="Chinese accepted: 已完成/完成, 部分完成, 无法完成/未完成",
        ),
        Field(
            "note",
            "string",
            False,
            aliases=("备注", "情况说明"),
            default="",
            max_length=NOTE_MAX,
            description="what was found; required unless done",
        ),
        Field(
            "count_done",
            "int",
            False,
            aliases=("数量", "完成数量"),
            min=0,
            max=100_000,
            description="how many households, places, persons were covered",
        ),
        Field(
            "fed_back_at",
            "datetime",
            False,
            aliases=("反馈时间",),
            description="when the officer reported (default: import time)",
        ),
        Field(
            "version",
            "int",
            False,
            aliases=("版本",),
            min=1,
            description="item version from the export; a mismatch is a conflict",
        ),
    ),
    checks=(_check_items,),
    description="Feedback from the mobile terminal, one row per task item.",
)


class FeedbackImportError(ValueError):
    """A feedback file with errors; ``errors`` lists every one; nothing was imported."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__(f"{len(errors)} error(s), nothing imported:\n" + format_errors(errors))


@dataclass
class FeedbackImport:
    file: str
    rows: int
    item_ids: list[int]


def open_items_frame(session: Session, viewer: Viewer) -> pd.DataFrame:
    """Open items the viewer may see, in the export contract's columns (oldest deadline first).

    Not audited: for a page that audits on the download click (``ui.export``).
    """
    df = items_mod.items_frame(session, viewer, states=OPEN_STATES)
    df = df.sort_values(["deadline", "id"]).rename(columns={"id": "item_id"})
    return df[EXPORT_COLUMNS].reset_index(drop=True)


def export_open_items(session: Session, viewer: Viewer) -> pd.DataFrame:
    """``open_items_frame`` for a file written now, audited as ``export.task_items``.

    Callers write it with ``to_csv_bytes``.
    """
    out = open_items_frame(session, viewer)
    audit.log(
        session,
        actor=viewer.username,
        action="export.task_items",
        target=viewer.scope.label,
        detail={"rows": len(out)},
    )
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM (what Excel and WPS open correctly), ISO times to the second, formulas
    defused (``fangcang.spreadsheet``)."""
    return spreadsheet.csv_bytes(df, date_format="%Y-%m-%d %H:%M:%S")


def import_feedback(
    session: Session,
    source: str | Path | bytes,
    viewer: Viewer,
    *,
    file: str | None = None,
    now: datetime | None = None,
) -> FeedbackImport:
    """Validate and apply a feedback file (all rows or none).

    Parameters
    ----------
    source : path or bytes
        CSV (UTF-8, BOM, GB18030) or XLSX.
    viewer : Viewer
        A dispatcher importing for officers, or an officer importing their own.

    Raises
    ------
    FeedbackImportError
        Listing every problem (file, row, column, value, reason); nothing is changed.
    """
    if not (can(viewer.role, Permission.FEEDBACK) or can(viewer.role, Permission.DISPATCH)):
        raise PermissionError(f"role {viewer.role.value} cannot import task feedback")
    now = now or now_local()
    known = {
        it.id: it
        for it in session.scalars(select(TaskItem).where(items_mod.visible_clause(viewer)))
    }
    from ..importer.limits import for_path

    table = read_table(
        source,
        FEEDBACK_SPEC,
        file=file,
        context={"items": known, "now": now},
        limits=for_path("exchange"),
    )
    if not table.errors and table.rows == 0:
        table.errors.append(RowError(table.file, None, "", "", "the file has no data rows"))
    if table.errors:
        raise FeedbackImportError(table.errors)
    done: list[int] = []
    for _, rec in table.frame.iterrows():
        at = rec["fed_back_at"]
        items_mod.feedback(
            session,
            int(rec["item_id"]),
            viewer,
            result=FeedbackResult(rec["result"]),
            note="" if pd.isna(rec["note"]) else str(rec["note"]),
            count_done=None if pd.isna(rec["count_done"]) else int(rec["count_done"]),
            expected_version=None if pd.isna(rec["version"]) else int(rec["version"]),
            at=now if pd.isna(at) else pd.Timestamp(at).to_pydatetime(),
        )
        done.append(int(rec["item_id"]))
    audit.log(
        session,
        actor=viewer.username,
        action="import.task_feedback",
        target=table.file,
        detail={"rows": len(done)},
    )
    return FeedbackImport(file=table.file, rows=len(done), item_ids=done)
