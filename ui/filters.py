"""Filters in the sidebar AND in the URL, so a link restores the view.

``?period=2026-10&street=仰义街道&level=red`` opens the October view of the red communities in
仰义街道. Values are read from the URL when a page opens (a deep link), then from what the user
chose earlier in the session, then the defaults; every change is written back to the URL.

Parameters: ``period`` (YYYY-MM), ``span`` (a review-meeting period other than a month: ``7d``,
``28d``, ``ytd``, ``YYYY-Qn``, ``YYYY-MM-DD..YYYY-MM-DD``; see ``fangcang.periods``),
``district`` (区县, name or code: the map of a database with several districts,
``fangcang.divisions``), ``street`` (sub-district name or code), ``station`` (station name or id), ``level`` (comma-separated: red,yellow,blue,green), ``score`` (minimum score),
``community`` (community id), plus page-specific ones through :func:`url_choice`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from fangcang import divisions, periods, trends
from fangcang.access import Scope, Viewer
from fangcang.palette import LEVELS
from fangcang.periods import PeriodChoice, PeriodKind, Periods
from fangcang.timeutil import Month
from fangcang.views.shared import available_periods
from fangcang.websafe import escape_markdown

from . import state
from .state import t

_STORE = "dash_filters"  # survives page switches (widget state does not)
_PENDING = "dash_pending"  # {filter name: value} chosen outside the sidebar (clicks, search)


@dataclass
class Filters:
    period: Month  # the month of warning levels (levels are monthly decisions)
    district: str | None = None  # district code (fangcang.divisions); None = all
    street: str | None = None  # sub-district code
    station: str | None = None  # station id
    levels: list[str] = field(default_factory=list)  # empty = all
    min_score: float = 0.0
    community: str | None = None
    span: Periods | None = None  # the chosen review period (None: no incident data yet)
    districts: tuple[str, ...] = ()  # districts of the viewer's communities (choice offered)

    @property
    def is_month(self) -> bool:
        return self.span is None or self.span.choice.kind is PeriodKind.MONTH

    @property
    def city_wide(self) -> bool:
        """True when the viewer's communities span several districts and nothing narrows the
        view to a part of one (no district, sub-district or station chosen)."""
        return (
            not self.district and not self.street and not self.station and len(self.districts) > 1
        )

    def narrow(self, meta: pd.DataFrame) -> pd.DataFrame:
        """``meta``'s communities in the chosen district / sub-district / station."""
        keep = meta
        if self.district:
            keep = keep[
                divisions.district_codes(keep["sub_district_code"]).to_numpy() == self.district
            ]
        if self.street:
            keep = keep[keep["sub_district_code"] == self.street]
        if self.station:
            keep = keep[keep["station_id"] == self.station]
        return keep

    def scope(self, viewer_scope: Scope, meta: pd.DataFrame) -> Scope:
        """The viewer's scope narrowed to the chosen district / sub-district / station."""
        if not self.district and not self.street and not self.station:
            return viewer_scope
        keep = self.narrow(meta)
        return Scope.of(keep["community_id"], label=f"{viewer_scope.label}|filtered")


@st.cache_data(show_spinner=False, max_entries=64)
def _periods(version: int) -> list[str]:
    with state.session() as s:
        return [str(m) for m in available_periods(s)]


@st.cache_data(show_spinner=False, max_entries=64)
def community_meta(version: int, scope: Scope) -> pd.DataFrame:
    """Communities in ``scope`` with sub-district and station names (cached per data version)."""
    with state.session() as s:
        return trends.community_meta(s, scope)


@st.cache_data(show_spinner=False, max_entries=64)
def data_span(version: int) -> tuple[date, date] | None:
    """First and last day with incident data (the data-as-of day), cached per data version."""
    with state.session() as s:
        return periods.data_span(s)


def _key(name: str) -> str:
    """Widget key of filter ``name``: per language, because a keyed widget keeps showing the
    option labels of the language it was created in. The value survives the switch through
    the session store and the URL."""
    return f"flt_{name}_{state.lang()}"


