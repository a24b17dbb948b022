"""The import bundle and the reusable file reader (fangcang.importer)."""

from __future__ import annotations

import json
from datetime import date, datetime

import pandas as pd
import pytest
from importer_support import DATA_TABLES, snapshot
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangcang import db
from fangcang.importer import (
    BundleError,
    Field,
    FileSpec,
    format_errors,
    import_bundle,
    read_table,
    stable_station_id,
    validate_bundle,
    write_errors,
)
from fangcang.importer.example import frames, write_example_bundle
from fangcang.importer.reader import id_check_digit_ok
from fangcang.models import (
    AuditEntry,
    Community,
    Event,
    House,
    ImportLog,
    ImportStatus,
    Incident,
    IncidentCategory,
    Officer,
    Person,
    Place,
    Station,
    SubDistrict,
)
from fangcang.timeutil import from_timestamp

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
        "A1,2025-01-01,traffic,,,,-1,,12345\n"
        "A5,2025-01-01,traffic,,,,99999999999999999999,,\n",
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
    assert "out of range" in got[(5, "count", "99999999999999999999")]
    # a duplicate id is reported once, at its first row, naming every copy; all are rejected
    assert got[(2, "item_id", "A1")] == "duplicate id in this file: 2 rows share it (rows 2, 4)"
    assert (4, "item_id", "A1") not in got
    assert table.bad_rows == {2, 3, 4, 5}
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
    assert table.valid.loc[2, "day"] == pd.Timestamp(date(2025, 3, 1))
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


# ---------------------------------------------------------------------------------------------
# The bundle
# ---------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _reports(tmp_path, monkeypatch):
    monkeypatch.setenv("FANGCANG_REPORTS_DIR", str(tmp_path / "reports"))


def _bundle(tmp_path, name="bundle", **kw):
    return write_example_bundle(tmp_path / name, **kw)


def _import_ok(engine, folder, **kw):
    result = import_bundle(engine, folder, **kw)
    assert result.status == ImportStatus.OK, result.report
    return result


def test_example_bundle_imports_everything(engine, tmp_path):
    result = _import_ok(engine, _bundle(tmp_path), actor="alice")
    assert result.counts == {
        "officers": 2,
        "communities": 4,
        "houses": 5,
        "people": 8,
        "places": 4,
        "objects": 2,
        "events": 2,
        "incidents": 8,
    }
    assert result.rejected == 0 and result.error_report is None
    with Session(engine) as s:
        # streets by name (五马街道) and by code (330302026), from data/lucheng_divisions.csv
        comms = {c.community_id: c for c in s.scalars(select(Community))}
        assert comms["C001"].sub_district_code == "330302006"
        assert comms["C003"].sub_district_code == "330302026"
        sd = s.get(SubDistrict, "330302006")
        assert sd.name == "五马街道" and sd.kind.value == "street"
        assert json.loads(sd.geometry)["type"] in ("Polygon", "MultiPolygon")
        # stations named only by name get a stable id
        wuma = stable_station_id("五马派出所")
        assert s.get(Station, wuma).name == "五马派出所"
        assert comms["C001"].station_id == wuma
        assert s.get(Officer, "O01").station_id == wuma
        assert comms["C001"].centroid_lon == pytest.approx(120.61)
        # points without community_id are placed by point-in-polygon
        assert s.get(House, "H005").community_id == "C001"
        assert s.get(Place, "PL2").community_id == "C002"
        assert s.get(Event, "E2").community_id == "C003"
        placed = {i.incident_id: i.community_id for i in s.scalars(select(Incident))}
        assert [placed[f"I00{k}"] for k in (4, 5, 6, 7)] == ["C001", "C004", "C003", "C002"]
        # Chinese reserved subtypes are not needed here; English values are stored as given
        assert s.get(Incident, "I004").subtype == "telecom_fraud"
        assert s.get(Incident, "I002").alcohol_related is True
        assert s.get(Person, "P001").updated_at == datetime(2026, 10, 1, 8, 0)
        # import log, audit entry and data version
        log = s.scalars(select(ImportLog)).one()
        assert log.status == ImportStatus.OK and log.actor == "alice" and log.id == result.log_id
        assert json.loads(log.files)["people.csv"] == 8
        assert json.loads(log.counts)["incidents"] == 8
        assert log.duration_s is not None and log.finished_at >= log.started_at
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "import.bundle")).one()
        assert json.loads(entry.detail)["status"] == "ok"
        assert db.data_version(s) == 1


