"""The "show in clear" form (ui.unmask): reason required, audited, scoped, role-gated."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import Session
from streamlit.testing.v1 import AppTest

from fangcang import audit


def _script():
    import streamlit as st

    from fangcang.access import Role, Scope, Viewer
    from ui import unmask

    viewer = Viewer(
        username="zhang",
        role=Role(st.session_state["role"]),
        scope=Scope.of(st.session_state["scope"]),
    )
    unmask.render(viewer, "person", st.session_state["person_id"])


@pytest.fixture
def people(sqlite_engine, monkeypatch):
    from tests.conftest import Factory

    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    with Session(sqlite_engine) as s:
        f = Factory(s)
        mine, other = f.community(), f.community()
        p1 = f.person(mine, name="陈小华", id_number="330302199001011234", phone="13812345678")
        p2 = f.person(other, name="李四")
        s.commit()
        return mine.community_id, p1.person_id, p2.person_id


def _app(role, scope, person_id):
    at = AppTest.from_function(_script, default_timeout=30)
    at.session_state["role"] = role
    at.session_state["scope"] = scope
    at.session_state["person_id"] = person_id
    return at.run()


def test_officer_unmasks_with_a_reason(people, sqlite_engine):
    community_id, p1, _ = people
    at = _app("officer", [community_id], p1)
    assert not at.exception
    at.button[0].click().run()  # no reason: refused
    assert "reason" in at.error[0].value
    assert len(at.dataframe) == 0
    at.text_input[0].set_value("入户走访核实身份")
    at.button[0].click().run()
    values = list(at.dataframe[0].value["value"])
    assert "陈小华" in values and "330302199001011234" in values
    with Session(sqlite_engine) as s:
        log = audit.entries(s)
    assert list(log["action"]) == ["person.unmask"]
    assert json.loads(log.iloc[0]["detail"])["reason"] == "入户走访核实身份"


def test_out_of_scope_and_unpermitted_roles(people, sqlite_engine):
    community_id, _, p2 = people
    at = _app("station", [community_id], p2)
    at.text_input[0].set_value("核实身份信息")
    at.button[0].click().run()
    assert "outside your jurisdiction" in at.error[0].value
    assert len(at.dataframe) == 0
    at = _app("leader", [community_id], p2)
    assert len(at.button) == 0 and len(at.text_input) == 0  # no form at all
    with Session(sqlite_engine) as s:
        assert audit.entries(s).empty