def _store() -> dict:
    return st.session_state.setdefault(_STORE, {})


def _initial(name: str, parse, default):
    """Value for a fresh widget: URL, else the session's earlier choice, else the default."""
    raw = st.query_params.get(name)
    if raw not in (None, ""):
        try:
            value = parse(raw)
            if value is not None:
                return value
        except (ValueError, TypeError):
            pass  # a bad parameter falls back quietly: the widget shows the valid default
    return _store().get(name, default)


def _bind(name: str, key: str, parse, default) -> None:
    pending = st.session_state.get(_PENDING, {})
    if name in pending:  # set by set_filter before this widget exists in this run
        st.session_state[key] = pending.pop(name)
    elif key not in st.session_state:
        st.session_state[key] = _initial(name, parse, default)


def _write(name: str, value, default, serialise=str) -> None:
    _store()[name] = value
    if value == default or value in (None, "", []):
        if name in st.query_params:
            del st.query_params[name]
    else:
        text = serialise(value)
        if st.query_params.get(name) != text:
            st.query_params[name] = text


def _match(raw: str, options: dict[str, str]) -> str | None:
    """An option key from a URL value that is either the key or its label."""
    raw = raw.strip()
    if raw in options:
        return raw
    for key, label in options.items():
        if label == raw:
            return key
    return None


def url_choice(
    name: str, options: list[str], default: str, label: str, format_func=str, where=None, **kw
) -> str:
    """A radio/selectbox bound to URL parameter ``name`` (for page options like ``colour``)."""
    key = _key(name)
    _bind(name, key, lambda raw: raw if raw in options else None, default)
    if st.session_state[key] not in options:
        st.session_state[key] = default
    host = where or st.sidebar
    widget = kw.pop("widget", "selectbox")
    fn = host.radio if widget == "radio" else host.selectbox
    value = fn(label, options, key=key, format_func=format_func, **kw)
    _write(name, value, default)
    return value


def url_multi(
    name: str,
    options: list[str],
    default: list[str],
    label: str,
    format_func=str,
    where=None,
    placeholder: str | None = None,
) -> list[str]:
    """A multiselect bound to URL parameter ``name`` (comma-separated).

    ``placeholder`` is what an empty selection means (default "全部"/"All": a filter with
    nothing chosen keeps everything). Streamlit's "Select all" entry is English only, so it
    is offered in the English UI alone."""
    key = _key(name)
    _bind(name, key, lambda raw: [v for v in raw.split(",") if v in options], default)
    st.session_state[key] = [v for v in st.session_state[key] if v in options]
    value = (where or st.sidebar).multiselect(
        label,
        options,
        key=key,
        format_func=format_func,
        placeholder=placeholder or t("dash.all"),
        select_all=state.lang() == "en",
    )
    _write(name, value, default, ",".join)
    return value


