"""One block model, two documents: the HTML and the Word document of a bulletin carry the same
tables, figures and requirements; the Word layout (masthead, document number, page numbers,
repeated header rows, content-sized columns)."""

from __future__ import annotations

import io
import re
from datetime import datetime
from html.parser import HTMLParser

import pytest
from docx import Document
from docx.oxml.ns import qn
from support import bulletin_district

from fangcang import bulletins
from fangcang.bulletins import blocks, word
from fangcang.timeutil import Month


@pytest.fixture
def district(session, factory):
    return bulletin_district(session, factory)


class _Cells(HTMLParser):
    """Tables (rows of cell texts) and list items of an HTML page."""

    def __init__(self):
        super().__init__()
        self.tables, self.items, self._cell, self._li = [], [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""
        elif tag == "li" and ("class", "") not in attrs:
            self._li = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell)
            self._cell = None
        elif tag == "li" and self._li is not None:
            self.items.append(self._li)
            self._li = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._li is not None:
            self._li += data


def _two_bulletins(session):
    bulletins.issue_bulletin(session, Month(2026, 2), "duty1", issued_at=datetime(2026, 3, 3, 9))
    b = bulletins.issue_bulletin(
        session, Month(2026, 3), "duty1", issued_at=datetime(2026, 4, 3, 9)
    )
    session.commit()
    return b


def test_html_and_word_carry_the_same_figures(session, district):
    b = _two_bulletins(session)
    c = bulletins.content(b)
    doc = blocks.document(c)
    tables = [x for x in doc.blocks if isinstance(x, blocks.Table)]
    assert [tb.name for tb in tables] == ["headline", "levels", "named", "named", "changes"]

    parsed = _Cells()
    parsed.feed(b.html)
    docx = Document(io.BytesIO(bulletins.to_docx(b)))
    word_tables = [[[cell.text for cell in row.cells] for row in t.rows] for t in docx.tables]
    expected = [
        [[col.label for col in tb.columns]] + [[cell.full_text for cell in r] for r in tb.rows]
        for tb in tables
    ]
    assert parsed.tables == expected
    assert word_tables == expected
    # The figures are real: the headline table has the month's and the year's counts.
    assert any(re.fullmatch(r"[\d,]+", cell) for row in expected[0][1:] for cell in row[1:3])

    # Requirements: every generated line is in both documents, in the same order.
    lines = [line for x in c["red"] + c["yellow"] for line in x["requirements"]]
    assert lines and [i for i in parsed.items if not i.startswith(("五马", "沿江"))] == lines
    paras = [p.text for p in docx.paragraphs]
    assert [p for p in paras if re.match(r"（\d+）", p)] == [
        f"（{i}）{line}"
        for x in c["red"] + c["yellow"]
        for i, line in enumerate(x["requirements"], 1)
    ]
    # Headings and figures: same sections, same pictures (charts and the map).
    headings = [x.text for x in doc.blocks if isinstance(x, blocks.Heading)]
    assert re.findall(r"<h2>(.*?)</h2>", b.html) == headings
    assert all(h in paras for h in headings)
    assert b.html.count("data:image/png;base64,") == len(docx.inline_shapes) == 3


