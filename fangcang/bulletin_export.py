"""Bulletin documents: printable HTML and Word (.docx), with a static map and charts.

Images are drawn on the server with matplotlib. A fresh machine has no CJK font, so the Noto
Sans CJK font shipped by the PyPI package ``cvttf-NotoSansCJK-Regular`` (a requirement) is
registered with matplotlib before anything is drawn (``use_cjk_font``); without it Chinese
would come out as empty boxes. Text inside the .docx is text (the reader's Word renders it).

Everything here draws from a bulletin's frozen content, never from live data, except
``community_geometries`` which the issuer calls once, at issue time, to draw the map that is
then stored with the bulletin.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from .i18n import fmt_int, fmt_pct, t
from .models import Bulletin, Community, SubDistrict
from .palette import LAST_YEAR, LEVEL_COLOURS, NO_DATA, THIS_YEAR

FONT_PACKAGE = "cvttf_NotoSansCJK_Regular"
FONT_FILE = "NotoSansCJKtc-Regular.otf"
LEVEL_ORDER = ("red", "yellow", "blue", "green")
DPI = 150  # sharp enough for print at the sizes used in the .docx (16 cm wide)
DOCX_BODY_FONT = "宋体"
DOCX_HEADING_FONT = "黑体"


# ---------------------------------------------------------------------------------------------
# Fonts and images
# ---------------------------------------------------------------------------------------------
def cjk_font_path() -> Path:
    """Path of the bundled CJK font (raises ``FileNotFoundError`` naming the package)."""
    try:
        path = Path(str(resources.files(FONT_PACKAGE) / FONT_FILE))
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(
            f"the CJK font package is missing: pip install cvttf-NotoSansCJK-Regular ({exc})"
        ) from exc
    if not path.is_file():
        raise FileNotFoundError(f"CJK font not found at {path}")
    return path


@cache
def use_cjk_font() -> str:
    """Register the CJK font with matplotlib (once) and make it the default; return its name."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager

    path = cjk_font_path()
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False  # the CJK font has no U+2212 glyph
    return name


