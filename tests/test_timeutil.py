"""fangcang.timeutil: the one clock (Asia/Shanghai) and calendar months."""

from __future__ import annotations

import ast
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
_NAIVE_CLOCK = {
    ("date", "today"),
    ("datetime", "today"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("Timestamp", "now"),
    ("Timestamp", "today"),
    ("time", "localtime"),
    ("time", "strftime"),
    ("time", "ctime"),
}


def _owner(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _clock_calls(source: str) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and (_owner(func.value), func.attr) in _NAIVE_CLOCK:
            out.append((node.lineno, f"{_owner(func.value)}.{func.attr}()"))
        if (
            _owner(func) == "Timestamp"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value in ("now", "today")
        ):
            out.append((node.lineno, f"Timestamp({node.args[0].value!r})"))
    return out


def test_the_rule_finds_each_way_of_reading_the_servers_clock():
    src = (
        "import time, datetime as dt\nimport pandas as pd\n"
        "a = date.today()\nb = dt.datetime.now()\nc = datetime.utcnow()\n"
        "d = pd.Timestamp.now()\ne = pd.Timestamp('today')\nf = time.strftime('%H')\n"
        "g = now_local().strftime('%H')\nh = time.time()\n"
    )
    assert [line for line, _ in _clock_calls(src)] == [3, 4, 5, 6, 7, 8]


def test_only_timeutil_reads_the_clock():
    files = [ROOT / "app.py", ROOT / "serve.py"]
    for folder in ("fangcang", "ui", "pages"):
        files += sorted((ROOT / folder).rglob("*.py"))
    found = [
        f"{path.relative_to(ROOT)}:{line}: {call}"
        for path in files
        if path.exists() and path != ROOT / "fangcang" / "timeutil.py"
        for line, call in _clock_calls(path.read_text(encoding="utf-8"))
    ]
    assert not found, "use fangcang.timeutil.now_local() instead of:\n" + "\n".join(found)
