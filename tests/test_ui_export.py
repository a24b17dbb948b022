"""The download helper (ui.export): masked bytes, formulas defused, audited on click, and no
button for roles without the export permission."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from fangcang import audit

CLEAR = ("陈小华", "13812345678", "330302199001011234", "五马街12号3室")


def _script():
    import pandas as pd
    import streamlit as st

    from fangcang.access import Role, Viewer
    from ui import export

    role = Role(st.session_state.get("role", "leader"))
    df = pd.DataFrame(
        {
            "姓名": ["陈小华"],
            "phone": ["13812345678"],
            "id_number": ["330302199001011234"],
            "address": ["五马街12号3室"],
            "note": ["=1+1"],
        }
    )
    export.download_buttons(
        df, viewer=Viewer(username="u1", role=role), name="名单 10/2026", target="test-page"
    )


@pytest.fixture
def captured(sqlite_engine, monkeypatch):
    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    calls = []
    real = st.download_button

    def spy(label, data, **kwargs):
        calls.append({"label": label, "data": data, **kwargs})
        return real(label, data, **kwargs)

    monkeypatch.setattr(st, "download_button", spy)
    return calls


def test_export_buttons_give_masked_files_and_audit_clicks(captured, sqlite_engine):
    at = AppTest.from_function(_script, default_timeout=30).run()
    assert not at.exception
    assert [c["file_name"] for c in captured] == ["名单_10_2026.csv", "名单_10_2026.xlsx"]
    csv = captured[0]["data"]().decode("utf-8-sig")
    df = pd.read_csv(io.StringIO(csv), dtype=str)
    assert df.loc[0, "姓名"] == "陈*华" and df.loc[0, "phone"] == "138****5678"
    assert df.loc[0, "note"] == "'=1+1"
    xlsx = captured[1]["data"]()
    import openpyxl

    cells = [str(c) for row in openpyxl.load_workbook(io.BytesIO(xlsx)).active.values for c in row]
    for value in CLEAR:
        assert value not in csv and value not in cells
    with Session(sqlite_engine) as s:
        assert audit.entries(s).empty  # rendering the button logs nothing
    at.get("download_button")[1].click().run()
    with Session(sqlite_engine) as s:
        log = audit.entries(s)
    assert list(log["action"]) == ["export.xlsx"]
    assert log.iloc[0]["actor"] == "u1" and log.iloc[0]["target"] == "test-page"
    detail = json.loads(log.iloc[0]["detail"])
    assert detail["rows"] == 1 and detail["file"] == "名单_10_2026.xlsx"


def test_no_export_button_without_permission(captured):
    at = AppTest.from_function(_script, default_timeout=30)
    at.session_state["role"] = "officer"
    at.run()
    assert not at.exception
    assert captured == [] and len(at.get("download_button")) == 0


def _view_script():
    import streamlit as st

    from fangcang.access import Role, Viewer
    from ui import audit_view

    rows = st.session_state.get("rows", 3)
    wrote = audit_view.person_view(
        Viewer(username="u2", role=Role.STATION),
        target="community:C1",
        rows=rows,
        page="visits",
        detail={"filter": st.session_state.get("filter", "all")},
    )
    st.write(f"wrote={wrote}")


def test_person_views_logged_once_per_view(sqlite_engine, monkeypatch):
    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    at = AppTest.from_function(_view_script, default_timeout=30).run()
    assert at.markdown[0].value == "wrote=True"
    at.run()  # a rerun of the same view is not a new look
    assert at.markdown[0].value == "wrote=False"
    at.session_state["filter"] = "key_persons"
    at.run()
    assert at.markdown[0].value == "wrote=True"
    at.session_state["rows"] = 0
    at.run()  # nothing shown, nothing logged
    assert at.markdown[0].value == "wrote=False"
    with Session(sqlite_engine) as s:
        log = audit.entries(s)
    assert list(log["action"]) == ["person.view", "person.view"]
    assert json.loads(log.iloc[0]["detail"]) == {
        "rows": 3,
        "page": "visits",
        "filter": "key_persons",
    }
    assert log.iloc[0]["actor"] == "u2" and log.iloc[0]["target"] == "community:C1"


def test_table_toolbars_offer_no_unaudited_download():
    """Streamlit's dataframe toolbar would download any table as CSV, unmasked and unaudited:
    the configuration turns it off (downloads go through ui.export)."""
    import tomllib
    from pathlib import Path

    config = Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml"
    assert tomllib.loads(config.read_text())["client"]["disableDataExport"] is True