def test_same_bundle_twice_leaves_the_same_database(engine, tmp_path):
    folder = _bundle(tmp_path)
    _import_ok(engine, folder)
    first = snapshot(engine)
    again = _import_ok(engine, folder)
    assert snapshot(engine) == first
    assert sum(again.inserted.values()) == 0
    assert again.updated["people"] == 8  # equal updated_at: overwritten with the same values
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ImportLog)) == 2
        assert db.data_version(s) == 2


def _people_csv(folder, **changes):
    people = frames()["people"]
    for col, value in changes.items():
        people.loc[people["person_id"] == "P001", col] = value
    people[people["person_id"] == "P001"].to_csv(folder / "people.csv", index=False)


def test_newer_updated_at_wins_older_is_ignored_equal_overwrites(engine, tmp_path):
    _import_ok(engine, _bundle(tmp_path))
    folder = tmp_path / "update"
    folder.mkdir()

    def name_now():
        with Session(engine) as s:
            return s.get(Person, "P001").name

    _people_csv(folder, name="旧名字", updated_at="2026-09-01 08:00:00")  # older
    result = _import_ok(engine, folder)
    assert result.unchanged["people"] == 1 and name_now() == "张三"

    _people_csv(folder, name="同时间", updated_at="2026-10-01 08:00:00")  # equal
    result = _import_ok(engine, folder)
    assert result.updated["people"] == 1 and name_now() == "同时间"

    _people_csv(folder, name="新名字", updated_at="2026-10-02 08:00:00")  # newer
    result = _import_ok(engine, folder)
    assert result.updated["people"] == 1 and name_now() == "新名字"
    with Session(engine) as s:
        assert s.get(Person, "P001").updated_at == datetime(2026, 10, 2, 8, 0)


def test_missing_updated_at_defaults_to_the_file_time_so_reimport_is_stable(engine, tmp_path):
    folder = _bundle(tmp_path)
    people = frames()["people"].drop(columns=["updated_at"])
    people.to_csv(folder / "people.csv", index=False)
    _import_ok(engine, folder)
    first = snapshot(engine)
    _import_ok(engine, folder)
    assert snapshot(engine) == first
    # the file's time in local time (Asia/Shanghai), not the server's zone
    mtime = from_timestamp((folder / "people.csv").stat().st_mtime).replace(microsecond=0)
    with Session(engine) as s:
        assert s.get(Person, "P001").updated_at == mtime


def test_chinese_headers_gb18030_and_xlsx_bundle(engine, tmp_path):
    folder = _bundle(tmp_path, only=["communities", "officers"])
    f = frames()
    f["people"].rename(
        columns={
            "person_id": "人员编号",
            "name": "姓名",
            "id_number": "身份证号",
            "phone": "联系电话",
            "gender": "性别",
            "residence_type": "人口类型",
            "community_id": "社区编号",
            "key_person_type": "重点人员类型",
        }
    ).assign(性别=["男", "女"] * 4, 人口类型=["户籍", "流动", "户籍", "境外"] * 2).to_csv(
        folder / "people.csv", index=False, encoding="gb18030"
    )
    incidents = f["incidents"].rename(
        columns={
            "incident_id": "警情编号",
            "occurred_at": "发生时间",
            "category": "警情类别",
            "subtype": "警情细类",
            "lon": "经度",
            "lat": "纬度",
            "community_id": "社区编号",
            "alcohol_related": "是否涉酒",
        }
    )
    incidents["警情类别"] = ["刑事", "治安", "纠纷", "刑事", "交通", "火灾", "刑事", "求助"]
    incidents["警情细类"] = ["盗窃", "殴打他人", "", "电信网络诈骗", "", "", "盗窃", ""]
    incidents["是否涉酒"] = ["否", "是", "否", "否", "是", "否", "否", "否"]
    incidents.to_excel(folder / "incidents.xlsx", index=False)
    result = _import_ok(engine, folder)
    assert result.counts["people"] == 8 and result.counts["incidents"] == 8
    with Session(engine) as s:
        p = s.get(Person, "P002")
        assert (p.gender.value, p.residence_type.value) == ("female", "floating")
        assert s.get(Person, "P001").key_person_type.value == "drugs"
        i = s.get(Incident, "I002")
        assert (i.category.value, i.subtype, i.alcohol_related) == ("public_order", "assault", True)
        assert s.get(Incident, "I004").subtype == "telecom_fraud"
        assert s.get(Incident, "I004").community_id == "C001"


