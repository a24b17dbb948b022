"""Shared fixtures: a fresh, migrated database per test (SQLite always; PostgreSQL too when
``FANGCANG_TEST_PG_URL`` points at a server) and small factories for records."""

from __future__ import annotations

import itertools
import os
import shutil
import sqlite3
import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from fangcang import db
from fangcang.models import (
    Base,
    Community,
    DivisionKind,
    Gender,
    House,
    HouseUse,
    Incident,
    IncidentCategory,
    Officer,
    Person,
    Place,
    PlaceKind,
    PlaceSubtype,
    ResidenceType,
    RiskLevel,
    Station,
    SubDistrict,
)

PG_URL = os.environ.get("FANGCANG_TEST_PG_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session", autouse=True)
def _secret_key_file(tmp_path_factory):
    """One server key per test run (fangcang.keys), never the repository's data/fangcang.key."""
    folder = tmp_path_factory.mktemp("keys")
    saved = {k: os.environ.get(k) for k in ("FANGCANG_KEY_FILE", "FANGCANG_TEMP_DIR")}
    os.environ["FANGCANG_KEY_FILE"] = str(folder / "fangcang.key")
    os.environ["FANGCANG_TEMP_DIR"] = str(folder / "tmp")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


# An instant to run the tests at instead of the real clock, for probing the suite at awkward
# moments (a month or year boundary; a UTC date other than Asia/Shanghai's; a date far from the
# test data): FANGCANG_TEST_NOW=2026-12-31T16:30:00+00:00 pytest ... Time keeps running from it
# (time_machine, tick=True). Other processes (browser servers, demo children) and file
# modification times keep the real clock, so tests that compare them with this process's clock
# (child heartbeats, a feed file settling, rejected-row files' age) fail under a travelled clock:
# 5 such tests at 2026-12-31T16:30Z and 2027-06-15; browser tests always run on the real clock.
# Module- and session-scoped fixtures (e.g. test_dashboard_pages' demo database) are built
# before the travel starts, on the real clock.
TEST_NOW = os.environ.get("FANGCANG_TEST_NOW")


@pytest.fixture(autouse=True)
def _clock(request):
    """The real clock, or the travelled one of ``FANGCANG_TEST_NOW`` (see above)."""
    if not TEST_NOW or request.node.get_closest_marker("browser"):
        yield
        return
    import time_machine

    try:
        dest = datetime.fromisoformat(TEST_NOW)
    except ValueError as exc:
        raise ValueError(f"FANGCANG_TEST_NOW: {exc}") from None
    if dest.tzinfo is None:
        raise ValueError(f"FANGCANG_TEST_NOW must name its UTC offset, got {TEST_NOW!r}")
    with time_machine.travel(dest, tick=True):
        yield


@pytest.fixture(autouse=True)
def _fresh_ui_caches():
    """Every test starts with empty Streamlit caches. The UI caches key on the data version (a
    counter in the database); two test databases, or one PostgreSQL database emptied between
    tests, reach the same version with different data, and a page would be served another
    test's periods or communities (seen in CI: a period list cached by an earlier test)."""
    import sys

    st = sys.modules.get("streamlit")
    if st is not None:
        st.cache_data.clear()
    yield


