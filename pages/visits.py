"""云入户: record a household visit (phone-friendly), decide the discrepancy queue, coverage."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from fangcang import visits
from fangcang.access import Permission, Role, Scope, ScopeError
from fangcang.i18n import enum_label, fmt_int
from fangcang.models import DiscrepancyStatus, DiscrepancyType, HouseUse
from fangcang.timeutil import now_local
from fangcang.visits.views import (
    community_choices,
    house_choices,
    house_residents,
    nearest_houses,
    search_houses,
)
from fangcang.websafe import escape_markdown
from ui import audit_view, geolocate, guard, state, unmask
from ui.state import t

viewer = guard.page("visits")
lang = state.lang()
RECORDERS = (Role.OFFICER, Role.STATION)
version = state.data_version()


@st.cache_data(show_spinner=False, max_entries=16)
def _communities(version: int, scope: Scope) -> pd.DataFrame:
    with state.session() as s:
        return community_choices(s, scope)


@st.cache_data(show_spinner=False, max_entries=32)
def _houses(version: int, scope: Scope, community_id: str) -> pd.DataFrame:
    with state.session() as s:
        return house_choices(s, scope, community_id)


@st.cache_data(show_spinner=False, max_entries=64)
def _residents(version: int, scope: Scope, house_id: str) -> pd.DataFrame:
    with state.session() as s:
        return house_residents(s, scope, house_id)


@st.cache_data(show_spinner=False, max_entries=64)
def _queue(
    version: int, scope: Scope, community_id: str | None, status: str | None, types: tuple[str, ...]
) -> pd.DataFrame:
    with state.session() as s:
        return visits.discrepancy_queue(
            s, scope, community_id=community_id, status=status, types=list(types) or None
        )


@st.cache_data(show_spinner=False, max_entries=16)
def _measures(version: int, scope: Scope, as_of) -> pd.DataFrame:
    with state.session() as s:
        return visits.visit_measures(s, scope, as_of)


@st.cache_data(show_spinner=False, max_entries=16)
def _changes(version: int, scope: Scope) -> pd.DataFrame:
    with state.session() as s:
        return visits.registry_changes(s, scope, limit=50)


def _type_label(value: str) -> str:
    return enum_label(DiscrepancyType(value), lang)


def _use_label(value: str) -> str:
    return enum_label(HouseUse(value), lang)


def _field_label(field: str) -> str:
    return t(f"vh.field.{field}")


def _value_text(field: str, value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return t("visits.none")
    if field == "use":
        return _use_label(value)
    return str(value)


def _open_chart(by_type: dict) -> None:
    fig = go.Figure(
        go.Bar(
            x=list(by_type.values()),
            y=[enum_label(x, lang) for x in by_type],
            orientation="h",
            marker_color="#c0392b",
            text=list(by_type.values()),
            textposition="outside",
            cliponaxis=False,
        )
    )
    fig.update_layout(
        title=t("visits.m.by_type"),
        height=300,
        margin=dict(l=10, r=40, t=40, b=10),
        yaxis=dict(autorange="reversed"),
        # The bars carry their counts; an axis in steps of 0.5 would only confuse.
        xaxis=dict(visible=False, rangemode="tozero"),
    )
    st.plotly_chart(fig, width="stretch")


st.title(t("nav.visits"))
st.caption(t("visits.subtitle"))
communities = _communities(version, viewer.scope)
if communities.empty:
    st.info(t("visits.no_communities"))
    st.stop()
names = dict(zip(communities["community_id"], communities["name"], strict=True))

ALL = "__all__"
options = list(names) if len(names) == 1 else [ALL, *names]
community = st.selectbox(
    t("visits.community"),
    options,
    format_func=lambda c: t("visits.all_communities") if c == ALL else names[c],
    key="visits_community",
)
community_id = None if community == ALL else community

tab_form, tab_queue, tab_measures = st.tabs(
    [t("visits.tab.form"), t("visits.tab.queue"), t("visits.tab.measures")]
)


# --- Record a visit (phone-first: one column, big touch targets, submit last) ----------------
@st.cache_data(show_spinner=False, max_entries=64)
def _search(version: int, scope: Scope, text: str) -> tuple[pd.DataFrame, int]:
    with state.session() as s:
        return search_houses(s, scope, text)


@st.cache_data(show_spinner=False, max_entries=32)
def _nearby(version: int, scope: Scope, lon: float, lat: float) -> pd.DataFrame:
    with state.session() as s:
        return nearest_houses(s, scope, lon, lat)


def _house_label(r) -> str:
    """One line a phone can show: masked address, id, registered use and residents."""
    parts = [r.address or "—", r.house_id]
    if len(names) > 1:
        parts.append(names.get(r.community_id, r.community_id))
    parts.append(t("visits.registered", use=_use_label(r.use), n=int(r.registered_residents)))
    if hasattr(r, "distance_m"):
        parts.insert(0, t("visits.metres", n=fmt_int(r.distance_m)))
    return escape_markdown(" · ".join(parts))  # masked numbers are asterisks, not emphasis


def _pick_from(frame: pd.DataFrame, key: str) -> pd.Series | None:
    rows = {r.house_id: r for r in frame.itertuples(index=False)}
    picked = st.radio(
        t("visits.house_found"),
        list(rows),
        format_func=lambda h: _house_label(rows[h]),
        key=key,
        index=None,
    )
    return None if picked is None else frame.set_index("house_id").loc[picked]


def _find_house(form_scope: Scope, where: str) -> tuple[str, pd.Series] | None:
    """Find the house at the door: by the address on the door, by the phone's position, or
    from the community's list. Returns (house id, its row) or None until one is chosen."""
    how = (
        st.segmented_control(
            t("visits.find"),
            ["address", "nearby", "list"],
            default="address",
            format_func=lambda k: t(f"visits.find.{k}"),
            key="visit_find",
        )
        or "address"
    )
    if how == "address":
        text = st.text_input(
            t("visits.find.address_input"),
            placeholder=t("visits.find.address_placeholder"),
            key="visit_addr",
            max_chars=60,
        )
        if len("".join(text.split())) < 2:
            st.caption(t("visits.find.address_hint"))
            return None
        found, total = _search(version, form_scope, text.strip())
        if total == 0:
            st.info(
                t(
                    "visits.find.none",
                    text=escape_markdown(text.strip()),
                    where=escape_markdown(where),
                )
            )
            return None
        if total > len(found):
            st.caption(t("visits.find.more", n=fmt_int(len(found)), total=fmt_int(total)))
        row = _pick_from(found, f"visit_addr_pick_{text.strip()}")
    elif how == "nearby":
        pos, error = geolocate.position_button(
            t("visits.find.locate"), t("visits.find.locating"), key="visit_geo"
        )
        if pos is not None:
            st.session_state["visit_pos"] = pos
        elif error is not None:
            st.session_state["visit_pos"] = {"error": error}
        pos = st.session_state.get("visit_pos")
        if pos is None:
            st.caption(t("visits.find.locate_hint"))
            return None
        if "error" in pos:
            st.warning(t("visits.find.geo_error", msg=pos["error"]))
            return None
        near = _nearby(version, form_scope, round(pos["lon"], 6), round(pos["lat"], 6))
        st.caption(
            t(
                "visits.find.position",
                lon=f"{pos['lon']:.5f}",
                lat=f"{pos['lat']:.5f}",
                acc=fmt_int(pos.get("accuracy") or 0),
            )
        )
        if near.empty:
            st.info(t("visits.find.none_near", where=escape_markdown(where)))
            return None
        row = _pick_from(near, "visit_near_pick")
    else:
        form_community = community_id or options[1 if len(options) > 1 else 0]
        houses = _houses(version, viewer.scope, form_community)
        if houses.empty:
            st.info(t("visits.no_houses"))
            return None
        if community_id is None:
            st.caption(t("visits.form_community", name=escape_markdown(names[form_community])))
        labels = {r.house_id: f"{r.house_id} · {r.address}" for r in houses.itertuples(index=False)}
        house_id = st.selectbox(
            t("visits.house"),
            list(labels),
            format_func=labels.get,
            help=t("visits.house_help"),
            key="visit_house",
        )
        row = houses.set_index("house_id").loc[house_id]
    if row is None:
        return None
    return str(row.name), row


