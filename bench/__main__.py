"""Run benchmark scripts: ``python -m bench`` runs every ``bench/bench_*.py`` with its own
defaults, one after another; ``python -m bench demo scoring`` runs the named ones only.

Each script is a separate process (so one's memory and imports never skew another's) and its
output is printed as it comes. The exit status is non-zero when any script failed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if argv:
        wanted = {a.removeprefix("bench_").removesuffix(".py") for a in argv}
        unknown = wanted - {p.stem.removeprefix("bench_") for p in scripts}
        if unknown:
            known = ", ".join(p.stem.removeprefix("bench_") for p in scripts)
            print(f"unknown benchmark(s): {', '.join(sorted(unknown))} (known: {known})")
            return 2
        scripts = [p for p in scripts if p.stem.removeprefix("bench_") in wanted]
    failed = []
    for script in scripts:
        print(f"== {script.name}", flush=True)
        t0 = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"== {script.name}: exit {code} in {time.perf_counter() - t0:.1f}s", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