# --- every bad input: a clear error naming file, row, column, value, reason; nothing changes
def _bad(engine, tmp_path, mutate) -> tuple:
    """Import the good bundle, then a broken copy; check nothing changed; return errors."""
    _import_ok(engine, _bundle(tmp_path))
    before = snapshot(engine)
    folder = _bundle(tmp_path, name="broken")
    mutate(folder)
    result = import_bundle(engine, folder, actor="bob")
    assert result.status == ImportStatus.FAILED
    assert snapshot(engine) == before
    assert result.counts == {}
    assert "nothing was imported" in result.report
    with Session(engine) as s:
        log = s.scalars(select(ImportLog).order_by(ImportLog.id.desc())).first()
        assert log.status == ImportStatus.FAILED and log.actor == "bob"
        assert log.rejected == result.rejected
        assert result.errors
        assert log.error_report == str(result.error_report)
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "import.bundle")).all()
        assert json.loads(entries[-1].detail)["status"] == "failed"
    written = pd.read_csv(
        result.error_report, encoding="utf-8-sig", dtype=str, keep_default_na=False
    )
    assert len(written) == len(result.errors)
    return result.errors


def _edit_csv(folder, name, fn):
    frame = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
    fn(frame)
    frame.to_csv(folder / f"{name}.csv", index=False)


def test_bad_wrong_encoding(engine, tmp_path):
    def mutate(folder):
        data = (folder / "officers.csv").read_bytes()
        (folder / "officers.csv").write_bytes(data.replace("王".encode(), b"\xff\xfe"))

    (err,) = _bad(engine, tmp_path, mutate)
    assert err.file == "officers.csv" and err.row is None
    assert "UTF-8" in err.reason and "line 2" in err.reason


def test_bad_missing_column(engine, tmp_path):
    (err,) = _bad(
        engine, tmp_path, lambda f: _edit_csv(f, "incidents", lambda d: d.pop("category"))
    )
    assert (err.file, err.row, err.column) == ("incidents.csv", None, "category")
    assert err.reason.startswith("missing required column category")


def test_bad_date(engine, tmp_path):
    def mutate(folder):
        _edit_csv(
            folder,
            "incidents",
            lambda d: d.__setitem__(
                "occurred_at", d["occurred_at"].where(d.index != 2, "2025-02-30 10:00")
            ),
        )

    (err,) = _bad(engine, tmp_path, mutate)
    assert (err.file, err.row, err.column, err.value) == (
        "incidents.csv",
        4,
        "occurred_at",
        "2025-02-30 10:00",
    )
    assert "not a valid date/time" in err.reason
    # one error in one row, in English that reads "1 error in 1 row" (not "1 rows")
    with Session(engine) as s:
        report = s.scalars(select(ImportLog).order_by(ImportLog.id.desc())).first().message
    assert "1 error in 1 row:" in report and "1 row rejected" in report
    assert "1 rows" not in report and "1 errors" not in report