def sidebar(
    viewer: Viewer,
    *,
    district: bool = False,
    street: bool = False,
    station: bool = False,
    levels: bool = False,
    min_score: bool = False,
    community: bool = False,
    spans: bool = False,
    city_label: str = "map.city.all",
) -> Filters:
    """Draw the chosen filters in the sidebar (period always) and return them.

    ``spans``: offer the review-meeting periods (last 7/28 days, quarter, year to date, custom
    range) besides months, and show the data-as-of day. ``district``: a district (区县) choice
    when the viewer's communities lie in more than one (default: all of them, the whole city,
    named by the i18n key ``city_label``); the sub-districts, stations and communities offered
    are then those of the chosen district."""
    version = state.data_version()
    periods_list = _periods(version)
    meta = community_meta(version, viewer.scope)
    st.sidebar.markdown(f"**{t('dash.filters')}**")

    out = _period(periods_list, spans)
    if district:
        out.districts = tuple(divisions.districts_in(meta["sub_district_code"]))
        out.district = _district(out.districts, t(city_label))
        if out.district:
            meta = out.narrow(meta)
    if street:
        names = dict(
            meta[["sub_district_code", "sub_district"]]
            .drop_duplicates()
            .sort_values("sub_district")
            .values
        )
        out.street = _named_choice("street", t("dash.sub_district"), names, t("dash.all"))
    if station:
        sub = meta if not out.street else meta[meta["sub_district_code"] == out.street]
        names = dict(sub[["station_id", "station"]].drop_duplicates().sort_values("station").values)
        out.station = _named_choice("station", t("dash.station"), names, t("dash.all"))
    if levels:
        out.levels = url_multi(
            "level",
            list(reversed(LEVELS)),
            [],
            t("dash.level"),
            format_func=lambda lv: t(f"warning_level.{lv}"),
        )
    if min_score:
        key = _key("score")
        _bind("score", key, lambda raw: max(0.0, min(100.0, float(raw))), 0.0)
        value = st.sidebar.slider(t("dash.min_score"), 0.0, 100.0, step=5.0, key=key)
        _write("score", value, 0.0, lambda v: f"{v:g}")
        out.min_score = float(value)
    if community:
        scoped = meta if not out.street else meta[meta["sub_district_code"] == out.street]
        names = dict(scoped[["community_id", "name"]].values)
        out.community = _named_choice(
            "community", t("dash.community"), names, t("dash.all"), url_label=False
        )
    return out


def _district(present: tuple[str, ...], all_label: str) -> str | None:
    """The district choice (only when the viewer's communities lie in several districts)."""
    if len(present) < 2:
        return None
    names = {c: divisions.district_name(c, state.lang()) for c in present}
    # a link read in the other language still finds its district
    aliases = {divisions.district_name(c, lang): c for c in present for lang in ("zh", "en")}
    return _named_choice("district", t("map.district"), names, all_label, aliases=aliases)


def district_names(sub_district_codes) -> list[str]:
    """The district name of each sub-district code (a city's tables: one column)."""
    lang = state.lang()
    return [divisions.district_name(c, lang) for c in divisions.district_codes(sub_district_codes)]


def _named_choice(
    name: str,
    label: str,
    names: dict[str, str],
    all_label: str,
    *,
    url_label: bool = True,
    aliases: dict[str, str] | None = None,
) -> str | None:
    """A sidebar choice of one of ``names`` ({code: label}) or all (""), bound to URL
    parameter ``name`` (which holds the label, or the code when not ``url_label``; either is
    read back, and any of ``aliases``: {other label: code}); returns the chosen code or None."""
    opts = ["", *names]
    key = _key(name)
    _bind(name, key, lambda raw: _match(raw, names) or (aliases or {}).get(raw.strip()), "")
    if st.session_state[key] not in opts:
        st.session_state[key] = ""
    code = st.sidebar.selectbox(label, opts, key=key, format_func=lambda c: names.get(c, all_label))
    _write(name, code, "", (lambda c: names.get(c, c)) if url_label else str)
    return code or None


def _month_widget(months: list[str]) -> Month:
    key = _key("period")
    _bind(
        "period",
        key,
        lambda raw: str(Month.parse(raw)) if str(Month.parse(raw)) in months else None,
        months[0],
    )
    if st.session_state[key] not in months:
        st.session_state[key] = months[0]
    period = st.sidebar.selectbox(t("dash.period"), months, key=key)
    _write("period", period, months[0])
    return Month.parse(period)


def _span_initial(as_of: date, data_first: date) -> tuple[PeriodChoice | None, str | None]:
    """The period of the link (or of the last page): (choice, None), (None, None) when there is
    none, or (None, "value: reason") when it cannot be shown (malformed, reversed, outside the
    data): the caller says so and shows the latest month, never a silently changed window."""
    raw = st.query_params.get("span") or _store().get("span")
    if not raw:
        return None, None
    try:
        choice = PeriodChoice.parse(raw)
        periods.resolve(choice, as_of, data_first)
    except ValueError as exc:
        return None, f"{raw}\x00{exc}"
    return choice, None


