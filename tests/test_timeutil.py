"""fangcang.timeutil: the one clock (Asia/Shanghai) and calendar months."""

from __future__ import annotations

import ast
import re
import time
from datetime import date, datetime
from pathlib import Path

import pytest
import time_machine

from fangcang.timeutil import Month, last_complete_month, month_range, now_local, window

ROOT = Path(__file__).resolve().parents[1]

# 2026-11-30 17:30 UTC is 2026-12-01 01:30 in Asia/Shanghai: the UTC date, month and a server's
# clock in UTC all say November; the district's calendar says December.
AFTER_MIDNIGHT_IN_SHANGHAI = "2026-11-30T17:30:00+00:00"


@time_machine.travel(AFTER_MIDNIGHT_IN_SHANGHAI, tick=False)
def test_the_clock_is_the_districts_not_the_servers():
    assert now_local() == datetime(2026, 12, 1, 1, 30)
    assert now_local().tzinfo is None  # stored as naive local times
    assert last_complete_month() == Month(2026, 11)


def test_months():
    assert Month.parse(" 2026-01 ").shift(-1) == Month(2025, 12)
    assert Month(2024, 2).last_day == date(2024, 2, 29)
    assert Month(2026, 12).end == datetime(2027, 1, 1)
    assert [str(m) for m in month_range(Month(2026, 11), Month(2027, 1))] == [
        "2026-11",
        "2026-12",
        "2027-01",
    ]
    assert window(Month(2026, 2), 3) == (Month(2025, 12), Month(2026, 2))
    assert last_complete_month(date(2027, 1, 1)) == Month(2026, 12)
    with pytest.raises(ValueError, match="YYYY-MM"):
        Month.parse("2026/11")
    with pytest.raises(ValueError, match="1..12"):
        Month(2026, 13)
    with pytest.raises(ValueError, match="before it starts"):
        month_range(Month(2026, 2), Month(2026, 1))


# Reading the clock anywhere but fangcang.timeutil gives the server's zone (UTC on most servers),
# not the district's: a page's default day or a stored time would be 8 hours off, a different
# date between 00:00 and 08:00 local and a different month on the first of a month.
_NAIVE = {
    "date": {"today", "fromtimestamp"},
    "datetime": {"today", "now", "utcnow", "fromtimestamp", "utcfromtimestamp"},
    "Timestamp": {"now", "today", "utcnow", "fromtimestamp", "utcfromtimestamp"},
    "time": {"localtime", "gmtime", "strftime", "ctime", "asctime"},
    "func": {"now", "current_timestamp", "current_date", "current_time", "localtimestamp"},
}
_NOW_WORDS = {"now", "today"}  # pd.Timestamp("now"), pd.to_datetime("today"), np.datetime64("now")
_PARSERS = {"Timestamp", "to_datetime", "datetime64"}
_SQL_CALLS = {"text", "exec_driver_sql", "execute", "executescript"}  # SQL written as text
_SQL_CLOCK = re.compile(r"current_(timestamp|date|time)\b|\bnow\(\)|'now'", re.IGNORECASE)


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> the name the rule knows (``import datetime as dt``, ``from datetime import
    datetime as dt``, ``from time import localtime as lt`` -> ``time.localtime``)."""
    out: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name] = a.name.split(".")[-1]
        elif isinstance(node, ast.ImportFrom) and node.module in ("datetime", "time", "pandas"):
            for a in node.names:
                if node.module == "time" and a.name in _NAIVE["time"]:
                    out[a.asname or a.name] = f"time.{a.name}"
                else:
                    out[a.asname or a.name] = a.name
    return out


def _clock_reads(source: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    alias = _aliases(tree)

    def name(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return alias.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            return node.attr
        return None

    out = []
    for node in ast.walk(tree):
        # datetime.now / time.localtime / func.now, called or passed (default=datetime.now)
        if isinstance(node, ast.Attribute) and node.attr in _NAIVE.get(name(node.value), ()):
            out.append((node.lineno, f"{name(node.value)}.{node.attr}"))
        elif isinstance(node, ast.Name) and alias.get(node.id, "").startswith("time."):
            out.append((node.lineno, alias[node.id]))
        elif (
            isinstance(node, ast.Call)
            and name(node.func) in _PARSERS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).strip().lower() in _NOW_WORDS
        ):
            out.append((node.lineno, f"{name(node.func)}({node.args[0].value!r})"))
        elif (
            isinstance(node, ast.Call)
            and name(node.func) in _SQL_CALLS
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and _SQL_CLOCK.search(str(node.args[0].value))
        ):
            out.append((node.lineno, f"SQL clock in {str(node.args[0].value)[:40]!r}"))
    return sorted(set(out))


def test_the_rule_finds_each_way_of_reading_the_servers_clock():
    src = (
        "import time, datetime as dt\nimport pandas as pd\nimport numpy as np\n"  # 1-3
        "from datetime import datetime as DT\nfrom time import localtime as lt\n"  # 4-5
        "a = date.today()\nb = dt.datetime.now()\nc = datetime.utcnow()\n"  # 6-8
        "d = pd.Timestamp.now()\ne = pd.Timestamp('today')\nf = time.strftime('%H')\n"  # 9-11
        "g = DT.now()\nh = lt()\ni = pd.Timestamp.utcnow()\nj = np.datetime64('now')\n"  # 12-15
        "k = pd.to_datetime('now')\nl = time.gmtime()\nm = DT.fromtimestamp(0)\n"  # 16-18
        "n = Column(default=DT.now)\no = select(func.now())\n"  # 19-20
        "p = text('SELECT CURRENT_TIMESTAMP')\n"  # 21
        "ok = now_local().strftime('%H') + str(time.time()) + str(time.monotonic())\n"  # 22
        "ok2 = DT.fromisoformat('2026-11-30') + pd.Timestamp('2026-11-30')\n"  # 23
    )
    assert sorted({line for line, _ in _clock_reads(src)}) == [
        6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21
    ]  # fmt: skip


def test_only_timeutil_reads_the_clock():
    files = [ROOT / "app.py", ROOT / "serve.py"]
    for folder in ("fangcang", "ui", "pages"):
        files += sorted((ROOT / folder).rglob("*.py"))
    found = [
        f"{path.relative_to(ROOT)}:{line}: {call}"
        for path in files
        if path.exists() and path != ROOT / "fangcang" / "timeutil.py"
        for line, call in _clock_reads(path.read_text(encoding="utf-8"))
    ]
    assert not found, "use fangcang.timeutil.now_local() instead of:\n" + "\n".join(found)


@time_machine.travel(AFTER_MIDNIGHT_IN_SHANGHAI, tick=False)
def test_file_and_log_times_are_local():
    import logging

    from fangcang.logsetup import FORMAT, MaskingFormatter
    from fangcang.timeutil import from_timestamp

    assert from_timestamp(time.time()) == datetime(2026, 12, 1, 1, 30)
    record = logging.LogRecord("fangcang.x", logging.INFO, __file__, 1, "hello", None, None)
    # the log line's time matches the reference shown to users (fangcang.demo.background)
    assert MaskingFormatter(FORMAT).format(record).startswith("2026-12-01 01:30:00,000 INFO")
