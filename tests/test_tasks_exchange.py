"""CSV exchange with the mobile terminal: export open items, import feedback, round trip and
bad input (each bad file names file, row, column, value and reason and changes nothing)."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import func, select

from fangcang.models import AuditEntry
from fangcang.models.tasks import Cycle, ItemState, TaskHistory, TaskItem
from fangcang.tasks import (
    FeedbackImportError,
    dispatch_cycle,
    evaluate,
    export_open_items,
    feedback,
    import_feedback,
    to_csv_bytes,
)
from fangcang.tasks.exchange import EXPORT_COLUMNS
from tests.tasks_support import DISPATCHER, NOW, OFFICE, admitted, build_district

LATER = NOW.replace(hour=18)


@pytest.fixture
def district(session, factory):
    d = build_district(factory)
    admitted(session)
    dispatch_cycle(session, Cycle.WEEKLY, DISPATCHER, on=NOW, now=NOW)
    session.flush()
    return d


def _ids(session):
    return {it.community_id: it.id for it in session.scalars(select(TaskItem))}


def _csv(rows: list[dict], encoding="utf-8") -> bytes:
    return pd.DataFrame(rows).to_csv(index=False).encode(encoding)


def test_export_open_items(session, district):
    ids = _ids(session)
    feedback(session, ids["C04"], district.officer_viewer(2), result="done")
    all_open = export_open_items(session, DISPATCHER)
    assert list(all_open.columns) == EXPORT_COLUMNS
    assert sorted(all_open["community_id"]) == ["C01", "C02", "C03"]  # C04 is no longer open
    mine = export_open_items(session, district.officer_viewer(0))
    assert sorted(mine["community_id"]) == ["C01", "C02"]
    data = to_csv_bytes(mine)
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel/WPS open it as UTF-8
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig")
    assert back["deadline"].iloc[0] == "2026-11-22 23:59:59"
    assert (
        session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.action == "export.task_items")
        )
        == 2
    )


def test_round_trip_export_then_import_feedback(session, district):
    exported = export_open_items(session, district.officer_viewer(0))
    filled = exported[["item_id", "officer_id", "version"]].assign(
        result=["done", "partial"],
        note=["全部走访", "一户无人"],
        count_done=[30, 12],
        fed_back_at=["2026-11-18 15:00:00", "2026-11-18 16:30:00"],
    )
    res = import_feedback(session, to_csv_bytes(filled), DISPATCHER, file="feedback.csv", now=LATER)
    assert res.rows == 2 and sorted(res.item_ids) == sorted(exported["item_id"].tolist())
    got = {it.community_id: it for it in session.scalars(select(TaskItem))}
    assert got["C01"].state is ItemState.FED_BACK and got["C01"].count_done == 30
    assert got["C02"].note == "一户无人" and got["C02"].fed_back_at.hour == 16
    assert got["C03"].state is ItemState.DISPATCHED
    # The same file again: those items are no longer open and changed since the export.
    with pytest.raises(FeedbackImportError) as err:
        import_feedback(session, to_csv_bytes(filled), DISPATCHER, file="feedback.csv", now=LATER)
    assert "feedback is not possible" in str(err.value)
    # Exported again after the round trip, those items are gone from the open list.
    assert sorted(export_open_items(session, DISPATCHER)["community_id"]) == ["C03", "C04"]


def test_chinese_headers_labels_and_gbk(session, district):
    ids = _ids(session)
    text = f"任务编号,民警编号,结果,备注,数量\n{ids['C03']},O2,已完成,完成排查,5\n"
    res = import_feedback(
        session, text.encode("gb18030"), district.officer_viewer(1), file="反馈.csv", now=LATER
    )
    assert res.rows == 1
    assert session.get(TaskItem, ids["C03"]).result.value == "done"


def _expect_errors(session, data: bytes, *, file="fb.csv", viewer=DISPATCHER):
    before = (
        session.scalar(select(func.count()).select_from(TaskHistory)),
        sorted((i.id, i.state.value, i.version) for i in session.scalars(select(TaskItem))),
    )
    with pytest.raises(FeedbackImportError) as err:
        import_feedback(session, data, viewer, file=file, now=LATER)
    after = (
        session.scalar(select(func.count()).select_from(TaskHistory)),
        sorted((i.id, i.state.value, i.version) for i in session.scalars(select(TaskItem))),
    )
    assert before == after  # nothing changed
    return err.value.errors


def test_bad_rows_are_named_and_change_nothing(session, district):
    ids = _ids(session)
    feedback(session, ids["C04"], district.officer_viewer(2), result="done")
    evaluate(session, ids["C04"], OFFICE, rating="qualified")
    rows = [
        dict(item_id=ids["C01"], officer_id="O1", result="done", note="", version=1),  # good
        dict(item_id=99999, officer_id="O1", result="done", note="", version=""),
        dict(item_id=ids["C02"], officer_id="O2", result="done", note="", version=""),
        dict(item_id=ids["C03"], officer_id="O2", result="maybe", note="", version=""),
        dict(item_id=ids["C04"], officer_id="O3", result="done", note="", version=""),
    ]
    errors = _expect_errors(session, _csv(rows))
    got = {(e.row, e.column): e for e in errors}
    assert got[(3, "item_id")].reason.startswith("no such task item")
    assert got[(3, "item_id")].value == "99999" and got[(3, "item_id")].file == "fb.csv"
    assert "assigned to officer O1" in got[(4, "officer_id")].reason
    assert got[(5, "result")].value == "maybe"
    assert "is evaluated; feedback is not possible" in got[(6, "item_id")].reason
    assert 2 not in {e.row for e in errors}  # the good row is not blamed


@pytest.mark.parametrize(
    "mutate, where, reason",
    [
        (lambda r: r.update(result="partial", note=""), ("note",), "needs a note"),
        (lambda r: r.update(version=7), ("version",), "changed since the export"),
        (lambda r: r.update(fed_back_at="2030-01-01 10:00"), ("fed_back_at",), "in the future"),
        (
            lambda r: r.update(fed_back_at="2026-11-01 10:00"),
            ("fed_back_at",),
            "before the dispatch",
        ),
        (lambda r: r.update(fed_back_at="18/11/2026"), ("fed_back_at",), ""),
        (lambda r: r.update(count_done=-3), ("count_done",), ""),
        (lambda r: r.update(item_id="abc"), ("item_id",), ""),
    ],
)
def test_bad_cells(session, district, mutate, where, reason):
    ids = _ids(session)
    row = dict(
        item_id=ids["C01"],
        officer_id="O1",
        result="done",
        note="",
        count_done=3,
        fed_back_at="2026-11-18 12:00",
        version=1,
    )
    mutate(row)
    errors = _expect_errors(session, _csv([row]))
    assert [(e.row, e.column) for e in errors] == [(2, where[0])]
    assert reason in errors[0].reason


def test_bad_files(session, district):
    ids = _ids(session)
    missing = _expect_errors(session, b"item_id,officer_id\n1,O1\n")
    assert missing[0].row is None and missing[0].column == "result"
    empty = _expect_errors(session, b"item_id,officer_id,result\n")
    assert empty and empty[0].row is None
    dup = _expect_errors(
        session, _csv([dict(item_id=ids["C01"], officer_id="O1", result="done")] * 2)
    )
    assert {e.row for e in dup} == {2} and "2 rows share it (rows 2, 3)" in dup[0].reason
    # An officer cannot import feedback for someone else's item.
    other = _expect_errors(
        session,
        _csv([dict(item_id=ids["C03"], officer_id="O2", result="done")]),
        viewer=district.officer_viewer(0),
    )
    assert other[0].column == "item_id"
    with pytest.raises(PermissionError):
        import_feedback(session, b"", district.station_viewer(0), file="x.csv")


def test_data_contract_documents_the_exchange():
    from pathlib import Path

    from fangcang.importer.contract import file_table
    from fangcang.tasks import FEEDBACK_SPEC

    doc = (Path(__file__).resolve().parent.parent / "docs" / "data-contract.md").read_text("utf-8")
    assert "## Task exchange with the mobile terminal" in doc
    assert file_table(FEEDBACK_SPEC) in doc, (
        "docs/data-contract.md is out of date for task_feedback.csv"
    )
    for col in EXPORT_COLUMNS:
        assert f"`{col}`" in doc