def _period(months: list[str], spans: bool) -> Filters:
    """The period part of the sidebar: the kind of period, then its month, quarter or range."""
    span = data_span(state.data_version()) if spans else None
    if span is None:
        return Filters(period=_month_widget(months))
    data_first, as_of = span
    kinds = [k.value for k in PeriodKind]
    kkey, bkey = _key("span_kind"), _key("span_bad")
    initial, bad = _span_initial(as_of, data_first)
    if kkey not in st.session_state or bad:
        st.session_state[kkey] = initial.kind.value if initial else PeriodKind.MONTH.value
        st.session_state[bkey] = bad
        if bad:  # the latest month instead (the month widget ignores the bad link)
            st.session_state[_key("period")] = months[0]
    if st.session_state.get(bkey):
        value, reason = st.session_state[bkey].split("\x00", 1)
        if st.session_state[kkey] == PeriodKind.MONTH.value:
            st.sidebar.warning(t("period.bad_link", value=value, reason=reason, month=months[0]))
        else:  # another period chosen since: the warning has done its work
            st.session_state[bkey] = None
    kind = PeriodKind(
        st.sidebar.selectbox(
            t("period.kind"), kinds, key=kkey, format_func=lambda k: t(f"period.kind.{k}")
        )
    )
    if kind is PeriodKind.MONTH:
        choice = PeriodChoice.of_month(_month_widget(months))
    elif kind is PeriodKind.QUARTER:
        opts = [f"{y}-Q{q}" for y, q in periods.quarters(data_first, as_of)]
        qkey = _key("span_quarter")
        if st.session_state.get(qkey) not in opts:
            start = initial.param() if initial and initial.kind is kind else opts[0]
            st.session_state[qkey] = start if start in opts else opts[0]
        choice = PeriodChoice.parse(st.sidebar.selectbox(t("period.quarter"), opts, key=qkey))
    elif kind is PeriodKind.CUSTOM:
        ckey = _key("span_range")
        if ckey not in st.session_state:
            if initial and initial.kind is kind:  # checked against the data by _span_initial
                first, last = initial.first, initial.last
            else:
                first, last = max(data_first, as_of - timedelta(days=27)), as_of
            st.session_state[ckey] = (max(first, data_first), min(max(last, data_first), as_of))
        picked = st.sidebar.date_input(
            t("period.range"), min_value=data_first, max_value=as_of, key=ckey
        )
        picked = tuple(picked) if isinstance(picked, (tuple, list)) else (picked,)
        first = picked[0] if picked else as_of
        last = picked[1] if len(picked) > 1 else first  # one day chosen so far: that day
        choice = PeriodChoice.of_range(first, last)  # the widget keeps it within the data
    else:
        choice = PeriodChoice(kind)
    try:
        resolved = periods.resolve(choice, as_of, data_first)
    except ValueError as exc:  # not expected (the widgets offer only data days): say so
        latest = PeriodChoice.of_month(Month.parse(months[0]))
        st.sidebar.warning(
            t("period.bad_link", value=choice.param(), reason=str(exc), month=months[0])
        )
        choice, kind = latest, PeriodKind.MONTH
        resolved = periods.resolve(choice, as_of, data_first)
    if kind is not PeriodKind.MONTH:
        _write("span", choice.param(), "")
        # levels are monthly: the newest month with levels that the period's last day reaches
        end = Month.of(resolved.current.last)
        month = next((m for m in months if Month.parse(m) <= end), months[-1])
        out = Filters(period=Month.parse(month), span=resolved)
    else:
        _write("span", "", "")
        out = Filters(period=choice.month, span=resolved)
    st.sidebar.caption(
        t("period.as_of", day=as_of.isoformat())
        + "  \n"
        + t("period.window", window=str(resolved.current))
    )
    return out


def set_filter(name: str, value: str | None) -> None:
    """Choose filter ``name`` (``street``, ``station``, ``community``) outside the sidebar, e.g.
    from a table click or the search box; takes effect on the next run (call ``st.rerun``)."""
    st.session_state.setdefault(_PENDING, {})[name] = value or ""
    _store()[name] = value or ""
    if value:
        st.query_params[name] = value
    elif name in st.query_params:
        del st.query_params[name]


