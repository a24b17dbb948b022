"""Department feeds: bundles dropped in a watched inbox are imported with the same validation;
failed ones change nothing, are logged and moved to failed/."""

from __future__ import annotations

import os
import time
import zipfile

from sqlalchemy import func, select

from fangcang import feeds
from fangcang.importer.example import write_example_bundle
from fangcang.models import Community, ImportLog, ImportStatus, Officer, Person


def _age(path, seconds=60):
    """Make a dropped bundle look settled (unchanged for ``seconds``)."""
    old = time.time() - seconds
    for p in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(p, (old, old))


def _zip(folder, target):
    with zipfile.ZipFile(target, "w") as zf:
        for p in folder.rglob("*"):
            zf.write(p, p.relative_to(folder.parent))
    return target


def test_good_bundle_is_imported_and_moved_to_done(engine, session, tmp_path):
    inbox = tmp_path / "inbox"
    bundle = write_example_bundle(inbox / "公安户籍" / "2026-10")
    _age(bundle)
    out = feeds.poll_once(engine, inbox, settle_seconds=5)
    assert [(o.department, o.bundle, o.status) for o in out] == [
        ("公安户籍", "2026-10", ImportStatus.OK)
    ]
    assert out[0].moved_to.parent == inbox / "公安户籍" / "done"
    assert not bundle.exists() and out[0].moved_to.is_dir()
    assert session.scalar(select(func.count()).select_from(Community)) == 4
    log = session.get(ImportLog, out[0].log_id)
    assert log.channel == "feed:公安户籍" and log.status is ImportStatus.OK
    # Nothing left: a second poll does nothing.
    assert feeds.poll_once(engine, inbox, settle_seconds=5) == []


def test_bad_bundle_changes_nothing_and_moves_to_failed(engine, session, tmp_path):
    inbox = tmp_path / "inbox"
    good = write_example_bundle(tmp_path / "src" / "b1", only=["communities", "officers"])
    _age(good)
    feeds.poll_once(engine, tmp_path / "src" / "none", settle_seconds=0)  # empty root is fine
    feeds.process_bundle(engine, "住建", good)
    people_before = session.scalar(select(func.count()).select_from(Person))
    bad = write_example_bundle(tmp_path / "b2", only=["people"])
    people = bad / "people.csv"
    text = people.read_text(encoding="utf-8").splitlines()
    assert "2026-" in text[1]
    text[1] = text[1].replace("2026-", "2026-13-", 1)  # a broken date in row 2
    people.write_text("\n".join(text) + "\n", encoding="utf-8")
    dept = inbox / "公安户籍"
    dept.mkdir(parents=True)
    zipped = _zip(bad, dept / "people-2026-10.zip")
    _age(zipped)
    out = feeds.poll_once(engine, inbox, settle_seconds=5)
    assert [o.status for o in out] == [ImportStatus.FAILED]
    assert out[0].moved_to.parent == dept / "failed"
    assert (
        out[0].moved_to.with_name(out[0].moved_to.name + ".errors.txt").read_text(encoding="utf-8")
    )
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Person)) == people_before
    log = session.get(ImportLog, out[0].log_id)
    assert log.status is ImportStatus.FAILED and "people.csv row 2" in log.message
    assert "people-2026-10.zip" in log.bundle
    status = feeds.feed_status(session)
    assert status[0]["department"] == "公安户籍" and status[0]["status"] == "failed"


def test_unsafe_or_broken_zip_is_failed_not_raised(engine, session, tmp_path):
    inbox = tmp_path / "inbox"
    dept = inbox / "人社"
    dept.mkdir(parents=True)
    (dept / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    evil = dept / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escape.csv", "x\n")
    for p in dept.iterdir():
        _age(p)
    out = feeds.poll_once(engine, inbox, settle_seconds=5)
    assert sorted((o.bundle, o.status.value) for o in out) == [
        ("broken.zip", "failed"),
        ("evil.zip", "failed"),
    ]
    assert not (tmp_path / "escape.csv").exists()
    logs = session.scalars(select(ImportLog).order_by(ImportLog.id)).all()
    assert [lg.status for lg in logs] == [ImportStatus.FAILED, ImportStatus.FAILED]


def test_unsettled_and_ignored_entries_wait(engine, tmp_path):
    dept = tmp_path / "inbox" / "公安户籍"
    fresh = write_example_bundle(dept / "copying")  # just written: not settled
    (dept / "half.zip.part").write_bytes(b"")
    (dept / "notes.txt").write_text("x")
    calls = []

    def fake(engine, folder, *, actor, channel):
        calls.append(folder)
        raise AssertionError("must not be called")

    assert feeds.poll_once(engine, tmp_path / "inbox", settle_seconds=3600, importer=fake) == []
    assert calls == [] and fresh.exists()


def test_watch_command_once(sqlite_engine, tmp_path, monkeypatch, capsys):
    from fangcang import cli

    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    monkeypatch.setenv("FANGCANG_REPORTS_DIR", str(tmp_path / "reports"))
    inbox = tmp_path / "inbox"
    bundle = write_example_bundle(inbox / "住建局" / "b1")
    _age(bundle)
    code = cli.main(["watch", "--once", "--inbox", str(inbox), "--settle", "1"])
    out = capsys.readouterr().out
    assert code == 0 and "住建局/b1: ok" in out and "1 bundle(s) processed" in out
    assert (inbox / "住建局" / "done").is_dir()
    assert cli.main(["watch", "--interval", "0", "--inbox", str(inbox)]) == 2  # bad interval


def test_visits_commands(sqlite_engine, tmp_path, monkeypatch, capsys):
    from fangcang import cli

    monkeypatch.setenv("FANGCANG_DB_URL", sqlite_engine.url.render_as_string(False))
    bad = tmp_path / "visits.csv"
    bad.write_text("visit_ref,house_id,visited_at\nV1,NOPE,2026-10-01 10:00\n", encoding="utf-8")
    assert cli.main(["visits", "import", str(bad)]) == 2
    assert "house is not in the registry" in capsys.readouterr().out
    assert cli.main(["visits", "reconcile"]) == 0
    assert "reconciled 0 visits" in capsys.readouterr().out


def test_feed_names_its_department_as_source_where_rows_have_none(engine, session, tmp_path):
    import pandas as pd

    inbox = tmp_path / "inbox"
    bundle = write_example_bundle(inbox / "公安户籍" / "2026-11")
    people = pd.read_csv(bundle / "people.csv", dtype=str)
    people.drop(columns=["source"]).to_csv(bundle / "people.csv", index=False)
    _age(bundle)
    out = feeds.poll_once(engine, inbox, settle_seconds=5)
    assert [o.status for o in out] == [ImportStatus.OK]
    sources = set(session.scalars(select(Person.source).distinct()))
    assert sources == {"公安户籍"}
    # Rows that name their source keep it.
    assert set(session.scalars(select(Officer.source).distinct())) == {"政治处"}