def test_bad_unknown_category(engine, tmp_path):
    def mutate(folder):
        _edit_csv(
            folder,
            "incidents",
            lambda d: d.__setitem__("category", d["category"].where(d.index != 0, "抢劫")),
        )

    (err,) = _bad(engine, tmp_path, mutate)
    assert (err.row, err.column, err.value) == (2, "category", "抢劫")
    assert err.reason.startswith("unknown value (allowed: assistance, criminal")


def test_bad_duplicate_id_reported_once_naming_every_copy(engine, tmp_path):
    def mutate(folder):
        _edit_csv(
            folder,
            "people",
            lambda d: d.__setitem__("person_id", d["person_id"].where(d.index != 5, "P001")),
        )

    errs = _bad(engine, tmp_path, mutate)
    assert [(e.row, e.column, e.value) for e in errs] == [(2, "person_id", "P001")]
    assert errs[0].reason == "duplicate id in this file: 2 rows share it (rows 2, 7)"
    result = import_bundle(engine, tmp_path / "broken", partial=True)
    assert result.rejected == 2  # both copies are rejected


def test_bad_point_outside_the_district(engine, tmp_path):
    def mutate(folder):
        _edit_csv(
            folder,
            "incidents",
            lambda d: d.__setitem__("lon", d["lon"].where(d.index != 3, "120.90")),
        )

    (err,) = _bad(engine, tmp_path, mutate)
    assert (err.row, err.column, err.value) == (5, "lon", "120.9, 28.01")
    assert err.reason == "point (lon, lat) is outside every community of the district"


def test_bad_broken_geometry(engine, tmp_path):
    def mutate(folder):
        doc = json.loads((folder / "communities.geojson").read_text(encoding="utf-8"))
        # a bow-tie: the ring crosses itself
        doc["features"][1]["geometry"]["coordinates"] = [
            [[120.62, 28.0], [120.64, 28.02], [120.64, 28.0], [120.62, 28.02], [120.62, 28.0]]
        ]
        doc["features"][2]["geometry"] = {"type": "Polygon", "coordinates": [[[1, 2]]]}
        (folder / "communities.geojson").write_text(json.dumps(doc), encoding="utf-8")

    errs = _bad(engine, tmp_path, mutate)
    geo_errs = [e for e in errs if e.file == "communities.geojson"]
    assert [(e.row, e.column) for e in geo_errs] == [(2, "geometry"), (3, "geometry")]
    assert "invalid geometry: Self-intersection" in geo_errs[0].reason
    assert "broken geometry" in geo_errs[1].reason


def test_bad_empty_file(engine, tmp_path):
    (err,) = _bad(engine, tmp_path, lambda f: (f / "houses.csv").write_bytes(b""))
    assert (err.file, err.row) == ("houses.csv", None) and "empty file" in err.reason


def test_bad_unknown_references_and_id_number(engine, tmp_path):
    def mutate(folder):
        _edit_csv(
            folder,
            "people",
            lambda d: d.__setitem__("community_id", d["community_id"].where(d.index != 0, "C999")),
        )
        _edit_csv(
            folder,
            "people",
            lambda d: d.__setitem__(
                "id_number", d["id_number"].where(d.index != 1, "330302198001010011")
            ),
        )
        doc = json.loads((folder / "communities.geojson").read_text(encoding="utf-8"))
        doc["features"][0]["properties"]["officer_id"] = "O77"
        doc["features"][1]["properties"]["street"] = "不存在街道"
        (folder / "communities.geojson").write_text(
            json.dumps(doc, ensure_ascii=False), encoding="utf-8"
        )

    errs = _bad(engine, tmp_path, mutate)
    got = {(e.file, e.row, e.column): e.reason for e in errs}
    assert got[("communities.geojson", 1, "officer_id")] == "unknown officer_id"
    assert got[("communities.geojson", 2, "street")].startswith("unknown sub-district")
    assert got[("people.csv", 2, "community_id")] == "unknown community_id"
    assert "check digit" in got[("people.csv", 3, "id_number")]
    # personal values are masked in reports (row and column locate the cell)
    (bad_id,) = [e for e in errs if e.column == "id_number"]
    assert bad_id.value == "330302********0011"


