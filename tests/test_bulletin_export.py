"""Bulletin documents: the .docx opens and names the expected communities; the CJK font draws
real glyphs (not the missing-glyph box); the HTML is self-contained."""

from __future__ import annotations

import io
import re
from datetime import datetime

import numpy as np
import pytest
import time_machine
from docx import Document
from support import bulletin_district

from fangcang import bulletins
from fangcang.timeutil import Month


@pytest.fixture
def district(session, factory):
    return bulletin_district(session, factory)


PNG = b"\x89PNG\r\n\x1a\n"


def _glyph(char: str, font_path: str | None) -> np.ndarray:
    """Rasterise one character with a given font file (None: matplotlib's DejaVu Sans)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties, findfont

    font_path = font_path or findfont(FontProperties(family="DejaVu Sans"))
    fig = Figure(figsize=(0.6, 0.6), dpi=100)
    canvas = FigureCanvasAgg(fig)
    fig.text(
        0.5,
        0.5,
        char,
        fontproperties=FontProperties(fname=font_path),
        fontsize=28,
        ha="center",
        va="center",
    )
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., 0].copy()


@pytest.mark.filterwarnings("ignore:Glyph .* missing from font")
def test_cjk_font_draws_real_glyphs_not_boxes():
    path = str(bulletins.cjk_font_path())
    name = bulletins.use_cjk_font()
    assert "CJK" in name
    # Without a CJK font both characters come out as the same missing-glyph box ...
    assert np.array_equal(_glyph("沿", None), _glyph("江", None))
    # ... with the bundled font they are different shapes, and neither is that box.
    yan, jiang = _glyph("沿", path), _glyph("江", path)
    assert not np.array_equal(yan, jiang)
    assert not np.array_equal(yan, _glyph("沿", None))
    assert (yan < 128).sum() > 40  # ink on the canvas


def test_cjk_text_width_differs_from_missing_glyph():
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath

    cjk = FontProperties(fname=str(bulletins.cjk_font_path()))
    wide = TextPath((0, 0), "沿江社区", prop=cjk, size=10).get_extents().width
    narrow = TextPath((0, 0), "沿", prop=cjk, size=10).get_extents().width
    assert wide > 3.5 * narrow  # four full-width glyphs


def test_docx_opens_and_names_the_communities(session, district, tmp_path):  # noqa: F811
    bulletins.issue_bulletin(session, Month(2026, 2), "duty1", issued_at=datetime(2026, 3, 3, 9))
    b = bulletins.issue_bulletin(
        session, Month(2026, 3), "duty1", issued_at=datetime(2026, 4, 3, 9)
    )
    session.commit()
    path = bulletins.write(b, tmp_path / "b.docx")
    doc = Document(str(path))
    text = "\n".join(p.text for p in doc.paragraphs)
    cells = "\n".join(c.text for t in doc.tables for r in t.rows for c in r.cells)
    assert "鹿城区社区靶向预警通报" in text and "2026年第2期" in text
    assert "五马社区" in cells and "沿江社区" in cells  # red and yellow (and the changes)
    assert "李警官" in cells
    assert "升级" in cells and "降级" in cells
    assert "南汇社区" not in cells  # blue -> green: not named
    # Pictures: the two charts and the map.
    assert len(doc.inline_shapes) == 3
    blobs = [r.target_part.blob for r in doc.part.rels.values() if "image" in r.reltype]
    assert len(blobs) == 3 and all(bl.startswith(PNG) for bl in blobs)
    # No personal data of residents.
    assert "陈小华" not in text + cells and "13912345678" not in text + cells


def test_html_is_self_contained_and_written(session, district, tmp_path):  # noqa: F811
    b = bulletins.issue_bulletin(
        session, Month(2026, 2), "duty1", issued_at=datetime(2026, 3, 3, 9)
    )
    session.commit()
    out = bulletins.write(b, tmp_path / "b.html")
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"(src|href)=['\"]?https?:", html)  # nothing from the network
    assert html.count("data:image/png;base64,") == 3
    # The written file is the frozen HTML plus the embedded font, nothing else.
    assert html.count("@font-face") == 1 and "data:font/woff;base64," in html
    assert re.sub(r"<style>@font-face.*?</style>", "", html, flags=re.S) == b.html
    with pytest.raises(ValueError, match="must end in .docx or .html"):
        bulletins.write(b, tmp_path / "b.pdf")


def test_charts_and_map_are_pngs(session, district):  # noqa: F811
    b = bulletins.issue_bulletin(
        session, Month(2026, 2), "duty1", issued_at=datetime(2026, 3, 3, 9)
    )
    charts = bulletins.chart_pngs(bulletins.content(b))
    assert set(charts) == {"yoy", "trend"}
    assert all(v.startswith(PNG) for v in charts.values()) and b.map_png.startswith(PNG)
    from PIL import Image

    w, h = Image.open(io.BytesIO(b.map_png)).size
    assert w > 400 and h > 400


# Bulletins are numbered per year of issue: issued on a known day, whenever the test runs.
@time_machine.travel("2026-03-05T09:00:00+08:00", tick=True)
def test_cli_bulletin_writes_docx_and_html_without_burning_numbers(
    engine,
    session,
    district,  # noqa: F811
    tmp_path,
    capsys,
):
    from fangcang import cli

    url = engine.url.render_as_string(hide_password=False)
    out = tmp_path / "b.docx"
    assert cli.main(["--db", url, "bulletin", "--period", "2026-02", "--out", str(out)]) == 0
    assert "2026年第1期 for 2026-02: issued" in capsys.readouterr().out
    assert "沿江社区" in "\n".join(
        c.text for t in Document(str(out)).tables for r in t.rows for c in r.cells
    )
    # Exporting the same month again re-uses the issued bulletin; --new issues the next number.
    html = tmp_path / "b.html"
    assert cli.main(["--db", url, "bulletin", "--period", "2026-02", "--out", str(html)]) == 0
    assert "2026年第1期 for 2026-02: already issued" in capsys.readouterr().out
    assert "沿江社区" in html.read_text(encoding="utf-8")
    assert (
        cli.main(["--db", url, "bulletin", "--period", "2026-02", "--out", str(out), "--new"]) == 0
    )
    assert "2026年第2期" in capsys.readouterr().out
    assert cli.main(["--db", url, "bulletin", "--list", "--search", "沿江"]) == 0
    listed = capsys.readouterr().out
    assert "2026年第2期" in listed and "2026年第1期" in listed
    # Bad input: a clear error, exit code 2, nothing issued.
    assert cli.main(["--db", url, "bulletin", "--period", "2026-02", "--out", "x.pdf"]) == 2
    assert "must end in .docx or .html" in capsys.readouterr().err
    assert cli.main(["--db", url, "bulletin", "--period", "2025-01", "--out", str(out)]) == 2
    assert "no stored warning run for 2025-01" in capsys.readouterr().err
    session.expire_all()
    assert len(bulletins.search_bulletins(session)) == 2