def _figure(width: float, height: float):
    """A figure and its axes without pyplot (no global state, nothing to close; faster)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def community_geometries(session: Session) -> dict:
    """Community polygons and sub-district outlines (shapely) for the static map."""
    from shapely import from_geojson, unary_union

    rows = session.execute(
        select(Community.community_id, Community.name, Community.geometry, SubDistrict.name).join(
            SubDistrict, SubDistrict.code == Community.sub_district_code
        )
    ).all()
    communities, by_sd = {}, {}
    for cid, name, geom, sd in rows:
        try:
            shape = from_geojson(geom)
        except Exception:  # a broken polygon must not stop a bulletin: draw the rest
            continue
        communities[cid] = {"name": name, "shape": shape}
        by_sd.setdefault(sd, []).append(shape)
    sub_districts = {sd: unary_union(shapes) for sd, shapes in by_sd.items()}
    return {"communities": communities, "sub_districts": sub_districts}


def _polygons(shape):
    if shape.geom_type == "Polygon":
        return [shape]
    return [g for g in getattr(shape, "geoms", []) if g.geom_type == "Polygon"]


def map_png(geo: dict, levels: dict[str, str]) -> bytes | None:
    """The district's communities coloured by warning level, sub-districts outlined and
    named, red communities numbered with a key (names would overlap in the dense east).
    None when there are no polygons."""
    if not geo["communities"]:
        return None
    use_cjk_font()
    from matplotlib import patheffects
    from matplotlib.collections import PolyCollection
    from matplotlib.patches import Patch
    from shapely import unary_union

    bounds = unary_union([c["shape"] for c in geo["communities"].values()]).bounds
    x0, y0, x1, y1 = bounds
    aspect = 1 / 0.88  # ~1/cos(28 deg): keeps Wenzhou's shapes undistorted
    width = 8.0
    height = max(3.0, min(8.0, width * (y1 - y0) * aspect / max(x1 - x0, 1e-9) + 0.6))
    fig, ax = _figure(width, height)
    # One collection for all polygons: far faster to draw than a patch per community.
    verts, colours = [], []
    for cid, c in geo["communities"].items():
        colour = LEVEL_COLOURS.get(levels.get(cid, ""), NO_DATA)
        for poly in _polygons(c["shape"]):
            verts.append(np.asarray(poly.exterior.coords)[:, :2])
            colours.append(colour)
    ax.add_collection(
        PolyCollection(verts, facecolors=colours, edgecolors="white", linewidths=0.4, alpha=0.9)
    )
    halo = [patheffects.withStroke(linewidth=2.2, foreground="white")]
    outlines = [
        np.asarray(poly.exterior.coords)[:, :2]
        for shape in geo["sub_districts"].values()
        for poly in _polygons(shape)
    ]
    ax.add_collection(
        PolyCollection(outlines, facecolors="none", edgecolors="#1d2733", linewidths=0.9)
    )
    for sd, shape in geo["sub_districts"].items():
        p = shape.representative_point()
        ax.text(
            p.x,
            p.y,
            sd,
            fontsize=6.5,
            color="#1d2733",
            ha="center",
            va="center",
            path_effects=halo,
            zorder=3,
            alpha=0.85,
        )
    red = sorted(
        (cid for cid in geo["communities"] if levels.get(cid) == "red"),
        key=lambda cid: (-geo["communities"][cid]["shape"].representative_point().y, cid),
    )
    key_lines = []
    for i, cid in enumerate(red, start=1):
        c = geo["communities"][cid]
        p = c["shape"].representative_point()
        ax.plot(
            p.x,
            p.y,
            "o",
            markersize=9,
            color="#7a0010",
            markeredgecolor="white",
            markeredgewidth=0.8,
            zorder=5,
        )
        ax.text(p.x, p.y, str(i), fontsize=6, color="white", ha="center", va="center", zorder=6)
        key_lines.append(f"{i}  {c['name']}")
    ax.set_xlim(x0 - (x1 - x0) * 0.02, x1 + (x1 - x0) * 0.02)
    ax.set_ylim(y0 - (y1 - y0) * 0.04, y1 + (y1 - y0) * 0.04)
    ax.set_aspect(aspect)
    ax.set_axis_off()
    counts = {lv: sum(1 for v in levels.values() if v == lv) for lv in LEVEL_ORDER}
    handles = [
        Patch(facecolor=LEVEL_COLOURS[lv], label=f"{t(f'bulletin.level.{lv}')} {counts[lv]}")
        for lv in LEVEL_ORDER
    ]
    legend = ax.legend(
        handles=handles,
        loc="lower left",
        fontsize=8,
        frameon=True,
        title="预警等级",
        title_fontsize=8,
    )
    ax.add_artist(legend)
    if key_lines:
        ax.text(
            0.99,
            0.99,
            "红色预警社区\n" + "\n".join(key_lines),
            transform=ax.transAxes,
            ha="right",
            va="top",
            multialignment="left",
            fontsize=7.5,
            color="#1d2733",
            linespacing=1.5,
            zorder=7,
            bbox={"boxstyle": "round,pad=0.5", "fc": "white", "ec": "#9aa5b1", "lw": 0.6},
        )
    return _png(fig)


def chart_pngs(content: dict) -> dict[str, bytes]:
    """The bulletin's two charts from its frozen content: ``yoy`` (year-to-date change of the
    headline figures) and ``trend`` (criminal and public-order incidents by month)."""
    use_cjk_font()
    out = {}
    rows = content["summary"]["headline"]
    fig, ax = _figure(7.0, 2.9)
    labels = [r["label"] for r in rows][::-1]
    pcts = [r["ytd_pct"] for r in rows][::-1]
    vals = [p if p is not None else 0.0 for p in pcts]
    colours = ["#2e9e44" if v < 0 else "#d7263d" for v in vals]
    bars = ax.barh(labels, vals, color=colours, height=0.55)
    span = max([abs(v) for v in vals] + [1.0])
    for bar, p, r in zip(bars, pcts, rows[::-1], strict=True):
        text = fmt_pct(p, digits=2) if p is not None else t("effect.zero_last_year")
        text += f"（{fmt_int(r['ytd_now'])} / {fmt_int(r['ytd_ly'])}）"
        v = bar.get_width()
        ax.text(
            v + (span * 0.03 if v >= 0 else -span * 0.03),
            bar.get_y() + bar.get_height() / 2,
            text,
            va="center",
            ha="left" if v >= 0 else "right",
            fontsize=8,
        )
    ax.axvline(0, color="#5b6470", linewidth=0.8)
    ax.set_xlim(-span * 1.9, span * 1.9)
    ax.set_xlabel("同比变化（%）  括号内：本年累计 / 去年同期", fontsize=8)
    ax.set_title(t("bulletin.chart.yoy") + f"（{content['period_label']}）", fontsize=10)
    ax.tick_params(labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    out["yoy"] = _png(fig)

    trend = content["trend"]
    fig, ax = _figure(7.0, 2.7)
    xs = [m["month"][2:] for m in trend]
    ax.plot(
        xs,
        [m["crime_ly"] for m in trend],
        color=LAST_YEAR,
        marker="o",
        markersize=3,
        linewidth=1.4,
        label=t("bulletin.chart.last_year"),
    )
    ax.plot(
        xs,
        [m["crime"] for m in trend],
        color=THIS_YEAR,
        marker="o",
        markersize=3,
        linewidth=2.0,
        label=t("bulletin.chart.this_year"),
    )
    ax.set_title(t("bulletin.chart.trend"), fontsize=10)
    ax.set_ylim(bottom=0)
    ax.tick_params(labelsize=8)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    ax.grid(axis="y", color="#e3e6ea", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    out["trend"] = _png(fig)
    return out


# ---------------------------------------------------------------------------------------------
# Printable HTML (stored with the bulletin when issued)
# ---------------------------------------------------------------------------------------------
_CSS = """
@page { size: A4; margin: 18mm 16mm; }
body { font-family: "FangcangCJK", "Noto Sans CJK SC", "Noto Sans CJK TC", "Source Han Sans SC", "Microsoft YaHei",
       "SimSun", sans-serif; color: #1d2733; max-width: 190mm; margin: 0 auto; padding: 8mm 0;
       font-size: 11pt; line-height: 1.6; }
