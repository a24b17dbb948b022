"""Every folder of tests/data/field-cases (copies of shared/field-cases, see PROVENANCE.md)
gives the right result its README names. The files use the small demo district's community
and house ids: each test imports the demo's generated communities first."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import importer_support
import pandas as pd
import pytest
from importer_support import CASES, YANJIANG
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangcang.access import Scope
from fangcang.importer import import_bundle
from fangcang.models import (
    AggFactor,
    Community,
    House,
    HouseUse,
    ImportLog,
    Incident,
    Person,
    Place,
)

demo_base = importer_support.demo_base
district = importer_support.district


def _house(engine, house_id="H00000769", community_id=YANJIANG) -> None:
    with Session(engine) as s:
        s.add(
            House(
                house_id=house_id,
                address="鹿城区测试路1号",
                community_id=community_id,
                use=HouseUse.RENTAL,
                registered_residents=3,
                updated_at=datetime(2026, 11, 1, 9, 0),
            )
        )
        s.commit()


def _copy(tmp_path: Path, *parts: str) -> Path:
    """A bundle folder holding only the named files of a case (others would be noted)."""
    out = tmp_path / "bundle"
    out.mkdir(exist_ok=True)
    for p in parts:
        shutil.copy(CASES / p, out / Path(p).name)
    return out


# --- excel-number-ids -------------------------------------------------------------------------
def test_excel_number_ids_are_rejected_whatever_their_check_digit(district, tmp_path):
    folder = CASES / "excel-number-ids"
    strict = import_bundle(district, folder, actor="test")
    assert not strict.ok
    bad = [e for e in strict.errors if e.column == "id_number"]
    assert [e.row for e in bad] == [2, 3, 4]
    for e in bad:
        assert e.reason == (
            "stored as a number by Excel: digits after the 15th are lost; format the column as "
            "Text and export again"
        )
        # the value the user sees in Excel (format "0": 15 digits then zeros), masked
        assert e.value.startswith("330302********") and e.value.endswith("000")
    result = import_bundle(district, folder, actor="test", partial=True)
    assert result.status.value == "partial"
    with Session(district) as s:
        stored = dict(s.execute(select(Person.person_id, Person.id_number)).all())
    assert stored == {"FR04": "33030219900101003X"}


# --- phone-as-number --------------------------------------------------------------------------
def test_phones_written_as_numbers_are_stored_as_digits_and_match_visits(district, tmp_path):
    from fangcang.models import Discrepancy
    from fangcang.visits import import_visits

    _house(district)
    result = import_bundle(district, _copy(tmp_path, "phone-as-number/people.csv"), actor="test")
    assert result.ok, result.report
    with Session(district) as s:
        phones = dict(s.execute(select(Person.person_id, Person.phone)).all())
    assert phones == {"FR11": "13800138000", "FR12": None, "FR13": "13900139000"}
    for name in ("visits.csv", "visits_float.csv"):
        with Session(district) as s:
            report = import_visits(
                s, CASES / "phone-as-number" / name, actor="test", scope=Scope.district()
            )
            s.commit()
            assert report.ok, report.summary()
            found = s.execute(select(Discrepancy.type, Discrepancy.person_id)).all()
        types = {(str(getattr(t, "value", t)), r) for t, r in found}
        assert not any(t == "unregistered" for t, _ in types), types
        if name == "visits.csv":  # both people seen are matched: never "not seen"
            assert ("not_seen", "FR11") not in types and ("not_seen", "FR13") not in types
    with Session(district) as s:
        from fangcang.models import VisitResident

        seen = s.execute(select(VisitResident.phone, VisitResident.matched_person_id)).all()
    assert ("13800138000", "FR11") in seen


def test_phone_in_scientific_notation_is_rejected(district, tmp_path):
    folder = tmp_path / "sci"
    folder.mkdir()
    (folder / "people.csv").write_text(
        "人员编号,姓名,联系电话,人口类型,社区编号\nFR1,林小北,1.38001E+10,流动,330302028001\n",
        encoding="utf-8",
    )
    result = import_bundle(district, folder, actor="test")
    assert not result.ok
    (e,) = result.errors
    assert (e.row, e.column) == (2, "phone")
    assert "scientific notation" in e.reason and "digits are lost" in e.reason


# --- blank-rows -------------------------------------------------------------------------------
@pytest.mark.parametrize("sub", ["bundle_csv", "bundle_xlsx"])
def test_blank_rows_keep_the_row_numbers_the_user_sees(district, sub):
    folder = CASES / "blank-rows" / sub
    result = import_bundle(district, folder, actor="test", partial=True)
    assert [(e.row, e.column) for e in result.errors] == [(5, "category")]
    assert "empty rows skipped: 4" in result.report
    rejected = next(result.rejected_dir.glob("*.csv"))
    frame = pd.read_csv(rejected, dtype=str)
    assert frame["_row"].tolist() == ["5"]
    assert (rejected.stat().st_mode & 0o777) == 0o600
    assert (result.rejected_dir.stat().st_mode & 0o777) == 0o700
    with Session(district) as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 3


# --- header-variants --------------------------------------------------------------------------
def _stored(engine) -> tuple:
    with Session(engine) as s:
        house = s.execute(select(House.house_id, House.check_interval_days)).all()
        person = s.execute(select(Person.person_id, Person.phone, Person.visit_interval_days)).all()
        factors = s.execute(
            select(AggFactor.community_id, AggFactor.kind, AggFactor.interval_days)
            .where(AggFactor.community_id == YANJIANG)
            .order_by(AggFactor.kind, AggFactor.interval_days)
        ).all()
    return house, person, [tuple(map(str, f)) for f in factors]


@pytest.mark.parametrize("sub", ["bundle", "bundle_ascii"])
def test_header_spellings_store_the_same_values(district, sub):
    result = import_bundle(district, CASES / "header-variants" / sub, actor="test")
    assert result.ok, result.report
    house, person, factors = _stored(district)
    assert house == [("HFR01", 7)]
    assert person == [("FR31", "13712345678", 15)]
    # the warning's inputs for 沿江社区 (factor intervals) are the same whichever spelling
    assert factors and all(f[0] == YANJIANG for f in factors)
    assert "columns not used" not in result.report


def test_header_variants_give_the_same_aggregates(engine, demo_base, tmp_path, monkeypatch):
    # both bundles into the same fresh district, one after the other: identical inputs
    monkeypatch.setenv("FANGCANG_REPORTS_DIR", str(tmp_path / "reports"))
    assert import_bundle(engine, demo_base, actor="t").ok
    assert import_bundle(engine, CASES / "header-variants" / "bundle", actor="t").ok
    first = _stored(engine)
    assert import_bundle(engine, CASES / "header-variants" / "bundle_ascii", actor="t").ok
    assert _stored(engine) == first


def test_unused_and_near_miss_columns_are_reported(district, tmp_path):
    folder = tmp_path / "near"
    folder.mkdir()
    (folder / "houses.csv").write_text(
        "房屋编号,地址,社区编号,房屋用途,检查周期【天】,录入人\n"
        "HFR01,学院路1号,330302028001,群租,7,张三\n",
        encoding="utf-8",
    )
    strict = import_bundle(district, folder, actor="test")
    assert not strict.ok
    (e,) = strict.errors
    assert e.row is None and e.value == "检查周期【天】"
    assert "did you mean '检查周期(天)'" in e.reason
    assert "columns not used: 检查周期【天】, 录入人" in strict.report
    # declared as ignored: imported, still listed
    (folder / "bundle.toml").write_text(
        '[files.houses]\nignore_columns = ["检查周期【天】"]\n', encoding="utf-8"
    )
    ok = import_bundle(district, folder, actor="test")
    assert ok.ok, ok.report
    assert "columns not used: 录入人" in ok.report
    assert "columns ignored as declared: 检查周期【天】" in ok.report
    with Session(district) as s:
        log = s.scalars(select(ImportLog).order_by(ImportLog.id.desc())).first()
    assert "录入人" in log.message


# --- gcj02-bd09 -------------------------------------------------------------------------------
@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_shifted_coordinates(district, system):
    folder = CASES / "gcj02-bd09" / f"bundle_{system}"
    truth = pd.read_csv(CASES / "gcj02-bd09" / f"truth_{system}.csv", dtype=str)
    # undeclared: the report names the system that fits, nothing is placed
    for partial in (False, True):
        result = import_bundle(district, folder, actor="test", partial=partial)
        assert result.status.value == "failed"
        (e,) = [e for e in result.errors if e.row is None]
        assert f"look like {'GCJ-02' if system == 'gcj02' else 'BD-09'}" in e.reason
        assert f"--coord-system {system}" in e.reason
        assert not e.reason.endswith("characters)"), "the hint is cut short"
    with Session(district) as s:
        assert s.scalar(select(func.count()).select_from(Place)) == 0
    # declared: every place lands in its true community
    result = import_bundle(district, folder, actor="test", coord_system=system)
    assert result.ok, result.report
    with Session(district) as s:
        placed = dict(s.execute(select(Place.place_id, Place.community_id)).all())
    assert placed == dict(zip(truth["place_id"], truth["community_id"], strict=True))


# --- tab-and-utf16 ----------------------------------------------------------------------------
@pytest.mark.parametrize("sub", ["A_utf16_tab", "B_gbk_tab"])
def test_tab_separated_and_utf16_files_import(district, sub):
    result = import_bundle(district, CASES / "tab-and-utf16" / sub, actor="test")
    assert result.ok, result.report
    assert "tab-separated" in result.report
    with Session(district) as s:
        rows = s.execute(select(Incident.incident_id, Incident.category)).all()
    assert sorted((i, c.value) for i, c in rows) == [
        ("J2026110201", "criminal"),
        ("J2026110202", "public_order"),
    ]


# --- visits-error-pii -------------------------------------------------------------------------
def test_visit_errors_are_masked_everywhere(district, tmp_path, capsys):
    from fangcang.visits import import_visits

    _house(district)
    with Session(district) as s:
        report = import_visits(
            s, CASES / "visits-error-pii" / "visits.csv", actor="test", scope=Scope.district()
        )
        s.commit()
    assert not report.ok
    printed = report.summary()
    assert "330302********1231" in printed
    file_text = report.error_report.read_text(encoding="utf-8-sig")
    with Session(district) as s:
        log = s.scalars(select(ImportLog).where(ImportLog.bundle == "visits.csv")).one()
    for text in (printed, file_text, log.message):
        assert "330302198001011231" not in text
        assert "13800138000" not in text
    assert "330302********1231" in file_text and "330302********1231" in log.message
    # the bundle next to it: the same ID is masked in the bundle report too
    result = import_bundle(district, CASES / "visits-error-pii" / "bundle", actor="test")
    assert "330302********1231" in result.report
    assert "330302198001011231" not in result.report


def test_communities_exist(district):
    with Session(district) as s:
        assert s.get(Community, YANJIANG) is not None
