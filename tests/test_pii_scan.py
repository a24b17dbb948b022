"""One scan of every output path for the small demo's personal data (issue 17).

The small demo is built once; its residents' raw ID numbers and phone numbers (people,
incident_people, visit_residents, alcohol files) and their full names (3 characters or more:
names are masked wherever they leave fangcang) are read from the database. Then every way data
leaves the system is scanned for them:

- pages: every page each demo role may open, rendered by AppTest through app.py: the text of
  every element (markdown, captions, metrics, tables decoded, charts' specs, map components,
  buttons' help) and the payload of every download button (the audited masked exports,
  bulletins' HTML/Word, visit and practice downloads), built as a click would;
- documents and reports: the import report, the error report, the import log and audit
  entries of a partial import whose bad rows carry demo people's ID numbers and phones; the
  rejected-rows files (personal data kept in the clear by design, for correction: the scan
  checks they are owner-only and hold only the rejected input rows); a visits.csv and a
  practice file with errors;
- CLI output of every command that prints records (stdout, stderr and files written);
- logs: every logger at DEBUG, raw messages and tracebacks (not only the masked lines);
- temporary files left in the private temp folder and the system temp folder;
- in a real browser (marker ``browser``): the websocket frames and HTTP responses of a few
  pages (the officer's inbox and visits, the dispatcher's pages).

Matching is robust: an ID number is found with or without its check digit, in groups with
spaces or dashes, in full-width digits or HTML entities; a phone with +86/0086, separators or a
".0" tail; .xlsx and .docx payloads are unzipped first. ``test_self_check_*`` prove the scan
fails when one unmasked value gets out.

Set ``FANGCANG_BROWSER_DEMO_DB`` to a small demo database file to skip the build (a copy is
used).
"""

from __future__ import annotations

import html
import io
import json
import logging
import os
import re
import stat
import tempfile
import time
import unicodedata
import zipfile
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pytest
import streamlit as st
from google.protobuf import text_format
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from streamlit.delta_generator import DeltaGenerator
from streamlit.testing.v1 import AppTest