.head { text-align: center; border-bottom: 3px solid #c8102e; padding-bottom: 6px; }
.head h1 { color: #c8102e; font-size: 22pt; margin: 0 0 6px; letter-spacing: 2px; }
.head .no { font-size: 13pt; }
.meta { display: flex; justify-content: space-between; font-size: 10pt; margin: 6px 0 12px; }
h2 { font-size: 13pt; margin: 16px 0 6px; border-left: 4px solid #1f4e8c; padding-left: 6px; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; margin: 4px 0 8px; }
th, td { border: 1px solid #9aa5b1; padding: 3px 5px; vertical-align: top; }
th { background: #eef1f5; }
td.num { text-align: right; white-space: nowrap; }
table.named td:nth-child(-n+5), table.named th:nth-child(-n+5) { white-space: nowrap; }
p.levels { font-size: 11.5pt; }
.badge { display: inline-block; padding: 0 6px; border-radius: 3px; color: white; font-size: 9pt; }
.sig { color: #c8102e; font-size: 8.5pt; }
img { max-width: 100%; display: block; margin: 4px auto; }
.note { color: #5b6470; font-size: 9pt; }
.foot { border-top: 1px solid #9aa5b1; margin-top: 14px; padding-top: 4px; font-size: 9pt;
        color: #5b6470; }
@media print { h2 { break-after: avoid; } tr, img { break-inside: avoid; } }
"""


def _e(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _badge(level: str) -> str:
    colour = LEVEL_COLOURS.get(level, NO_DATA)
    return (
        f'<span class="badge" style="background:{colour}">{_e(t(f"bulletin.level.{level}"))}</span>'
    )


def _img(png: bytes | None, alt: str) -> str:
    if not png:
        return ""
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _sig(flag: bool) -> str:
    return f' <span class="sig">{_e(t("effect.sig.yes"))}</span>' if flag else ""


def _pct_cell(pct, last_year, significant) -> str:
    text = (
        fmt_pct(pct, digits=2)
        if pct is not None
        else (t("effect.zero_last_year") if last_year == 0 else "—")
    )
    return f'<td class="num">{_e(text)}{_sig(significant)}</td>'


def _table(headers: list[str], rows: list[list[str]], css_class: str = "") -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(r) + "</tr>" for r in rows)
    cls = f" class='{css_class}'" if css_class else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _td(value, num: bool = False) -> str:
    return f'<td class="num">{_e(value)}</td>' if num else f"<td>{_e(value)}</td>"


def _named_rows(items: list[dict]) -> list[list[str]]:
    return [
        [
            _td(c["name"]),
            _td(c["sub_district"]),
            _td(c["station"]),
            _td(c["officer"]),
            _td(f"{c['score']:.1f}", True),
            _td(c["reasons"]),
            _td(c["actions"]),
        ]
        for c in items
    ]


def render_html(content: dict, map_png_bytes: bytes | None, charts: dict[str, bytes]) -> str:
    """The printable HTML of a bulletin (self-contained: images embedded, no external links)."""
    c = content
    parts = [
        "<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>",
        f"<title>{_e(c['title'])} {_e(c['number_label'])}</title><style>{_CSS}</style></head><body>",
        f"<div class='head'><h1>{_e(c['title'])}</h1><div class='no'>{_e(c['number_label'])}</div></div>",
        f"<div class='meta'><span>{_e(c['issuer'])}</span><span>{_e(t('bulletin.period'))}："
        f"{_e(c['period_label'])}　{_e(t('bulletin.issued_on'))}：{_e(c['issued_at'][:10])}</span></div>",
        f"<h2>{_e(t('bulletin.sec.summary'))}</h2><p>{_e(c['summary']['text'])}</p>",
    ]
    rows = [
        [
            _td(r["label"]),
            _td(fmt_int(r["month_now"]), True),
            _td(fmt_int(r["month_ly"]), True),
            _pct_cell(r["month_pct"], r["month_ly"], r["month_significant"]),
            _td(fmt_int(r["ytd_now"]), True),
            _td(fmt_int(r["ytd_ly"]), True),
            _pct_cell(r["ytd_pct"], r["ytd_ly"], r["ytd_significant"]),
        ]
        for r in c["summary"]["headline"]
    ]
    parts.append(
        _table(
            [
                t("bulletin.col.metric"),
                t("bulletin.col.month"),
                t("bulletin.col.month_ly"),
                t("bulletin.col.yoy_month"),
                t("bulletin.col.ytd"),
                t("bulletin.col.ytd_ly"),
                t("bulletin.col.yoy_ytd"),
            ],
            rows,
        )
    )
    parts.append(f"<p class='note'>{_e(t('effect.yoy.caption'))}</p>")
    parts.append(_img(charts.get("yoy"), t("bulletin.chart.yoy")))
    parts.append(_img(charts.get("trend"), t("bulletin.chart.trend")))

    parts.append(f"<h2>{_e(t('bulletin.sec.levels'))}</h2>")
    parts.append(
        "<p class='levels'>"
        + "".join(
            f"{_badge(lv)} <b>{_e(t('bulletin.level_count', n=c['levels'].get(lv, 0)))}</b>　"
            for lv in LEVEL_ORDER
        )
        + "</p>"
    )
    named_headers = [
        t("bulletin.col.community"),
        t("bulletin.col.sub_district"),
        t("bulletin.col.station"),
        t("bulletin.col.officer"),
        t("bulletin.col.score"),
        t("bulletin.col.reasons"),
        t("bulletin.col.actions"),
    ]
    for level, sec in (("red", "bulletin.sec.red"), ("yellow", "bulletin.sec.yellow")):
        parts.append(f"<h2>{_e(t(sec))}</h2>")
        if c[level]:
            req = c.get("requirements", {}).get(level, "")
            if req:  # bulletins issued before requirements were stored have none
                parts.append(f"<p><b>{_e(t('bulletin.requirement'))}</b>{_e(req)}</p>")
            parts.append(_table(named_headers, _named_rows(c[level]), "named"))
        else:
            parts.append(f"<p>{_e(t('bulletin.none_at_level'))}</p>")

    parts.append(f"<h2>{_e(t('bulletin.sec.changes'))}</h2>")
    ch = c["changes"]
    if ch["previous"] is None:
        parts.append(f"<p>{_e(t('bulletin.no_previous'))}</p>")
    elif not ch["upgraded"] and not ch["downgraded"]:
        parts.append(f"<p>{_e(t('bulletin.no_changes'))}</p>")
    else:
        rows = [
            [
                _td(x["name"]),
                f"<td>{_badge(x['from'])}</td>",
                f"<td>{_badge(x['to'])}</td>",
                _td(t(f"bulletin.{kind}")),
            ]
            for kind in ("upgraded", "downgraded")
            for x in ch[kind]
        ]
        parts.append(f"<p class='note'>{_e(ch['previous']['label'])} → {_e(c['number_label'])}</p>")
        parts.append(
            _table(
                [
                    t("bulletin.col.community"),
                    t("bulletin.col.from"),
                    t("bulletin.col.to"),
                    t("bulletin.col.change"),
                ],
                rows,
            )
        )

    parts.append(f"<h2>{_e(t('bulletin.sec.tasks'))}</h2>")
    tasks = c["tasks"]
    if not tasks["available"] or not tasks["rows"]:
        parts.append(f"<p>{_e(t('bulletin.no_tasks'))}</p>")
    else:
        parts.append(
            f"<p>{_e(t('bulletin.tasks_text', period=c['period_label'], n=tasks['warned_before']))}</p>"
        )
        rows = [
            [
                _td(r["name"]),
                _td(r["items"], True),
                _td(r["done"], True),
                _td(
                    fmt_pct(
                        None if r["completion"] is None else 100 * r["completion"], signed=False
                    ),
                    True,
                ),
                _td(r.get("overdue", 0), True),
            ]
            for r in tasks["rows"]
        ]
        parts.append(
            _table(
                [
                    t("bulletin.col.community"),
                    t("bulletin.col.items"),
                    t("bulletin.col.done"),
                    t("bulletin.col.completion"),
                    t("bulletin.col.overdue"),
                ],
                rows,
            )
        )

    if map_png_bytes:
        parts.append(f"<h2>{_e(t('bulletin.sec.map'))}</h2>")
        parts.append(_img(map_png_bytes, t("bulletin.sec.map")))
    parts.append(
        f"<div class='foot'>{_e(t('bulletin.footer', period=c['period_label'], run=c['run']['id']))}"
        f"　{_e(c['issuer'])}　{_e(c['issued_at'][:10])}</div></body></html>"
    )
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# Word
# ---------------------------------------------------------------------------------------------
def _set_run_font(run, name: str, size_pt: float | None = None, bold: bool = False, colour=None):
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    run.font.name = name
    rpr = run._element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), name)
    if size_pt:
        run.font.size = Pt(size_pt)
    run.bold = bold
    if colour:
        run.font.color.rgb = RGBColor.from_string(colour)


def _para(
    doc,
    text: str,
    *,
    size=11.0,
    bold=False,
    align=None,
    font=DOCX_BODY_FONT,
    colour=None,
    space_after=4,
):
    from docx.shared import Pt

    p = doc.add_paragraph()
    if align is not None:
        p.alignment = align
    p.paragraph_format.space_after = Pt(space_after)
    _set_run_font(p.add_run(text), font, size, bold, colour)
    return p


def _docx_table(
    doc, headers: list[str], rows: list[list[str]], widths_cm: list[float] | None = None
):
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm

    table = doc.add_table(rows=1, cols=len(headers))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, h in zip(table.rows[0].cells, headers, strict=True):
        cell.text = ""
        _set_run_font(cell.paragraphs[0].add_run(h), DOCX_HEADING_FONT, 9, True)
        shading = OxmlElement("w:shd")
        shading.set(qn("w:val"), "clear")
        shading.set(qn("w:fill"), "EEF1F5")
        cell._tc.get_or_add_tcPr().append(shading)
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = ""
            _set_run_font(cell.paragraphs[0].add_run(str(value)), DOCX_BODY_FONT, 9)
    if widths_cm:
        table.autofit = False  # Word honours the column widths only without autofit
        for row in table.rows:
            for cell, w in zip(row.cells, widths_cm, strict=True):
                cell.width = Cm(w)
    return table


def _pct_text(pct, last_year, significant) -> str:
    text = (
        fmt_pct(pct, digits=2)
        if pct is not None
        else (t("effect.zero_last_year") if last_year == 0 else "—")
    )
    return text + ("（显著）" if significant else "")


def to_docx(bulletin: Bulletin) -> bytes:
    """The bulletin as a Word document (from its frozen content and stored map)."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    c = json.loads(bulletin.content_json)
    charts = chart_pngs(c)
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin = section.bottom_margin = Cm(2.0)
    doc.core_properties.title = f"{c['title']} {c['number_label']}"
    doc.core_properties.author = c["issuer"]

    _para(
        doc,
        c["title"],
        size=20,
        bold=True,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        font=DOCX_HEADING_FONT,
        colour="C8102E",
        space_after=2,
    )
    _para(doc, c["number_label"], size=13, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(
        doc,
        f"{c['issuer']}　　{t('bulletin.period')}：{c['period_label']}　　"
        f"{t('bulletin.issued_on')}：{c['issued_at'][:10]}",
        size=10,
        align=WD_ALIGN_PARAGRAPH.CENTER,
        space_after=10,
    )

    def heading(key: str):
        _para(doc, t(key), size=13, bold=True, font=DOCX_HEADING_FONT, space_after=3)

    heading("bulletin.sec.summary")
    _para(doc, c["summary"]["text"])
    _docx_table(
        doc,
        [
            t("bulletin.col.metric"),
            t("bulletin.col.month"),
            t("bulletin.col.month_ly"),
            t("bulletin.col.yoy_month"),
            t("bulletin.col.ytd"),
            t("bulletin.col.ytd_ly"),
            t("bulletin.col.yoy_ytd"),
        ],
        [
            [
                r["label"],
                fmt_int(r["month_now"]),
                fmt_int(r["month_ly"]),
                _pct_text(r["month_pct"], r["month_ly"], r["month_significant"]),
                fmt_int(r["ytd_now"]),
                fmt_int(r["ytd_ly"]),
                _pct_text(r["ytd_pct"], r["ytd_ly"], r["ytd_significant"]),
            ]
            for r in c["summary"]["headline"]
        ],
        [3.6, 2.0, 2.0, 2.4, 2.2, 2.2, 2.6],
    )
    _para(doc, t("effect.yoy.caption"), size=8.5, colour="5B6470")
    for key in ("yoy", "trend"):
        doc.add_picture(io.BytesIO(charts[key]), width=Cm(16.0))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER

    heading("bulletin.sec.levels")
    _docx_table(
        doc,
        [t("bulletin.col.level"), t("bulletin.col.count")],
        [[t(f"bulletin.level.{lv}"), str(c["levels"].get(lv, 0))] for lv in LEVEL_ORDER],
        [4.0, 3.0],
    )
    named_headers = [
        t("bulletin.col.community"),
        t("bulletin.col.sub_district"),
        t("bulletin.col.station"),
        t("bulletin.col.officer"),
        t("bulletin.col.score"),
        t("bulletin.col.reasons"),
        t("bulletin.col.actions"),
    ]
    widths = [2.3, 2.0, 2.1, 1.6, 1.2, 4.8, 3.0]
    for level, sec in (("red", "bulletin.sec.red"), ("yellow", "bulletin.sec.yellow")):
        heading(sec)
        if c[level]:
            req = c.get("requirements", {}).get(level, "")
            if req:
                _para(doc, t("bulletin.requirement") + req)
            _docx_table(
                doc,
                named_headers,
                [
                    [
                        x["name"],
                        x["sub_district"],
                        x["station"],
                        x["officer"],
                        f"{x['score']:.1f}",
                        x["reasons"],
                        x["actions"],
                    ]
                    for x in c[level]
                ],
                widths,
            )
        else:
            _para(doc, t("bulletin.none_at_level"))

    heading("bulletin.sec.changes")
    ch = c["changes"]
    if ch["previous"] is None:
        _para(doc, t("bulletin.no_previous"))
    elif not ch["upgraded"] and not ch["downgraded"]:
        _para(doc, t("bulletin.no_changes"))
    else:
        _para(doc, f"{ch['previous']['label']} → {c['number_label']}", size=9, colour="5B6470")
        _docx_table(
            doc,
            [
                t("bulletin.col.community"),
                t("bulletin.col.from"),
                t("bulletin.col.to"),
                t("bulletin.col.change"),
            ],
            [
                [
                    x["name"],
                    t(f"bulletin.level.{x['from']}"),
                    t(f"bulletin.level.{x['to']}"),
                    t(f"bulletin.{kind}"),
                ]
                for kind in ("upgraded", "downgraded")
                for x in ch[kind]
            ],
            [4.0, 3.0, 3.0, 3.0],
        )

    heading("bulletin.sec.tasks")
    tasks = c["tasks"]
    if not tasks["available"] or not tasks["rows"]:
        _para(doc, t("bulletin.no_tasks"))
    else:
        _para(doc, t("bulletin.tasks_text", period=c["period_label"], n=tasks["warned_before"]))
        _docx_table(
            doc,
            [
                t("bulletin.col.community"),
                t("bulletin.col.items"),
                t("bulletin.col.done"),
                t("bulletin.col.completion"),
                t("bulletin.col.overdue"),
            ],
            [
                [
                    r["name"],
                    str(r["items"]),
                    str(r["done"]),
                    fmt_pct(
                        None if r["completion"] is None else 100 * r["completion"], signed=False
                    ),
                    str(r.get("overdue", 0)),
                ]
                for r in tasks["rows"]
            ],
            [4.0, 2.6, 2.6, 2.6, 2.6],
        )

    if bulletin.map_png:
        heading("bulletin.sec.map")
        doc.add_picture(io.BytesIO(bulletin.map_png), width=Cm(15.5))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
    _para(
        doc,
        t("bulletin.footer", period=c["period_label"], run=c["run"]["id"]),
        size=8.5,
        colour="5B6470",
    )
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def font_face_css(text: str) -> str:
    """An ``@font-face`` rule embedding the bundled CJK font, cut down to the characters of
    ``text`` (a few hundred glyphs, ~150 KB), so the HTML renders its Chinese on any machine,
    including one without CJK fonts. Noto Sans CJK is under the SIL Open Font License, which
    allows embedding it in documents."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff"
    options.notdef_outline = True
    font = TTFont(str(cjk_font_path()), lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(set(text))))
    subsetter.subset(font)
    font.flavor = "woff"
    buf = io.BytesIO()
    font.save(buf)
    data = base64.b64encode(buf.getvalue()).decode()
    return (
        "@font-face { font-family: 'FangcangCJK'; "
        f"src: url(data:font/woff;base64,{data}) format('woff'); }}"
    )


def embed_font(page: str) -> str:
    """The HTML with the CJK font embedded (see ``font_face_css``); the content is unchanged."""
    visible = re.sub(r"data:[^\"')]+", "", page)  # characters of the text, not of the images
    return page.replace("</head>", f"<style>{font_face_css(visible)}</style></head>", 1)


def to_html(bulletin: Bulletin, embed: bool = True) -> str:
    """The printable HTML stored when the bulletin was issued; with ``embed`` (default) the
    CJK font is embedded so it prints correctly on any machine."""
    return embed_font(bulletin.html) if embed else bulletin.html


def write(bulletin: Bulletin, path: str | Path) -> Path:
    """Write the bulletin to ``path``; the suffix chooses the format (.docx or .html)."""
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
