"""One map (一图): communities coloured by level / score / indicator / tasks / visits, layers,
search, and the details of the clicked community beside the map. Where the area spans several
districts (a city database, ``fangcang.divisions``), the whole city by sub-district instead
(``maps.area_data``), until a district or sub-district is chosen."""

import streamlit as st
from streamlit_folium import st_folium

from fangcang import community, maps, offline
from fangcang.i18n import enum_label
from fangcang.models import IncidentCategory
from fangcang.timeutil import Month
from fangcang.views.shared import INDICATORS
from fangcang.websafe import escape, escape_markdown
from ui import chips, filters, firststart, guard, state
from ui import periods as period_ui
from ui.state import t

viewer = guard.page("map")


@st.cache_resource(show_spinner=False)
def _assets() -> str:
    return str(offline.install_assets())


_assets()
version = state.data_version()
f = filters.sidebar(
    viewer, district=True, street=True, station=True, levels=True, min_score=True, spans=True
)
meta = filters.community_meta(version, viewer.scope)
scope = f.scope(viewer.scope, meta)


def _open_area(district: str, street: str | None) -> None:
    filters.set_filter("district", district)
    filters.set_filter("street", street)
    filters.set_filter("station", None)
    st.session_state.pop("map_area", None)


def _city_view() -> None:
    """The whole city by sub-district (the area spans several districts)."""
    st.title(t("map.city.title"))
    chips.show(chips.for_filters(f, viewer), key="map_chips")
    data = state.load(maps.area_data, scope, Month.parse(str(f.period)), state.lang())
    view = maps.area_view(data, lang=state.lang(), selected=st.session_state.get("map_area"))
    if view.areas.empty:
        st.info(filters.empty_text(f, viewer))
        st.stop()
    st.caption(
        t(
            "map.city.caption",
            districts=view.areas["district_code"].nunique(),
            areas=len(view.areas),
            communities=int(view.areas["communities"].sum()),
        )
    )
    if f.levels or f.min_score:
        st.caption(t("map.city.filters_later"))
    if not view.has_levels:
        st.info(firststart.no_warning_run(str(f.period)))
    left, right = st.columns([3.3, 1])
    with left:
        out = st_folium(
            view.map,
            height=620,
            width="stretch",
            returned_objects=["last_active_drawing"],
            key="fangcang_city_map",
        )
    props = ((out or {}).get("last_active_drawing") or {}).get("properties", {})
    if props.get("code") and props["code"] != st.session_state.get("map_area_clicked"):
        st.session_state["map_area_clicked"] = props["code"]
        st.session_state["map_area"] = props["code"]
    with right:
        st.subheader(t("map.city.details"))
        rows = view.areas[view.areas["code"] == st.session_state.get("map_area")]
        if rows.empty:
            st.caption(t("map.city.click_hint"))
            return
        r = rows.iloc[0]
        badges = "".join(
            f"<span style='background:{maps.palette.level_colour(lv)};color:white;"
            f"padding:2px 9px;border-radius:11px;margin:0 6px 4px 0;display:inline-block;"
            f"font-weight:600'>{escape(t(f'warning_level.{lv}'))} {int(r[lv])}</span>"
            for lv in maps.AREA_LEVELS
        )
        share = "—" if r["share"] != r["share"] else f"{100 * float(r['share']):.0f}%"
        st.markdown(
            f"<div style='font-size:1.35rem;font-weight:600'>{escape(str(r['name']))}</div>"
            f"<div style='color:#555'>{escape(str(r['district']))} · "
            f"{escape(t('map.city.n_communities', n=int(r['communities'])))}</div>"
            f"<div style='margin:8px 0'>{badges}</div>"
            f"<div>{escape(t('map.city.share_value', share=share))}</div>",
            unsafe_allow_html=True,
        )
        st.button(
            t("map.city.open_sub_district"),
            icon=":material/zoom_in:",
            on_click=_open_area,
            args=(r["district_code"], r["code"]),
            key="map_open_area",
        )
        st.button(
            t("map.city.open_district", district=r["district"]),
            icon=":material/map:",
            on_click=_open_area,
            args=(r["district_code"], None),
            key="map_open_district",
        )


if not f.district and not f.street and not f.station:
    if maps.spans_districts(meta["sub_district_code"]):
        _city_view()
        st.stop()

st.title(t("map.title"))
_chip_slot = st.container()
if not f.is_month:
    st.caption(t("period.map_monthly", month=str(f.period), window=str(f.span.current)))
c1, c2, c3 = st.columns([1.1, 1.1, 2.2])
colour_by = filters.url_choice(
    "colour",
    list(maps.COLOUR_BY),
    "level",
    t("map.colour_by"),
    format_func=lambda c: t(f"map.colour_by.{c}"),
    where=c1,
)
indicator = None
if colour_by == "indicator":
    indicator = filters.url_choice(
        "indicator",
        list(INDICATORS),
        "crime_ratio",
        t("map.indicator"),
        format_func=lambda k: t(f"warning.indicator.{k}"),
        where=c2,
    )