def _expected(house_id: str, row: pd.Series) -> None:
    """Who the registry says lives here: shown before the form so the officer can check."""
    st.markdown(f"**{t('visits.expected')}** · {escape_markdown(row['address'])}")
    st.caption(
        t("visits.registered", use=_use_label(row["use"]), n=int(row["registered_residents"]))
    )
    residents = _residents(version, viewer.scope, house_id)
    if residents.empty:
        st.caption(t("visits.expected_none"))
        return
    for r in residents.itertuples(index=False):
        key = t(f"key_person_type.{r.key_person_type}") if r.key_person_type else ""
        badge = f" :red-badge[{key}]" if key else ""
        st.markdown(f"- {escape_markdown(f'{r.name} · {r.id_number or chr(8212)}')}{badge}")
    audit_view.person_view(viewer, target=f"house:{house_id}", rows=len(residents), page="visits")
    if viewer.can(Permission.UNMASK):
        with st.expander(t("unmask.pick")):
            who = st.selectbox(
                t("unmask.pick"),
                list(residents["person_id"]),
                format_func=dict(zip(residents["person_id"], residents["name"], strict=True)).get,
                key="visits_unmask_pick",
                label_visibility="collapsed",
            )
            unmask.render(viewer, "person", who)


def _visit_form(house_id: str) -> None:
    """The visit form for one house; saves through ``visits.record_visit``. Every field the
    officer leaves alone means "not recorded" and compares nothing."""
    n_people = st.number_input(
        t("visits.people_count"), 0, 30, 0, key="visit_n", help=t("visits.people_count_help")
    )
    with st.form("visit_form", clear_on_submit=True):
        now = now_local()
        c1, c2 = st.columns(2)
        day = c1.date_input(t("visits.date"), value=now.date(), max_value=now.date())
        at = c2.time_input(t("visits.time"), value=now.time().replace(second=0, microsecond=0))
        uses = [None, *[u.value for u in HouseUse]]
        use = st.selectbox(
            t("visits.observed_use"),
            uses,
            format_func=lambda u: t("visits.not_recorded") if u is None else _use_label(u),
            key="visit_use",
        )
        count = st.number_input(
            t("visits.observed_count"),
            min_value=0,
            max_value=500,
            value=None,
            placeholder=t("visits.not_recorded"),
            help=t("visits.observed_count_help"),
            key="visit_count",
        )
        people = []
        for i in range(int(n_people)):
            with st.container(border=True):
                st.markdown(f"**{t('visits.person', i=i + 1)}**")
                name = st.text_input(t("visits.name"), key=f"vp_name_{i}")
                idn = st.text_input(
                    t("visits.id_number"),
                    key=f"vp_id_{i}",
                    help=t("visits.person_help"),
                    max_chars=18,
                )
                phone = st.text_input(t("visits.phone"), key=f"vp_phone_{i}", max_chars=20)
                birth = st.date_input(
                    t("visits.birth_date"),
                    value=None,
                    key=f"vp_birth_{i}",
                    min_value=datetime(1900, 1, 1),
                    max_value=now.date(),
                )
                people.append(visits.Observed(name, idn or None, phone or None, birth))
        notes = st.text_area(t("visits.notes"), height=80)
        submitted = st.form_submit_button(t("visits.submit"), type="primary", width="stretch")
    if not submitted:
        return
    try:
        with state.session() as s:
            visit, result = visits.record_visit(
                s,
                viewer.scope,
                house_id=house_id,
                visited_at=datetime.combine(day, at),
                recorded_by=viewer.username,
                officer_id=viewer.officer_id,
                observed_use=use,
                observed_count=count,
                residents=people,
                notes=notes,
                source="form",
            )
            s.commit()
    except (ValueError, ScopeError) as exc:
        st.error(t("visits.form_error", msg=exc))
        return
    st.success(t("visits.saved", id=visit.id))
    if result.created:
        st.warning(t("visits.saved_found", n=result.created))
        for kind, n in result.by_type.items():
            st.markdown(f"- {_type_label(kind)}: {n}")
    else:
        st.info(t("visits.saved_clean"))


