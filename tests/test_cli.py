"""fangcang.cli: the login-name guard, the one progress bar, logging configured once."""

from __future__ import annotations

import getpass
import io
import logging
import os

import pytest

from fangcang import cli, logsetup


@pytest.fixture
def no_login_name(monkeypatch):
    """A container user: no LOGNAME/USER and no passwd entry (getpass raises)."""

    def fail():
        raise OSError("No username set in the environment")

    monkeypatch.setattr(getpass, "getuser", fail)


def test_cli_actor_without_a_login_name(no_login_name):
    assert cli.os_user() == f"uid:{os.getuid()}"
    assert cli.cli_actor() == f"cli:uid:{os.getuid()}"
    assert cli.cli_actor("duty-officer") == "duty-officer"


def test_cli_actor_with_a_login_name(monkeypatch):
    monkeypatch.setattr(getpass, "getuser", lambda: "zhang")
    assert cli.cli_actor() == "cli:zhang"


def test_no_command_calls_getpass_getuser_directly():
    # Every command goes through cli.os_user (the one guard).
    from pathlib import Path

    folder = Path(cli.__file__).parent / "commands"
    offenders = [p.name for p in folder.glob("*.py") if "getuser" in p.read_text("utf-8")]
    assert offenders == []


def test_a_command_runs_without_a_login_name(no_login_name, engine, tmp_path, capsys):
    """`audit export` records the exporting actor: the container user gets uid:N."""
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from fangcang.models import AuditEntry

    url = engine.url.render_as_string(hide_password=False)
    out = tmp_path / "audit.csv"
    assert cli.main(["--db", url, "audit", "export", "--out", str(out)]) == 0
    with Session(engine) as s:
        actors = set(s.scalars(select(AuditEntry.actor)))
    assert f"cli:uid:{os.getuid()}" in actors


def test_progress_bar_moves_forward_and_closes(capsys):
    calls = []
    with cli.progress_bar() as progress:
        for f, m in [(0.1, "reading"), (0.05, "back"), (0.5, "x" * 200), (1.0, "done")]:
            progress(f, m)
            calls.append(m)
    err = capsys.readouterr().err
    assert "100%" in err and "done" in err
    assert "x" * 61 not in err  # long messages cut to the bar's width
    with pytest.raises(RuntimeError), cli.progress_bar() as progress:
        raise RuntimeError("boom")  # the bar is closed on the way out (no exception hidden)


def test_one_progress_bar():
    from pathlib import Path

    root = Path(cli.__file__).parent
    copies = [p for p in root.rglob("*.py") if "tqdm(" in p.read_text("utf-8")]
    assert copies == [Path(cli.__file__)]


def test_bad_log_level_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("FANGCANG_LOG_LEVEL", "loud")
    assert cli.main(["audit", "verify"]) == 2
    assert "FANGCANG_LOG_LEVEL" in capsys.readouterr().err


def test_logging_configured_once_and_masked():
    buf = io.StringIO()
    try:
        handler = logsetup.configure("DEBUG", stream=buf)
        again = logsetup.configure("INFO")
        assert again is handler
        assert logging.getLogger("fangcang").handlers.count(handler) == 1
        assert logging.getLogger("fangcang.importer").getEffectiveLevel() == logging.INFO
        logging.getLogger("fangcang.x").info("person 330302199001011234 phone +86 138 0013 8000")
        try:
            raise ValueError("bad id 330302199001011234")
        except ValueError:
            logging.getLogger("ui.y").exception("failed")
    finally:
        logsetup.reset()
    text = buf.getvalue()
    assert "330302********1234" in text and "138****8000" in text
    assert "199001011234" not in text and "0013 8000" not in text
    assert "Traceback" in text


def test_a_command_registers_and_imports_only_itself():
    """``demo`` (and every named command) loads only its own module: all of them together
    brought 265 MB (SciPy, python-docx) into the demo build's process, 110 MB on its peak."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from fangcang.cli import build_parser\n"
        "p = build_parser(['--db', 'sqlite://', 'demo', '--scale', 'small'])\n"
        "sub = p._subparsers._group_actions[0]\n"
        "print(sorted(sub.choices))\n"
        "print(sorted(m for m in ('scipy', 'docx', 'fangcang.commands.bulletin') if m in sys.modules))\n"
        "print(sorted(build_parser(['focus', 'list'])._subparsers._group_actions[0].choices) == "
        "sorted(build_parser([])._subparsers._group_actions[0].choices))\n"
        "print(sorted(build_parser(['import', 'x'])._subparsers._group_actions[0].choices))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    assert out == ["['demo']", "[]", "True", "['import']"], out
