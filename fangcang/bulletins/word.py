"""The bulletin as a Word document (python-docx), rendered from the same blocks as the HTML
(``blocks.document``).

Layout follows the usual form of a Chinese official document (GB/T 9704-2012, 党政机关公文格式,
adapted to a bulletin): A4, margins 3.7 / 3.5 cm top / bottom and 2.8 / 2.6 cm left / right;
a red masthead with the title, the document number (〔2026〕N号) and the issue number, the
issuing unit and date above a red rule; the signature block (unit and date) at the end; page
numbers "— N —" centred in the footer (a PAGE field, so Word counts the pages).

Tables: every column is sized to its content (``column_widths``: the widest text of the column,
header included, estimated from the character widths of the font size used), long-text columns
take the width the others leave, the layout is fixed so Word keeps those widths, the header row
repeats on every page (``w:tblHeader``) and no row breaks across pages (``w:cantSplit``).
"""

from __future__ import annotations

import io
import json
import unicodedata
from pathlib import Path

from docx import Document as new_document
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from ..models import Bulletin
from ..palette import LEVEL_COLOURS, NO_DATA
from . import blocks
from .figures import chart_pngs
from .html import to_html

BODY_FONT = "宋体"
HEADING_FONT = "黑体"
NUMBER_FONT = "仿宋"
RED = "C8102E"
GREY = "5B6470"
PAGE_WIDTH_CM, PAGE_HEIGHT_CM = 21.0, 29.7
MARGINS_CM = {"top": 3.7, "bottom": 3.5, "left": 2.8, "right": 2.6}
TEXT_WIDTH_CM = PAGE_WIDTH_CM - MARGINS_CM["left"] - MARGINS_CM["right"]
TABLE_PT = 9.0
#: Word's default cell margins (0.19 cm each side) plus a little air.
CELL_PADDING_CM = 0.45
#: A long-text column is never squeezed below this.
MIN_WRAP_CM = 4.0
#: A short-text column wider than this wraps instead (a long community name).
MAX_PLAIN_CM = 4.2
PT_CM = 2.54 / 72


def text_width_cm(text: str, size_pt: float = TABLE_PT, bold: bool = False) -> float:
    """Estimated printed width of one line of ``text``: full-width characters (CJK, full-width
    punctuation) are one em, others about 0.55 em (0.6 em bold)."""
    em = size_pt * PT_CM
    narrow = 0.6 if bold else 0.55
    return sum(em if unicodedata.east_asian_width(ch) in ("W", "F") else em * narrow for ch in text)


def column_widths(
    table: blocks.Table, total_cm: float = TEXT_WIDTH_CM, size_pt: float = TABLE_PT
) -> list[float]:
    """Column widths (cm) sized to their content.

    Each column gets the width of its widest text (header in bold) plus the cell padding,
    capped at ``MAX_PLAIN_CM`` for short-text columns; long-text (``wrap``) columns share what
    is left of ``total_cm`` (at least ``MIN_WRAP_CM`` each, at most what their text needs).
    When the content is wider than ``total_cm`` the short-text columns shrink in proportion.

    Returns
    -------
    list of float
        One width per column, summing to at most ``total_cm`` (less when the content is
        narrower: the table is then centred, not stretched).
    """
    natural = []
    for i, col in enumerate(table.columns):
        widest = max(
            [text_width_cm(col.label, size_pt, bold=True)]
            + [text_width_cm(row[i].full_text, size_pt) for row in table.rows]
        )
        width = widest + CELL_PADDING_CM
        natural.append(width if col.wrap else min(width, MAX_PLAIN_CM))
    wrap = [i for i, col in enumerate(table.columns) if col.wrap]
    plain = [i for i in range(len(table.columns)) if i not in wrap]
    fixed = sum(natural[i] for i in plain)
    need_wrap = MIN_WRAP_CM * len(wrap)
    widths = list(natural)
    if fixed + need_wrap > total_cm:
        scale = (total_cm - need_wrap) / fixed
        for i in plain:
            widths[i] = natural[i] * scale
        fixed = total_cm - need_wrap
    if wrap:
        room = total_cm - fixed
        want = sum(natural[i] for i in wrap)
        for i in wrap:
            share = room * natural[i] / want if want else room / len(wrap)
            widths[i] = max(MIN_WRAP_CM, min(natural[i], share))
    return [round(w, 2) for w in widths]


