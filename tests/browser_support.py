"""Plumbing shared by the real-browser tests: a Streamlit server on a free port and Debian's
Chromium driven by Playwright (never `playwright install`: it downloads a browser)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from fangcang import auth, db
from fangcang.access import Role

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def small_demo(path: Path) -> Path:
    """A small demo database at ``path``: built by the CLI (about a minute), or copied from the
    file named by ``FANGCANG_BROWSER_DEMO_DB`` to save that minute on repeated runs."""
    reuse = os.environ.get("FANGCANG_BROWSER_DEMO_DB")
    if reuse:
        shutil.copyfile(reuse, path)
    else:
        subprocess.run(
            [sys.executable, "-m", "fangcang", "--db", f"sqlite:///{path}", "demo"]
            + ["--scale", "small"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=900,
        )
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def server_process(db_url: str, log_path: Path, extra_args: Sequence[str] = ()):
    """Run ``streamlit run serve.py`` (app.py plus the sign-in cookie routes) on ``db_url`` with
    tiles off and ``extra_args`` (Streamlit options); yield ``(base URL, process)``."""
    port = free_port()
    env = dict(os.environ, FANGCANG_DB_URL=db_url)
    # Audit anchors and temp files of the test server stay next to its log.
    env["FANGCANG_AUDIT_ANCHOR_DIR"] = str(log_path.parent / "audit-anchors")
    env["FANGCANG_TEMP_DIR"] = str(log_path.parent / "tmp")
    env.pop("FANGCANG_TILE_URL", None)
    cmd = [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true"]
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    cmd += ["--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    cmd += list(extra_args)
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(240):
                try:
                    if urllib.request.urlopen(f"{base}/_stcore/health", timeout=1).read() == b"ok":
                        break
                except OSError:
                    time.sleep(0.25)
            else:
                pytest.fail(f"streamlit did not start; see {log_path}")
            yield base, proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def streamlit_server(db_url: str, log_path: Path):
    """``server_process`` without extra options; yield its base URL."""
    with server_process(db_url, log_path) as (base, _):
        yield base


@contextmanager
def chromium():
    """Debian's headless Chromium under Playwright."""
    if not Path(CHROMIUM).exists():
        pytest.fail("browser tests need /usr/bin/chromium: run scripts/ensure-chromium.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-quic"]
        )
        try:
            yield browser
        finally:
            browser.close()


def leader_credentials(db_url: str) -> tuple[str, str]:
    """Username and password of the demo leader in the demo database at ``db_url``."""
    engine = db.make_engine(db_url)
    with db.session_factory(engine)() as s:
        accounts = auth.demo_accounts(s)
    engine.dispose()
    return next((u.username, p) for u, p in accounts if u.role == Role.LEADER)
