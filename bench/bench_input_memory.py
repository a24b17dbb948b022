"""Peak memory (and time) of the import paths on hostile inputs of at most 10 MB.

Run: ``.venv/bin/python bench/bench_input_memory.py [CASE ...]`` (default: every case). Each
case runs in its own process, builds its input in a temporary folder, feeds it to the path
a user or a department would use (bundle import into a fresh SQLite database, browser upload
extraction, or the file reader), and reports the input size, the process's peak RSS
(``resource.getrusage``, Linux KiB -> MB), the RSS before the input was read (Python, pandas,
SQLAlchemy and the migrated database: the floor) and the outcome. Target (issue 17): under
500 MB for any input of 10 MB or less.
"""

from __future__ import annotations

import io
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TEN_MB = 10 * 1024 * 1024


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _incidents_row() -> dict:
    from fangcang.importer.example import frames

    return frames()["incidents"].iloc[0].to_dict()


def _header_and_row() -> tuple[str, str]:
    row = _incidents_row()
    return ",".join(row), ",".join(str(v) for v in row.values())


def build_dup_30k(tmp: Path) -> Path:
    """30,000 copies of one incident_id (the 1.4 MB file of the issue)."""
    from fangcang.importer.example import write_example_bundle

    folder = write_example_bundle(tmp / "bundle")
    header, row = _header_and_row()
    (folder / "incidents.csv").write_text(header + "\n" + (row + "\n") * 30_000)
    return folder


def build_dup_10mb(tmp: Path) -> Path:
    """One incident_id repeated for 10 MB (about 200,000 copies)."""
    from fangcang.importer.example import write_example_bundle

    folder = write_example_bundle(tmp / "bundle")
    header, row = _header_and_row()
    n = TEN_MB // (len(row) + 1)
    (folder / "incidents.csv").write_text(header + "\n" + (row + "\n") * n)
    return folder


def build_bad_cells_10mb(tmp: Path) -> Path:
    """10 MB where every row has three bad cells (date, category, number): every row an
    error, 600,000+ errors in all."""
    from fangcang.importer.example import write_example_bundle

    folder = write_example_bundle(tmp / "bundle")
    lines = ["incident_id,occurred_at,category,community_id,loss_yuan"]
    size, i = 0, 0
    while size < TEN_MB:
        line = f"X{i},yesterday,robbery,C001,lots"
        lines.append(line)
        size += len(line) + 1
        i += 1
    (folder / "incidents.csv").write_text("\n".join(lines) + "\n")
    return folder


