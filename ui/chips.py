"""Cross-filter chips: the filters a click set (a community on the map, a bar in a chart, a row
in a table) shown above the page, each with a button that clears it.

One helper for every dashboard page: ``chips.show(items)`` draws the row; ``chips.for_filters``
builds the items of the sidebar filters a click can set (district, sub-district, station,
community and the page's category).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from fangcang import divisions
from fangcang.access import Viewer
from fangcang.websafe import escape_markdown

from . import filters, state
from .state import t


@dataclass(frozen=True)
class Chip:
    """One active filter: ``name`` (unique on the page), its label, its value, how to clear it."""

    name: str
    label: str
    value: str
    clear: Callable[[], None]


def _clear_filter(name: str) -> Callable[[], None]:
    return lambda: filters.set_filter(name, None)


def show(items: list[Chip], key: str = "chips") -> None:
    """Draw the chips in one row (nothing when no filter is active). A click on a chip clears
    its filter (the callback runs before the page reruns)."""
    if not items:
        return
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    row.markdown(f"**{t('chips.active')}**", width="content")
    for chip in items:
        row.button(
            f"{chip.label}{'：' if state.lang() == 'zh' else ': '}{escape_markdown(chip.value)}",
            key=f"{key}_{chip.name}",
            icon=":material/close:",
            icon_position="right",
            help=t("chips.clear", label=chip.label),
            on_click=chip.clear,
            width="content",
        )
    if len(items) > 1:

        def _all() -> None:
            for chip in items:
                chip.clear()

        row.button(t("chips.clear_all"), key=f"{key}__all", type="tertiary", on_click=_all)


def _clear_district() -> None:
    """The whole city again: the sub-district and station chosen within the district go too."""
    for name in ("district", "street", "station"):
        filters.set_filter(name, None)


def for_filters(f: filters.Filters, viewer: Viewer, category: str | None = None) -> list[Chip]:
    """Chips for the district, sub-district, station, community and warning-level filters in
    ``f`` and the page's ``category`` option (all of which a click or a link can set)."""
    meta = filters.community_meta(state.data_version(), viewer.scope)
    out = []
    if f.district:
        name = divisions.district_name(f.district, state.lang())
        out.append(Chip("district", t("map.district"), name, _clear_district))
    for name, attr, col, id_col, label in (
        ("street", "street", "sub_district", "sub_district_code", "dash.sub_district"),
        ("station", "station", "station", "station_id", "dash.station"),
        ("community", "community", "name", "community_id", "dash.community"),
    ):
        value = getattr(f, attr)
        if value:
            hit = meta.loc[meta[id_col] == value, col]
            out.append(
                Chip(name, t(label), hit.iloc[0] if not hit.empty else value, _clear_filter(name))
            )
    if f.levels:
        out.append(
            Chip(
                "level",
                t("dash.level"),
                "/".join(t(f"warning_level.{lv}") for lv in f.levels),
                _clear_filter("level"),
            )
        )
    if category:
        from .charts import category_label

        out.append(
            Chip(
                "category", t("dash.category"), category_label(category), _clear_filter("category")
            )
        )
    return out
