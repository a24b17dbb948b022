"""Temporary files: a private folder, removal, and the start-up sweep (fangcang.tempfiles)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fangcang import tempfiles


def test_private_folder_is_owner_only(tmp_path, monkeypatch):
    monkeypatch.setenv("FANGCANG_TEMP_DIR", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir(mode=0o755)
    folder = tempfiles.make_dir("upload")
    assert stat.S_IMODE((tmp_path / "tmp").stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert folder.parent == tmp_path / "tmp"
    assert folder.name.startswith(f"fangcang-upload-{os.getpid()}-")
    with tempfiles.temp_dir("feed") as other:
        (other / "people.csv").write_text("x")
    assert not other.exists()


def test_sweep_removes_leftovers_of_dead_processes_only(tmp_path, monkeypatch):
    monkeypatch.setenv("FANGCANG_TEMP_DIR", str(tmp_path / "tmp"))
    mine = tempfiles.make_dir("upload")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    gone = tempfiles.private_dir() / f"fangcang-upload-{dead.stdout.strip()}-abc"
    gone.mkdir()
    (gone / "people.csv").write_text("张三,330302199001011234")
    # A legacy upload copy in the system temp folder, an hour old.
    legacy = Path(tempfile.mkdtemp(prefix="fangcang-upload-"))
    old = time.time() - 7200
    os.utime(legacy, (old, old))
    assert tempfiles.sweep() >= 2
    assert mine.exists() and not gone.exists() and not legacy.exists()
