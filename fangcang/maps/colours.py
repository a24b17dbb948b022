"""Colour modes of the map: a registry of small pieces (``ColourMode``). Each says where its
value per community comes from, how a value reads and how values become fills and a legend
(plain HTML: a branca colormap would make streamlit-folium load d3 from the internet).

Adding a mode is one ``register_colour_mode(ColourMode(...))`` call (here or in the feature
that owns the value) and its ``map.colour_by.<key>`` label in ``fangcang.i18n``.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.orm import Session

from .. import palette
from ..access import Scope
from ..i18n import fmt_int, t
from ..scoring import hotspots
from ..timeutil import Month
from ..views.shared import task_completion, visit_coverage, warning_frame

log = logging.getLogger(__name__)


def _legend_html(title: str, items: list[tuple[str, str]], note: str = "") -> str:
    rows = "".join(
        f'<div style="display:flex;align-items:center;margin:2px 0">'
        f'<span style="display:inline-block;width:14px;height:14px;margin-right:6px;'
        f'background:{colour};border:1px solid #555;opacity:.85"></span>'
        f"<span>{html.escape(label)}</span></div>"
        for colour, label in items
    )
    note_html = f'<div style="margin-top:4px;color:#555">{html.escape(note)}</div>' if note else ""
    return (
        '<div class="fangcang-legend" style="position:absolute;bottom:36px;left:12px;'
        "z-index:1000;background:rgba(255,255,255,.92);padding:8px 10px;border-radius:6px;"
        'box-shadow:0 1px 4px rgba(0,0,0,.3);font:13px/1.35 sans-serif;color:#222">'
        f'<div style="font-weight:600;margin-bottom:4px">{html.escape(title)}</div>'
        f"{rows}{note_html}</div>"
    )


# ---------------------------------------------------------------------------------------------
# Colour modes (a registry: one small piece per mode)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ColourMode:
    """One way of colouring the communities.

    Attributes
    ----------
    key : str
        Its name in ``COLOUR_BY`` and URLs; the legend title is ``map.colour_by.<key>``.
    values : callable
        ``(session, scope, period, warnings, indicator) -> DataFrame`` of community_id, value
        (``warnings`` is the month's ``views.shared.warning_frame``; ``attrs`` may carry a note
        for the legend). Raises ``ValueError`` for a bad ``indicator``.
    fmt : callable
        ``(value, lang) -> str``: how one value reads (legend, tooltip); never gets a missing
        value.
    fills : callable
        ``(values, mode, lang, note) -> (fills, legend items, legend note)`` with one fill
        per value and ``(colour, label)`` legend items; default: five classes on ``scale``.
    scale : tuple of str
        Colour ramp for the default ``fills`` (low to high).
    in_tooltip : bool
        Whether the tooltip adds a line with the value (level and score are always there).
    from_warning_run : bool
        The values come from the month's warning run (none without a run).
    """

    key: str
    values: Callable[..., pd.DataFrame]
    fmt: Callable[[object, str], str]
    fills: Callable[..., tuple[list[str], list[tuple[str, str]], str]] | None = None
    scale: tuple[str, ...] = palette.SEQUENTIAL
    in_tooltip: bool = True
    from_warning_run: bool = False

    def format(self, value, lang: str) -> str:
        """``fmt`` of ``value``, or the no-value text for a missing value."""
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return t("dash.no_value", lang)
        return self.fmt(value, lang)

    def colour(
        self, values: pd.Series, lang: str, note: dict | None = None
    ) -> tuple[list[str], str]:
        """Fill colour per value and the legend HTML."""
        fills, items, text = (self.fills or _classed_fills)(values, self, lang, note or {})
        return fills, _legend_html(t(f"map.colour_by.{self.key}", lang), items, text)


#: The registered colour modes, in the order the map page offers them.
COLOUR_MODES: dict[str, ColourMode] = {}


def register_colour_mode(mode: ColourMode) -> ColourMode:
    """Add ``mode`` to ``COLOUR_MODES`` (a key registered twice is a ``ValueError``)."""
    if mode.key in COLOUR_MODES:
        raise ValueError(f"colour mode {mode.key!r} is registered twice")
    COLOUR_MODES[mode.key] = mode
    return mode


def colour_mode(colour_by: str) -> ColourMode:
    """The registered mode ``colour_by``; ``ValueError`` naming the known ones otherwise."""
    try:
        return COLOUR_MODES[colour_by]
    except KeyError:
        raise ValueError(
            f"colour_by must be one of {tuple(COLOUR_MODES)}, got {colour_by!r}"
        ) from None


def _no_values() -> pd.DataFrame:
    return pd.DataFrame(columns=["community_id", "value"])


def _column(frame: pd.DataFrame | None, column: str) -> pd.DataFrame:
    """community_id and ``column`` (as value) of ``frame``; no rows when there is no frame."""
    if frame is None or column not in frame.columns:
        return _no_values()
    return frame[["community_id", column]].rename(columns={column: "value"})


def _percent(value, lang: str) -> str:
    return f"{100 * float(value):.0f}%"


def _number(value, lang: str) -> str:
    if isinstance(value, (int, float)):
        return f"{float(value):.2f}" if abs(float(value)) < 100 else fmt_int(value, lang)
    return str(value)


def _classed_fills(values: pd.Series, mode: ColourMode, lang: str, note: dict):
    """Five classes (``palette.class_breaks``) on ``mode.scale``; a legend line per class."""
    numbers = pd.to_numeric(values, errors="coerce")
    breaks = palette.class_breaks(numbers.dropna().tolist())
    fills = [palette.class_colour(None if pd.isna(v) else v, breaks, mode.scale) for v in numbers]
    items, lower = [], numbers.min()
    for upper in breaks:
        colour = palette.class_colour(upper, breaks, mode.scale)
        items.append((colour, f"{mode.format(lower, lang)} – {mode.format(upper, lang)}"))
        lower = upper
    if numbers.isna().any():
        items.append((palette.NO_DATA, f"{t('dash.no_value', lang)} ({int(numbers.isna().sum())})"))
    return fills, items, ""


def _level_fills(values: pd.Series, mode: ColourMode, lang: str, note: dict):
    """The four warning colours; the legend counts each level (highest first)."""
    levels = [v if isinstance(v, str) else None for v in values]
    counts = pd.Series([v for v in levels if v], dtype=object).value_counts()
    items = [
        (palette.LEVEL_COLOURS[lv], f"{t(f'warning_level.{lv}', lang)} ({int(counts.get(lv, 0))})")
        for lv in reversed(palette.LEVELS)
    ]
    missing = sum(v is None for v in levels)
    if missing:
        items.append((palette.NO_DATA, f"{t('dash.no_value', lang)} ({missing})"))
    return [palette.level_colour(v) for v in levels], items, ""


def _hotspot_fills(values: pd.Series, mode: ColourMode, lang: str, note: dict):
    """Fill per emerging hot-spot category; the legend lists the categories present and the
    months analysed (or why there is no analysis)."""
    cats = [v if isinstance(v, str) and v else None for v in values]
    fills = [
        palette.HOTSPOT_COLOURS.get(v, palette.NO_DATA) if v else palette.NO_DATA for v in cats
    ]
    counts = pd.Series([v for v in cats if v], dtype=object).value_counts()
    items = [
        (
            palette.HOTSPOT_COLOURS[c.value],
            f"{t(f'hotspot.category.{c.value}', lang)} ({int(counts[c.value])})",
        )
        for c in hotspots.CATEGORY_ORDER
        if c.value in counts.index
    ]
    missing = sum(v is None for v in cats)
    if missing:
        items.append((palette.NO_DATA, f"{t('dash.no_value', lang)} ({missing})"))
    if "first" in note:
        text = t(
            "hotspot.legend_note", lang, alpha=note["alpha"], first=note["first"], last=note["last"]
        )
    else:
        text = note.get("reason", "")
    return fills, items, text


def _indicator_values(session, scope, period, warnings, indicator) -> pd.DataFrame:
    if not indicator:
        raise ValueError("colour_by='indicator' needs the indicator's name")
    column = f"ind_{indicator}"
    if not warnings.empty and column not in warnings.columns:
        raise ValueError(f"unknown indicator {indicator!r}")
    return _column(warnings, column)


def hotspot_values(session: Session, scope: Scope, period: Month) -> pd.DataFrame:
    """community_id, value (the emerging hot-spot category) and gi_z for ``period``;
    ``attrs`` carries the months analysed (first, last, alpha) or, when the data are too short
    for the analysis, ``reason`` (and no rows)."""
    try:
        frame = hotspots.categories(session, period, scope)
    except ValueError as exc:
        log.info("no emerging hot spots on the map for %s: %s", period, exc)
        empty = pd.DataFrame(columns=["community_id", "value", "gi_z"])
        empty.attrs["reason"] = str(exc)
        return empty
    values = frame[["community_id", "category", "gi_z"]].rename(columns={"category": "value"})
    values.attrs.update({k: frame.attrs[k] for k in ("first", "last", "alpha")})
    return values


register_colour_mode(
    ColourMode(
        "level",
        values=lambda session, scope, period, warnings, indicator: _column(warnings, "level"),
        fmt=lambda value, lang: str(value),
        fills=_level_fills,
        in_tooltip=False,
        from_warning_run=True,
    )
)
register_colour_mode(
    ColourMode(
        "score",
        values=lambda session, scope, period, warnings, indicator: _column(warnings, "score"),
        fmt=lambda value, lang: f"{float(value):.1f}",
        in_tooltip=False,
        from_warning_run=True,
    )
)
register_colour_mode(
    ColourMode("indicator", values=_indicator_values, fmt=_number, from_warning_run=True)
)
register_colour_mode(
    ColourMode(
        "task_completion",
        values=lambda session, scope, period, warnings, indicator: _column(
            task_completion(session, scope, period), "completion"
        ),
        fmt=_percent,
        scale=palette.GOOD,
    )
)
register_colour_mode(
    ColourMode(
        "visit_coverage",
        values=lambda session, scope, period, warnings, indicator: _column(
            visit_coverage(session, scope, period), "coverage"
        ),
        fmt=_percent,
        scale=palette.GOOD,
    )
)
register_colour_mode(
    ColourMode(
        "hotspot",
        values=lambda session, scope, period, warnings, indicator: hotspot_values(
            session, scope, period
        ),
        fmt=lambda value, lang: t(f"hotspot.category.{value}", lang),
        fills=_hotspot_fills,
    )
)


def colour_values(
    session: Session,
    scope: Scope,
    period: Month,
    colour_by: str,
    indicator: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The warning frame for ``period`` and the values to colour by.

    Returns
    -------
    (warnings, values)
        ``warnings`` from ``views.shared.warning_frame`` (may be empty: no warning run yet);
        ``values``: community_id, value (a number, or the level string for ``level``).

    Raises
    ------
    ValueError
        Unknown ``colour_by``, or a bad ``indicator`` for ``colour_by="indicator"``.
    """
    mode = colour_mode(colour_by)
    warnings = warning_frame(session, scope, period)
    return warnings, mode.values(session, scope, period, warnings, indicator)