with tab_form:
    if viewer.role not in RECORDERS:
        st.info(t("visits.form_readonly"))
    else:
        # Phone first: one column (columns stack on a phone anyway); on a desktop the form
        # keeps a readable width.
        form_col, _ = st.columns([3, 2])
        with form_col:
            form_scope = viewer.scope if community_id is None else Scope.of([community_id])
            if community_id is not None:
                where = names[community_id]
            else:
                where = (
                    "、".join(names.values()) if len(names) <= 3 else t("visits.all_communities")
                )
            picked = _find_house(form_scope, where)
            if picked is not None:
                house_id, row = picked
                with st.container(border=True):
                    _expected(house_id, row)
                _visit_form(house_id)

# --- Discrepancy queue -------------------------------------------------------------------------
with tab_queue:
    c1, c2 = st.columns([1, 2])
    status = c1.selectbox(
        t("visits.status"),
        [s.value for s in DiscrepancyStatus],
        format_func=lambda v: enum_label(DiscrepancyStatus(v), lang),
        key="visits_status",
    )
    types = c2.multiselect(
        t("visits.types"),
        [x.value for x in DiscrepancyType],
        format_func=_type_label,
        key="visits_types",
        placeholder=t("visits.all_types"),
    )
    queue = _queue(version, viewer.scope, community_id, status, tuple(types))
    if queue.empty:
        st.info(t("visits.queue_empty"))
    else:
        show = pd.DataFrame(
            {
                t("vh.col.id"): queue["id"],
                t("vh.col.type"): queue["type"].map(_type_label),
                t("vh.col.community"): queue["community_id"].map(lambda c: names.get(c, c)),
                t("vh.col.house"): queue["house_id"] + " · " + queue["address"].fillna(""),
                t("vh.col.name"): queue["name"],
                t("vh.col.change"): [
                    f"{_value_text(f, o)} → {_value_text(f, n)}"
                    if f != "new"
                    else f"{t('visits.new_person')}: {n}"
                    for f, o, n in zip(
                        queue["field"], queue["old_value"], queue["new_value"], strict=True
                    )
                ],
                t("vh.col.confidence"): queue["confidence"].map(
                    lambda c: "" if c is None or pd.isna(c) else f"{c:.2f}"
                ),
                t("vh.col.found"): queue["created_at"],
            }
        )
        if community_id is not None:  # one community: its name in every row is noise
            show = show.drop(columns=[t("vh.col.community")])
        if status != DiscrepancyStatus.OPEN:
            show[t("vh.col.decided_by")] = queue["decided_by"]
            show[t("vh.col.decided_at")] = queue["decided_at"]
            show[t("vh.col.reason")] = queue["reason"]
        st.dataframe(
            show,
            hide_index=True,
            width="stretch",
            column_config={
                t("vh.col.found"): st.column_config.DatetimeColumn(format="YYYY-MM-DD"),
            },
        )
        st.caption(t("visits.queue_caption", n=fmt_int(len(queue))))
        audit_view.person_view(
            viewer,
            target=f"discrepancies:{community_id or 'all'}",
            rows=len(queue),
            page="visits",
            detail={"status": str(status)},
        )
        if status == DiscrepancyStatus.OPEN:
            if not viewer.can(Permission.CORRECT_REGISTRY):
                st.info(t("visits.no_permission_decide"))
            else:
                rows = {int(r.id): r for r in queue.itertuples(index=False)}
                pick = st.selectbox(
                    t("visits.pick"),
                    list(rows),
                    format_func=lambda i: f"#{i} {_type_label(rows[i].type)} · {rows[i].house_id}",
                    key="visits_pick",
                )
                row = rows[pick]
                if row.field == "new":
                    st.markdown(f"{t('visits.new_person')}: {row.new_value}")
                else:
                    st.markdown(
                        t(
                            "visits.proposed",
                            table=t(f"vh.table.{row.target_table}"),
                            record=row.target_id,
                            field=_field_label(row.field),
                            old=_value_text(row.field, row.old_value),
                            new=_value_text(row.field, row.new_value),
                        )
                    )
                reason = st.text_input(t("visits.reason"), key=f"visits_reason_{pick}")
                b1, b2 = st.columns(2)
                do_confirm = b1.button(
                    t("visits.confirm"), type="primary", key="visits_confirm", width="stretch"
                )
                do_dismiss = b2.button(t("visits.dismiss"), key="visits_dismiss", width="stretch")
                if do_confirm or do_dismiss:
                    try:
                        with state.session() as s:
                            if do_confirm:
                                changes = visits.confirm(
                                    s, viewer.scope, pick, actor=viewer.username, reason=reason
                                )
                                done = t(
                                    "visits.confirmed",
                                    changes="; ".join(
                                        f"{c.field}: {_value_text(c.field, c.old_value)} → "
                                        f"{_value_text(c.field, c.new_value)}"
                                        if c.field != "new"
                                        else t("visits.new_person")
                                        for c in changes
                                    ),
                                )
                            else:
                                visits.dismiss(
                                    s, viewer.scope, pick, actor=viewer.username, reason=reason
                                )
                                done = t("visits.dismissed")
                            s.commit()
                    except (ValueError, ScopeError) as exc:
                        st.error(t("visits.decide_error", msg=exc))
                    else:
                        st.session_state["visits_done"] = done
                        st.rerun()
    if msg := st.session_state.pop("visits_done", None):
        st.success(msg)