def build_huge_cell(tmp: Path) -> Path:
    """One 10 MB cell (3.3 million Chinese characters) in a description."""
    from fangcang.importer.example import write_example_bundle

    folder = write_example_bundle(tmp / "bundle")
    header, row = _header_and_row()
    cells = row.split(",")
    cells[3] = "警" * (TEN_MB // 3)  # subtype
    (folder / "incidents.csv").write_text(header + "\n" + ",".join(cells) + "\n")
    return folder


def build_many_columns(tmp: Path) -> Path:
    """A 10 MB header: 1.2 million columns (refused before parsing)."""
    from fangcang.importer.example import write_example_bundle

    folder = write_example_bundle(tmp / "bundle")
    header, row = _header_and_row()
    extra = ",".join(f"c{i}" for i in range(1_200_000))
    (folder / "incidents.csv").write_text(header + "," + extra + "\n" + row + "\n")
    return folder


def build_wide_table(tmp: Path) -> Path:
    """200 columns (the limit) x 5,000 rows of 10-character cells: 10 MB, accepted shape."""
    from fangcang.importer.example import write_example_bundle

    folder = write_example_bundle(tmp / "bundle")
    header, _ = _header_and_row()
    _, row = _header_and_row()
    cols = header.split(",")
    extra = [f"extra{i}" for i in range(200 - len(cols))]
    lines = [",".join(cols + extra)]
    base = row.split(",")
    for i in range(TEN_MB // (len(extra) * 11 + 100)):
        cells = base.copy()
        cells[0] = f"W{i}"
        lines.append(",".join(cells + ["abcdefghij"] * len(extra)))
    (folder / "incidents.csv").write_text("\n".join(lines) + "\n")
    return folder


def build_control_chars(tmp: Path) -> Path:
    """10 MB of rows whose description carries NUL bytes."""
    from fangcang.importer.example import write_example_bundle

    folder = write_example_bundle(tmp / "bundle")
    header, row = _header_and_row()
    cells = row.split(",")
    lines = [header]
    size, i = 0, 0
    while size < TEN_MB:
        cells[0] = f"N{i}"
        cells[3] = "a\x00b"
        line = ",".join(cells)
        lines.append(line)
        size += len(line) + 1
        i += 1
    (folder / "incidents.csv").write_text("\n".join(lines) + "\n")
    return folder


def build_mixed_encoding(tmp: Path) -> Path:
    """10 MB of GBK rows with one UTF-8 row at the end (the whole file is scanned)."""
    from fangcang.importer.example import frames, write_example_bundle

    folder = write_example_bundle(tmp / "bundle")
    people = frames()["people"]
    text = people.to_csv(index=False).splitlines()
    header, rows = text[0], text[1:]
    out = [header.encode("gbk")]
    size, i = 0, 0
    while size < TEN_MB:
        line = rows[i % len(rows)].replace("P00", f"Q{i}_", 1).encode("gbk")
        out.append(line)
        size += len(line) + 1
        i += 1
    out.append(rows[0].replace("P00", "U", 1).encode("utf-8"))
    (folder / "people.csv").write_bytes(b"\n".join(out) + b"\n")
    return folder


def build_zip_bomb(tmp: Path) -> tuple[str, bytes]:
    """A 1 GB people.csv of one repeated line, deflated to about 1 MB (browser upload)."""
    line = b"P1,name,330302198001010011,13800000000,male,1980-01-01\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        with zf.open("people.csv", "w", force_zip64=True) as f:
            block = line * (1024 * 1024 // len(line))
            for _ in range(1024):
                f.write(block)
    return "bomb.zip", buf.getvalue()


def _sheet_xlsx(tmp: Path, rows_xml: bytes, name: str) -> Path:
    import pandas as pd

    template = tmp / "template.xlsx"
    pd.DataFrame({"incident_id": ["A1"]}).to_excel(template, index=False)
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        b'.org/spreadsheetml/2006/main"><sheetData>'
    )
    sheet = head + rows_xml + b"</sheetData></worksheet>"
    out = tmp / "bundle"
    out.mkdir(exist_ok=True)
    path = out / name
    with (
        zipfile.ZipFile(template) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst,
    ):
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info.filename, sheet if info.filename.endswith("sheet1.xml") else data)
    return path


def build_xlsx_bomb(tmp: Path) -> Path:
    """An XLSX of under 1 MB whose sheet expands to 2 million rows (the issue's 0.85 MB file)."""
    hdr = b'<row><c t="inlineStr"><is><t>incident_id</t></is></c></row>'
    row = b'<row><c t="inlineStr"><is><t>A</t></is></c></row>'
    return _sheet_xlsx(tmp, hdr + row * 2_000_000, "incidents.xlsx")


def build_xlsx_big(tmp: Path) -> Path:
    """A real-looking 10 MB XLSX (distinct rows, within every limit): streamed, not held."""
    import pandas as pd

    from fangcang.importer.example import frames

    inc = frames()["incidents"]
    n = 150_000
    big = pd.concat([inc] * (n // len(inc) + 1), ignore_index=True).iloc[:n]
    big["incident_id"] = [f"I{i:07d}" for i in range(n)]
    big["loss_yuan"] = [str(i % 977) for i in range(n)]
    out = tmp / "bundle"
    out.mkdir(exist_ok=True)
    path = out / "incidents.xlsx"
    big.to_excel(path, index=False)
    return path


def build_geojson_deep(tmp: Path) -> Path:
    """10 MB of nested brackets in communities.geojson."""
    out = tmp / "bundle"
    out.mkdir(exist_ok=True)
    half = TEN_MB // 2 - 30
    (out / "communities.geojson").write_text(
        '{"type":"FeatureCollection","features":' + "[" * half + "]" * half + "}"
    )
    return out


def build_geojson_keys(tmp: Path) -> Path:
    """10 MB of features, each with its own property names (a features x names table)."""
    out = tmp / "bundle"
    out.mkdir(exist_ok=True)
    feats = []
    size, i = 0, 0
    while size < TEN_MB:
        f = json.dumps({"type": "Feature", "properties": {f"k{i}": "v"}, "geometry": None})
        feats.append(f)
        size += len(f) + 1
        i += 1
    (out / "communities.geojson").write_text(
        '{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}"
    )
    return out


BUNDLE_CASES = {
    "dup_30k": build_dup_30k,
    "dup_10mb": build_dup_10mb,
    "bad_cells_10mb": build_bad_cells_10mb,
    "huge_cell": build_huge_cell,
    "many_columns": build_many_columns,
    "wide_table": build_wide_table,
    "control_chars": build_control_chars,
    "mixed_encoding": build_mixed_encoding,
    "geojson_deep": build_geojson_deep,
    "geojson_keys": build_geojson_keys,
    "xlsx_bomb": build_xlsx_bomb,
    "xlsx_big": build_xlsx_big,
}
CASES = [*BUNDLE_CASES, "zip_bomb_upload"]


def build_case(name: str, tmp: Path) -> None:
    """Write the case's input under ``tmp`` (in its own process: building is not measured)."""
    if name == "zip_bomb_upload":
        fname, data = build_zip_bomb(tmp)
        (tmp / fname).write_bytes(data)
    else:
        BUNDLE_CASES[name](tmp)


def run_case(name: str, tmp: Path) -> dict:
    import os

    from fangcang import db

    os.environ["FANGCANG_REPORTS_DIR"] = str(tmp / "reports")
    engine = db.make_engine(f"sqlite:///{tmp}/bench.db")
    db.upgrade(engine)
    if name == "zip_bomb_upload":
        from fangcang import uploads
        from fangcang.websafe import UploadError

        data = (tmp / "bomb.zip").read_bytes()
        size = len(data)
        floor = _rss_mb()
        t0 = time.perf_counter()
        try:
            uploads.save_upload([("bomb.zip", data)], tmp / "up" / "bundle")
            outcome = "extracted (NOT refused)"
        except UploadError as exc:
            outcome = f"refused: {exc}"
    else:
        from fangcang.importer import import_bundle

        folder = tmp / "bundle"
        size = max(p.stat().st_size for p in folder.iterdir() if p.is_file())
        floor = _rss_mb()
        t0 = time.perf_counter()
        result = import_bundle(engine, folder, actor="bench")
        first = result.errors[0] if result.errors else None
        outcome = f"{result.status.value}: {result.rejected:,} rows rejected"
        if first is not None:
            outcome += f"; first error: {str(first)[:160]}"
    seconds = time.perf_counter() - t0
    return {
        "case": name,
        "input_mb": round(size / 1024 / 1024, 2),
        "floor_mb": round(floor),
        "peak_rss_mb": round(_rss_mb()),
        "seconds": round(seconds, 2),
        "outcome": outcome,
    }


def main(argv: list[str]) -> int:
    if argv[:1] == ["--build"]:
        build_case(argv[1], Path(argv[2]))
        return 0
    if argv[:1] == ["--one"]:
        print(json.dumps(run_case(argv[1], Path(argv[2])), ensure_ascii=False))
        return 0
    wanted = argv or CASES
    unknown = set(wanted) - set(CASES)
    if unknown:
        print(f"unknown case(s): {', '.join(sorted(unknown))} (known: {', '.join(CASES)})")
        return 2
    print(f"{'case':<18}{'input MB':>9}{'floor MB':>9}{'peak MB':>9}{'s':>8}  outcome")
    worst = 0
    for name in wanted:
        tmp = Path(tempfile.mkdtemp(prefix="fangcang-bench-"))
        subprocess.run([sys.executable, __file__, "--build", name, str(tmp)], check=True)
        run = subprocess.run(
            [sys.executable, __file__, "--one", name, str(tmp)], capture_output=True, text=True
        )
        shutil.rmtree(tmp, ignore_errors=True)
        if run.returncode:
            print(f"{name:<18} FAILED\n{run.stderr[-2000:]}")
            worst = max(worst, 10**6)
            continue
        r = json.loads(run.stdout.strip().splitlines()[-1])
        worst = max(worst, r["peak_rss_mb"])
        print(
            f"{r['case']:<18}{r['input_mb']:>9}{r['floor_mb']:>9}{r['peak_rss_mb']:>9}"
            f"{r['seconds']:>8}  {r['outcome'][:150]}",
            flush=True,
        )
    print(f"worst peak RSS: {worst} MB (target < 500 MB)")
    return 0 if worst < 500 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