@pytest.fixture(autouse=True)
def _audit_anchor_dir(tmp_path, monkeypatch):
    """Each test anchors its audit chain in its own folder (PostgreSQL tests reuse a database
    whose tables are emptied between tests)."""
    monkeypatch.setenv("FANGCANG_AUDIT_ANCHOR_DIR", str(tmp_path / "audit-anchors"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A migrated SQLite file, built once per run and copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = db.make_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    return str(path)


@pytest.fixture(scope="session")
def pg_engine():
    """A private PostgreSQL database for this test run (so parallel runs never collide)."""
    if not PG_URL:
        pytest.skip("FANGCANG_TEST_PG_URL is not set")
    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    name = f"fangcang_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = db.make_engine(url.set(database=name).render_as_string(hide_password=False))
    db.upgrade(engine)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path, sqlite_template):
    """A fresh, migrated, empty database (one per test, per backend)."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copyfile(sqlite_template, path)
        eng = db.make_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        eng = request.getfixturevalue("pg_engine")
        _truncate_all(eng)
        yield eng
        _truncate_all(eng)


@pytest.fixture
def sqlite_engine(tmp_path, sqlite_template):
    """SQLite only, for tests that are about the embedded file itself (or too slow for both)."""
    path = tmp_path / "test.db"
    shutil.copyfile(sqlite_template, path)
    eng = db.make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine):
    with Session(engine, expire_on_commit=False) as s:
        yield s


class Factory:
    """Small factories: each call adds one valid record (creating its parents when omitted)
    and flushes. Ids are sequential and readable (``C001``, ``P0001`` ...)."""

    NOW = datetime(2026, 10, 31, 12, 0)

    def __init__(self, session: Session):
        self.s = session
        self._n = itertools.count(1)

    def _id(self, prefix: str, width: int = 3) -> str:
        return f"{prefix}{next(self._n):0{width}d}"

    def sub_district(self, code=None, name=None, **kw) -> SubDistrict:
        code = code or self._id("SD")
        obj = SubDistrict(code=code, name=name or f"街道{code}", kind=DivisionKind.STREET, **kw)
        self.s.add(obj)
        self.s.flush()
        return obj

    def station(self, station_id=None, name=None, **kw) -> Station:
        station_id = station_id or self._id("ST")
        obj = Station(station_id=station_id, name=name or f"派出所{station_id}", **kw)
        self.s.add(obj)
        self.s.flush()
        return obj

    def officer(self, officer_id=None, station=None, **kw) -> Officer:
        station = station or self.station()
        officer_id = officer_id or self._id("O")
        kw.setdefault("name", f"民警{officer_id}")
        kw.setdefault("phone", "13800000000")
        kw.setdefault("updated_at", self.NOW)
        obj = Officer(officer_id=officer_id, station_id=station.station_id, **kw)
        self.s.add(obj)
        self.s.flush()
        return obj

    def community(
        self,
        community_id=None,
        name=None,
        sub_district=None,
        station=None,
        officer=None,
        bbox=(120.60, 28.00, 120.61, 28.01),
        **kw,
    ) -> Community:
        """A square community; ``bbox`` is (min lon, min lat, max lon, max lat)."""
        sub_district = sub_district or self.sub_district()
        station = station or (officer and self.s.get(Station, officer.station_id)) or self.station()
        officer = officer or self.officer(station=station)
        community_id = community_id or self._id("C")
        x0, y0, x1, y1 = bbox
        geom = f'{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}'
        kw.setdefault("updated_at", self.NOW)
        obj = Community(
            community_id=community_id,
            name=name or f"社区{community_id}",
            sub_district_code=sub_district.code,
            station_id=station.station_id,
            officer_id=officer.officer_id,
            geometry=geom,
            centroid_lon=(x0 + x1) / 2,
            centroid_lat=(y0 + y1) / 2,
            **kw,
        )
        self.s.add(obj)
        self.s.flush()
        return obj

    def house(self, community, house_id=None, use=HouseUse.SELF_OCCUPIED, **kw) -> House:
        house_id = house_id or self._id("H", 4)
        kw.setdefault("address", f"测试路{next(self._n)}号")
        kw.setdefault("updated_at", self.NOW)
        kw.setdefault("registered_residents", 0)
        obj = House(house_id=house_id, community_id=community.community_id, use=use, **kw)
        self.s.add(obj)
        self.s.flush()
        return obj

    def person(
        self, community, person_id=None, residence_type=ResidenceType.REGISTERED, **kw
    ) -> Person:
        person_id = person_id or self._id("P", 4)
        kw.setdefault("name", "张三")
        kw.setdefault("gender", Gender.MALE)
        kw.setdefault("updated_at", self.NOW)
        obj = Person(
            person_id=person_id,
            community_id=community.community_id,
            residence_type=residence_type,
            **kw,
        )
        self.s.add(obj)
        self.s.flush()
        return obj

    def place(
        self,
        community,
        place_id=None,
        kind=PlaceKind.VENUE,
        subtype=PlaceSubtype.KTV,
        **kw,
    ) -> Place:
        place_id = place_id or self._id("PL", 4)
        kw.setdefault("name", f"场所{place_id}")
        kw.setdefault("risk_level", RiskLevel.MEDIUM)
        kw.setdefault("updated_at", self.NOW)
        obj = Place(
            place_id=place_id,
            community_id=community.community_id,
            kind=kind,
            subtype=subtype,
            **kw,
        )
        self.s.add(obj)
        self.s.flush()
        return obj

    def incident(
        self,
        community,
        occurred_at: datetime,
        category=IncidentCategory.PUBLIC_ORDER,
        subtype="",
        incident_id=None,
        **kw,
    ) -> Incident:
        incident_id = incident_id or self._id("I", 5)
        kw.setdefault("updated_at", self.NOW)
        obj = Incident(
            incident_id=incident_id,
            occurred_at=occurred_at,
            category=category,
            subtype=subtype,
            community_id=community.community_id,
            **kw,
        )
        self.s.add(obj)
        self.s.flush()
        return obj

    def incidents(
        self, community, n: int, month_day: date, category=IncidentCategory.CRIMINAL, **kw
    ):
        """``n`` incidents on one day (noon), for counting tests."""
        return [
            self.incident(
                community,
                datetime(month_day.year, month_day.month, month_day.day, 12, 0),
                category=category,
                **kw,
            )
            for _ in range(n)
        ]


@pytest.fixture
def factory(session) -> Factory:
    return Factory(session)