# --- Coverage ----------------------------------------------------------------------------------
with tab_measures:
    as_of = now_local().date()
    m = _measures(version, viewer.scope, as_of)
    if community_id is not None:
        m = m[m["community_id"] == community_id]
    houses_n = int(m["houses"].sum())
    st.caption(t("visits.as_of", d=as_of.isoformat()))

    def _pct(num: str) -> str:
        return "—" if houses_n == 0 else f"{100 * m[num].sum() / houses_n:.1f}%"

    k1, k2, k3, k4, k5 = st.columns(5)
    k1.metric(t("visits.m.share_90"), _pct("visited_90"))
    k2.metric(t("visits.m.share_365"), _pct("visited_365"))
    k3.metric(t("visits.m.verified"), _pct("verified"), help=t("visits.m.verified_help"))
    k4.metric(t("visits.m.open"), fmt_int(int(m["open_total"].sum())))
    oldest = m["oldest_open_days"].dropna()
    k5.metric(t("visits.m.oldest"), "—" if oldest.empty else fmt_int(int(oldest.max())))

    by_type = {x: int(m[f"open_{x.value}"].sum()) for x in DiscrepancyType}
    if sum(by_type.values()) == 0:
        st.success(t("visits.m.none_open"))
    else:
        _open_chart(by_type)

    st.subheader(t("visits.m.table"))
    table = pd.DataFrame(
        {
            t("vh.col.community"): m["name"],
            t("vh.col.houses"): m["houses"],
            t("vh.col.share_90"): m["share_90"] * 100,
            t("vh.col.share_365"): m["share_365"] * 100,
            t("vh.col.verified_share"): m["verified_share"] * 100,
            t("vh.col.open_total"): m["open_total"],
            t("vh.col.oldest_open_days"): m["oldest_open_days"].map(
                lambda d: "—" if d is None or pd.isna(d) else str(int(d))
            ),
        }
    ).sort_values(t("vh.col.verified_share"))
    pct = st.column_config.ProgressColumn(format="%.1f%%", min_value=0, max_value=100)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            t("vh.col.share_90"): pct,
            t("vh.col.share_365"): pct,
            t("vh.col.verified_share"): pct,
        },
    )

    st.subheader(t("visits.m.changes"))
    changes = _changes(version, viewer.scope)
    if community_id is not None and not changes.empty:
        changes = changes[changes["community_id"] == community_id]
    if changes.empty:
        st.info(t("visits.m.no_changes"))
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    t("vh.col.at"): changes["at"],
                    t("vh.col.actor"): changes["actor"],
                    t("vh.col.type"): changes["type"].map(_type_label),
                    t("vh.col.record"): changes["record_id"],
                    t("vh.col.field"): changes["field"].map(_field_label),
                    t("vh.col.old"): [
                        _value_text(f, v)
                        for f, v in zip(changes["field"], changes["old_value"], strict=True)
                    ],
                    t("vh.col.new"): [
                        _value_text(f, v)
                        for f, v in zip(changes["field"], changes["new_value"], strict=True)
                    ],
                }
            ),
            hide_index=True,
            width="stretch",
        )
