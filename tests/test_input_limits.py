"""Hostile and clumsy input (issue 17 §1, §4): bounded memory, limits checked before the
expensive work, and bad files never importing "ok" on any input path.

Small bad files live in tests/data/hardening/; large ones are generated here.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fangcang import feeds, uploads
from fangcang.config import get_import_limits
from fangcang.importer import Field, FileSpec, import_bundle, read_table, validate_bundle
from fangcang.importer import kinds as K
from fangcang.importer.example import frames, write_example_bundle
from fangcang.importer.limits import extract_zip, for_path, shorten
from fangcang.importer.reader import write_errors
from fangcang.models import Community, ImportLog, ImportStatus, Person, SubDistrict
from fangcang.websafe import UploadError

DATA = Path(__file__).parent / "data" / "hardening"

SPEC = FileSpec(
    "sample",
    key="item_id",
    fields=(
        Field("item_id", required=True),
        Field("note"),
        Field("occurred_at", "datetime"),
        Field("planned_on", "date", future=True),
    ),
)


@pytest.fixture(autouse=True)
def _reports(tmp_path, monkeypatch):
    monkeypatch.setenv("FANGCANG_REPORTS_DIR", str(tmp_path / "reports"))


def _csv(tmp_path, name: str, text_: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text_ if isinstance(text_, bytes) else text_.encode("utf-8"))
    return path


def _file_error(table) -> str:
    (err,) = table.errors
    assert err.row is None
    return err.reason


def _bundle_with(tmp_path, name: str, replace: dict[str, str], engine=None) -> Path:
    """The example bundle with some files replaced by files from tests/data/hardening."""
    folder = write_example_bundle(tmp_path / name)
    for target, source in replace.items():
        shutil.copy(DATA / source, folder / target)
    return folder


def _rejected(engine, folder) -> tuple:
    """Import ``folder`` and check it failed, changed nothing and left an import-log row."""
    with Session(engine) as s:
        people = s.scalar(select(func.count()).select_from(Person))
        logs = s.scalar(select(func.count()).select_from(ImportLog))
    result = import_bundle(engine, folder, actor="tester")
    assert result.status == ImportStatus.FAILED, result.report
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Person)) == people
        assert s.scalar(select(func.count()).select_from(ImportLog)) == logs + 1
        log = s.scalars(select(ImportLog).order_by(ImportLog.id.desc())).first()
        assert log.status == ImportStatus.FAILED
    return result, result.errors


# ---------------------------------------------------------------------------------------------
# §4 Mixed encodings
# ---------------------------------------------------------------------------------------------
def test_utf8_start_then_gbk_rows_is_an_error_naming_the_first_bad_line():
    table = read_table(DATA / "people_utf8_then_gbk.csv", K.PEOPLE.spec)
    reason = _file_error(table)
    assert "mixed encodings" in reason and "line 3" in reason
    assert table.valid.empty


def test_gbk_file_with_a_utf8_row_is_an_error_naming_that_line():
    table = read_table(DATA / "people_gbk_then_utf8.csv", K.PEOPLE.spec)
    reason = _file_error(table)
    assert "mixed encodings" in reason and "line 5 is UTF-8" in reason


def test_a_whole_gbk_file_still_reads(tmp_path):
    text_ = frames()["people"].to_csv(index=False)
    table = read_table(_csv(tmp_path, "people.csv", text_.encode("gbk")), K.PEOPLE.spec)
    assert table.ok and table.encoding == "gb18030"
    assert table.frame["name"].iloc[0] == "张三"


def test_mixed_encoding_bundle_imports_nothing(engine, tmp_path):
    folder = _bundle_with(tmp_path, "b", {"people.csv": "people_utf8_then_gbk.csv"})
    _, errors = _rejected(engine, folder)
    assert any("mixed encodings" in e.reason and e.file == "people.csv" for e in errors)


# ---------------------------------------------------------------------------------------------
# §4 Repeated headers, control characters, future times
# ---------------------------------------------------------------------------------------------
def test_exact_duplicate_header_is_an_error(engine, tmp_path):
    table = read_table(DATA / "incidents_duplicate_header.csv", K.INCIDENTS.spec)
    reason = _file_error(table)
    assert "'loss_yuan' appears 2 times" in reason
    folder = _bundle_with(tmp_path, "b", {"incidents.csv": "incidents_duplicate_header.csv"})
    _, errors = _rejected(engine, folder)
    assert any("appears 2 times" in e.reason for e in errors)


def test_duplicate_header_in_xlsx_is_an_error(tmp_path):
    frame = pd.DataFrame([["A1", "x", "y"]], columns=["item_id", "note", "note "])
    path = tmp_path / "sample.xlsx"
    frame.to_excel(path, index=False)
    assert "'note' appears 2 times" in _file_error(read_table(path, SPEC))


def test_control_characters_are_rejected_in_every_cell(engine, tmp_path):
    table = read_table(DATA / "people_control_chars.csv", K.PEOPLE.spec)
    got = {(e.row, e.column): e for e in table.errors}
    assert "U+0000" in got[(2, "name")].reason
    assert "\x00" not in got[(2, "name")].value  # shown masked / escaped, never raw
    assert "U+001B" in got[(4, "house_id")].reason and "\\x1b" in got[(4, "house_id")].value
    # also in a column the spec does not know (it is written back in rejected-row files)
    path = _csv(tmp_path, "s.csv", "item_id,extra\nA1,ok\nA2,bad\x07bell\n")
    (err,) = read_table(path, SPEC).errors
    assert (err.row, err.column) == (3, "extra") and "U+0007" in err.reason
    folder = _bundle_with(tmp_path, "b", {"people.csv": "people_control_chars.csv"})
    _rejected(engine, folder)


def test_future_times_are_rejected_beyond_the_tolerance(engine, tmp_path, monkeypatch):
    table = read_table(DATA / "people_future.csv", K.PEOPLE.spec)
    got = {(e.row, e.column): e.reason for e in table.errors}
    assert got[(3, "updated_at")].startswith("in the future")
    assert got[(5, "birth_date")].startswith("in the future")
    table = read_table(DATA / "incidents_future.csv", K.INCIDENTS.spec)
    assert [(e.row, e.column) for e in table.errors] == [(2, "occurred_at")]
    # the tolerance: an hour ahead passes with the default day, fails with none
    from fangcang.timeutil import now_local

    soon = (now_local() + pd.Timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S")
    path = _csv(tmp_path, "s.csv", f"item_id,occurred_at,planned_on\nA1,{soon},2099-01-01\n")
    assert read_table(path, SPEC).ok  # planned_on is declared future=True
    monkeypatch.setenv("FANGCANG_IMPORT_FUTURE_TOLERANCE_MINUTES", "0")
    (err,) = read_table(path, SPEC).errors
    assert err.column == "occurred_at"
    monkeypatch.delenv("FANGCANG_IMPORT_FUTURE_TOLERANCE_MINUTES")
    folder = _bundle_with(
        tmp_path, "b", {"people.csv": "people_future.csv", "incidents.csv": "incidents_future.csv"}
    )
    _rejected(engine, folder)


# ---------------------------------------------------------------------------------------------
# §4 GeoJSON: malformed documents and polygons outside the range points must meet
# ---------------------------------------------------------------------------------------------
def test_polygon_outside_the_mainland_range_is_rejected(engine, tmp_path):
    write_example_bundle(tmp_path / "good")
    assert import_bundle(engine, tmp_path / "good").status == ImportStatus.OK
    with Session(engine) as s:
        before = {sd.code: sd.geometry for sd in s.scalars(select(SubDistrict))}
    folder = _bundle_with(tmp_path, "b", {"communities.geojson": "communities_far_polygon.geojson"})
    _, errors = _rejected(engine, folder)
    (err,) = [e for e in errors if e.column == "geometry"]
    assert err.row == 2 and "outside the accepted lon/lat range" in err.reason
    with Session(engine) as s:  # the sub-district outlines were not rewritten
        assert {sd.code: sd.geometry for sd in s.scalars(select(SubDistrict))} == before


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("communities_malformed.geojson", "not a GeoJSON Feature object"),
        ("communities_deep.geojson", "levels deep"),
        ("communities_not_json.geojson", "not valid JSON"),
    ],
)
def test_malformed_geojson_is_a_validation_error(engine, tmp_path, source, expected):
    folder = _bundle_with(tmp_path, "b", {"communities.geojson": source})
    result, errors = _rejected(engine, folder)
    assert any(expected in e.reason for e in errors), result.report
    if source == "communities_malformed.geojson":
        got = {(e.row, e.column): e.reason for e in errors if e.file == "communities.geojson"}
        assert "properties must be an object" in got[(3, "properties")]
        assert got[(4, "name")] == "a list or object, not a value"
        # an unusable feature is reported once, not as every required property missing
        assert [c for (r, c) in got if r in (2, 3)] == ["", "properties"]


def test_cli_import_of_malformed_geojson_has_no_traceback(sqlite_engine, tmp_path, monkeypatch):
    import subprocess
    import sys

    folder = _bundle_with(tmp_path, "b", {"communities.geojson": "communities_deep.geojson"})
    env = {**os.environ, "FANGCANG_DB_URL": sqlite_engine.url.render_as_string(False)}
    run = subprocess.run(
        [sys.executable, "-m", "fangcang", "import", "--quiet", str(folder)],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parent.parent,
        timeout=300,
    )
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    assert "levels deep" in run.stdout
    with Session(sqlite_engine) as s:
        log = s.scalars(select(ImportLog).order_by(ImportLog.id.desc())).first()
        assert log.status == ImportStatus.FAILED and "levels deep" in log.message


# ---------------------------------------------------------------------------------------------
# §4 Zips and bundle folders
# ---------------------------------------------------------------------------------------------
ZIP_CASES = [
    ("bundle_truncated.zip", "not a valid zip archive"),
    ("bundle_crc.zip", "CRC"),
    ("bundle_encrypted.zip", "encrypted"),
    ("bundle_case_twins.zip", "differ only in upper/lower case"),
]


@pytest.mark.parametrize(("source", "expected"), ZIP_CASES)
def test_bad_zip_upload_is_a_plain_message(tmp_path, source, expected):
    data = (DATA / source).read_bytes()
    with pytest.raises(UploadError) as info:
        uploads.save_upload([(source, data)], tmp_path / "up" / "bundle")
    message = str(info.value)
    assert expected in message and message.startswith(source)
    assert str(tmp_path) not in message and "/tmp" not in message and "Traceback" not in message


@pytest.mark.parametrize(("source", "expected"), ZIP_CASES)
def test_bad_zip_in_a_feed_is_failed_and_logged(engine, tmp_path, source, expected):
    dept = tmp_path / "inbox" / "公安户籍"
    dept.mkdir(parents=True)
    shutil.copy(DATA / source, dept / source)
    old = 1_000_000_000
    os.utime(dept / source, (old, old))
    (out,) = feeds.poll_once(engine, tmp_path / "inbox", settle_seconds=5)
    assert out.status == ImportStatus.FAILED and expected in out.message
    with Session(engine) as s:
        log = s.get(ImportLog, out.log_id)
        assert log.status == ImportStatus.FAILED and expected in log.message


def test_zip_limits_are_checked_before_extracting(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("people.csv", b"0" * (30 * 1024 * 1024))  # 30 MB of zeros: ~30 KB packed
    with pytest.raises(UploadError, match="zip bomb"):
        extract_zip(bomb, tmp_path / "out")
    assert not (tmp_path / "out" / "people.csv").exists()
    monkeypatch.setenv("FANGCANG_IMPORT_MAX_ZIP_MEMBERS", "2")
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(3):
            zf.writestr(f"f{i}.csv", "a\n1\n")
    with pytest.raises(UploadError, match="FANGCANG_IMPORT_MAX_ZIP_MEMBERS"):
        extract_zip(many, tmp_path / "out2")


def test_symlinked_file_in_a_bundle_folder_is_an_error(engine, tmp_path):
    folder = write_example_bundle(tmp_path / "b")
    secret = tmp_path / "secret.csv"
    shutil.move(folder / "people.csv", secret)
    (folder / "people.csv").symlink_to(secret)
    result, errors = _rejected(engine, folder)
    assert [(e.file, e.reason) for e in errors if e.file == "people.csv"] == [
        ("people.csv", "a symbolic link: bundle files must be plain files")
    ]


def test_case_twins_in_a_bundle_folder_are_an_error(engine, tmp_path):
    folder = write_example_bundle(tmp_path / "b")
    shutil.copy(folder / "people.csv", folder / "PEOPLE.CSV")
    _, errors = _rejected(engine, folder)
    assert any("differing only in upper/lower case" in e.reason for e in errors)


# ---------------------------------------------------------------------------------------------
# §1 Bounded: duplicate groups, listing caps, limits before parsing, short messages
# ---------------------------------------------------------------------------------------------
def test_thirty_thousand_copies_of_one_id_are_one_short_error(engine, tmp_path):
    inc = frames()["incidents"]
    big = pd.concat([inc.iloc[[0]]] * 30_000, ignore_index=True)
    folder = write_example_bundle(tmp_path / "b")
    big.to_csv(folder / "incidents.csv", index=False)
    table = read_table(folder / "incidents.csv", K.INCIDENTS.spec)
    (err,) = table.errors
    assert err.row == 2 and "30,000 rows share it (rows 2, 3, 4, 5, 6, … and 29,995 more)" in (
        err.reason
    )
    assert len(table.bad_rows) == 30_000 and table.valid.empty
    result, _ = _rejected(engine, folder)
    assert result.rejected == 30_000
    assert len(result.report) < 5_000
    assert result.error_report.stat().st_size < 5_000
    # partial: every copy is rejected and explained in the rejected-rows file
    partial = import_bundle(engine, folder, partial=True)
    rejected = pd.read_csv(partial.rejected_dir / "incidents.csv", dtype=str)
    assert len(rejected) == 30_000
    assert rejected["_errors"].iloc[-1].startswith("incident_id: duplicate id in this file")


def test_errors_are_listed_up_to_the_limits_and_counted_beyond(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("FANGCANG_IMPORT_MAX_ERRORS_PER_FILE", "10")
    monkeypatch.setenv("FANGCANG_IMPORT_MAX_ERRORS", "15")
    folder = write_example_bundle(tmp_path / "b")
    inc = pd.DataFrame(
        {
            "incident_id": [f"X{i}" for i in range(100)],
            "occurred_at": "yesterday",
            "category": "criminal",
            "community_id": "C001",
        }
    )
    inc.to_csv(folder / "incidents.csv", index=False)
    people = frames()["people"]
    people["gender"] = "?"
    people.to_csv(folder / "people.csv", index=False)
    report = validate_bundle(engine, folder)
    per_file = pd.Series([e.file for e in report.errors]).value_counts().to_dict()
    assert per_file == {"people.csv": 8, "incidents.csv": 7}  # 15 in total
    assert report.unlisted == {"incidents.csv": 93}
    assert report.error_count == 108 and report.rejected == 108
    assert "incidents.csv: 93 more errors not listed" in report.text()
    path = write_errors(report.errors, tmp_path / "errors.csv", report.unlisted)
    last = pd.read_csv(path, dtype=str).iloc[-1]
    assert last["file"] == "incidents.csv" and last["reason"].startswith("93 more errors")


def test_a_five_megabyte_cell_is_never_echoed_whole(tmp_path):
    huge = "甲" * (5 * 1024 * 1024)
    path = _csv(tmp_path, "s.csv", f"item_id,note\nA1,{huge}\n")
    (err,) = read_table(path, SPEC).errors
    assert "longer than 4,000 characters" in err.reason
    assert len(err.value) < 200 and "5,242,880 characters" in err.value
    assert len(str(err)) < 600
    # a 5 MB header is shortened wherever it is quoted
    path = _csv(tmp_path, "h.csv", f"item_id,{huge},{huge}\nA1,x,y\n")
    (err,) = read_table(path, SPEC).errors
    assert len(str(err)) < 1000


def test_too_many_columns_is_refused_before_parsing(tmp_path):
    header = ",".join(f"c{i}" for i in range(100_000))
    path = _csv(tmp_path, "s.csv", f"item_id,{header}\nA1\n")
    assert "FANGCANG_IMPORT_MAX_COLUMNS" in _file_error(read_table(path, SPEC))


def test_row_limit_for_csv_and_xlsx(tmp_path, monkeypatch):
    monkeypatch.setenv("FANGCANG_IMPORT_MAX_ROWS", "100")
    frame = pd.DataFrame({"item_id": [f"A{i}" for i in range(150)]})
    frame.to_csv(tmp_path / "s.csv", index=False)
    assert "FANGCANG_IMPORT_MAX_ROWS" in _file_error(read_table(tmp_path / "s.csv", SPEC))
    frame.to_excel(tmp_path / "s.xlsx", index=False)
    assert "FANGCANG_IMPORT_MAX_ROWS" in _file_error(read_table(tmp_path / "s.xlsx", SPEC))


def _xlsx_with_sheet(sheet_xml: bytes, template: Path) -> bytes:
    """A copy of ``template`` (an XLSX) whose first sheet is ``sheet_xml``."""
    out = io.BytesIO()
    with zipfile.ZipFile(template) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml
            dst.writestr(info.filename, data)
    return out.getvalue()


def test_xlsx_bombs_are_refused_before_parsing(tmp_path):
    template = tmp_path / "t.xlsx"
    pd.DataFrame({"item_id": ["A1"]}).to_excel(template, index=False)
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        b'.org/spreadsheetml/2006/main">'
    )
    # a sheet that declares two million rows
    declared = head + b'<dimension ref="A1:A2000000"/><sheetData><row r="1"><c r="A1" '
    declared += b't="inlineStr"><is><t>item_id</t></is></c></row></sheetData></worksheet>'
    path = tmp_path / "declared.xlsx"
    path.write_bytes(_xlsx_with_sheet(declared, template))
    assert "declares 1,999,999 rows" in _file_error(read_table(path, SPEC))
    # a sheet that expands hundreds of times (two million identical rows, no dimension)
    rows = b'<row><c t="inlineStr"><is><t>A</t></is></c></row>' * 400_000
    bomb = head + b"<sheetData>" + rows + b"</sheetData></worksheet>"
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(_xlsx_with_sheet(bomb, template))
    assert path.stat().st_size < 1_000_000
    assert "zip bomb" in _file_error(read_table(path, SPEC))


def test_xlsx_is_streamed_and_stops_at_the_row_limit(tmp_path, monkeypatch):
    frame = pd.DataFrame({"item_id": [f"A{i}" for i in range(300)], "note": "x"})
    frame.loc[5, "note"] = None
    path = tmp_path / "s.xlsx"
    frame.to_excel(path, index=False)
    table = read_table(path, SPEC)
    assert table.ok and table.rows == 300 and table.frame["note"].isna().sum() == 1
    monkeypatch.setenv("FANGCANG_IMPORT_MAX_ROWS", "200")
    assert "more than 200 rows" in _file_error(read_table(path, SPEC)) or "declares" in (
        _file_error(read_table(path, SPEC))
    )


def test_visits_and_exchange_have_their_own_row_limits(monkeypatch):
    monkeypatch.setenv("FANGCANG_EXCHANGE_MAX_ROWS", "7")
    monkeypatch.setenv("FANGCANG_VISITS_MAX_ROWS", "9")
    assert for_path("exchange").max_rows == 7 and for_path("visits").max_rows == 9
    assert for_path("bundle").max_rows == get_import_limits().max_rows


def test_an_invalid_limit_names_its_variable(monkeypatch):
    monkeypatch.setenv("FANGCANG_IMPORT_MAX_ROWS", "lots")
    with pytest.raises(ValueError, match="FANGCANG_IMPORT_MAX_ROWS"):
        get_import_limits()


def test_shorten():
    assert shorten("a\x00b") == "a\\x00b"
    assert shorten("x" * 1000).endswith("… (1,000 characters)")


def test_no_database_change_on_any_bad_file_sqlite_and_pg(engine, tmp_path):
    """Every bad file above, together: nothing written but one failed import-log row."""
    folder = _bundle_with(
        tmp_path,
        "b",
        {
            "people.csv": "people_control_chars.csv",
            "incidents.csv": "incidents_duplicate_header.csv",
            "communities.geojson": "communities_malformed.geojson",
        },
    )
    _rejected(engine, folder)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM communities")).scalar() == 0
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Community)) == 0


@pytest.mark.parametrize(("source", "expected"), ZIP_CASES[:3])
def test_data_hub_page_shows_a_plain_message_for_a_damaged_zip(
    sqlite_engine, monkeypatch, source, expected
):
    from streamlit.testing.v1 import AppTest

    from fangcang.access import Role, Scope, Viewer

    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    page = str(Path(__file__).parent.parent / "pages" / "data_hub.py")
    at = AppTest.from_file(page, default_timeout=60)
    at.session_state["viewer"] = Viewer(username="admin", role=Role.ADMIN, scope=Scope.district())
    at.run()
    data = (DATA / source).read_bytes()
    at.file_uploader(key="hub_upload").upload(source, data, "application/zip")
    at.run()
    assert not at.exception, at.exception
    (error,) = at.error
    assert expected in error.value and source in error.value
    assert "/tmp" not in error.value and "Traceback" not in error.value
    assert not [b for b in at.button if b.key == "hub_import"]


def test_planned_dates_may_lie_in_the_future(tmp_path):
    """Patrol plans are planned: their dates are declared ``future=True`` (not errors)."""
    from fangcang.alcohol.files import PATROL_PLANS

    path = _csv(
        tmp_path,
        "patrol_plans.csv",
        "plan_id,point_id,unit,days,start_time,end_time,starts_on,ends_on\n"
        "PL1,PT1,巡特警一队,5-7,20:00,02:00,2099-01-01,2099-12-31\n",
    )
    from dataclasses import replace

    table = read_table(path, replace(PATROL_PLANS, checks=()))  # (its checks need the database)
    assert table.frame["ends_on"].notna().all()
    assert not [e for e in table.errors if "future" in e.reason]
