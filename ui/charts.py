"""Plotly helpers with labels in the user's language and the dashboard's palette.

Plotly renders offline (Streamlit bundles plotly.js). Every helper returns a figure; pages show
it with :func:`show`.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from fangcang import palette
from fangcang.effect import BeforeAfter
from fangcang.i18n import enum_label
from fangcang.models import IncidentCategory

from .state import lang, t

_FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"


def _layout(
    fig: go.Figure, title: str | None = None, height: int = 320, big: bool = False
) -> go.Figure:
    fig.update_layout(
        title={"text": title, "font": {"size": 22 if big else 15}} if title else None,
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        font={"family": _FONT, "size": 18 if big else 13},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
        plot_bgcolor="white",
        hovermode="x unified",
    )
    # automargin: with small margins and no theme (presentation mode) large tick labels are
    # otherwise clipped ("15k" showed as "k").
    fig.update_xaxes(showgrid=False, automargin=True, tickfont={"size": 18} if big else None)
    fig.update_yaxes(
        gridcolor="#e6e9ee",
        rangemode="tozero",
        automargin=True,
        tickfont={"size": 18} if big else None,
    )
    return fig


def _layout_spec(
    title: str | None = None,
    height: int = 320,
    big: bool = False,
    *,
    xaxis: dict | None = None,
    yaxis: dict | None = None,
    **extra,
) -> dict:
    """The layout ``_layout`` gives a figure, as a plain dict (for figures built in one
    validated ``go.Figure(data=..., layout=...)`` call: a few times cheaper than adding traces
    and updating the layout step by step, the same figure). ``xaxis`` / ``yaxis`` are merged
    over the house axes; ``extra`` over the rest of the layout."""
    tickfont = {"size": 18} if big else None
    layout = {
        "title": {"text": title, "font": {"size": 22 if big else 15}} if title else None,
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        "font": {"family": _FONT, "size": 18 if big else 13},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "right", "x": 1},
        "plot_bgcolor": "white",
        "hovermode": "x unified",
        "xaxis": {"showgrid": False, "automargin": True, "tickfont": tickfont, **(xaxis or {})},
        "yaxis": {
            "gridcolor": "#e6e9ee",
            "rangemode": "tozero",
            "automargin": True,
            "tickfont": tickfont,
            **(yaxis or {}),
        },
    }
    layout.update(extra)
    return layout


#: A count axis: thousands separators on ticks and hover values (1,234); ``counts_axis``.
_COUNTS = {"tickformat": ",", "hoverformat": ","}


def counts_axis(fig: go.Figure) -> go.Figure:
    """Thousands separators on a count axis: ticks and hover values (1,234)."""
    fig.update_yaxes(tickformat=",", hoverformat=",")
    return fig


def month_labels(months: list[int]) -> list[str]:
    return [t(f"month.{m}") for m in months]


def this_vs_last(
    df: pd.DataFrame,
    x: list[str],
    this: str,
    last: str,
    title: str | None = None,
    *,
    months: list | None = None,
    first: object | None = None,
    **kw,
) -> go.Figure:
    """Two lines: this year (solid) and last year (grey, dashed).

    ``months`` (this year's ``Month`` of each row) and ``first`` (the first complete month of
    data, ``incidents.data_span``): a month before the data is a gap in the line, not a 0."""
    if months is not None and first is not None:
        df = df.copy()
        df[this] = [None if m < first else v for m, v in zip(months, df[this], strict=True)]
        df[last] = [
            None if m.shift(-12) < first else v for m, v in zip(months, df[last], strict=True)
        ]
        df[[this, last]] = df[[this, last]].astype("float64")  # None -> NaN: a gap
    lines = (
        (last, t("dash.last_year"), {"color": palette.LAST_YEAR, "dash": "dash", "width": 2}),
        (this, t("dash.this_year"), {"color": palette.THIS_YEAR, "width": 3}),
    )
    # plain lists and numpy arrays (pandas Series cost plotly a conversion each; same figure)
    data = [
        {
            "type": "scatter",
            "x": list(x),
            "y": df[col].to_numpy(),
            "name": name,
            "mode": "lines+markers",
            "line": ln,
        }
        for col, name, ln in lines
    ]
    # category x axis: YYYY-MM must not become English date ticks
    layout = _layout_spec(
        title,
        **kw,
        xaxis={"type": "category"},
        yaxis={"title": {"text": t("dash.count")}, **_COUNTS},
    )
    return go.Figure(data=data, layout=layout)


def category_label(value: str) -> str:
    return enum_label(IncidentCategory(value), lang())


def stacked_categories(df: pd.DataFrame, title: str | None = None, **kw) -> go.Figure:
    """Stacked bars of ``n`` per ``month`` and ``category``."""
    data = []
    by_category = dict(tuple(df.groupby("category", sort=False))) if len(df) else {}
    for cat in palette.CATEGORY_COLOURS:
        part = by_category.get(cat)
        if part is None or part.empty:
            continue
        data.append(
            {
                "type": "bar",
                "x": part["month"].tolist(),
                "y": part["n"].to_numpy(),
                "name": category_label(cat),
                "marker": {"color": palette.CATEGORY_COLOURS[cat]},
                "meta": cat,  # which category a clicked bar is (cross-filtering)
            }
        )
    # many categories: the legend goes below the bars so it never covers the title
    layout = _layout_spec(
        title,
        **kw,
        xaxis={"type": "category", "categoryorder": "category ascending"},  # YYYY-MM by time
        yaxis=_COUNTS,
        barmode="stack",
    )
    layout["legend"] = {"orientation": "h", "y": -0.25, "x": 0, "xanchor": "left", "yanchor": "top"}
    return go.Figure(data=data, layout=layout)


def level_bars(
    counts: dict[str, int], before: dict[str, int] | None = None, title: str | None = None, **kw
) -> go.Figure:
    """Communities per warning level (red first), with last month as hollow bars."""
    levels = list(reversed(palette.LEVELS))
    labels = [t(f"warning_level.{lv}") for lv in levels]
    colours = [palette.LEVEL_COLOURS[lv] for lv in levels]
    data = []
    if before is not None:
        data.append(
            {
                "type": "bar",
                "x": labels,
                "y": [before.get(lv, 0) for lv in levels],
                "name": t("dash.before"),
                "marker": {"color": "rgba(0,0,0,0)", "line": {"color": colours, "width": 2}},
            }
        )
    data.append(
        {
            "type": "bar",
            "x": labels,
            "y": [counts.get(lv, 0) for lv in levels],
            "name": t("dash.now"),
            "marker": {"color": colours},
            "text": [counts.get(lv, 0) for lv in levels],
            "textposition": "outside",
        }
    )
    # (the house layout's "x unified" hover wins over "closest", as it always has)
    layout = _layout_spec(title, **kw, yaxis=_COUNTS, barmode="group")
    return go.Figure(data=data, layout=layout)


def dow_hour(grid: pd.DataFrame, title: str | None = None, **kw) -> go.Figure:
    """Heat map of a 7 x 24 grid (rows Monday..Sunday)."""
    heat = {
        "type": "heatmap",
        "z": grid.values,
        "x": [f"{h:02d}" for h in grid.columns],
        "y": [t(f"dow.{d}") for d in grid.index],
        "colorscale": [
            [i / (len(palette.SEQUENTIAL) - 1), c] for i, c in enumerate(palette.SEQUENTIAL)
        ],
        "hovertemplate": "%{y} %{x}:00 — %{z:,}<extra></extra>",
        "colorbar": {"title": {"text": t("dash.count")}, "tickformat": ","},
    }
    layout = _layout_spec(
        title,
        **kw,
        xaxis={"title": {"text": t("trends.hour")}},
        yaxis={"autorange": "reversed"},
    )  # (the house layout's "x unified" hover, as it always had)
    return go.Figure(data=[heat], layout=layout)


def level_history(df: pd.DataFrame, title: str | None = None, **kw) -> go.Figure:
    """Score per month as markers in the level colour."""
    fig = go.Figure()
    fig.add_scatter(
        x=df["period"],
        y=df["score"],
        mode="lines+markers+text",
        line={"color": palette.LAST_YEAR},
        marker={"size": 14, "color": [palette.level_colour(lv) for lv in df["level"]]},
        text=[t(f"warning_level.{lv}") for lv in df["level"]],
        textposition="top center",
        name=t("dash.score"),
    )
    fig.update_xaxes(type="category")
    fig.update_yaxes(range=[0, 105], title=t("dash.score"))
    fig.update_layout(showlegend=False)
    return _layout(fig, title, **kw)


def count_bars(
    labels: list[str],
    counts: list[int],
    title: str,
    colour: str,
    *,
    height: int = 300,
    top_down: bool = False,
) -> go.Figure:
    """Horizontal bars that carry their counts (no value axis: steps of 0.5 would confuse).

    ``top_down`` draws the first label at the top (else at the bottom, plotly's order)."""
    fig = go.Figure(
        go.Bar(
            x=counts,
            y=labels,
            orientation="h",
            marker_color=colour,
            text=[f"{int(n):,}" for n in counts],
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 10, "r": 60, "t": 40, "b": 10},
        yaxis={"autorange": "reversed"} if top_down else {},
        xaxis={"visible": False, "rangemode": "tozero"},
    )
    return fig


def column_bars(
    x: list,
    y: list,
    title: str,
    colours,
    *,
    hover: str,
    height: int = 320,
    x_title: str | None = None,
    y_title: str | None = None,
    y_range: tuple[float, float] | None = None,
    y_suffix: str | None = None,
) -> go.Figure:
    """Vertical bars over categories (hours, weeks, outcomes); ``colours`` one or one per bar;
    ``hover`` a plotly hovertemplate."""
    fig = go.Figure(go.Bar(x=x, y=y, marker_color=colours, hovertemplate=hover))
    fig.update_xaxes(type="category", title=x_title)
    fig.update_yaxes(title=y_title, range=list(y_range) if y_range else None, ticksuffix=y_suffix)
    return _layout(fig, title, height=height)


def completion_bars(
    labels: list[str],
    completion: list[float],
    on_time: list[float],
    title: str,
    completion_label: str,
    on_time_label: str,
) -> go.Figure:
    """Completion and on-time rates (0..1) side by side per row, in percent, first row at the
    bottom."""
    series = ((completion, completion_label, "#2f6fde"), (on_time, on_time_label, "#9bbcf2"))
    fig = go.Figure(
        [
            go.Bar(
                y=labels, x=[100 * v for v in values], orientation="h", name=name, marker_color=c
            )
            for values, name, c in series
        ]
    )
    fig.update_layout(
        title={"text": title, "font": {"size": 15}},
        barmode="group",
        height=420,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.08},
        plot_bgcolor="white",
        xaxis={"range": [0, 100], "ticksuffix": "%", "gridcolor": "#e6e9ee"},
    )
    return fig


