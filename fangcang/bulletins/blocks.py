"""The bulletin as one sequence of blocks: headings, paragraphs, tables, figures and the list of
specific requirements. ``document(content)`` builds it once from the frozen content; the HTML
renderer (``html``, Jinja2 templates) and the Word renderer (``word``, python-docx) both walk the
same blocks, so the two documents cannot say different things.

Every text here is final (formatted numbers, level names, significance marks): renderers only
lay it out. The document is Chinese (the official language of the bulletin).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..i18n import fmt_int, fmt_pct, t
from ..palette import SERIOUS_FIRST  # levels as the documents list them: most serious first


@dataclass(frozen=True)
class Heading:
    block: ClassVar[str] = "heading"
    text: str


@dataclass(frozen=True)
class Paragraph:
    """``style``: ``body``, ``lead`` (a bold opening line of a section) or ``note`` (small
    grey text)."""

    block: ClassVar[str] = "paragraph"
    text: str
    style: str = "body"


@dataclass(frozen=True)
class Column:
    """``numeric``: right-aligned, never wrapped; ``wrap``: long text that takes the width the
    other columns leave (at most one or two per table)."""

    label: str
    numeric: bool = False
    wrap: bool = False


@dataclass(frozen=True)
class Cell:
    """``level``: the cell names a warning level (drawn as a coloured badge or shading);
    ``flag``: a short mark after the text (significance), drawn smaller in HTML."""

    text: str
    level: str | None = None
    flag: str = ""

    @property
    def full_text(self) -> str:
        """The text as a reader sees it, mark included (what both renderers show)."""
        return f"{self.text}（{self.flag}）" if self.flag else self.text


@dataclass(frozen=True)
class Table:
    block: ClassVar[str] = "table"
    columns: tuple[Column, ...]
    rows: tuple[tuple[Cell, ...], ...]
    name: str = ""


@dataclass(frozen=True)
class Figure:
    """An image stored with the bulletin or drawn from its content: ``key`` is ``map``,
    ``yoy`` or ``trend``; ``width_cm`` its width in print."""

    block: ClassVar[str] = "figure"
    key: str
    alt: str
    width_cm: float


@dataclass(frozen=True)
class RequirementItem:
    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Requirements:
    """A numbered list, one item per community, each with its numbered requirements."""

    block: ClassVar[str] = "requirements"
    label: str
    items: tuple[RequirementItem, ...]


Block = Heading | Paragraph | Table | Figure | Requirements


@dataclass(frozen=True)
class Document:
    """The official layout around the blocks: the red masthead (``title``), the document
    number (〔2026〕N号), the issue number, the issuing unit and date, then the body and the
    footer note; the signature block repeats the unit and the date."""

    title: str
    doc_number: str
    number_label: str
    issuer: str
    issued_on: str
    period_label: str
    blocks: tuple[Block, ...] = field(default_factory=tuple)
    footer: str = ""


def _pct(pct: float | None, last_year: int, significant: bool) -> Cell:
    if pct is not None:
        text = fmt_pct(pct)
    else:
        text = t("effect.zero_last_year", "zh") if last_year == 0 else "—"
    return Cell(text, flag=t("effect.sig.yes", "zh") if significant else "")


def _n(value: int) -> Cell:
    return Cell(fmt_int(value))


def _date_zh(iso: str) -> str:
    y, m, d = (int(x) for x in iso[:10].split("-"))
    return f"{y}年{m}月{d}日"


def _summary(c: dict) -> list[Block]:
    cols = (
        Column(t("bulletin.col.metric", "zh")),
        Column(t("bulletin.col.month", "zh"), numeric=True),
        Column(t("bulletin.col.month_ly", "zh"), numeric=True),
        Column(t("bulletin.col.yoy_month", "zh"), numeric=True),
        Column(t("bulletin.col.ytd", "zh"), numeric=True),
        Column(t("bulletin.col.ytd_ly", "zh"), numeric=True),
        Column(t("bulletin.col.yoy_ytd", "zh"), numeric=True),
    )
    rows = tuple(
        (
            Cell(r["label"]),
            _n(r["month_now"]),
            _n(r["month_ly"]),
            _pct(r["month_pct"], r["month_ly"], r["month_significant"]),
            _n(r["ytd_now"]),
            _n(r["ytd_ly"]),
            _pct(r["ytd_pct"], r["ytd_ly"], r["ytd_significant"]),
        )
        for r in c["summary"]["headline"]
    )
    return [
        Heading(t("bulletin.sec.summary", "zh")),
        Paragraph(c["summary"]["text"]),
        Table(cols, rows, "headline"),
        Paragraph(t("effect.yoy.caption", "zh"), "note"),
        Figure("yoy", t("bulletin.chart.yoy", "zh"), 16.0),
        Figure("trend", t("bulletin.chart.trend", "zh"), 16.0),
    ]


def _levels(c: dict) -> list[Block]:
    cols = (Column(t("bulletin.col.level", "zh")), Column(t("bulletin.col.count", "zh"), True))
    rows = tuple(
        (
            Cell(t(f"bulletin.level.{lv}", "zh"), level=lv),
            Cell(t("bulletin.level_count", "zh", n=c["levels"].get(lv, 0))),
        )
        for lv in SERIOUS_FIRST
    )
    return [Heading(t("bulletin.sec.levels", "zh")), Table(cols, rows, "levels")]


def _requirement_lines(row: dict) -> tuple[str, ...]:
    """Generated requirements; bulletins issued before they were generated stored one
    ``actions`` sentence (and the level's requirement in the section paragraph)."""
    if row.get("requirements"):
        return tuple(row["requirements"])
    return (row["actions"],) if row.get("actions") else ()


def _named(c: dict, level: str) -> list[Block]:
    out: list[Block] = [Heading(t(f"bulletin.sec.{level}", "zh"))]
    rows = c[level]
    if not rows:
        return out + [Paragraph(t("bulletin.none_at_level", "zh"))]
    req = c.get("requirements", {}).get(level, "")
    if req:
        out.append(Paragraph(t("bulletin.requirement", "zh") + req, "lead"))
    cols = (
        Column(t("bulletin.col.community", "zh")),
        Column(t("bulletin.col.sub_district", "zh")),
        Column(t("bulletin.col.station", "zh")),
        Column(t("bulletin.col.officer", "zh")),
        Column(t("bulletin.col.score", "zh"), numeric=True),
        Column(t("bulletin.col.reasons", "zh"), wrap=True),
    )
    out.append(
        Table(
            cols,
            tuple(
                (
                    Cell(x["name"]),
                    Cell(x["sub_district"]),
                    Cell(x["station"]),
                    Cell(x["officer"]),
                    Cell(f"{x['score']:.1f}"),
                    Cell(x["reasons"]),
                )
                for x in rows
            ),
            "named",
        )
    )
    items = tuple(
        RequirementItem(x["name"], lines) for x in rows if (lines := _requirement_lines(x))
    )
    if items:
        out.append(Requirements(t("bulletin.col.actions", "zh"), items))
    return out


def _changes(c: dict) -> list[Block]:
    out: list[Block] = [Heading(t("bulletin.sec.changes", "zh"))]
    ch = c["changes"]
    if ch["previous"] is None:
        return out + [Paragraph(t("bulletin.no_previous", "zh"))]
    if not ch["upgraded"] and not ch["downgraded"]:
        return out + [Paragraph(t("bulletin.no_changes", "zh"))]
    cols = (
        Column(t("bulletin.col.community", "zh")),
        Column(t("bulletin.col.from", "zh")),
        Column(t("bulletin.col.to", "zh")),
        Column(t("bulletin.col.change", "zh")),
    )
    rows = tuple(
        (
            Cell(x["name"]),
            Cell(t(f"bulletin.level.{x['from']}", "zh"), level=x["from"]),
            Cell(t(f"bulletin.level.{x['to']}", "zh"), level=x["to"]),
            Cell(t(f"bulletin.{kind}", "zh")),
        )
        for kind in ("upgraded", "downgraded")
        for x in ch[kind]
    )
    return out + [
        Paragraph(f"{ch['previous']['label']} → {c['number_label']}", "note"),
        Table(cols, rows, "changes"),
    ]


def _tasks(c: dict) -> list[Block]:
    out: list[Block] = [Heading(t("bulletin.sec.tasks", "zh"))]
    tasks = c["tasks"]
    if not tasks["available"] or not tasks["rows"]:
        return out + [Paragraph(t("bulletin.no_tasks", "zh"))]
    cols = (
        Column(t("bulletin.col.community", "zh")),
        Column(t("bulletin.col.items", "zh"), numeric=True),
        Column(t("bulletin.col.done", "zh"), numeric=True),
        Column(t("bulletin.col.completion", "zh"), numeric=True),
        Column(t("bulletin.col.overdue", "zh"), numeric=True),
    )
    rows = tuple(
        (
            Cell(r["name"]),
            _n(r["items"]),
            _n(r["done"]),
            Cell(fmt_pct(None if r["completion"] is None else 100 * r["completion"], signed=False)),
            _n(r.get("overdue", 0)),
        )
        for r in tasks["rows"]
    )
    text = t("bulletin.tasks_text", "zh", period=c["period_label"], n=tasks["warned_before"])
    return out + [Paragraph(text), Table(cols, rows, "tasks")]


def document(content: dict, has_map: bool = True) -> Document:
    """The blocks of a bulletin from its frozen content (``has_map``: a map image is stored).

    Raises
    ------
    KeyError
        When ``content`` lacks a section every bulletin has (not a bulletin's content).
    """
    c = content
    blocks: list[Block] = []
    blocks += _summary(c)
    blocks += _levels(c)
    blocks += _named(c, "red")
    blocks += _named(c, "yellow")
    blocks += _changes(c)
    blocks += _tasks(c)
    if has_map:
        blocks += [
            Heading(t("bulletin.sec.map", "zh")),
            Figure("map", t("bulletin.sec.map", "zh"), 15.5),
        ]
    number = c.get("doc_number") or t(
        "bulletin.doc_number", "zh", year=c["year"], number=c["number"]
    )
    return Document(
        title=c["title"],
        doc_number=number,
        number_label=c["number_label"],
        issuer=c["issuer"],
        issued_on=_date_zh(c["issued_at"]),
        period_label=c["period_label"],
        blocks=tuple(blocks),
        footer=t("bulletin.footer", "zh", period=c["period_label"], run=c["run"]["id"]),
    )
