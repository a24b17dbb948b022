"""The period comparison shown on the dashboard pages (CompStat): the count of the chosen period,
its change and % change against the same days a year earlier and against the previous period,
and a plain verdict (the exact test's z sits behind it, in the help text).

The windows come from ``fangcang.periods`` (the sidebar resolves them: ``Filters.span``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from fangcang import periods
from fangcang.access import Scope
from fangcang.i18n import fmt_int, fmt_pct
from fangcang.periods import BASES, PeriodKind, Periods

from . import state
from .columns import COUNT
from .state import t


def verdict(row, key: str) -> str:
    """The plain verdict of one comparison (``★`` when beyond noise)."""
    v = row[f"verdict_{key}"]
    text = t(f"period.verdict.{v}")
    return f"★ {text}" if v in ("up", "down") else text


def _pct(x) -> str:
    """A % change; "—" when undefined (the comparison count is 0); no sign when it shows as
    zero (equal counts are not a rise)."""
    if x is None or pd.isna(x):
        return "—"
    return fmt_pct(0.0, signed=False) if _zero(x) else fmt_pct(float(x))


def _zero(x) -> bool:
    """Whether a % change shows as 0.0% (one decimal)."""
    return x is not None and not pd.isna(x) and round(float(x), 1) == 0


def _signed(n) -> str:
    if n is None or pd.isna(n):
        return "—"
    return f"{int(n):+,}" if int(n) else "0"  # no change carries no sign


def windows_caption(p: Periods) -> str:
    """Where the numbers come from: the three windows and the data-as-of day (the notes on a
    running month or quarter and on data coverage follow, each as its own sentence)."""
    prev = p.basis("previous")
    parts = [
        t(
            "period.windows" if prev.window is not None else "period.windows_ytd",
            now=str(p.current),
            as_of=p.as_of.isoformat(),
            yb=str(p.basis("year_before").window),
            prev=str(prev.window),
        )
    ]
    if not p.complete:
        what = (
            str(p.choice.month)
            if p.choice.kind is PeriodKind.MONTH
            else f"{p.choice.year}-Q{p.choice.quarter}"
        )
        parts.append(t("period.running", what=what, day=p.as_of.isoformat()))
    if not p.covered:
        parts.append(t("period.not_covered", day=p.data_first.isoformat()))
    text = parts[0]
    for part in parts[1:]:  # each note its own sentence
        if state.lang() == "zh":
            text += ("" if text.endswith("。") else "。") + part
        else:
            text += (" " if text.endswith(".") else ". ") + part
    return text


def unavailable(p: Periods, key: str) -> str:
    """Why there is no comparison: none for this kind of period (the year to date has no
    previous period) or the comparison window lies before the data."""
    if p.basis(key).reason == "not_compared":
        return t("period.ytd_no_previous")
    return t("period.unavailable")


def _help(row, p: Periods, key: str) -> str:
    b = p.basis(key)
    if b.reason == "not_compared":
        return t("period.ytd_no_previous")
    if not b.available:
        return t("period.unavailable_help", window=str(b.window), day=p.data_first.isoformat())
    return t(
        "period.z_help",
        window=str(b.window),
        n=fmt_int(row[f"n_{key}"]),
        z=f"{row[f'z_{key}']:+.1f}",
    )


def load(
    f, scope: Scope, *, metrics=None, category=None, community_ids=None
) -> pd.DataFrame | None:
    """The comparison frame of ``fangcang.periods.comparison`` for the chosen period (cached)."""
    if f.span is None:
        return None
    return state.load(
        periods.comparison,
        scope,
        f.span,
        metrics=tuple(metrics) if metrics else None,
        category=category,
        community_ids=tuple(community_ids) if community_ids else None,
    )


def metric_row(df: pd.DataFrame, p: Periods, where=None) -> None:
    """One column per metric: the count, its % change against the year before (delta), then
    the plain verdicts: "同比：正常波动" and "环比 -4.1%：★ 明显下降" (z values in the help)."""
    cols = (where or st).columns(len(df))
    for col, (_, row) in zip(cols, df.iterrows(), strict=True):
        delta, flat = None, False
        if row["verdict_year_before"] != "unavailable" and not pd.isna(row["pct_year_before"]):
            delta = f"{_pct(row['pct_year_before'])} {t('dash.yoy')}"
            flat = _zero(row["pct_year_before"])
        col.metric(
            t(f"metric.{row['metric']}"),
            fmt_int(row["n"]),
            delta=delta,
            delta_color="off" if flat else "inverse",  # no change: neither red nor green
            delta_arrow="off" if flat else "auto",
            help=_help(row, p, "year_before") + "  \n" + _help(row, p, "previous"),
        )
        col.caption(
            _verdict_line(row, p, "year_before") + "  \n" + _verdict_line(row, p, "previous")
        )


def _verdict_line(row, p: Periods, key: str) -> str:
    """ "同比：正常波动" / "环比 -4.1%：★ 明显下降" (the year-before % is in the delta above)."""
    sep = "：" if state.lang() == "zh" else ": "
    if p.basis(key).reason == "not_compared":
        return unavailable(p, key)
    if row[f"verdict_{key}"] == "unavailable":
        return f"{t(f'period.{key}')}{sep}{t('period.unavailable')}"
    pct = "" if key == "year_before" else f" {_pct(row[f'pct_{key}'])}"
    return f"{t(f'period.{key}')}{pct}{sep}{verdict(row, key)}"


def compact(row, p: Periods, where=None) -> None:
    """One metric in a narrow panel (the map's details): three short lines of text."""
    sep = "：" if state.lang() == "zh" else ": "
    lines = [f"{t('period.n')} **{fmt_int(row['n'])}**"]
    for key in BASES:
        if p.basis(key).reason == "not_compared":
            lines.append(unavailable(p, key))
            continue
        if row[f"verdict_{key}"] == "unavailable":
            lines.append(f"{t(f'period.{key}')}{sep}{t('period.unavailable')}")
            continue
        zh = state.lang() == "zh"
        lb, comma, rb = ("（", "，", "）") if zh else (" (", ", ", ")")
        lines.append(
            f"{t(f'period.{key}')} {_pct(row[f'pct_{key}'])}"
            f"{lb}{t(f'period.col.{key}')} {fmt_int(row[f'n_{key}'])}{comma}"
            f"{_signed(row[f'change_{key}'])}{rb}{sep}**{verdict(row, key)}**"
        )
    (where or st).markdown("  \n".join(lines), help=_help(row, p, "year_before"))


def single(row, p: Periods, where=None, stacked: bool = False) -> None:
    """One metric: this period, against the year before, against the previous period (each
    with count, change, % change and the verdict)."""
    host = where or st
    cols = [host, host, host] if stacked else host.columns(3)
    cols[0].metric(t("period.n"), fmt_int(row["n"]))
    for col, key in zip(cols[1:], BASES, strict=True):
        if row[f"verdict_{key}"] == "unavailable":
            col.metric(t(f"period.{key}"), "—", help=_help(row, p, key))
            col.caption(unavailable(p, key))
            continue
        col.metric(
            t(f"period.{key}"),
            _pct(row[f"pct_{key}"]),
            delta=f"{_signed(row[f'change_{key}'])} · {verdict(row, key)}",
            delta_color="inverse" if row[f"verdict_{key}"] != "noise" else "off",
            delta_arrow="off" if row[f"change_{key}"] == 0 else "auto",
            help=_help(row, p, key),
        )
        col.caption(f"{t(f'period.col.{key}')} {fmt_int(row[f'n_{key}'])}")


def unit_table(
    df: pd.DataFrame, name_col: str, p: Periods | None = None
) -> tuple[pd.DataFrame, dict]:
    """A ``periods.by_unit`` frame for st.dataframe: name, this period, and per comparison the
    count, change and "% · verdict"; with column_config giving thousands separators. A
    comparison the period does not make (the year to date's previous period) has no columns."""
    columns = {name_col: df["name"], t("period.n"): df["n"]}
    config = {t("period.n"): COUNT}
    for key in BASES:
        if p is not None and p.basis(key).reason == "not_compared":
            continue
        label = t(f"period.col.{key}")
        change = f"{label} {t('period.col.change')}"
        judged = t(f"period.{key}")
        columns[label] = df[f"n_{key}"]
        columns[change] = df[f"change_{key}"]
        columns[judged] = pd.Series(
            [
                t("period.unavailable")
                if v == "unavailable"
                else f"{_pct(pct)} · {verdict({f'verdict_{key}': v}, key)}"
                for pct, v in zip(df[f"pct_{key}"].tolist(), df[f"verdict_{key}"], strict=True)
            ],
            index=df.index,
        )
        config[label] = COUNT
        config[change] = COUNT
    return pd.DataFrame(columns), config  # built at once (not a column at a time)