def before_after(ba: BeforeAfter, measure: str) -> go.Figure:
    """A focused community's monthly ``measure`` (``total`` / ``crime``) against the mean of its
    comparison communities, with the start of the focused work marked (effect page)."""
    df = pd.DataFrame(ba.monthly)
    fig = go.Figure()
    fig.add_scatter(
        x=df["month"],
        y=df[f"comparison_{measure}_mean"],
        name=t("effect.chart.comparison"),
        mode="lines+markers",
        line={"color": palette.LAST_YEAR, "dash": "dash", "width": 2},
    )
    fig.add_scatter(
        x=df["month"],
        y=df[measure],
        name=ba.community_name,
        mode="lines+markers",
        line={"color": palette.THIS_YEAR, "width": 3},
    )
    fig.add_vline(
        x=str(ba.windows.after_first), line={"color": palette.LEVEL_COLOURS["red"], "dash": "dot"}
    )
    fig.add_annotation(
        x=str(ba.windows.after_first),
        y=1,
        yref="paper",
        showarrow=False,
        text=t("effect.chart.start"),
        xanchor="left",
        font={"color": palette.LEVEL_COLOURS["red"]},
    )
    fig.update_layout(
        title={
            "text": f"{t('effect.chart.title')}（{t('effect.measure.' + measure)}）",
            "font": {"size": 15},
        },
        height=320,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        plot_bgcolor="white",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        hovermode="x unified",
        xaxis={"type": "category"},
    )
    fig.update_yaxes(gridcolor="#e6e9ee", rangemode="tozero", tickformat=",", hoverformat=",")
    return fig


def show(fig: go.Figure, key: str | None = None, big: bool = False, select: bool = False):
    """Show a figure; ``big`` (presentation mode) keeps the figure's own large fonts instead of
    Streamlit's theme. ``select``: a click on a point or bar reruns the page and the selection
    event is returned (``clicked_meta`` reads it)."""
    event = st.plotly_chart(
        fig,
        width="stretch",
        config={"displayModeBar": False},
        key=key,
        theme=None if big else "streamlit",
        on_select="rerun" if select else "ignore",
        selection_mode="points",
    )
    return event if select else None


def clicked_meta(fig: go.Figure, event) -> str | None:
    """The ``meta`` of the trace a selection event points at (e.g. the category of a clicked
    bar), None when nothing is selected."""
    points = ((event or {}).get("selection") or {}).get("points") or []
    if not points:
        return None
    n = points[0].get("curve_number")
    if n is None or not 0 <= n < len(fig.data):
        return None
    return fig.data[n].meta
