"""AppTest: 涉酒警情, 警律联调 and the phone check-in page (scope, masking, downloads, English)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from fangcang import alcohol, privacy
from fangcang.access import Role, Viewer
from fangcang.models import IncidentCategory, MediationOutcome, MediationReferral
from tests.conftest import Factory
from tests.practice_support import ID_A, ID_B, NAME_A, NOW, alcohol_incident, build, person_in

ROOT = Path(__file__).resolve().parent.parent
PAGE = {n: str(ROOT / "pages" / f"{n}.py") for n in ("alcohol", "mediation", "checkin")}
TIMEOUT = 60


@pytest.fixture
def app_db(sqlite_engine, monkeypatch):
    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    with Session(sqlite_engine, expire_on_commit=False) as s:
        f = Factory(s)
        d = build(f)
        as_of = datetime(2026, 10, 31, 23, 0)
        for comm, idn, name in ((d.a1, ID_A, NAME_A), (d.b1, ID_B, "王小五")):
            for days in (40, 5):
                inc = alcohol_incident(
                    f,
                    comm,
                    as_of - timedelta(days=days),
                    lon=comm.centroid_lon,
                    lat=comm.centroid_lat,
                )
                person_in(s, inc, idn, name=name)
        dispute = f.incident(d.b1, datetime(2026, 8, 1, 22, 0), category=IncidentCategory.DISPUTE)
        crime = f.incident(d.b1, datetime(2026, 8, 20, 22, 0), category=IncidentCategory.CRIMINAL)
        person_in(s, dispute, ID_B, name="王小五")
        person_in(s, crime, ID_B, name="王小五")
        alcohol.sync_files(s, as_of, actor="t")
        s.add(
            MediationReferral(
                referral_id="R1",
                incident_id=dispute.incident_id,
                community_id="CB1",
                station_id="STB",
                referred_on=date(2026, 8, 2),
                law_firm="瓯江律师事务所",
                lawyer="林志远",
                justice_office="五马司法所",
                outcome=MediationOutcome.RESOLVED,
                closed_on=date(2026, 8, 12),
                source="",
                updated_at=NOW,
            )
        )
        from fangcang import aggregates

        aggregates.rebuild(s)
        s.commit()
    return sqlite_engine, d


def _app(page: str, viewer: Viewer | None, lang: str = "zh") -> AppTest:
    at = AppTest.from_file(PAGE[page], default_timeout=TIMEOUT)
    if viewer is not None:
        at.session_state["viewer"] = viewer
    at.session_state["lang"] = lang
    return at.run()


def _frames(at) -> list[pd.DataFrame]:
    return [el.value for el in at.dataframe]


def _all_text(at) -> str:
    parts = [str(e.value) for e in (*at.markdown, *at.caption, *at.info, *at.error, *at.success)]
    parts += [df.to_csv() for df in _frames(at)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)


@pytest.fixture
def downloads(monkeypatch):
    """Capture what each page hands to the download helper."""
    got: list[pd.DataFrame] = []
    import ui.export

    def capture(df, **kw):
        got.append(df.copy())

    monkeypatch.setattr(ui.export, "download_buttons", capture)
    return got


def test_alcohol_page_station_sees_own_files_masked(app_db, downloads):
    _, d = app_db
    at = _app("alcohol", d.station_viewer("a"))
    assert not at.exception
    assert at.title[0].value == "涉酒警情"
    text = _all_text(at)
    assert ID_A not in text and NAME_A not in text
    assert privacy.mask_id_number(ID_A) in text and privacy.mask_name(NAME_A) in text
    assert privacy.mask_id_number(ID_B) not in text  # station B's person
    labels = {m.label: m.value for m in at.metric}
    assert labels["涉酒警情"] == "2" and labels["一人一档"] == "1"
    # the map is a local folium map (no CDN)
    maps = at.get("component_instance")
    assert maps and "cdn" not in maps[0].proto.json_args.lower()
    # downloads get masked frames
    assert downloads
    for df in downloads:
        dump = df.to_csv()
        assert ID_A not in dump and NAME_A not in dump
        assert privacy.mask_id_number(ID_A) in dump


def test_alcohol_page_escalation_in_the_other_station(app_db, downloads):
    _, d = app_db
    at = _app("alcohol", d.station_viewer("b"), lang="en")
    assert not at.exception
    assert at.title[0].value == "Alcohol-related incidents"
    labels = {m.label: m.value for m in at.metric}
    assert labels["Escalations"] == "1"
    text = _all_text(at)
    assert ID_B not in text
    assert ID_A not in text and privacy.mask_id_number(ID_A) not in text


def test_alcohol_page_empty(sqlite_engine, monkeypatch):
    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    with Session(sqlite_engine) as s:
        Factory(s).community()
        s.commit()
    at = _app("alcohol", Viewer("leader", Role.LEADER))
    assert not at.exception
    assert at.info and "没有涉酒警情" in at.info[0].value


def test_mediation_page(app_db, downloads):
    _, d = app_db
    at = _app("mediation", Viewer("leader", Role.LEADER))
    assert not at.exception
    labels = {m.label: m.value for m in at.metric}
    assert labels["委托调解"] == "1" and labels["调解成功率"] == "100.0%"
    assert labels["平均办结天数"] == "10"
    at_a = _app("mediation", d.station_viewer("a"), lang="en")
    assert at_a.info and "No referrals" in at_a.info[0].value


def test_checkin_page_for_officers_only(app_db):
    _, d = app_db
    at = _app("checkin", d.officer_viewer())
    assert not at.exception
    assert at.title[0].value == "巡查打卡"
    assert at.selectbox[0].value == "PP1"
    assert at.selectbox[1].value == "巡特警一队"
    text = _all_text(at)
    assert NAME_A not in text
    assert any(privacy.mask_name(NAME_A) in e.label for e in at.expander)
    leader = _app("checkin", Viewer("leader", Role.LEADER))
    assert leader.error
    nobody = _app("checkin", None)
    assert nobody.warning


def test_checkin_page_english(app_db):
    _, d = app_db
    at = _app("checkin", d.officer_viewer(), lang="en")
    assert not at.exception
    assert at.title[0].value == "Patrol check-in"