def test_word_layout_official_masthead_page_numbers_and_tables(session, district):
    b = _two_bulletins(session)
    docx = Document(io.BytesIO(bulletins.to_docx(b)))
    paras = [p.text for p in docx.paragraphs]
    assert paras[0] == "鹿城区社区靶向预警通报"
    assert re.fullmatch(r"鹿公预〔2026〕2号", paras[1]) and paras[2] == "2026年第2期"
    assert paras[3] == "鹿城区公安分局\t2026年4月3日"  # the issuing unit, from the district
    rule = docx.paragraphs[3]._p.pPr.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert rule.get(qn("w:color")) == "C8102E"  # the red rule under the masthead
    assert paras[-3:-1] == ["鹿城区公安分局", "2026年4月3日"]  # signature block
    section = docx.sections[0]
    assert round(section.page_width.cm, 1) == 21.0 and round(section.left_margin.cm, 1) == 2.8

    # Page numbers: a PAGE field in the footer.
    footer = section.footer.paragraphs[0]._p
    instr = [el.text.strip() for el in footer.iter(qn("w:instrText"))]
    kinds = [el.get(qn("w:fldCharType")) for el in footer.iter(qn("w:fldChar"))]
    assert instr == ["PAGE"] and kinds == ["begin", "separate", "end"]

    content_tables = [
        x for x in blocks.document(bulletins.content(b)).blocks if isinstance(x, blocks.Table)
    ]
    for table, spec in zip(docx.tables, content_tables, strict=True):
        rows = table._tbl.findall(qn("w:tr"))
        # Header row repeats on every page; no row splits across a page break.
        assert rows[0].trPr.find(qn("w:tblHeader")) is not None
        assert all(r.trPr.find(qn("w:cantSplit")) is not None for r in rows)
        assert all(r.trPr.find(qn("w:tblHeader")) is None for r in rows[1:])
        # Fixed layout with the computed, content-sized widths.
        assert table._tbl.tblPr.find(qn("w:tblLayout")).get(qn("w:type")) == "fixed"
        grid = [int(g.get(qn("w:w"))) for g in table._tbl.tblGrid.findall(qn("w:gridCol"))]
        widths = word.column_widths(spec)
        assert grid == [int(round(w / 2.54 * 1440)) for w in widths] or grid == [
            int(w / 2.54 * 1440) for w in widths
        ]
        assert sum(widths) <= word.TEXT_WIDTH_CM + 0.01


def _table(columns, rows):
    return blocks.Table(tuple(columns), tuple(tuple(blocks.Cell(v) for v in r) for r in rows), "t")


def test_column_widths_follow_the_content():
    short = _table(
        [blocks.Column("社区"), blocks.Column("得分", numeric=True)],
        [["沿江社区", "82.1"], ["五马街道蝉街社区", "70.0"]],
    )
    w = word.column_widths(short)
    # the name column fits its longest name (8 CJK characters at 9 pt = 2.54 cm + padding)
    assert 2.9 < w[0] < 3.2 and w[1] < 1.5
    assert sum(w) < word.TEXT_WIDTH_CM  # narrow content: the table is not stretched

    wide = _table(
        [blocks.Column("社区"), blocks.Column("派出所"), blocks.Column("主要原因", wrap=True)],
        [["沿江社区", "广化派出所", "刑事治安警情率为全区的2.1倍" * 6]],
    )
    w = word.column_widths(wide)
    assert round(sum(w), 2) == round(word.TEXT_WIDTH_CM, 2)  # the long text takes the rest
    assert w[2] > w[0] + w[1]

    crowded = _table(
        [blocks.Column(f"列{i}") for i in range(8)] + [blocks.Column("原因", wrap=True)],
        [["很长的一段内容很长的一段内容"] * 8 + ["x" * 200]],
    )
    w = word.column_widths(crowded)
    assert w[-1] == word.MIN_WRAP_CM and round(sum(w), 2) <= round(word.TEXT_WIDTH_CM, 2)


def test_issuing_unit_comes_from_configuration(session, district, monkeypatch):
    monkeypatch.setenv("FANGCANG_ISSUING_UNIT", "温州市公安局鹿城区分局")
    b = _two_bulletins(session)
    assert bulletins.content(b)["issuer"] == "温州市公安局鹿城区分局"
    paras = [p.text for p in Document(io.BytesIO(bulletins.to_docx(b))).paragraphs]
    assert paras[3].startswith("温州市公安局鹿城区分局\t")
    assert '<div class="meta"><span>温州市公安局鹿城区分局</span>' in b.html
    monkeypatch.setenv("FANGCANG_ISSUING_UNIT", "x" * 41)
    with pytest.raises(ValueError, match="FANGCANG_ISSUING_UNIT"):
        _two_bulletins(session)


def test_bulletin_percentages_read_as_on_the_dashboard(session, district):
    from fangcang.i18n import fmt_pct

    b = _two_bulletins(session)
    c = bulletins.content(b)
    head = {r["key"]: r for r in c["summary"]["headline"]}
    cells = [
        cell.text
        for x in blocks.document(c).blocks
        if isinstance(x, blocks.Table)
        for row in x.rows
        for cell in row
    ]
    shown = fmt_pct(head["total"]["month_pct"])  # what the dashboard shows for this figure
    assert re.fullmatch(r"[+-]\d+\.\d%", shown) and shown in cells
    assert not any(re.fullmatch(r"[+-]\d+\.\d\d%", x) for x in cells)