def test_errors_are_capped_in_print_but_all_in_the_report_file(engine, tmp_path):
    def mutate(folder):
        big = pd.DataFrame(
            {
                "incident_id": [f"X{i}" for i in range(120)],
                "occurred_at": "yesterday",
                "category": "criminal",
                "community_id": "C001",
            }
        )
        big.to_csv(folder / "incidents.csv", index=False)

    errs = _bad(engine, tmp_path, mutate)
    assert len(errs) == 120
    result = import_bundle(engine, tmp_path / "broken")
    shown = [line for line in result.report.splitlines() if line.startswith("incidents.csv row")]
    assert len(shown) == 50
    assert "... and 70 more (see the full report file)" in result.report
    assert f"full error list: {result.error_report}" in result.report


def test_partial_imports_good_rows_and_writes_rejected_ones(engine, tmp_path):
    folder = _bundle(tmp_path)
    _edit_csv(
        folder,
        "incidents",
        lambda d: d.__setitem__("category", d["category"].where(d.index != 0, "抢劫")),
    )
    result = import_bundle(engine, folder, partial=True)
    assert result.status == ImportStatus.PARTIAL
    assert result.counts["incidents"] == 7 and result.rejected == 1
    rejected = pd.read_csv(result.rejected_dir / "incidents.csv", encoding="utf-8-sig", dtype=str)
    assert list(rejected["_row"]) == ["2"] and "category" in rejected["_errors"][0]
    assert list(rejected.columns[2:]) == list(frames()["incidents"].columns)
    with Session(engine) as s:
        assert s.get(Incident, "I001") is None and s.get(Incident, "I002") is not None
        assert s.scalars(select(ImportLog)).one().status == ImportStatus.PARTIAL


def test_partial_cascade_rejects_children_of_rejected_parents(engine, tmp_path):
    folder = _bundle(tmp_path)
    doc = json.loads((folder / "communities.geojson").read_text(encoding="utf-8"))
    doc["features"][3]["geometry"] = {"type": "Point", "coordinates": [120.6, 28.0]}
    (folder / "communities.geojson").write_text(
        json.dumps(doc, ensure_ascii=False), encoding="utf-8"
    )
    result = import_bundle(engine, folder, partial=True)
    assert result.status == ImportStatus.PARTIAL
    assert result.counts["communities"] == 3
    got = {(e.file, e.row, e.column) for e in result.errors}
    assert ("communities.geojson", 4, "geometry") in got
    assert ("people.csv", 8, "community_id") in got  # P007 lives in C004
    assert ("incidents.csv", 6, "lon") in got  # I005's point lies in C004: now outside


def test_strict_mode_reports_only_the_root_cause(engine, tmp_path):
    folder = _bundle(tmp_path)
    doc = json.loads((folder / "communities.geojson").read_text(encoding="utf-8"))
    doc["features"][3]["properties"]["officer_id"] = "O99"
    (folder / "communities.geojson").write_text(
        json.dumps(doc, ensure_ascii=False), encoding="utf-8"
    )
    result = import_bundle(engine, folder)
    assert [(e.file, e.row, e.column) for e in result.errors] == [
        ("communities.geojson", 4, "officer_id")
    ]


def test_shared_border_placement_is_deterministic(engine, tmp_path):
    folder = _bundle(tmp_path, only=["communities", "officers"])
    pd.DataFrame(
        {
            "incident_id": ["B1", "B2", "B3", "B4"],
            "occurred_at": "2026-01-01 10:00:00",
            "category": "other",
            "lon": [120.62, 120.62, 120.63, 120.60],  # C001|C002 border, the 4-way corner,
            "lat": [28.01, 28.02, 28.02, 28.01],  # C002|C004 border, C001's outer edge
        }
    ).to_csv(folder / "incidents.csv", index=False)
    _import_ok(engine, folder)
    with Session(engine) as s:
        got = {i.incident_id: i.community_id for i in s.scalars(select(Incident))}
    assert got == {"B1": "C001", "B2": "C001", "B3": "C002", "B4": "C001"}


