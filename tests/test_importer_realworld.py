"""Real department exports, one test per kind of fault (issue 12): header spellings, numbers
that should be text, one phone rule, spreadsheet artefacts, coordinate systems, personal data
in every error path, rejected-rows files, a fresh database."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import importer_support
import numpy as np
import openpyxl
import pandas as pd
import pytest
from importer_support import YANJIANG
from sqlalchemy import select
from sqlalchemy.orm import Session

from fangcang.importer import cells, import_bundle, read_table
from fangcang.importer.cells import normalize_codes
from fangcang.importer.kinds import INCIDENTS, PEOPLE
from fangcang.models import AuditEntry, ImportLog, Incident
from fangcang.phone import normalize_phone, normalize_phones

HEAD = "人员编号,姓名,身份证号,联系电话,人口类型,社区编号\n"

demo_base = importer_support.demo_base
district = importer_support.district


def _people(tmp_path: Path, rows: str, name: str = "people.csv", encoding="utf-8") -> Path:
    folder = tmp_path / "b"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(HEAD + rows, encoding=encoding)
    return folder


# --- headers ----------------------------------------------------------------------------------
def test_full_width_and_spacing_in_headers(tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text(
        "警情编号,报警时间,警情类别,社区ＩＤ, 损失（元） ,Updated At\n"
        + "J1,2026-11-02 21:15:00,治安,330302028001,12,2026-11-03 08:00:00\n",
        encoding="utf-8",
    )
    table = read_table(path, INCIDENTS.spec)
    assert table.ok, table.errors
    row = table.frame.iloc[0]
    assert row["community_id"] == "330302028001" and row["loss_yuan"] == 12.0
    assert str(row["updated_at"]) == "2026-11-03 08:00:00"
    assert table.unused_columns == []


def test_full_width_enum_values():
    table = read_table(
        "incident_id,occurred_at,category,community_id\n"
        "J1,2026-11-02 21:15:00,ＣＲＩＭＩＮＡＬ,C1\n".encode(),
        INCIDENTS.spec,
        file="incidents.csv",
    )
    assert table.ok and table.frame.iloc[0]["category"] == "criminal"


# --- phones -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+86-13800138000", "13800138000"),
        ("0086 13800138000", "13800138000"),
        ("0577-88886666", "0577-88886666"),  # Wenzhou landline
        ("(0577) 8888 6666", "0577-88886666"),
        ("010-12345678", "010-12345678"),  # Beijing: two-digit area code
        ("+44 20 7946 0958", "+442079460958"),  # another country: E.164
    ],
)
def test_one_phone_rule_stores_one_canonical_form(written, stored):
    assert normalize_phone(written) == (stored, None)


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("88886666", "area code"),
        ("14012345678", "mobile"),
        ("1380013800", "valid"),
        ("138001380001", "valid"),
        ("电话13800138000", "not a phone"),
    ],
)
def test_invalid_phones_are_explained(written, why):
    canon, reason = normalize_phone(written)
    assert canon is None and why in reason


def test_phone_column_vectorised_matches_one_by_one():
    values = pd.Series(["13800138000", "+86 139 0013 9000", "", None, "88886666", "0577-8888 6666"])
    canon, why = normalize_phones(values)
    for v, c, w in zip(values, canon, why, strict=True):
        expect = normalize_phone(v)
        assert (None if pd.isna(c) else c, None if pd.isna(w) else w) == expect


def test_invalid_phone_is_a_rejected_row_masked(district, tmp_path):
    folder = _people(tmp_path, "FR1,林小北,,1380013800,流动,330302028001\n")
    result = import_bundle(district, folder, actor="test")
    assert not result.ok
    (e,) = result.errors
    assert (e.row, e.column, e.value) == (2, "phone", "138***3800")


def test_officers_and_visits_use_the_same_phone_rule(tmp_path):
    from fangcang.importer.kinds import OFFICERS
    from fangcang.visits.csvimport import SPEC

    assert OFFICERS.spec.field("phone").type == PEOPLE.spec.field("phone").type == "phone"
    assert SPEC.field("resident_phone").type == "phone"
    t = read_table(
        "officer_id,name,station,phone\nM1,王警官,ST1,+86 138-0013-8000\n".encode(),
        OFFICERS.spec,
        file="officers.csv",
    )
    assert t.ok and t.frame.iloc[0]["phone"] == "13800138000"


# --- numbers that should be text --------------------------------------------------------------
def test_text_protection_and_excel_fractions_in_code_columns(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text(
        HEAD + '\'FR1,林小北,,="13800138000",流动,330302028001.0\n'
        "FR2,陈东东,,'13900139000,流动,3.30302028001E+11\n",
        encoding="utf-8",
    )
    t = read_table(path, PEOPLE.spec)
    assert t.frame.loc[2, "person_id"] == "FR1"
    assert t.frame.loc[2, "phone"] == "13800138000"
    assert t.frame.loc[2, "community_id"] == "330302028001"
    assert t.frame.loc[3, "phone"] == "13900139000"
    assert t.frame.loc[3, "community_id"] == "330302028001"  # 12 digits in a 12-digit mantissa
    assert t.ok, t.errors


def _xlsx(sheets: dict[str, list[list]], number_format: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
        if number_format:
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, int | float):
                        cell.number_format = number_format
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("number_format", ["General", "0"])
def test_numeric_id_cell_with_a_valid_check_digit_is_rejected(number_format):
    damaged = 330302199001012000  # what Excel kept: and its check digit happens to be right
    from fangcang.importer.reader import id_check_digit_ok

    assert id_check_digit_ok(pd.Series([str(damaged)])).all()
    data = _xlsx(
        {
            "人口": [
                ["人员编号", "姓名", "身份证号", "联系电话", "人口类型", "社区编号"],
                ["FR1", "张甲", float(damaged), 13800138000, "户籍", "330302028001"],
            ]
        },
        number_format,
    )
    t = read_table(data, PEOPLE.spec, file="people.xlsx")
    (e,) = t.errors
    assert (e.row, e.column) == (2, "id_number")
    assert "stored as a number by Excel" in e.reason
    shown = "3.30302E+17" if number_format == "General" else "330302199001012000"
    from fangcang.privacy import mask_id_number

    assert e.value == mask_id_number(shown)
    # the numeric phone cell lost nothing (11 digits): normalised, not rejected
    assert t.frame.loc[2, "phone"] == "13800138000"


# --- spreadsheet artefacts --------------------------------------------------------------------
def test_semicolon_csv_with_comma_only_rows_and_trailing_columns(tmp_path):
    path = tmp_path / "incidents.csv"
    path.write_text(
        "警情编号;报警时间;警情类别;社区编号;;\n"
        "J1;2026-11-02 21:15:00;治安;330302028001;;\n"
        ";;;;;\n"
        "J2;2026-11-02 22:40:00;盗抢;330302028001;;\n",
        encoding="utf-8",
    )
    t = read_table(path, INCIDENTS.spec)
    assert t.layout.delimiter == ";" and t.layout.skipped_rows == [3]
    assert t.layout.dropped_columns == 2 and t.unused_columns == []
    assert [(e.row, e.column) for e in t.errors] == [(4, "category")]
    assert list(t.frame.index) == [2, 4]


def test_xlsx_data_on_the_second_sheet_under_a_title_row():
    data = _xlsx(
        {
            "填表说明": [["本表由派出所每月导出"], ["警情类别请填写：刑事、治安……"]],
            "11月警情": [
                ["鹿城区2026年11月警情统计"],
                ["警情编号", "报警时间", "警情类别", "社区编号"],
                ["J1", "2026-11-02 21:15:00", "治安", "330302028001"],
                [None, None, None, None],
                ["J2", "2026-11-02 22:40:00", "盗抢", "330302028001"],
            ],
        }
    )
    t = read_table(data, INCIDENTS.spec, file="incidents.xlsx")
    assert (t.layout.sheet, t.layout.header_row) == ("11月警情", 2)
    assert t.layout.describe() == "sheet 11月警情 (2 of 2), header on row 2, empty rows skipped: 4"
    assert [(e.row, e.column) for e in t.errors] == [(5, "category")]
    assert t.frame.loc[3, "incident_id"] == "J1"


def test_utf16_without_tabs_and_gbk_semicolons(tmp_path):
    text = "警情编号,报警时间,警情类别,社区编号\nJ1,2026-11-02 21:15:00,治安,C1\n"
    t = read_table(text.encode("utf-16"), INCIDENTS.spec, file="incidents.csv")
    assert t.ok and t.layout.encoding == "utf-16" and t.layout.delimiter == ","
    t = read_table(text.replace(",", ";").encode("gb18030"), INCIDENTS.spec, file="incidents.csv")
    assert t.ok and t.layout.encoding == "gb18030" and t.layout.delimiter == ";"


def test_utf16_upload_passes_the_content_check():
    from fangcang.websafe import check_upload

    assert check_upload("incidents.csv", "警情编号\tx\n".encode("utf-16")) == ".csv"


# --- coordinate systems -----------------------------------------------------------------------
def test_conversion_round_trip_and_known_pair():
    from fangcang.importer.coords import from_wgs84, to_wgs84

    lon = np.array([120.6551, 120.70, 116.397])
    lat = np.array([28.0122, 28.00, 39.908])
    for system in ("gcj02", "bd09"):
        x, y = from_wgs84(lon, lat, system)
        assert np.abs(x - lon).max() > 0.003  # hundreds of metres off
        bx, by = to_wgs84(x, y, system)
        assert np.abs(bx - lon).max() < 1e-6 and np.abs(by - lat).max() < 1e-6  # < 0.1 m
    # The reference triple published with the formulas' implementations (eviltransform,
    # coordtransform in Go/JS/Rust/Java): WGS84 (116.404, 39.915) -> GCJ-02
    # (116.41024449916938, 39.91640428150164) -> BD-09 (116.41662724378733, 39.922699552216216)
    x, y = from_wgs84([116.404], [39.915], "gcj02")
    assert (x[0], y[0]) == pytest.approx((116.41024449916938, 39.91640428150164), abs=1e-12)
    x, y = from_wgs84([116.404], [39.915], "bd09")
    assert (x[0], y[0]) == pytest.approx((116.41662724378733, 39.922699552216216), abs=1e-12)
    x, y = to_wgs84([116.41662724378733], [39.922699552216216], "bd09")
    assert (x[0], y[0]) == pytest.approx((116.404, 39.915), abs=2e-6)  # ~0.2 m


def _incidents_gcj02(engine, tmp_path: Path, column: bool) -> tuple[Path, dict[str, str]]:
    """Incidents at the representative points of 30 communities, written in GCJ-02."""
    from fangcang import geo
    from fangcang.importer.coords import from_wgs84

    with Session(engine) as s:
        polys = geo.communities_frame(s).sort_values("community_id").head(30)
    pts = polys.geometry.representative_point()
    x, y = from_wgs84(pts.x.to_numpy(), pts.y.to_numpy(), "gcj02")
    ids = [f"G{i:03d}" for i in range(len(polys))]
    frame = pd.DataFrame(
        {
            "incident_id": ids,
            "occurred_at": "2026-11-02 21:15:00",
            "category": "治安",
            "lon": np.round(x, 6),
            "lat": np.round(y, 6),
        }
    )
    # half the rows name their community (they disagree with the shifted points)
    frame["社区编号"] = [c if i % 2 else "" for i, c in enumerate(polys["community_id"])]
    if column:
        frame["坐标系"] = "高德"
    folder = tmp_path / ("col" if column else "plain")
    folder.mkdir()
    frame.to_csv(folder / "incidents.csv", index=False)
    return folder, dict(zip(ids, polys["community_id"], strict=True))


def test_gcj02_incidents_file(district, tmp_path):
    folder, truth = _incidents_gcj02(district, tmp_path, column=False)
    result = import_bundle(district, folder, actor="test")
    assert not result.ok and "look like GCJ-02" in result.errors[0].reason
    # the bundle option
    (folder / "bundle.toml").write_text('coord_system = "gcj02"\n', encoding="utf-8")
    result = import_bundle(district, folder, actor="test")
    assert result.ok, result.report
    assert "converted from GCJ-02" in result.report
    with Session(district) as s:
        got = dict(s.execute(select(Incident.incident_id, Incident.community_id)).all())
        lon = s.scalar(select(Incident.lon).where(Incident.incident_id == "G000"))
    assert got == truth
    assert abs(lon - float(pd.read_csv(folder / "incidents.csv")["lon"][0])) > 0.003  # converted


def test_declared_wgs84_overrides_the_shift_detection(district, tmp_path, monkeypatch, capsys):
    """The user says the points are WGS84 (`--coord-system wgs84`, or the upload's choice): the
    file is read as declared, not rejected; the report says what the points look like."""
    from fangcang.cli import main

    folder, truth = _incidents_gcj02(district, tmp_path, column=False)
    result = import_bundle(district, folder, actor="test", coord_system="wgs84", partial=True)
    assert not any(e.row is None for e in result.errors), result.report
    assert "look like GCJ-02" not in " ".join(e.reason for e in result.errors)
    assert "read as declared (WGS-84" in result.report and "look like GCJ-02" in result.report
    with Session(district) as s:
        lon = s.scalar(select(Incident.lon).where(Incident.incident_id == "G001"))
    assert lon == float(pd.read_csv(folder / "incidents.csv")["lon"][1])  # not converted
    # the same through the command line (a bundle.toml saying gcj02 is overridden too)
    (folder / "bundle.toml").write_text('coord_system = "gcj02"\n', encoding="utf-8")
    monkeypatch.setenv("FANGCANG_DB_URL", district.url.render_as_string(hide_password=False))
    main(["import", "--quiet", "--partial", "--coord-system", "wgs84", str(folder)])
    out = capsys.readouterr().out
    assert "read as declared (WGS-84" in out and "points look like" not in out


def test_gcj02_per_row_column(district, tmp_path):
    folder, truth = _incidents_gcj02(district, tmp_path, column=True)
    result = import_bundle(district, folder, actor="test")
    assert result.ok, result.report
    with Session(district) as s:
        got = dict(s.execute(select(Incident.incident_id, Incident.community_id)).all())
    assert got == truth


def test_bad_options_file_is_an_error(district, tmp_path):
    folder = _people(tmp_path, "FR1,林小北,,,流动,330302028001\n")
    (folder / "bundle.toml").write_text('coord_system = "mars"\n', encoding="utf-8")
    result = import_bundle(district, folder, actor="test")
    assert not result.ok and "unknown coordinate system 'mars'" in result.errors[0].reason


# --- personal data in every error path --------------------------------------------------------
ID_BAD = "330302199001011236"  # wrong check digit
PHONE_BAD = "1380013800"


def test_masked_in_every_error_path(district, tmp_path, monkeypatch, capsys):
    from fangcang import uploads
    from fangcang.access import Scope
    from fangcang.cli import main

    folder = _people(tmp_path, f"FR1,林小北,{ID_BAD},{PHONE_BAD},流动,330302028001\n")
    # printed report (CLI), report file, import log
    monkeypatch.setenv("FANGCANG_DB_URL", str(district.url.render_as_string(hide_password=False)))
    code = main(["import", "--quiet", str(folder)])
    printed = capsys.readouterr().out
    assert code == 1
    with Session(district) as s:
        log = s.scalars(select(ImportLog).order_by(ImportLog.id.desc())).first()
    report_file = Path(log.error_report).read_text(encoding="utf-8-sig")
    # upload preview
    with Session(district) as s:
        check = uploads.check_upload_folder(s, folder, Scope.district())
    preview = uploads.error_frame(check.errors).to_csv()
    for text in (printed, report_file, log.message, preview):
        assert ID_BAD not in text and PHONE_BAD not in text and "林小北" not in text
        assert "330302********1236" in text and "138***3800" in text
    # the rejected-rows file keeps the originals, owner-only, listed, audited when read
    result = import_bundle(district, folder, actor="test", partial=True)
    assert result.status.value == "failed"  # nothing good to load: no partial import
    folder2 = _people(
        tmp_path,
        f"FR1,林小北,{ID_BAD},{PHONE_BAD},流动,330302028001\nFR2,陈东东,,,流动,{YANJIANG}\n",
    )
    result = import_bundle(district, folder2, actor="test", partial=True)
    assert result.status.value == "partial"
    path = next(result.rejected_dir.glob("*.csv"))
    assert (path.stat().st_mode & 0o777) == 0o600
    assert ID_BAD in path.read_text(encoding="utf-8-sig")  # kept for correction
    kept = uploads.rejected_files()
    assert path.name in set(kept["file"])
    with Session(district) as s:
        data = uploads.download_rejected(s, str(path), actor="admin")
        s.commit()
        audit = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "import.rejected_download")
        ).one()
    assert ID_BAD.encode() in data and audit.actor == "admin"
    with Session(district) as s, pytest.raises(ValueError):
        uploads.download_rejected(s, str(tmp_path / "elsewhere.csv"), actor="admin")


def test_rejected_rows_are_deleted_after_the_configured_days(tmp_path, monkeypatch):
    from fangcang.importer.rejected import list_rejected, write_private_csv

    monkeypatch.setenv("FANGCANG_REPORTS_DIR", str(tmp_path))
    monkeypatch.setenv("FANGCANG_REJECTED_KEEP_DAYS", "3")
    old = write_private_csv(pd.DataFrame({"a": [1]}), tmp_path / "import-1-rejected" / "x.csv")
    new = write_private_csv(pd.DataFrame({"a": [1]}), tmp_path / "import-2-rejected" / "y.csv")
    past = time.time() - 4 * 86400
    os.utime(old.parent, (past, past))
    kept = list_rejected()
    assert list(kept["file"]) == ["y.csv"] and new.exists() and not old.parent.exists()
    monkeypatch.setenv("FANGCANG_REJECTED_KEEP_DAYS", "soon")
    with pytest.raises(ValueError, match="FANGCANG_REJECTED_KEEP_DAYS"):
        list_rejected()


def test_upload_preview_shows_read_as_unused_columns_and_coordinate_hint(district, tmp_path):
    from fangcang import uploads
    from fangcang.access import Scope

    folder, _ = _incidents_gcj02(district, tmp_path, column=False)
    frame = pd.read_csv(folder / "incidents.csv")
    frame["录入人"] = "张三"
    frame.to_csv(folder / "incidents.csv", index=False, sep="\t")
    with Session(district) as s:
        check = uploads.check_upload_folder(s, folder, Scope.district())
        ff = check.file_frame()
        assert ff.loc[0, "read_as"] == "UTF-8, tab-separated, header on row 1"
        assert ff.loc[0, "unused_columns"] == "录入人"
        ((file, diag),) = check.coord_hints
        assert (file, diag.fits, diag.declared) == ("incidents.csv", "gcj02", "wgs84")
        again = uploads.check_upload_folder(s, folder, Scope.district(), coord_system="gcj02")
    assert again.ok and not again.coord_hints
    assert again.file_frame().loc[0, "coordinates"] == "gcj02"


# --- a fresh database -------------------------------------------------------------------------
def test_import_into_an_empty_database_creates_the_schema(tmp_path, monkeypatch, capsys):
    from fangcang.cli import main

    monkeypatch.setenv("FANGCANG_DB_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    monkeypatch.setenv("FANGCANG_REPORTS_DIR", str(tmp_path / "reports"))
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "stations.csv").write_text("station_id,name\nST1,五马派出所\n", encoding="utf-8")
    assert main(["import", "--quiet", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "empty database: created the schema" in out and "import ok" in out


def test_lost_digit_reasons_do_not_repeat_the_value():
    """The reason for a number Excel damaged never echoes the cell (a phone or an ID number):
    the value is shown once, masked, in the error's value column."""
    text, reason = normalize_codes(pd.Series(["1.38001E+10", "1234567890123456789.0"]))
    assert reason.notna().all()
    for r in reason:
        assert "38001" not in r and "1234567890" not in r


def test_a_short_number_in_an_id_column_is_not_an_id_number():
    """A phone (11 digits) in the ID-number column of a spreadsheet is not told that digits
    after the 15th were lost: it never was an ID number."""
    text = pd.Series(["13800138000", "1.38001E+10", "330302199001012000", "12345"])
    numeric = np.array([True, True, True, True])
    _, reason = normalize_codes(text, numeric, id_number=True)
    assert reason[0] == reason[1] == cells.NOT_AN_ID_NUMBER.format(n=11)
    assert "not an ID number" in reason[0] and "15th" not in reason[0]
    assert reason[2] == cells.LOST_NUMERIC_CELL  # 18 digits: the last ones are lost
    assert reason[3] == cells.NOT_AN_ID_NUMBER.format(n=5)
    for r in reason:
        assert "38001" not in r  # never echoes the value
    data = _xlsx(
        {
            "人口": [
                ["人员编号", "姓名", "身份证号", "联系电话", "人口类型", "社区编号"],
                ["FR1", "张甲", 13800138000, 13800138000, "户籍", "330302028001"],
            ]
        }
    )
    t = read_table(data, PEOPLE.spec, file="people.xlsx")
    (e,) = t.errors
    assert (e.row, e.column) == (2, "id_number")
    assert e.reason == cells.NOT_AN_ID_NUMBER.format(n=11)