def set_community(community_id: str | None) -> None:
    """Select a community (search box, map click) for the next run."""
    set_filter("community", community_id)


def is_city() -> bool:
    """True when the database's communities lie in several districts (a city deployment)."""
    meta = community_meta(state.data_version(), Scope.district())
    return divisions.spans_districts(meta["sub_district_code"])


def whole_area() -> str:
    """The name of everything the database holds: "全市" / "Whole city" when its communities
    lie in several districts, else the district's name: the one every community's standard
    code names, or the deployment's (``app.district``) when some or all codes name none."""
    codes = community_meta(state.data_version(), Scope.district())["sub_district_code"]
    districts = divisions.districts_in(codes)
    if len(districts) > 1:
        return t("dash.city_all")
    if districts and not divisions.unplaced(codes):
        return divisions.district_name(districts[0], state.lang())
    return t("app.district")


def jurisdiction(viewer: Viewer, *, markdown: bool = True) -> str:
    """The name of the viewer's area for titles and captions: the district's (a city's:
    "全市") for roles that see everything, the station's name for a station, an officer's
    communities (never "the whole district" for a scoped role). Names from data are
    markdown-escaped unless ``markdown`` is False (plain text on one line, for HTML the caller
    escapes: a blank line inside an HTML block would start markdown again)."""
    if viewer.scope.is_district:
        return whole_area()
    meta = community_meta(state.data_version(), viewer.scope)
    if meta.empty:
        return t("dash.no_area")
    # names come from data and end up in markdown (titles, captions): escaped here, once
    esc = escape_markdown if markdown else (lambda x: " ".join(str(x).split()))  # one line
    stations = [esc(x) for x in dict.fromkeys(meta["station"])]
    names = [esc(x) for x in meta["name"]]
    if viewer.station_id and len(stations) == 1:
        return stations[0]
    if len(names) <= 3:
        return "、".join(names)
    if len(stations) == 1:
        return t("dash.area_n", station=stations[0], n=len(names))
    return t("dash.communities_n", n=len(names))


def where_text(f: Filters, viewer: Viewer) -> str:
    """Where a filtered view looks: the chosen community, station or sub-district, else the
    viewer's jurisdiction."""
    meta = community_meta(state.data_version(), viewer.scope)
    if f.community:
        hit = meta.loc[meta["community_id"] == f.community, "name"]
        return escape_markdown(hit.iloc[0] if not hit.empty else f.community)
    parts = []
    if f.city_wide:
        return t("dash.city_all")
    if f.district and not f.street:
        parts.append(escape_markdown(divisions.district_name(f.district, state.lang())))
    if f.street:
        hit = meta.loc[meta["sub_district_code"] == f.street, "sub_district"]
        parts.append(escape_markdown(hit.iloc[0] if not hit.empty else f.street))
    if f.station:
        hit = meta.loc[meta["station_id"] == f.station, "station"]
        parts.append(escape_markdown(hit.iloc[0] if not hit.empty else f.station))
    return " ".join(parts) if parts else jurisdiction(viewer)


def empty_text(f: Filters, viewer: Viewer, *, extra: str = "") -> str:
    """What an empty community filter result is, e.g. "2026-10 仰义街道：0 个红色社区" /
    "0 Red communities in 仰义街道 in 2026-10" (never just "no data")."""
    levels = "/".join(t(f"warning_level.{lv}") for lv in f.levels)
    conditions = []
    if f.min_score > 0:
        conditions.append(t("dash.empty_score", score=f"{f.min_score:g}"))
    if extra:
        conditions.append(extra)
    key = "dash.empty_levels" if levels else "dash.empty_communities"
    text = t(key, period=str(f.period), where=where_text(f, viewer), levels=levels)
    if conditions:
        zh = state.lang() == "zh"
        text += f"（{'，'.join(conditions)}）" if zh else f" ({', '.join(conditions)})"
    return text