def test_validate_bundle_writes_nothing(engine, tmp_path):
    folder = _bundle(tmp_path)
    before = snapshot(engine)
    report = validate_bundle(engine, folder)
    assert report.ok and report.accepted["people"] == 8
    assert report.files["incidents.csv"] == 8
    assert snapshot(engine) == before
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(ImportLog)) == 0
        assert db.data_version(s) == 0
    (folder / "incidents.csv").write_text("incident_id\nI1\n", encoding="utf-8")
    report = validate_bundle(engine, folder)
    assert not report.ok and "missing required column occurred_at" in report.text()


def test_local_sub_district_codes_beside_standard_ones_are_noted(engine, tmp_path):
    local = tmp_path / "local"
    local.mkdir()
    _write(local / "sub_districts.csv", "code,name\nNT01,南塘街道\n")
    # only local codes: one unnamed district, nothing to say
    assert validate_bundle(engine, local).ok
    assert not any("name no district" in n for n in validate_bundle(engine, local).notes)
    result = _import_ok(engine, _bundle(tmp_path))  # standard codes only
    assert "name no district" not in result.report
    report = validate_bundle(engine, local)
    assert report.ok
    (note,) = [n for n in report.notes if "name no district" in n]
    assert note.startswith("1 of 3 sub-district codes") and "南塘街道 (NT01)" in note
    assert "330302" not in note and "hot-spot analysis" in note
    assert "南塘街道 (NT01)" in import_bundle(engine, local).report
    # a rejected row (no code) is an error, never a code in the note
    _write(local / "sub_districts.csv", "code,name\nNT02,北塘街道\n,无编号街道\n")
    report = validate_bundle(engine, local)
    assert not report.ok
    (note,) = [n for n in report.notes if "name no district" in n]
    assert note.startswith("2 of 4 sub-district codes") and "北塘街道 (NT02)" in note
    assert "nan" not in note and "无编号" not in note


def test_raise_on_error_and_empty_folder(engine, tmp_path):
    (tmp_path / "empty").mkdir()
    result = import_bundle(engine, tmp_path / "empty")
    assert result.status == ImportStatus.FAILED and "no bundle files found" in result.report
    with pytest.raises(BundleError) as info:
        import_bundle(engine, tmp_path / "empty", raise_on_error=True)
    assert info.value.result.status == ImportStatus.FAILED
    with pytest.raises(FileNotFoundError):
        import_bundle(engine, tmp_path / "nowhere")


def test_progress_reaches_one(engine, tmp_path):
    seen = []
    _import_ok(engine, _bundle(tmp_path), progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_data_contract_document_matches_the_specs():
    from pathlib import Path

    from fangcang.importer.contract import all_tables

    doc = (Path(__file__).resolve().parent.parent / "docs" / "data-contract.md").read_text(
        encoding="utf-8"
    )
    for name, table in all_tables().items():
        assert f"## {name}" in doc
        assert table in doc, f"docs/data-contract.md is out of date for {name}"


def test_bulk_path_rebuilds_indexes_on_empty_tables(engine, tmp_path, monkeypatch):
    from sqlalchemy import inspect

    from fangcang.importer import load

    def index_names():
        insp = inspect(engine)
        return {t: sorted(ix["name"] for ix in insp.get_indexes(t)) for t in DATA_TABLES}

    before = index_names()
    monkeypatch.setattr(load, "INDEX_REBUILD_ROWS", 2)  # take the big-load path on tiny data
    _import_ok(engine, _bundle(tmp_path))
    assert index_names() == before
    with Session(engine) as s:
        assert s.get(Person, "P003").community_id == "C002"
    again = _import_ok(engine, _bundle(tmp_path, name="again"))  # upsert path, tables full
    assert again.updated["people"] == 8 and index_names() == before