from tests.browser_support import small_demo

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PG_URL = os.environ.get("FANGCANG_TEST_PG_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
DEMO_USERS = ["leader", "dispatcher", "station", "officer", "branch", "admin"]


# ---------------------------------------------------------------------------------------------
# The matcher
# ---------------------------------------------------------------------------------------------
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Separators a person or a program puts inside a number: spaces, dashes, dots (an Excel ".0"
# or a dotted grouping), brackets, slashes, a "+" of +86.
_SEPARATED = re.compile(r"(?<=\d)[\s\u00a0\u3000\-\u2010-\u2015.()/+]{1,3}(?=\d)")
_DIGITS = re.compile(r"\d{11,}")
#: A masked ID number or phone, as the pages show them.
_MASKED = re.compile(r"\d{6}\*{8}[\dXx]{4}|1[3-9]\d\*{4}\d{4}")


class Secrets:
    """The demo's personal values and a scanner for them.

    Parameters
    ----------
    ids : iterable of str
        ID numbers (18 characters); found by their first 17 digits (check digit or not).
    phones : iterable of str
        Phones in canonical form: mobiles as 11 digits, landlines ``0577-88886666``.
    names : iterable of str
        Full names (3+ characters) that must never appear unmasked.
    """

    def __init__(self, ids, phones, names):
        self.ids17 = {re.sub(r"\D", "", str(i))[:17] for i in ids if i and len(str(i)) >= 17}
        self.phones = {re.sub(r"\D", "", str(p)) for p in phones if p}
        self.phones = {p for p in self.phones if len(p) >= 10}
        self.names = {n for n in names if n and len(n) >= 3}
        self.name_lengths = sorted({len(n) for n in self.names})
        self.phone_lengths = sorted({len(p) for p in self.phones})

    def __len__(self) -> int:
        return len(self.ids17) + len(self.phones) + len(self.names)

    @staticmethod
    def _views(text: str) -> list[str]:
        """The text as written, NFKC-folded (full-width digits), HTML-unescaped, URL-decoded."""
        out = [text]
        for fn in (lambda s: unicodedata.normalize("NFKC", s), html.unescape, unquote):
            v = fn(out[-1])
            if v != out[-1]:
                out.append(v)
        return out

    def find(self, text: str) -> list[str]:
        """What of the secrets ``text`` holds, as masked descriptions (``id 330302…1234``)."""
        if not text:
            return []
        hits: set[str] = set()
        for view in self._views(text):
            joined = _SEPARATED.sub("", view)
            for m in _DIGITS.finditer(joined):
                run = m.group(0)
                for i in range(len(run) - 16):
                    if run[i : i + 17] in self.ids17:
                        hits.add(f"id {run[i : i + 6]}…{run[i + 13 : i + 17]}")
                for n in self.phone_lengths:
                    for i in range(len(run) - n + 1):
                        if run[i : i + n] in self.phones:
                            hits.add(f"phone {run[i : i + 3]}…{run[i + n - 4 : i + n]}")
            for m in _CJK_RUN.finditer(view):
                run = m.group(0)
                for n in self.name_lengths:
                    for i in range(len(run) - n + 1):
                        if run[i : i + n] in self.names:
                            hits.add(f"name {run[i]}…{run[i + n - 1]}")
        return sorted(hits)

    def find_bytes(self, data: bytes) -> list[str]:
        """Scan a file's bytes: zip containers (.xlsx, .docx) member by member, else text."""
        if data[:2] == b"PK":
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as z:
                    return sorted(
                        {h for name in z.namelist() for h in self.find_bytes(z.read(name))}
                    )
            except zipfile.BadZipFile:
                pass
        hits = set(self.find(data.decode("utf-8", "replace")))
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            hits.update(self.find(data.decode("utf-16", "replace")))
        else:
            hits.update(self.find(data.decode("gb18030", "replace")))
        return sorted(hits)


def read_secrets(engine) -> Secrets:
    """The demo's residents' ID numbers, phones and full names (not officers' or users')."""
    from fangcang.models import (
        AlcoholMeasure,
        AlcoholPersonFile,
        Community,
        IncidentPerson,
        Officer,
        Person,
        Place,
        Station,
        SubDistrict,
        User,
        VisitResident,
    )

    ids, phones, names = set(), set(), set()
    with Session(engine) as s:
        for model in (Person, IncidentPerson, VisitResident):
            for name, id_number, phone in s.execute(
                select(model.name, model.id_number, model.phone)
            ):
                names.add(name)
                ids.add(id_number)
                phones.add(phone)
        for name, id_number in s.execute(
            select(AlcoholPersonFile.name, AlcoholPersonFile.id_number)
        ):
            names.add(name)
            ids.add(id_number)
        ids.update(s.scalars(select(AlcoholMeasure.id_number)))
        # Names that are also public words (an officer's, a user's, a place's) are not
        # residents' secrets: officers' names are shown by design.
        public = " ".join(
            str(v)
            for model, col in (
                (Officer, Officer.name),
                (User, User.display_name),
                (Community, Community.name),
                (Station, Station.name),
                (SubDistrict, SubDistrict.name),
                (Place, Place.name),
            )
            for v in s.scalars(select(col))
        )
    from fangcang.i18n import catalogue

    public += " ".join(zh + en for zh, en in catalogue().values())
    names = {n for n in names if n and n not in public}
    return Secrets(ids - {None}, phones - {None}, names)


# ---------------------------------------------------------------------------------------------
# Fixtures: the demo, logs captured from the start, downloads recorded
# ---------------------------------------------------------------------------------------------
class LogCapture(logging.Handler):
    """Every record of every logger (root at DEBUG), kept raw: message and traceback."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"{record.name} {record.levelname}: {record.getMessage()}"
        except Exception as exc:  # a bad format string is still worth seeing
            text = f"{record.name}: unformattable {record.msg!r} {record.args!r} ({exc})"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@pytest.fixture(scope="module")
def logs():
    """All loggers at DEBUG for the whole module (SQLAlchemy's SQL echo stays off, as
    deployed: it is the library's debugging aid, not an output of Fangcang)."""
    from fangcang import logsetup

    capture = LogCapture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    sa = logging.getLogger("sqlalchemy")
    old_sa = sa.level
    sa.setLevel(logging.WARNING)
    logsetup.configure("DEBUG", stream=io.StringIO())
    yield capture
    logsetup.reset()
    root.removeHandler(capture)
    root.setLevel(old_level)
    sa.setLevel(old_sa)


def _pg_demo():
    """A private PostgreSQL database holding the small demo (built by the CLI); its URL."""
    import subprocess
    import sys
    import uuid

    from sqlalchemy.engine import make_url

    url = make_url(PG_URL).set(drivername="postgresql+psycopg")
    name = f"fangcang_pii_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    target = url.set(database=name).render_as_string(hide_password=False)
    subprocess.run(
        [sys.executable, "-m", "fangcang", "--db", target, "demo", "--scale", "small"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=900,
    )
    return target, admin, name


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request, tmp_path_factory, logs):
    """The small demo (SQLite, and PostgreSQL when FANGCANG_TEST_PG_URL is set), private
    reports and temp folders; FANGCANG_DB_URL set."""
    folder = tmp_path_factory.mktemp(f"pii-{request.param}")
    admin = None
    if request.param == "sqlite":
        url = f"sqlite:///{small_demo(folder / 'demo.db')}"
    else:
        url, admin, name = _pg_demo()
    env = {
        "FANGCANG_DB_URL": url,
        "FANGCANG_REPORTS_DIR": str(folder / "reports"),
        "FANGCANG_TEMP_DIR": str(folder / "tmp"),
        "FANGCANG_INBOX_DIR": str(folder / "inbox"),
        "FANGCANG_AUDIT_ANCHOR_DIR": str(folder / "anchors"),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from fangcang import db

    engine = db.make_engine(url)
    db.upgrade(engine)
    st.cache_data.clear()  # nothing cached from another database
    secrets = read_secrets(engine)
    system_tmp_before = set(Path(tempfile.gettempdir()).iterdir())
    yield {
        "backend": request.param,
        "url": url,
        "engine": engine,
        "secrets": secrets,
        "folder": folder,
        "system_tmp_before": system_tmp_before,
    }
    engine.dispose()
    st.cache_data.clear()
    st.cache_resource.clear()  # the app's engine for this database
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    if admin is not None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


class Downloads:
    """Records the payload of every download button a page draws (as its click builds it)."""

    def __init__(self):
        self.files: list[tuple[str, bytes]] = []

    @contextmanager
    def recording(self):
        original = DeltaGenerator.download_button
        st_original = st.download_button
        files = self.files

        def record(dg, label, data=None, file_name=None, *args, **kwargs):
            payload = data() if callable(data) else data
            if isinstance(payload, str):
                payload = payload.encode("utf-8")
            elif hasattr(payload, "read"):
                payload = payload.read()
            files.append((str(file_name or label), bytes(payload or b"")))
            return original(dg, label, data, file_name, *args, **kwargs)

        DeltaGenerator.download_button = record
        st.download_button = lambda *a, **k: record(st._main, *a, **k)
        try:
            yield self
        finally:
            DeltaGenerator.download_button = original
            st.download_button = st_original


def _element_texts(at: AppTest) -> list[str]:
    """Everything an element carries: its proto as text (strings unescaped; table bytes keep
    their ASCII digits) and, for tables, the decoded frame."""
    out = []
    for node in at._tree:
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(text_format.MessageToString(proto, as_utf8=True))
        if type(node).__name__ == "Dataframe":
            value = node.value
            frame = value.data if hasattr(value, "data") else value
            out.append(pd.DataFrame(frame).to_csv())
    return out


def _viewers(engine) -> dict:
    from fangcang import auth
    from fangcang.models import User

    with Session(engine) as s:
        return {u: auth.viewer_for(s, s.get(User, u)) for u in DEMO_USERS}


def open_page(page_file: str, viewer, lang: str = "zh") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    at.session_state["viewer"] = viewer
    at.session_state["lang"] = lang
    at.switch_page(page_file)
    at.run()
    return at


def _scan_page(secrets: Secrets, at: AppTest, downloads: Downloads) -> dict[str, list[str]]:
    found = {}
    hits = sorted({h for text in _element_texts(at) for h in secrets.find(text)})
    if hits:
        found["elements"] = hits
    for name, data in downloads.files:
        hits = secrets.find_bytes(data)
        if hits:
            found[f"download {name}"] = hits
    return found


# ---------------------------------------------------------------------------------------------
# The matcher and the harness can fail
# ---------------------------------------------------------------------------------------------
def test_the_matcher_finds_every_spelling():
    s = Secrets(["33030219900101123X"], ["13800138000", "0577-88886666"], ["陈小华"])
    found = [
        "33030219900101123X",
        "33030219900101123x",
        "33030219900101123",  # no check digit
        "330302 19900101 123X",
        "330302-19900101-1234",  # another check digit: still that person
        "３３０３０２１９９００１０１１２３Ｘ",  # full-width
        "&#51;30302199001011234",
        "+86 138 0013 8000",
        "0086-138-0013-8000",
        "(+86)13800138000",
        "13800138000.0",
        "tel%3A13800138000",
        "0577 8888 6666",
        "陈小华",
        "&#38472;小华",
    ]
    for text in found:
        assert secrets_hit(s, f"x {text} y"), text
    for text in [
        "330302********123X",
        "138****8000",
        "陈*华",
        "330302199001",  # a community code's length
        "3303021990010",
        "0577-****6666",
        "13800138001",
        "陈小",
    ]:
        assert not s.find(f"x {text} y"), text
    # inside documents
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w:t>号码 138-0013-8000</w:t>")
    assert s.find_bytes(buf.getvalue()) == ["phone 138…8000"]
    assert s.find_bytes("姓名,陈小华\n".encode("gb18030")) == ["name 陈…华"]


def secrets_hit(s: Secrets, text: str) -> bool:
    return bool(s.find(text))


def test_self_check_an_unmasked_value_in_a_page_is_caught(demo, monkeypatch):
    """With the ID-number, phone and name masks switched off, the dispatcher's visits page
    (residents seen on visits) and the leader's alcohol page (repeat-person files) and their
    downloads leak: the same scan as below must report it."""
    from fangcang import privacy

    monkeypatch.setattr(privacy, "mask_id_number", lambda v: "" if v is None else str(v))
    monkeypatch.setattr(privacy, "mask_phone", lambda v: "" if v is None else str(v))
    monkeypatch.setitem(privacy.PERSONAL_COLUMNS, "id_number", lambda v: v)
    monkeypatch.setitem(privacy.PERSONAL_COLUMNS, "phone", lambda v: v)
    monkeypatch.setitem(privacy.PERSONAL_COLUMNS, "name", lambda v: v)
    viewers = _viewers(demo["engine"])
    st.cache_data.clear()  # the pages' cached loaders must run with the masks off ...
    try:
        for user, page in (("dispatcher", "pages/visits.py"), ("leader", "pages/alcohol.py")):
            downloads = Downloads()
            with downloads.recording():
                at = open_page(page, viewers[user])
            found = _scan_page(demo["secrets"], at, downloads)
            assert found, f"{page}: an unmasked page was not caught: the scan cannot fail"
    finally:
        st.cache_data.clear()  # ... and the unmasked results must not outlive this test


# ---------------------------------------------------------------------------------------------
# Pages: every page, every role
# ---------------------------------------------------------------------------------------------
def test_pages_of_every_role_and_their_downloads(demo):
    from ui import nav

    secrets = demo["secrets"]
    assert len(secrets.ids17) > 1000 and len(secrets.phones) > 1000 and len(secrets.names) > 100
    leaks, failed = {}, {}
    runs, files, masked = 0, [], set()
    for username, viewer in _viewers(demo["engine"]).items():
        for spec in nav.allowed(viewer.role):
            downloads = Downloads()
            with downloads.recording():
                at = open_page(spec.file, viewer)
            runs += 1
            files += [name for name, _ in downloads.files]
            if at.exception:  # scanned all the same; reported below
                failed[f"{username} {spec.id}"] = [e.value[:200] for e in at.exception]
            for where, hits in _scan_page(secrets, at, downloads).items():
                leaks[f"{username} {spec.id} {where}"] = hits
            if _MASKED.search("\n".join(_element_texts(at))):
                masked.add(spec.id)
    # The scan saw what it should: every page of every role, downloads of every kind, and
    # person-level pages with their (masked) residents.
    assert runs >= 60
    kinds = {Path(f).suffix for f in files}
    assert {".csv", ".xlsx", ".html", ".docx"} <= kinds, sorted(set(files))
    assert {"visits", "alcohol"} <= masked, masked
    assert not leaks, json.dumps(leaks, ensure_ascii=False, indent=1)
    assert not failed, failed


# ---------------------------------------------------------------------------------------------
# Documents and reports: import errors, rejected rows, visits and practice files
# ---------------------------------------------------------------------------------------------
def _demo_people(engine, n: int) -> list:
    from fangcang.models import Person

    with Session(engine) as s:
        rows = s.execute(
            select(
                Person.person_id,
                Person.name,
                Person.id_number,
                Person.phone,
                Person.community_id,
                Person.house_id,
            )
            .where(Person.id_number.is_not(None), Person.phone.is_not(None))
            .order_by(Person.person_id)
            .limit(n)
        ).all()
    assert len(rows) == n
    return rows


def _scan_tree(secrets: Secrets, folder: Path, skip: Path | None = None) -> dict:
    found = {}
    for p in sorted(folder.rglob("*")) if folder.exists() else []:
        if p.is_file() and (skip is None or skip not in p.parents):
            hits = secrets.find_bytes(p.read_bytes())
            if hits:
                found[str(p.relative_to(folder))] = hits
    return found


def _bad_people_csv(p) -> bytes:
    """people.csv: six demo residents' rows, each with one error, and one good new person."""
    head = "person_id,name,id_number,phone,residence_type,community_id,birth_date,house_id"
    wrong = {r.person_id: ("0" if r.id_number[17] != "0" else "1") for r in p}
    rows = [
        # a wrong check digit (the value is shown masked)
        f"{p[0].person_id},{p[0].name},{p[0].id_number[:17]}{wrong[p[0].person_id]},"
        f"{p[0].phone},户籍,{p[0].community_id},,",
        # a phone that Excel wrote in scientific notation
        f"{p[1].person_id},{p[1].name},{p[1].id_number},{p[1].phone[0]}.{p[1].phone[1:8]}E+10,"
        f"户籍,{p[1].community_id},,",
        # a phone in the ID-number column
        f"{p[2].person_id},{p[2].name},{p[2].phone},{p[2].phone},户籍,{p[2].community_id},,",
        # a birth date in the future; an unknown community; an unknown residence type
        f"{p[3].person_id},{p[3].name},{p[3].id_number},{p[3].phone},户籍,{p[3].community_id},"
        "2099-01-01,",
        f"{p[4].person_id},{p[4].name},{p[4].id_number},{p[4].phone},户籍,NOPE,,",
        f"{p[5].person_id},{p[5].name},{p[5].id_number},+86 {p[5].phone},外星,"
        f"{p[5].community_id},,",
        # one good new person, so a partial import loads something
        f"PIISCAN1,林测试,,,户籍,{p[0].community_id},,",
    ]
    return ("\n".join([head, *rows]) + "\n").encode("utf-8")


def test_import_reports_error_files_and_logs(demo, tmp_path):
    """A partial import whose bad rows carry demo residents' ID numbers, phones and names."""
    from fangcang.importer import import_bundle
    from fangcang.models import AuditEntry, ImportLog

    engine, secrets = demo["engine"], demo["secrets"]
    p = _demo_people(engine, 6)
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "people.csv").write_bytes(_bad_people_csv(p))
    result = import_bundle(engine, folder, actor="pii-scan", partial=True)
    assert result.status.value == "partial", result.report
    assert result.rejected == 6, result.report
    leaks = {}
    if hits := secrets.find(result.report):
        leaks["import report"] = hits
    if hits := secrets.find("\n".join(str(e) for e in result.errors)):
        leaks["import errors"] = hits
    reports = Path(os.environ["FANGCANG_REPORTS_DIR"])
    assert result.error_report and Path(result.error_report).is_file()
    assert result.rejected_dir and Path(result.rejected_dir).is_dir()
    rejected = Path(result.rejected_dir)
    leaks.update(_scan_tree(secrets, reports, skip=rejected))
    with Session(engine) as s:
        log = s.get(ImportLog, result.log_id)
        if hits := secrets.find(f"{log.message} {log.files} {log.counts} {log.bundle}"):
            leaks["import log"] = hits
        details = " ".join(
            f"{a.target} {a.detail}"
            for a in s.scalars(select(AuditEntry).where(AuditEntry.actor == "pii-scan"))
        )
        if hits := secrets.find(details):
            leaks["audit entries"] = hits
    assert not leaks, json.dumps(leaks, ensure_ascii=False, indent=1)
    # Rejected rows keep the cells in the clear by design (for the department to correct):
    # owner-only, and nothing but the rejected input rows.
    assert stat.S_IMODE(rejected.stat().st_mode) == 0o700
    allowed = Secrets([r.id_number for r in p], [r.phone for r in p], [r.name for r in p])
    for f in rejected.rglob("*"):
        if f.is_file():
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
            text = f.read_bytes()
            extra = set(secrets.find_bytes(text)) - set(allowed.find_bytes(text))
            assert not extra, (f.name, sorted(extra))


def test_feed_failure_files(demo):
    """A department feed drops the same bad people.csv: it fails (strict), the bundle moves to
    failed/ (the department's own file, kept as dropped) beside an .errors.txt for the
    operator: that report, the import log and the logs carry no resident's data."""
    from fangcang import feeds
    from fangcang.models import ImportLog

    engine, secrets = demo["engine"], demo["secrets"]
    inbox = Path(os.environ["FANGCANG_INBOX_DIR"]) / "population"
    bundle = inbox / "people-2026-11"
    bundle.mkdir(parents=True)
    (bundle / "people.csv").write_bytes(_bad_people_csv(_demo_people(engine, 6)))
    outcome = feeds.process_bundle(engine, "population", bundle)
    assert outcome.status.value == "failed"
    report = outcome.moved_to.with_name(outcome.moved_to.name + ".errors.txt")
    assert report.is_file() and "外星" in report.read_text(encoding="utf-8")
    leaks = {}
    if hits := secrets.find_bytes(report.read_bytes()):
        leaks[report.name] = hits
    if hits := secrets.find(outcome.message):
        leaks["feed outcome"] = hits
    with Session(engine) as s:
        if hits := secrets.find(s.get(ImportLog, outcome.log_id).message):
            leaks["import log"] = hits
    assert not leaks, json.dumps(leaks, ensure_ascii=False, indent=1)


def test_visits_and_practice_file_errors(demo):
    from fangcang import alcohol
    from fangcang.access import Scope
    from fangcang.visits.csvimport import import_visits

    engine, secrets = demo["engine"], demo["secrets"]
    people = _demo_people(engine, 4)
    p = people
    visits = "\n".join(
        [
            "house_id,visited_at,officer_id,observed_use,observed_count,notes,resident_name,"
            "resident_id_number,resident_phone,resident_birth_date",
            f"NOHOUSE,2026-10-01 10:00,,,,,{p[0].name},{p[0].id_number},{p[0].phone},",
            f"{p[1].house_id},2026-10-01 10:00,,,,,{p[1].name},{p[1].id_number},{p[1].phone},2099-01-01",
            f"{p[2].house_id},2026-10-01 10:00,,,,,,{p[2].id_number},{p[2].phone},",
            f"{p[3].house_id},2099-10-01 10:00,,,,,{p[3].name},{p[3].id_number[:17]}0,1{p[3].phone},",
        ]
    ).encode("utf-8")
    practice = "\n".join(
        [
            "警情编号,角色,姓名,身份证号,联系电话,地址",
            f"NOPE,当事人,{p[0].name},{p[0].id_number},{p[0].phone},",
            f"NOPE2,路人,{p[1].name},{p[1].id_number},{p[1].phone},",
            f"NOPE3,当事人,{p[2].name},{p[2].id_number[:17]}0,{p[2].phone}9,",
        ]
    ).encode("gb18030")
    leaks = {}
    with Session(engine) as s:
        vr = import_visits(s, visits, actor="pii-scan", scope=Scope.district(), file="visits.csv")
        assert vr.errors
        pr = alcohol.import_file(
            s, practice, actor="pii-scan", scope=Scope.district(), name="incident_people"
        )
        assert not pr.ok
        s.commit()
        for label, report in (("visits", vr), ("practice", pr)):
            text = "\n".join(str(e) for e in report.errors) + "\n" + str(report.summary())
            if hits := secrets.find(text):
                leaks[label] = hits
    assert not leaks, json.dumps(leaks, ensure_ascii=False, indent=1)


# ---------------------------------------------------------------------------------------------
# CLI: every command that prints records
# ---------------------------------------------------------------------------------------------
def test_cli_output(demo, tmp_path, capsys, monkeypatch):
    from fangcang import cli
    from fangcang.models import Bulletin, WarningRun

    monkeypatch.setenv("FANGCANG_LOG_LEVEL", "DEBUG")
    engine, secrets = demo["engine"], demo["secrets"]
    with Session(engine) as s:
        period = s.scalar(select(WarningRun.period).order_by(WarningRun.period.desc()).limit(1))
        issued = s.scalar(select(Bulletin.period).order_by(Bulletin.id.desc()).limit(1))
    out = tmp_path / "cli"
    out.mkdir()
    commands = [
        ["info"],
        ["info", "--by-community", "--by-source"],
        ["score", "--period", period, "--json"],
        ["score", "--period", period],
        ["tasks", "export", "--out", str(out / "tasks.csv")],
        ["tasks", "rates", "--period", period, "--by", "officer"],
        ["audit", "export", "--out", str(out / "audit.csv")],
        ["audit", "export", "--out", str(out / "audit.xlsx")],
        ["bulletin", "--list"],
        ["bulletin", "--period", issued or period, "--out", str(out / "bulletin.html")],
        ["bulletin", "--period", issued or period, "--out", str(out / "bulletin.docx")],
        ["visits", "reconcile"],
        ["practice", "files"],
        ["effect", "--json"],
        ["effect"],
        ["focus", "list"],
        ["user", "list"],
        ["backtest", "--months", "2", "--no-store"],
    ]
    leaks = {}
    for argv in commands:
        code = cli.main(argv)
        captured = capsys.readouterr()
        assert code in (0, 1), (argv, code, captured.err[-500:])
        if hits := secrets.find(captured.out + "\n" + captured.err):
            leaks[" ".join(argv)] = hits
    leaks.update(_scan_tree(secrets, out))
    assert sorted(p.name for p in out.iterdir()) == [
        "audit.csv",
        "audit.xlsx",
        "bulletin.docx",
        "bulletin.html",
        "tasks.csv",
    ]
    assert not leaks, json.dumps(leaks, ensure_ascii=False, indent=1)


# ---------------------------------------------------------------------------------------------
# Logs and temporary files: after everything above
# ---------------------------------------------------------------------------------------------
def test_page_actions_quality_samples_and_an_upload_preview(demo):
    """What the admin reaches by clicking: the data-quality samples, and the preview of an
    uploaded people.csv whose bad rows carry demo residents' data (neither imported nor
    kept: clearing the upload removes its private copy)."""
    secrets = demo["secrets"]
    viewer = _viewers(demo["engine"])["admin"]
    private = Path(os.environ["FANGCANG_TEMP_DIR"])
    leaks = {}
    downloads = Downloads()
    with downloads.recording():
        at = open_page("pages/data_hub.py", viewer)
        at.button(key="hub_run_checks").click().run()
        assert not at.exception, [e.value for e in at.exception]
        leaks.update({f"quality {k}": v for k, v in _scan_page(secrets, at, downloads).items()})
        data = _bad_people_csv(_demo_people(demo["engine"], 6))
        at.file_uploader(key="hub_upload").upload("people.csv", data, "text/csv").run()
        assert not at.exception, [e.value for e in at.exception]
        shown = "\n".join(_element_texts(at))
        assert "外星" in shown  # the preview lists the bad rows
        leaks.update({f"upload {k}": v for k, v in _scan_page(secrets, at, downloads).items()})
        copies = [p for p in private.rglob("people.csv")]
        assert copies, "the upload's copy is not in the private temp folder"
        for c in copies:  # owner-only: the file, and every folder up to the private one
            assert stat.S_IMODE(c.stat().st_mode) == 0o600, c
            for parent in c.relative_to(private).parents:
                folder = private / parent
                assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
        at.file_uploader(key="hub_upload").set_value(None).run()
        assert not [p for p in copies if p.exists()], "clearing the upload left its copy"
    assert not leaks, json.dumps(leaks, ensure_ascii=False, indent=1)


def test_logs_carry_no_personal_data(demo, logs):
    assert len(logs.lines) > 20  # the pages, imports and commands above logged
    assert any(line.startswith("fangcang.importer.bundle INFO: import ") for line in logs.lines)
    assert any(line.startswith("fangcang.feeds WARNING: feed population") for line in logs.lines)
    leaks = {}
    for line in logs.lines:
        if hits := demo["secrets"].find(line):
            leaks[line[:300]] = hits
    assert not leaks, json.dumps(leaks, ensure_ascii=False, indent=1)


def test_temp_files_left_behind(demo):
    secrets = demo["secrets"]
    private = Path(os.environ["FANGCANG_TEMP_DIR"])
    leaks = _scan_tree(secrets, private)
    system = Path(tempfile.gettempdir())
    new = [
        p
        for p in set(system.iterdir()) - demo["system_tmp_before"]
        if p.name.startswith(("fangcang", "tmp")) and not p.name.startswith("pytest")
    ]
    for p in new:
        if p.is_file():
            hits = secrets.find_bytes(p.read_bytes())
        elif p.is_dir():
            hits = [h for v in _scan_tree(secrets, p).values() for h in v]
        else:
            hits = []
        if hits:
            leaks[str(p)] = hits
    assert not leaks, json.dumps(leaks, ensure_ascii=False, indent=1)


# ---------------------------------------------------------------------------------------------
# A real browser: what goes over the wire
# ---------------------------------------------------------------------------------------------
BROWSER_PAGES = {
    "officer": ("demo-officer-1", ["my_tasks", "visits", "checkin", "alcohol"]),
    "dispatcher": ("demo-dispatcher-1", ["visits", "task_evaluate", "alcohol", "mediation"]),
}


def _settle(page, timeout_ms: int = 90_000) -> None:
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    time.sleep(0.5)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=timeout_ms)
    time.sleep(1.0)


@pytest.mark.browser
def test_browser_traffic_of_a_few_pages(demo, tmp_path, monkeypatch):
    """Websocket frames (both ways) and same-origin responses (media, components) of the
    officer's and the dispatcher's person-level pages, and the server's log."""
    from tests.browser_support import chromium, streamlit_server

    monkeypatch.setenv("FANGCANG_LOG_LEVEL", "DEBUG")
    secrets = demo["secrets"]
    leaks: dict[str, list[str]] = {}
    server_log = tmp_path / "server.log"
    with streamlit_server(demo["url"], server_log) as base, chromium() as browser:
        for user, (password, pages) in BROWSER_PAGES.items():
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            frames: list[bytes] = []
            urls: list[str] = []

            def on_ws(ws, frames=frames):
                ws.on(
                    "framereceived",
                    lambda p: frames.append(p if isinstance(p, bytes) else p.encode()),
                )
                ws.on(
                    "framesent", lambda p: frames.append(p if isinstance(p, bytes) else p.encode())
                )

            page.on("websocket", on_ws)
            page.on(
                "response",
                lambda r, urls=urls: (
                    urls.append(r.url)
                    if r.url.startswith(base) and ("/media/" in r.url or "/component/" in r.url)
                    else None
                ),
            )
            try:
                page.goto(base)
                page.get_by_test_id("stBaseButton-primaryFormSubmit").wait_for(timeout=60_000)
                _settle(page)
                page.get_by_label("用户名").fill(user)
                page.get_by_label("密码").fill(password)
                page.get_by_test_id("stBaseButton-primaryFormSubmit").click()
                page.get_by_text("退出登录").wait_for(timeout=60_000)
                _settle(page)
                for page_id in pages:
                    link = page.locator(f'[data-testid="stSidebarNavLink"][href$="/{page_id}"]')
                    if link.count():
                        link.first.dispatch_event("click")
                        page.wait_for_url(f"**/{page_id}", timeout=30_000)
                        _settle(page)
                    else:  # the landing page is linked as the root address
                        assert page_id == "my_tasks", f"{user}: no link to {page_id}"
                    page.screenshot(path=str(tmp_path / f"{user}_{page_id}.png"))
                for url in sorted(set(urls)):
                    body = context.request.get(url).body()
                    if hits := secrets.find_bytes(body):
                        leaks[f"{user} {url}"] = hits
            finally:
                context.close()
            assert len(frames) > 20, f"{user}: no websocket traffic captured"
            text = "\n".join(f.decode("utf-8", "replace") for f in frames)
            assert "退出登录" in text  # the frames carry the page text
            if user == "dispatcher":  # ... and residents, masked (visits, alcohol files)
                assert _MASKED.search(text), "no person-level data went over the wire"
            if hits := secrets.find(text):
                leaks[f"{user} websocket"] = hits
    if hits := secrets.find(server_log.read_text(encoding="utf-8", errors="replace")):
        leaks["server log"] = hits
    assert not leaks, json.dumps(leaks, ensure_ascii=False, indent=1)
