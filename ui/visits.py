"""The visits page's pieces (云入户): the phone-first visit form, the discrepancy queue with its
decision, and coverage. pages/visits.py picks the community and calls one function per tab;
the tables and texts come from ``fangcang.visits.display``, data through ``ui.state.load``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import streamlit as st

from fangcang import visits
from fangcang.access import Permission, Role, Scope, ScopeError, Viewer
from fangcang.i18n import enum_label, fmt_int
from fangcang.models import DiscrepancyStatus, DiscrepancyType, HouseUse
from fangcang.timeutil import now_local
from fangcang.visits import display
from fangcang.visits.views import house_choices, house_residents, nearest_houses, search_houses
from fangcang.websafe import escape_markdown

from . import audit_view, charts, columns, geolocate, state, unmask
from .state import t

#: Who records visits (others see the form tab as read-only).
RECORDERS = (Role.OFFICER, Role.STATION)
ALL = "__all__"


@dataclass(frozen=True)
class VisitsPage:
    """What every tab needs: who looks, the communities they may pick and the one picked."""

    viewer: Viewer
    lang: str
    names: dict[str, str]  # community id -> name, in the viewer's scope
    options: list[str]  # the community picker's options (ALL first when several)
    community_id: str | None  # None: all of them


def _use_label(value: str, lang: str) -> str:
    return enum_label(HouseUse(value), lang)


# --- Record a visit (phone-first: one column, big touch targets, submit last) ----------------
def _house_label(p: VisitsPage, r) -> str:
    """One line a phone can show: masked address, id, registered use and residents."""
    parts = [r.address or "—", r.house_id]
    if len(p.names) > 1:
        parts.append(p.names.get(r.community_id, r.community_id))
    parts.append(
        t("visits.registered", use=_use_label(r.use, p.lang), n=int(r.registered_residents))
    )
    if hasattr(r, "distance_m"):
        parts.insert(0, t("visits.metres", n=fmt_int(r.distance_m)))
    return escape_markdown(" · ".join(parts))  # masked numbers are asterisks, not emphasis


def _pick_from(p: VisitsPage, frame: pd.DataFrame, key: str) -> pd.Series | None:
    rows = {r.house_id: r for r in frame.itertuples(index=False)}
    picked = st.radio(
        t("visits.house_found"),
        list(rows),
        format_func=lambda h: _house_label(p, rows[h]),
        key=key,
        index=None,
    )
    return None if picked is None else frame.set_index("house_id").loc[picked]


def _find_house(p: VisitsPage, form_scope: Scope, where: str) -> tuple[str, pd.Series] | None:
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
        found, total = state.load(search_houses, form_scope, text.strip())
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
        row = _pick_from(p, found, f"visit_addr_pick_{text.strip()}")
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
        near = state.load(nearest_houses, form_scope, round(pos["lon"], 6), round(pos["lat"], 6))
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
        row = _pick_from(p, near, "visit_near_pick")
    else:
        form_community = p.community_id or p.options[1 if len(p.options) > 1 else 0]
        houses = state.load(house_choices, p.viewer.scope, form_community)
        if houses.empty:
            st.info(t("visits.no_houses"))
            return None
        if p.community_id is None:
            st.caption(t("visits.form_community", name=escape_markdown(p.names[form_community])))
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


def _expected(p: VisitsPage, house_id: str, row: pd.Series) -> None:
    """Who the registry says lives here: shown before the form so the officer can check."""
    st.markdown(f"**{t('visits.expected')}** · {escape_markdown(row['address'])}")
    st.caption(
        t(
            "visits.registered",
            use=_use_label(row["use"], p.lang),
            n=int(row["registered_residents"]),
        )
    )
    residents = state.load(house_residents, p.viewer.scope, house_id)
    if residents.empty:
        st.caption(t("visits.expected_none"))
        return
    for r in residents.itertuples(index=False):
        key = t(f"key_person_type.{r.key_person_type}") if r.key_person_type else ""
        badge = f" :red-badge[{key}]" if key else ""
        st.markdown(f"- {escape_markdown(f'{r.name} · {r.id_number or chr(8212)}')}{badge}")
    audit_view.person_view(p.viewer, target=f"house:{house_id}", rows=len(residents), page="visits")
    if p.viewer.can(Permission.UNMASK):
        with st.expander(t("unmask.pick")):
            who = st.selectbox(
                t("unmask.pick"),
                list(residents["person_id"]),
                format_func=dict(zip(residents["person_id"], residents["name"], strict=True)).get,
                key="visits_unmask_pick",
                label_visibility="collapsed",
            )
            unmask.render(p.viewer, "person", who)


def _visit_form(p: VisitsPage, house_id: str) -> None:
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
            format_func=lambda u: t("visits.not_recorded") if u is None else _use_label(u, p.lang),
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
                p.viewer.scope,
                house_id=house_id,
                visited_at=datetime.combine(day, at),
                recorded_by=p.viewer.username,
                officer_id=p.viewer.officer_id,
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
            st.markdown(f"- {display.type_label(kind, p.lang)}: {n}")
    else:
        st.info(t("visits.saved_clean"))


def form_tab(p: VisitsPage) -> None:
    """Find the house at the door, show who the registry expects there, record the visit."""
    if p.viewer.role not in RECORDERS:
        st.info(t("visits.form_readonly"))
        return
    # Phone first: one column (columns stack on a phone anyway); on a desktop the form
    # keeps a readable width.
    form_col, _ = st.columns([3, 2])
    with form_col:
        form_scope = p.viewer.scope if p.community_id is None else Scope.of([p.community_id])
        if p.community_id is not None:
            where = p.names[p.community_id]
        else:
            where = (
                "、".join(p.names.values()) if len(p.names) <= 3 else t("visits.all_communities")
            )
        picked = _find_house(p, form_scope, where)
        if picked is not None:
            house_id, row = picked
            with st.container(border=True):
                _expected(p, house_id, row)
            _visit_form(p, house_id)


# --- Discrepancy queue -------------------------------------------------------------------------
def queue_tab(p: VisitsPage) -> None:
    """The discrepancies of a status and types; an open one can be confirmed or dismissed."""
    c1, c2 = st.columns([1, 2])
    status = c1.selectbox(
        t("visits.status"),
        [s.value for s in DiscrepancyStatus],
        format_func=lambda v: enum_label(DiscrepancyStatus(v), p.lang),
        key="visits_status",
    )
    types = c2.multiselect(
        t("visits.types"),
        [x.value for x in DiscrepancyType],
        format_func=lambda v: display.type_label(v, p.lang),
        key="visits_types",
        placeholder=t("visits.all_types"),
    )
    queue = state.load(
        visits.discrepancy_queue,
        p.viewer.scope,
        community_id=p.community_id,
        status=status,
        types=tuple(types) or None,
    )
    if queue.empty:
        st.info(t("visits.queue_empty"))
    else:
        show = display.queue_table(
            queue, p.names, p.lang, one_community=p.community_id is not None, status=status
        )
        st.dataframe(
            show,
            hide_index=True,
            width="stretch",
            column_config={
                t("vh.col.found"): columns.DAY,
            },
        )
        st.caption(t("visits.queue_caption", n=fmt_int(len(queue))))
        audit_view.person_view(
            p.viewer,
            target=f"discrepancies:{p.community_id or 'all'}",
            rows=len(queue),
            page="visits",
            detail={"status": str(status)},
        )
        if status == DiscrepancyStatus.OPEN:
            if not p.viewer.can(Permission.CORRECT_REGISTRY):
                st.info(t("visits.no_permission_decide"))
            else:
                _decide(p, queue)
    if msg := st.session_state.pop("visits_done", None):
        st.success(msg)


def _decide(p: VisitsPage, queue: pd.DataFrame) -> None:
    """Confirm (the registry changes) or dismiss one open discrepancy, with a reason."""
    rows = {int(r.id): r for r in queue.itertuples(index=False)}
    pick = st.selectbox(
        t("visits.pick"),
        list(rows),
        format_func=lambda i: (
            f"#{i} {display.type_label(rows[i].type, p.lang)} · {rows[i].house_id}"
        ),
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
                field=display.field_label(row.field, p.lang),
                old=display.value_text(row.field, row.old_value, p.lang),
                new=display.value_text(row.field, row.new_value, p.lang),
            )
        )
    reason = st.text_input(t("visits.reason"), key=f"visits_reason_{pick}")
    b1, b2 = st.columns(2)
    do_confirm = b1.button(
        t("visits.confirm"), type="primary", key="visits_confirm", width="stretch"
    )
    do_dismiss = b2.button(t("visits.dismiss"), key="visits_dismiss", width="stretch")
    if not (do_confirm or do_dismiss):
        return
    try:
        with state.session() as s:
            if do_confirm:
                changes = visits.confirm(
                    s, p.viewer.scope, pick, actor=p.viewer.username, reason=reason
                )
                done = t(
                    "visits.confirmed",
                    changes="; ".join(
                        f"{c.field}: {display.change_text(c.field, c.old_value, c.new_value, p.lang)}"
                        if c.field != "new"
                        else t("visits.new_person")
                        for c in changes
                    ),
                )
            else:
                visits.dismiss(s, p.viewer.scope, pick, actor=p.viewer.username, reason=reason)
                done = t("visits.dismissed")
            s.commit()
    except (ValueError, ScopeError) as exc:
        st.error(t("visits.decide_error", msg=exc))
    else:
        st.session_state["visits_done"] = done
        st.rerun()


# --- Coverage ----------------------------------------------------------------------------------
def coverage_tab(p: VisitsPage) -> None:
    """Coverage headline, open discrepancies by type, the table per community and the registry
    changes made from visits."""
    as_of = now_local().date()
    m = state.load(visits.visit_measures, p.viewer.scope, as_of)
    if p.community_id is not None:
        m = m[m["community_id"] == p.community_id]
    cov = display.coverage(m)
    st.caption(t("visits.as_of", d=as_of.isoformat()))
    k1, k2, k3, k4, k5 = st.columns(5)
    k1.metric(t("visits.m.share_90"), display.percent_text(cov.share_90))
    k2.metric(t("visits.m.share_365"), display.percent_text(cov.share_365))
    k3.metric(
        t("visits.m.verified"), display.percent_text(cov.verified), help=t("visits.m.verified_help")
    )
    k4.metric(t("visits.m.open"), fmt_int(cov.open_total))
    k5.metric(t("visits.m.oldest"), display.count_text(cov.oldest_open_days, p.lang))

    if sum(cov.open_by_type.values()) == 0:
        st.success(t("visits.m.none_open"))
    else:
        fig = charts.count_bars(
            [enum_label(x, p.lang) for x in cov.open_by_type],
            list(cov.open_by_type.values()),
            t("visits.m.by_type"),
            "#c0392b",
            top_down=True,
        )
        charts.show(fig, key="visits_open_by_type")

    st.subheader(t("visits.m.table"))
    table = display.coverage_table(m, p.lang)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            t("vh.col.share_90"): columns.PERCENT,
            t("vh.col.share_365"): columns.PERCENT,
            t("vh.col.verified_share"): columns.PERCENT,
        },
    )

    st.subheader(t("visits.m.changes"))
    changes = state.load(visits.registry_changes, p.viewer.scope, limit=50)
    if p.community_id is not None and not changes.empty:
        changes = changes[changes["community_id"] == p.community_id]
    if changes.empty:
        st.info(t("visits.m.no_changes"))
    else:
        st.dataframe(display.changes_table(changes, p.lang), hide_index=True, width="stretch")