# ---------------------------------------------------------------------------------------------
# Low-level helpers
# ---------------------------------------------------------------------------------------------
def _font(run, name: str, size_pt: float, bold: bool = False, colour: str | None = None):
    run.font.name = name
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)
    run.font.size = Pt(size_pt)
    run.bold = bold
    if colour:
        run.font.color.rgb = RGBColor.from_string(colour)
    return run


def _para(
    container,
    text: str = "",
    *,
    size: float = 12.0,
    bold: bool = False,
    align=None,
    font: str = BODY_FONT,
    colour: str | None = None,
    after: float = 4,
    indent_cm: float | None = None,
):
    p = container.add_paragraph()
    if align is not None:
        p.alignment = align
    p.paragraph_format.space_after = Pt(after)
    if indent_cm is not None:
        p.paragraph_format.left_indent = Cm(indent_cm)
    if text:
        _font(p.add_run(text), font, size, bold, colour)
    return p


def _bottom_rule(paragraph, colour: str = RED, size_eighths: int = 18) -> None:
    """A rule under the paragraph (the red line under the masthead)."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), str(size_eighths))
    bottom.set(qn("w:space"), "4")
    bottom.set(qn("w:color"), colour)
    borders.append(bottom)
    ppr.append(borders)


def _field(paragraph, instruction: str, placeholder: str, size: float) -> None:
    """A Word field (``PAGE``, ``NUMPAGES``): Word fills in the value when it lays out."""
    parts = ["begin", "instr", "separate", "text", "end"]
    for kind in parts:
        run = _font(paragraph.add_run(), NUMBER_FONT, size)
        if kind == "instr":
            el = OxmlElement("w:instrText")
            el.set(qn("xml:space"), "preserve")
            el.text = f" {instruction} "
        elif kind == "text":
            el = OxmlElement("w:t")
            el.text = placeholder
        else:
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
        run._r.append(el)


def _shade(cell, fill: str) -> None:
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shading)


def _row_flag(row, tag: str) -> None:
    el = OxmlElement(tag)
    el.set(qn("w:val"), "true")
    row._tr.get_or_add_trPr().append(el)


def _fixed_layout(table, widths_cm: list[float]) -> None:
    tbl_pr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(layout)
    tbl_w = tbl_pr.find(qn("w:tblW"))
    if tbl_w is None:
        tbl_w = OxmlElement("w:tblW")
        tbl_pr.append(tbl_w)
    tbl_w.set(qn("w:type"), "dxa")
    tbl_w.set(qn("w:w"), str(int(sum(Cm(w).twips for w in widths_cm))))
    for grid_col, w in zip(table._tbl.tblGrid.findall(qn("w:gridCol")), widths_cm, strict=True):
        grid_col.set(qn("w:w"), str(Cm(w).twips))


# ---------------------------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------------------------
def _table(doc, tb: blocks.Table) -> None:
    widths = column_widths(tb)
    table = doc.add_table(rows=1, cols=len(tb.columns))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False  # Word honours the column widths only without autofit
    _fixed_layout(table, widths)
    header = table.rows[0]
    _row_flag(header, "w:tblHeader")  # repeated at the top of every page the table spans
    _row_flag(header, "w:cantSplit")
    for cell, col in zip(header.cells, tb.columns, strict=True):
        p = cell.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _font(p.add_run(col.label), HEADING_FONT, TABLE_PT, bold=True)
        _shade(cell, "EEF1F5")
    for values in tb.rows:
        row = table.add_row()
        _row_flag(row, "w:cantSplit")
        for cell, col, value in zip(row.cells, tb.columns, values, strict=True):
            p = cell.paragraphs[0]
            if col.numeric:
                p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            colour = None
            if value.level:
                _shade(cell, LEVEL_COLOURS.get(value.level, NO_DATA).lstrip("#").upper())
                colour = "1D2733" if value.level == "yellow" else "FFFFFF"
            _font(p.add_run(value.text), BODY_FONT, TABLE_PT, colour=colour)
            if value.flag:
                _font(p.add_run(f"（{value.flag}）"), BODY_FONT, TABLE_PT - 1, colour=RED)
    for row in table.rows:
        for cell, w in zip(row.cells, widths, strict=True):
            cell.width = Cm(w)
    _para(doc, after=2, size=4)  # air after the table


def _requirements(doc, req: blocks.Requirements) -> None:
    _para(doc, req.label, size=12, bold=True, font=HEADING_FONT, after=2)
    for i, item in enumerate(req.items, start=1):
        _para(doc, f"{i}. {item.title}", size=11.5, bold=True, after=1, indent_cm=0.4)
        for j, line in enumerate(item.lines, start=1):
            p = _para(doc, f"（{j}）{line}", size=11, after=1, indent_cm=1.1)
            p.paragraph_format.first_line_indent = Cm(-0.7)


def _block(doc, b, images: dict[str, bytes | None]) -> None:
    if isinstance(b, blocks.Heading):
        _para(doc, b.text, size=14, bold=True, font=HEADING_FONT, after=4)
    elif isinstance(b, blocks.Paragraph):
        if b.style == "note":
            _para(doc, b.text, size=9, colour=GREY)
        else:
            p = _para(doc, b.text, size=12, bold=b.style == "lead", after=6)
            p.paragraph_format.first_line_indent = Pt(24)  # two characters, as official text
    elif isinstance(b, blocks.Table):
        _table(doc, b)
    elif isinstance(b, blocks.Figure):
        png = images.get(b.key)
        if png:
            doc.add_picture(io.BytesIO(png), width=Cm(b.width_cm))
            doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    elif isinstance(b, blocks.Requirements):
        _requirements(doc, b)
    else:
        raise TypeError(f"unknown bulletin block {type(b).__name__}")


def render_docx(content: dict, map_png: bytes | None, charts: dict[str, bytes]) -> bytes:
    """The Word document of a bulletin from its content and images (see the module docstring
    for the layout)."""
    d = blocks.document(content, has_map=bool(map_png))
    doc = new_document()
    section = doc.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_height, section.page_width = Cm(PAGE_HEIGHT_CM), Cm(PAGE_WIDTH_CM)
    section.top_margin, section.bottom_margin = Cm(MARGINS_CM["top"]), Cm(MARGINS_CM["bottom"])
    section.left_margin, section.right_margin = Cm(MARGINS_CM["left"]), Cm(MARGINS_CM["right"])
    section.footer_distance = Cm(2.2)
    doc.core_properties.title = f"{d.title} {d.doc_number}"
    doc.core_properties.author = d.issuer

    center = WD_ALIGN_PARAGRAPH.CENTER
    _para(doc, d.title, size=24, bold=True, align=center, font=HEADING_FONT, colour=RED, after=6)
    _para(doc, d.doc_number, size=16, align=center, font=NUMBER_FONT, after=0)
    _para(doc, d.number_label, size=12, align=center, font=NUMBER_FONT, after=2)
    meta = _para(doc, after=14)
    meta.paragraph_format.tab_stops.add_tab_stop(Cm(TEXT_WIDTH_CM), WD_TAB_ALIGNMENT.RIGHT)
    _font(meta.add_run(f"{d.issuer}\t{d.issued_on}"), NUMBER_FONT, 12)
    _bottom_rule(meta)

    images = {**charts, "map": map_png}
    for b in d.blocks:
        _block(doc, b, images)

    right = WD_ALIGN_PARAGRAPH.RIGHT
    _para(doc, after=0)
    _para(doc, d.issuer, size=12, align=right, after=0)
    _para(doc, d.issued_on, size=12, align=right, after=10)
    _para(doc, d.footer, size=9, colour=GREY)

    footer = section.footer.paragraphs[0]
    footer.alignment = center
    _font(footer.add_run("— "), NUMBER_FONT, 12)
    _field(footer, "PAGE", "1", 12)
    _font(footer.add_run(" —"), NUMBER_FONT, 12)

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def to_docx(bulletin: Bulletin) -> bytes:
    """The bulletin as a Word document (from its frozen content and stored map)."""
    c = json.loads(bulletin.content_json)
    return render_docx(c, bulletin.map_png, chart_pngs(c))


def write(bulletin: Bulletin, path: str | Path) -> Path:
    """Write the bulletin to ``path``; the suffix chooses the format (.docx or .html).

    Raises
    ------
    ValueError
        When the suffix is neither .docx nor .html (nothing is written).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".docx":
        data = to_docx(bulletin)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    elif suffix in (".html", ".htm"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(to_html(bulletin), encoding="utf-8")
    else:
        raise ValueError(f"output file must end in .docx or .html, got {path.name!r}")
    return path
