"""AppTest: the 云入户 page (form, queue, coverage) and the 数据 page (incl. a bad upload)."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest
from support import make_id

from fangcang.access import Role, Scope, Viewer
from fangcang.importer.example import write_example_bundle
from fangcang.models import (
    AggRecords,
    Community,
    Discrepancy,
    DiscrepancyStatus,
    House,
    HouseUse,
    ImportLog,
    ImportStatus,
    Person,
    Visit,
)
from fangcang.timeutil import now_local
from fangcang.visits import Observed, record_visit

ROOT = Path(__file__).resolve().parent.parent
VISITS = str(ROOT / "pages" / "visits.py")
HUB = str(ROOT / "pages" / "data_hub.py")


@pytest.fixture
def app_db(sqlite_engine, monkeypatch):
    """One community with an officer, two houses, registered people and one visit with a
    discrepancy (use differs)."""
    from tests.conftest import Factory

    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    with Session(sqlite_engine) as s:
        f = Factory(s)
        o = f.officer(officer_id="O1")
        c = f.community(community_id="C1", name="沿江社区", officer=o)
        f.house(c, house_id="H1", address="沿江路12号", registered_residents=1)
        f.house(c, house_id="H2", address="沿江路14号", registered_residents=0)
        f.person(
            c,
            person_id="P1",
            name="陈小华",
            id_number=make_id("19800101"),
            phone="13811112222",
            birth_date=date(1980, 1, 1),
            house_id="H1",
        )
        # The page measures freshness against today: one fresh source, one a year old.
        s.add(
            AggRecords(
                kind="people",
                source="户籍科",
                community_id="C1",
                n=1,
                last_updated=now_local() - timedelta(days=2),
            )
        )
        s.add(
            AggRecords(
                kind="houses",
                source="住建局",
                community_id="C1",
                n=2,
                last_updated=now_local() - timedelta(days=400),
            )
        )
        record_visit(
            s,
            Scope.district(),
            house_id="H1",
            visited_at=datetime(2026, 10, 20, 10),
            recorded_by="o1",
            observed_use=HouseUse.GROUP_RENTAL,
            residents=[Observed("陈小华", id_number=make_id("19800101"))],
        )
        s.add(
            ImportLog(
                started_at=datetime(2026, 11, 20),
                actor="feed:住建局",
                bundle="/x/b.zip",
                channel="feed:住建局",
                status=ImportStatus.FAILED,
                message="houses.csv row 3, column use: unknown value",
            )
        )
        s.commit()
    return sqlite_engine


def _texts(at):
    """What the page says (markdown escapes removed: masked digits are escaped asterisks)."""
    return _joined(at).replace("\\", "")


def _joined(at):
    return " ".join(
        str(e.value)
        for e in [
            *at.markdown,
            *at.caption,
            *at.error,
            *at.warning,
            *at.info,
            *at.success,
            *at.title,
            *at.subheader,
        ]
    )


def _app(path, role, **kw):
    at = AppTest.from_file(path, default_timeout=60)
    scope = Scope.of(["C1"]) if role in (Role.OFFICER, Role.STATION) else Scope.district()
    at.session_state["viewer"] = Viewer(username=role.value, role=role, scope=scope, **kw)
    return at.run()


def test_visits_page_needs_sign_in(app_db):
    at = AppTest.from_file(VISITS, default_timeout=60).run()
    assert not at.exception
    assert "请先登录" in _texts(at)
    at = _app(HUB, Role.OFFICER)
    assert "无权访问" in _texts(at)


def _pick(at, text: str, house_id: str):
    """Find a house the way an officer does at the door: type the address, choose the row."""
    at.text_input(key="visit_addr").set_value(text).run()
    pick = at.radio(key=f"visit_addr_pick_{text}")
    assert all("12" not in o and "14" not in o for o in pick.options)  # masked house numbers
    pick.set_value(house_id).run()
    assert not at.exception, at.exception
    return at


def _submit(at):
    next(b for b in at.button if b.label == "提交走访记录").click()
    return at.run()


def test_officer_finds_the_house_by_its_address(app_db):
    at = _app(VISITS, Role.OFFICER, officer_id="O1")
    at.text_input(key="visit_addr").set_value("沿江路").run()
    options = [o.replace("\\", "") for o in at.radio(key="visit_addr_pick_沿江路").options]
    assert len(options) == 2 and all("沿江路**号" in o for o in options)
    at.text_input(key="visit_addr").set_value("望江路").run()
    assert "没有地址包含“望江路”的登记房屋" in _texts(at)
    _pick(at, "沿江路12号", "H1")
    # Who is registered appears before the form (and so above its submit button), masked.
    texts = _texts(at)
    assert "陈*华" in texts and make_id("19800101") not in texts
    assert at.number_input(key="visit_count").value is None  # not recorded until typed


def test_officer_records_a_visit_and_sees_the_discrepancy(app_db):
    at = _app(VISITS, Role.OFFICER, officer_id="O1")
    assert not at.exception, at.exception
    assert "云入户" in _texts(at)
    _pick(at, "沿江路14号", "H2")
    at.number_input(key="visit_n").set_value(1)
    at.run()
    at.text_input(key="vp_name_0").set_value("赵六")
    at.text_input(key="vp_phone_0").set_value("13700001111")
    at.number_input(key="visit_count").set_value(1)
    _submit(at)
    assert not at.exception, at.exception
    texts = _texts(at)
    assert "走访已登记" in texts and "未登记流动人口" in texts and "居住人数不符" in texts
    with Session(app_db) as s:
        v = s.scalars(select(Visit).where(Visit.house_id == "H2")).one()
        assert v.recorded_by == "officer" and v.officer_id == "O1"


def test_untouched_form_fields_create_no_discrepancy(app_db):
    at = _app(VISITS, Role.OFFICER, officer_id="O1")
    _pick(at, "沿江路12号", "H1")
    at.selectbox(key="visit_use").set_value("self_occupied")
    _submit(at)  # nobody entered, count left empty
    assert not at.exception, at.exception
    assert "走访已登记" in _texts(at) and "未发现" in _texts(at)


def test_bad_visit_input_is_refused(app_db):
    at = _app(VISITS, Role.OFFICER, officer_id="O1")
    _pick(at, "沿江路12号", "H1")
    at.number_input(key="visit_n").set_value(1)
    at.run()
    at.text_input(key="vp_name_0").set_value("王五")  # no ID, phone or birth date
    _submit(at)
    assert "未保存" in _texts(at)
    with Session(app_db) as s:
        assert s.scalar(select(func.count()).select_from(Visit)) == 1


def test_station_confirms_and_dismisses_in_the_queue(app_db):
    at = _app(VISITS, Role.STATION, station_id="ST1")
    assert not at.exception, at.exception
    # The form tab lists who is registered at the chosen house (masked).
    _pick(at, "沿江路12号", "H1")
    expected = _texts(at)
    assert "陈*华" in expected and make_id("19800101") not in expected
    queue = next(
        df.value.to_string() for df in at.dataframe if "房屋用途不符" in df.value.to_string()
    )
    assert "12号" not in queue  # addresses masked
    at.button(key="visits_confirm").click()
    at.run()
    assert not at.exception, at.exception
    assert "已更正登记" in _texts(at)
    with Session(app_db) as s:
        assert s.get(House, "H1").use is HouseUse.GROUP_RENTAL
        d = s.scalars(select(Discrepancy)).one()
        assert d.status is DiscrepancyStatus.CONFIRMED and d.decided_by == "station"


def test_leader_reads_queue_and_measures_without_deciding(app_db):
    at = _app(VISITS, Role.LEADER)
    assert not at.exception, at.exception
    texts = _texts(at)
    assert "不能确认或驳回" in texts and "不能登记走访" in texts
    assert not [b for b in at.button if b.key == "visits_confirm"]
    labels = [m.label for m in at.metric]
    assert "核实率" in labels and "待核实差异" in labels
    open_metric = next(m for m in at.metric if m.label == "待核实差异")
    assert open_metric.value == "1"
    assert at.get("plotly_chart")


def test_english_switch(app_db):
    at = AppTest.from_file(VISITS, default_timeout=60)
    at.session_state["viewer"] = Viewer(username="leader", role=Role.LEADER)
    at.session_state["lang"] = "en"
    at.run()
    assert not at.exception
    assert "Household visits" in _texts(at)


def test_data_hub_shows_records_freshness_history_and_quality(app_db):
    at = _app(HUB, Role.LEADER)
    assert not at.exception, at.exception
    labels = {m.label: m.value for m in at.metric}
    assert labels["基础数据总量"] == "3" and labels["数据陈旧的来源"] == "1"
    texts = _texts(at)
    assert "部门数据通道有 1 个数据包导入失败" in texts
    assert "只有系统管理员可以上传数据" in texts
    at.button(key="hub_run_checks").click()
    at.run()
    assert not at.exception, at.exception
    assert any("缺少坐标" in df.value.to_string() for df in at.dataframe)


def test_upload_with_a_bad_file_shows_errors_and_imports_nothing(app_db, tmp_path):
    at = _app(HUB, Role.ADMIN)
    bundle = write_example_bundle(tmp_path / "b", only=["people"])
    people = bundle / "people.csv"
    lines = people.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("2026-", "2026-13-", 1)  # a broken date in row 2
    people.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Session(app_db) as s:
        before = s.scalar(select(func.count()).select_from(Person))
        logs_before = s.scalar(select(func.count()).select_from(ImportLog))
    at.file_uploader(key="hub_upload").upload("people.csv", people.read_bytes(), "text/csv")
    at.run()
    assert not at.exception, at.exception
    texts = _texts(at)
    assert "校验发现" in texts and "未导入任何数据" in texts
    errors = at.dataframe[-1].value
    assert "people.csv" in errors.to_string() and 2 in set(errors.iloc[:, 1])
    assert not [b for b in at.button if b.key == "hub_import"]
    with Session(app_db) as s:
        assert s.scalar(select(func.count()).select_from(Person)) == before
        assert s.scalar(select(func.count()).select_from(ImportLog)) == logs_before


def test_upload_of_a_good_zip_imports_on_confirmation(app_db, tmp_path):
    at = _app(HUB, Role.ADMIN)
    bundle = write_example_bundle(tmp_path / "b")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in bundle.iterdir():
            zf.write(p, f"b/{p.name}")
    at.file_uploader(key="hub_upload").upload("bundle.zip", buf.getvalue(), "application/zip")
    at.run()
    assert not at.exception, at.exception
    assert "校验通过" in _texts(at)
    with Session(app_db) as s:
        assert s.scalar(select(func.count()).select_from(Community)) == 1  # not yet
    at.button(key="hub_import").click()
    at.run()
    assert not at.exception, at.exception
    assert "导入完成" in _texts(at)
    with Session(app_db) as s:
        assert s.scalar(select(func.count()).select_from(Community)) == 5
        log = s.scalars(select(ImportLog).order_by(ImportLog.id.desc())).first()
        assert log.channel == "upload" and log.actor == "admin"
