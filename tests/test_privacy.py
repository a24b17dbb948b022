"""Masking everywhere personal data leaves fangcang; unmasking needs permission, a reason, and is
audited without the clear values."""

from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd
import pytest

from fangcang import audit, privacy
from fangcang.access import Forbidden, Role, Scope, ScopeError, Viewer


def test_mask_functions():
    assert privacy.mask_name("陈小华") == "陈*华"
    assert privacy.mask_name("王五") == "王*"
    assert privacy.mask_name("欧阳小小明") == "欧***明"
    assert privacy.mask_id_number("330302199001011234") == "330302********1234"
    # a phone in the ID column is not shown nearly whole (10 of 11 digits)
    assert privacy.mask_id_number("13800138000") == "*******8000"
    assert privacy.mask_id_number("330302900101123") == "330302*****1123"  # 15: old cards
    assert privacy.mask_phone("13812345678") == "138****5678"
    assert privacy.mask_address("五马街12号3室") == "五马街**号*室"
    assert privacy.mask_name(None) == privacy.mask_phone("") == ""


PEOPLE = pd.DataFrame(
    {
        "person_id": ["P1", "P2"],
        "name": ["陈小华", "王五"],
        "id_number": ["330302199001011234", "33030219850505123X"],
        "phone": ["13812345678", None],
        "address": ["五马街12号3室", "江滨路8幢"],
        "community": ["沿江社区", '=HYPERLINK("http://x")'],
        "n": [1, -2],
    }
)
CLEAR = ["陈小华", "330302199001011234", "13812345678", "五马街12号3室", "33030219850505123X"]


def test_mask_frame_masks_english_and_chinese_headers():
    masked = privacy.mask_frame(PEOPLE)
    assert list(masked["name"]) == ["陈*华", "王*"]
    assert list(masked["phone"]) == ["138****5678", ""]
    assert PEOPLE.loc[0, "name"] == "陈小华"  # the input is not changed
    zh = PEOPLE.rename(
        columns={"name": "姓名", "id_number": "身份证号", "phone": "联系电话", "address": "地址"}
    )
    masked_zh = privacy.mask_frame(zh)
    assert list(masked_zh["姓名"]) == ["陈*华", "王*"]
    assert masked_zh.loc[0, "身份证号"] == "330302********1234"
    assert masked_zh.loc[0, "地址"] == "五马街**号*室"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_bytes_are_masked_and_formulas_defused(fmt):
    data = privacy.export_bytes(PEOPLE, fmt)
    if fmt == "csv":
        assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel opens UTF-8 correctly
        text = data.decode("utf-8-sig")
        frame = pd.read_csv(io.StringIO(text), dtype=str)
    else:
        wb = openpyxl.load_workbook(io.BytesIO(data))
        rows = list(wb.active.values)
        frame = pd.DataFrame(rows[1:], columns=rows[0]).astype(str)
        text = " ".join(" ".join(map(str, r)) for r in rows)
    for value in CLEAR:
        assert value not in text
    assert list(frame["name"]) == ["陈*华", "王*"]
    assert frame.loc[1, "community"].startswith("'=")  # not a live formula
    assert frame.loc[1, "n"] == "-2"  # numbers untouched
    with pytest.raises(ValueError, match="csv or xlsx"):
        privacy.export_bytes(PEOPLE, "pdf")


@pytest.fixture
def two_stations(session, factory):
    mine = factory.community(name="沿江社区")
    other = factory.community(name="别处社区")
    house = factory.house(mine, address="沿江路88号2室")
    person = factory.person(
        mine,
        name="陈小华",
        id_number="330302199001011234",
        phone="13812345678",
        house_id=house.house_id,
    )
    stranger = factory.person(other, name="李四")
    session.commit()
    return mine, other, person, stranger, house


def _viewer(role, community_ids=None, name="u1"):
    scope = Scope.district() if community_ids is None else Scope.of(community_ids)
    return Viewer(username=name, role=role, scope=scope)


def test_unmask_returns_clear_record_and_audits_without_values(session, two_stations):
    mine, _, person, _, house = two_stations
    officer = _viewer(Role.OFFICER, [mine.community_id], "zhang")
    record = privacy.unmask(session, officer, "person", person.person_id, "入户走访核实身份")
    session.commit()
    assert record["name"] == "陈小华" and record["id_number"] == "330302199001011234"
    entry = audit.entries(session, action="person.unmask").iloc[0]
    assert entry["actor"] == "zhang" and entry["target"] == f"person:{person.person_id}"
    detail = json.loads(entry["detail"])
    assert detail["reason"] == "入户走访核实身份"
    assert "name" in detail["fields"]
    for value in CLEAR[:3]:
        assert value not in entry["detail"]  # the log never holds the clear values
    house_record = privacy.unmask(session, officer, "house", house.house_id, "核查出租房屋")
    assert house_record["address"] == "沿江路88号2室"
    assert audit.entries(session, action="house.unmask").shape[0] == 1


def test_unmask_needs_permission_scope_and_reason(session, two_stations):
    mine, _, person, stranger, _ = two_stations
    for role in (Role.LEADER, Role.ADMIN, Role.BRANCH):
        with pytest.raises(Forbidden):
            privacy.unmask(session, _viewer(role), "person", person.person_id, "看看这个人")
    station = _viewer(Role.STATION, [mine.community_id])
    with pytest.raises(ScopeError):
        privacy.unmask(session, station, "person", stranger.person_id, "核实身份信息")
    with pytest.raises(ValueError, match="reason"):
        privacy.unmask(session, station, "person", person.person_id, "  ")
    with pytest.raises(ValueError, match="no person"):
        privacy.unmask(session, station, "person", "P-missing", "核实身份信息")
    with pytest.raises(ValueError, match="kind"):
        privacy.unmask(session, station, "car", "X", "核实身份信息")
    assert audit.entries(session).empty  # refusals leave no "unmask" entry
    dispatcher = _viewer(Role.DISPATCHER)
    assert (
        privacy.unmask(session, dispatcher, "person", stranger.person_id, "警情处置需要联系")[
            "name"
        ]
        == "李四"
    )
