"""Page views in a real browser against a server, with or without Streamlit's post-script GC.

    .venv/bin/python bench/bench_page_views.py --db /path/to/demo.db --gc false [--rounds 3]

Copies the database, starts ``streamlit run serve.py`` on it (``--runner.postScriptGC`` as
given), signs in as the demo leader and clicks through every page of the leader's list
(``present`` excepted) ``--rounds`` times. Prints, per round, the server process's CPU seconds,
its RSS afterwards and the wall seconds from each click until the page is idle; ``--json FILE``
also writes them. Needs /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _stat(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) and RSS (MiB) of process ``pid``."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    cpu = (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024
    return cpu, rss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", required=True, help="a demo SQLite database file (copied)")
    ap.add_argument("--gc", choices=("true", "false"), required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from fangcang.access import Role
    from fangcang.i18n import t
    from tests.browser_support import CHROMIUM, leader_credentials, server_process
    from ui import nav

    work = Path(tempfile.mkdtemp(prefix="bench-views-"))
    db = work / "demo.db"
    shutil.copyfile(args.db, db)
    url = f"sqlite:///{db}"
    user, password = leader_credentials(url)
    gc = ["--runner.postScriptGC", args.gc]
    specs = [s for s in nav.allowed(Role.LEADER) if s.id != "present"]
    out = {"postScriptGC": args.gc, "db": str(args.db), "rounds": []}
    idle = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
    try:
        with server_process(url, work / "server.log", gc) as (base, proc):
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                page.goto(base)
                page.get_by_label("用户名").fill(user)
                page.get_by_label("密码").fill(password)
                page.get_by_role("button", name="登录", exact=True).click()
                page.wait_for_selector("[data-testid='stSidebarNav']", timeout=60_000)
                time.sleep(3)
                nav_bar = page.locator("[data-testid='stSidebarNav']")
                for r in range(args.rounds):
                    cpu0, _ = _stat(proc.pid)
                    walls = {}
                    for spec in specs:
                        t0 = time.monotonic()
                        nav_bar.get_by_text(t(spec.title_key, "zh"), exact=True).first.click()
                        page.wait_for_timeout(150)
                        page.wait_for_function(idle, timeout=120_000)
                        walls[spec.id] = round(time.monotonic() - t0, 3)
                    cpu1, rss = _stat(proc.pid)
                    row = {
                        "server_cpu_s": round(cpu1 - cpu0, 2),
                        "rss_mb": round(rss),
                        "wall_s": walls,
                    }
                    out["rounds"].append(row)
                    print(
                        f"round {r + 1}: {len(walls)} views, server CPU {row['server_cpu_s']} s, "
                        f"RSS {row['rss_mb']} MiB, wall {sum(walls.values()):.2f} s",
                        flush=True,
                    )
                browser.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