layers = filters.url_multi(
    "layers",
    list(maps.LAYERS),
    [],
    t("map.layers"),
    format_func=lambda k: t(f"map.layer_choice.{k}"),
    where=c3,
    placeholder=t("map.layers_none"),
)
category, mode = None, "heat"
if "incidents" in layers:
    d1, d2, _ = st.columns([1.1, 1.1, 2.2])
    mode = filters.url_choice(
        "mode",
        list(maps.INCIDENT_MODES),
        "heat",
        t("map.incident_mode"),
        format_func=lambda m: t(f"map.incident_mode.{m}"),
        where=d1,
    )
    cats = ["", *[c.value for c in IncidentCategory]]
    category = (
        filters.url_choice(
            "category",
            cats,
            "",
            t("dash.category"),
            format_func=lambda c: (
                enum_label(IncidentCategory(c), state.lang()) if c else t("dash.all")
            ),
            where=d2,
        )
        or None
    )

# The frames are cached; the folium.Map is built on every run because streamlit-folium
# renames the elements of a map it renders, so a map object must never be rendered twice.
data = state.load(
    maps.map_data,
    scope,
    Month.parse(str(f.period)),
    colour_by=colour_by,
    indicator=indicator,
    layers=tuple(layers),
    category=category,
    incident_mode=mode,
    levels=tuple(f.levels),
    min_score=f.min_score,
)
view = maps.view_of(
    data, colour_by=colour_by, lang=state.lang(), selected=st.session_state.get("map_selected")
)
if view.communities.empty:
    st.info(filters.empty_text(f, viewer))
    st.stop()
if colour_by in ("level", "score", "indicator") and not view.has_levels:
    st.info(firststart.no_warning_run(str(f.period)))
elif colour_by in ("task_completion", "visit_coverage") and view.communities["value"].isna().all():
    st.info(t("map.unavailable", what=t(f"map.colour_by.{colour_by}")))

# With the panel closed the map takes the full width and the details follow below it.
if st.toggle(t("map.side_panel"), value=True, key="map_side_panel"):
    left, right = st.columns([3.3, 1])
else:
    left, right = st.container(), st.container()
with left:
    out = st_folium(
        view.map,
        height=620,
        width="stretch",
        returned_objects=["last_active_drawing"],
        key="fangcang_map",
    )
clicked = ((out or {}).get("last_active_drawing") or {}).get("properties", {}).get("community_id")
if clicked and clicked != st.session_state.get("map_clicked"):
    st.session_state["map_clicked"] = clicked
    st.session_state["map_selected"] = clicked
    st.query_params["community"] = clicked
if "map_selected" not in st.session_state and st.query_params.get("community"):
    st.session_state["map_selected"] = st.query_params.get("community")


def _clear_selected() -> None:
    st.session_state.pop("map_selected", None)
    if "community" in st.query_params:
        del st.query_params["community"]


# The clicked (or searched) community is the page's cross-filter: a chip shows and clears it.
_items = chips.for_filters(f, viewer)
_sel = st.session_state.get("map_selected")
_hit = meta.loc[meta["community_id"] == _sel, "name"]
if _sel and not _hit.empty:
    _items.append(chips.Chip("community", t("dash.community"), _hit.iloc[0], _clear_selected))
with _chip_slot:
    chips.show(_items, key="map_chips")

with right:
    query = st.text_input(
        t("dash.search"), placeholder=t("dash.search_placeholder"), key="map_search"
    )
    if query.strip():
        found = state.load(community.search, scope, query.strip())
        if found.empty:
            st.caption(t("dash.search_none", q=query.strip()))
        else:
            options = list(found["community_id"])
            names = dict(
                zip(
                    found["community_id"],
                    found["name"] + " · " + found["sub_district"],
                    strict=True,
                )
            )
            pick = st.radio(
                t("dash.select_community"), options, format_func=names.get, key="map_pick"
            )
            if pick and pick != st.session_state.get("map_selected"):
                st.session_state["map_selected"] = pick
                st.query_params["community"] = pick
    selected = st.session_state.get("map_selected")
    rows = view.communities[view.communities["community_id"] == selected]
    st.subheader(t("map.details"))
    if rows.empty:
        st.caption(t("map.click_hint"))
    else:
        r = rows.iloc[0]
        level = r["level"] if isinstance(r["level"], str) else None
        colour = maps.palette.level_colour(level)
        label = t(f"warning_level.{level}") if level else t("dash.no_level")
        st.markdown(
            f"<div style='font-size:1.35rem;font-weight:600'>{escape(str(r['name']))}</div>"
            f"<div style='color:#555'>{escape(str(r['sub_district']))} · {escape(str(r['station']))}</div>"
            f"<div style='margin:8px 0'><span style='background:{colour};color:white;padding:3px 10px;"
            f"border-radius:12px;font-weight:600'>{escape(label)}</span>"
            + (f" &nbsp;{escape(t('dash.score'))} <b>{float(r['score']):.1f}</b>" if level else "")
            + "</div>",
            unsafe_allow_html=True,
        )
        if f.span is not None:  # the chosen period in this community, against both bases
            cmp = period_ui.load(
                f, viewer.scope, metrics=["total"], community_ids=[r["community_id"]]
            )
            st.markdown(f"**{t('period.comparison')} · {t('metric.total')}**")
            period_ui.compact(cmp.iloc[0], f.span)
        if isinstance(r.get("reason"), str) and r["reason"]:
            st.markdown(f"**{t('dash.reason')}**")
            st.markdown(escape_markdown(r["reason"]))
        elif not level:
            st.caption(t("map.no_details"))
        st.page_link(
            "pages/community.py",
            label=t("dash.open_community"),
            icon=":material/open_in_new:",
            query_params={"community": r["community_id"], "period": str(f.period)},
        )
