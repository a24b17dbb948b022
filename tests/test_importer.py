"""The import bundle and the reusable file reader (fangcang.importer)."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest

from fangcang.importer import Field, FileSpec, format_errors, read_table, write_errors
from fangcang.importer.reader import id_check_digit_ok
from fangcang.models import IncidentCategory

SPEC = FileSpec(
    "sample",
    key="item_id",
    fields=(
        Field("item_id", required=True, aliases=("编号",)),
        Field("occurred_at", "datetime", required=True, aliases=("发生时间",)),
        Field("category", "enum", required=True, choices=IncidentCategory, aliases=("警情类别",)),
        Field("day", "date", aliases=("日期",)),
        Field("lon", "lon", aliases=("经度",)),
        Field("lat", "lat", aliases=("纬度",)),
        Field("count", "int", default=0, min=0, aliases=("数量",)),
        Field("flag", "bool", default=False, aliases=("涉酒",)),
        Field("id_number", "id_number", aliases=("身份证号",)),
    ),
)


def _write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


# ---------------------------------------------------------------------------------------------
# The reader (FileSpec / read_table), reused by other features
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_reader_accepts_chinese_headers_in_each_encoding(tmp_path, encoding):
    path = _write(
        tmp_path / "sample.csv",
        "编号,发生时间,警情类别,经度,纬度,数量,涉酒\nA1,2025/3/1 8:30,刑事,120.6,28.0,3,是\n",
        encoding,
    )
    table = read_table(path, SPEC)
    assert table.errors == []
    row = table.valid.loc[2]
    assert row["item_id"] == "A1"
    assert row["occurred_at"] == pd.Timestamp(datetime(2025, 3, 1, 8, 30))
    assert row["category"] == "criminal"
    assert row["count"] == 3 and bool(row["flag"]) is True
    assert table.encoding == ("gb18030" if encoding in ("gb18030", "gbk") else "utf-8")


def test_reader_reports_every_bad_cell_with_row_column_value_reason(tmp_path):
    path = _write(
        tmp_path / "sample.csv",
        "item_id,occurred_at,category,day,lon,lat,count,flag,id_number\n"
        "A1,2025-01-01 00:00,criminal,2025-01-01,120.6,28.0,1,0,11010519491231002X\n"
        "A2,2025-02-30 08:00,burglary,2025-13-01,abc,128,1.5,maybe,110105194912310021\n"
        "A1,2025-01-01,traffic,,,,-1,,12345\n",
    )
    table = read_table(path, SPEC)
    got = {(e.row, e.column, e.value): e.reason for e in table.errors}
    assert got[(3, "occurred_at", "2025-02-30 08:00")].startswith("not a valid date/time")
    assert got[(3, "category", "burglary")].startswith("unknown value")
    assert got[(3, "day", "2025-13-01")].startswith("not a valid date")
    assert got[(3, "lon", "abc")] == "not a number"
    assert "out of range" in got[(3, "lat", "128")]
    assert got[(3, "count", "1.5")] == "not a whole number"
    assert got[(3, "flag", "maybe")].startswith("not a yes/no")
    assert "check digit" in got[(3, "id_number", "110105194912310021")]
    assert "17 digits" in got[(4, "id_number", "12345")]
    assert "out of range" in got[(4, "count", "-1")]
    # both copies of a duplicate id are reported, naming each other
    assert got[(2, "item_id", "A1")] == "duplicate id in this file (rows 2, 4)"
    assert got[(4, "item_id", "A1")] == "duplicate id in this file (rows 2, 4)"
    assert table.bad_rows == {2, 3, 4}
    assert table.valid.empty
    text = format_errors(table.errors, limit=3)
    assert text.splitlines()[0].startswith("sample.csv row 2, column item_id, value 'A1'")
    assert text.endswith(f"... and {len(table.errors) - 3} more (see the full report file)")


def test_reader_file_level_errors(tmp_path):
    missing = read_table(_write(tmp_path / "a.csv", "item_id,category\nA1,criminal\n"), SPEC)
    assert [e.column for e in missing.errors] == ["occurred_at"]
    assert missing.errors[0].row is None
    assert "missing required column occurred_at (发生时间)" in missing.errors[0].reason

    empty = read_table(_write(tmp_path / "b.csv", ""), SPEC)
    assert "empty file" in empty.errors[0].reason
    header_only = read_table(_write(tmp_path / "c.csv", "item_id,occurred_at,category\n"), SPEC)
    assert "no data rows" in header_only.errors[0].reason


def test_reader_rejects_undecodable_bytes_naming_the_position(tmp_path):
    # Latin-1 bytes after a header: neither UTF-8 nor GB18030 (0xFF is never valid in either).
    data = b"item_id,occurred_at,category\nA1,2025-01-01 00:00,\xff\xfe\n"
    table = read_table(_write_bytes(tmp_path / "sample.csv", data), SPEC)
    (err,) = table.errors
    assert err.row is None and "offset 49" in err.reason and "line 2" in err.reason
    # A UTF-8 file with one damaged byte is not silently re-read as GB18030.
    good = "item_id,occurred_at,category\n" + "".join(
        f"测试{i},2025-01-01 00:00,刑事\n" for i in range(10)
    )
    damaged = good.encode("utf-8") + b"\xe6\xb5,2025-01-01 00:00,\xe5\x88\x91\n"
    (err,) = read_table(_write_bytes(tmp_path / "d.csv", damaged), SPEC).errors
    assert "damaged UTF-8" in err.reason and "line 12" in err.reason


def _write_bytes(path, data: bytes):
    path.write_bytes(data)
    return path


def test_reader_xlsx_first_sheet(tmp_path):
    path = tmp_path / "sample.xlsx"
    frame = pd.DataFrame(
        {
            "编号": ["A1", "A2"],
            "发生时间": [datetime(2025, 3, 1, 8, 30), "2025-03-02 09:00:00"],
            "警情类别": ["治安", "public_order"],
            "日期": [date(2025, 3, 1), None],
            "数量": [2, None],
            "身份证号": ["11010519491231002X", None],
        }
    )
    with pd.ExcelWriter(path) as writer:
        frame.to_excel(writer, index=False, sheet_name="first")
        pd.DataFrame({"x": [1]}).to_excel(writer, index=False, sheet_name="second")
    table = read_table(path, SPEC)
    assert table.errors == []
    assert list(table.valid["category"]) == ["public_order", "public_order"]
    assert table.valid.loc[2, "occurred_at"] == pd.Timestamp(2025, 3, 1, 8, 30)
    assert table.valid.loc[2, "day"] == date(2025, 3, 1)
    assert list(table.valid["count"]) == [2, 0]


def test_reader_converts_explicit_offsets_to_local_time(tmp_path):
    path = _write(
        tmp_path / "sample.csv",
        "item_id,occurred_at,category\nA1,2025-01-31T16:00:00Z,fire\nA2,2025-01-31T23:59:00+08:00,fire\n",
    )
    table = read_table(path, SPEC)
    assert table.errors == []
    assert list(table.valid["occurred_at"]) == [
        pd.Timestamp(2025, 2, 1, 0, 0),
        pd.Timestamp(2025, 1, 31, 23, 59),
    ]


def test_id_check_digit():
    ok = id_check_digit_ok(pd.Series(["11010519491231002X", "110105194912310021", "x"]))
    assert list(ok) == [True, False, False]


def test_write_errors_round_trip(tmp_path):
    table = read_table(
        _write(tmp_path / "sample.csv", "item_id,occurred_at,category\nA,bad,x\n"), SPEC
    )
    out = write_errors(table.errors, tmp_path / "r" / "errors.csv")
    back = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert list(back.columns) == ["file", "row", "column", "value", "reason"]
    assert len(back) == len(table.errors) == 2
