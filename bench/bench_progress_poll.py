"""Server CPU while the first-start progress page is open in 1, 2 and 3 browser tabs.

    .venv/bin/python bench/bench_progress_poll.py [--gc true|false] [--scale full]

Starts ``streamlit run serve.py`` on an empty SQLite database in a temporary folder (the first
visit starts the demo build of ``--scale``), opens the progress page in one tab, then two, then
three, and prints the server process's CPU over 20 s for each; the build runs in a process of
its own and is not counted. ``--gc`` passes ``--runner.postScriptGC`` (default: config.toml's
setting). ``--spy FILE`` also records the server with py-spy (if installed) for 15 s with two
tabs open, as collapsed stacks. Needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_page_views import _stat  # noqa: E402

PROGRESS = "首次启动：正在生成鹿城区演示数据…"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gc", choices=("true", "false"))
    ap.add_argument("--scale", default="full", choices=("small", "medium", "full"))
    ap.add_argument("--spy", type=Path)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from tests.browser_support import CHROMIUM, server_process

    work = Path(tempfile.mkdtemp(prefix="bench-poll-"))
    os.environ["FANGCANG_DEMO_SCALE"] = args.scale  # the server's build child inherits it
    gc = ["--runner.postScriptGC", args.gc] if args.gc else []
    try:
        with server_process(f"sqlite:///{work / 'empty.db'}", work / "server.log", gc) as (
            base,
            proc,
        ):
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                context = browser.new_context()
                pages = []
                for n in (1, 2, 3):
                    while len(pages) < n:
                        page = context.new_page()
                        page.goto(base)
                        page.get_by_role("heading", name=PROGRESS).wait_for(timeout=60_000)
                        pages.append(page)
                    time.sleep(3)
                    if args.spy and n == 2:
                        spy = Path(sys.executable).with_name("py-spy")
                        record = [str(spy), "record", "-p", str(proc.pid), "-d", "15"]
                        record += ["-o", str(args.spy), "-f", "raw", "--nonblocking"]
                        subprocess.run(record, check=False, capture_output=True)
                    cpu0, t0 = _stat(proc.pid)[0], time.monotonic()
                    time.sleep(20)
                    cpu1, t1 = _stat(proc.pid)[0], time.monotonic()
                    print(f"tabs={n}: server CPU {100 * (cpu1 - cpu0) / (t1 - t0):.1f}% of a core")
                browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
