"""Effect of focused work (整治成效): before/after per focused community with comparison
communities and the difference-in-differences, in plain words; the district's year on year."""

import pandas as pd
import streamlit as st

from fangcang import effect
from fangcang.access import Role
from fangcang.i18n import fmt_int, fmt_pct
from fangcang.timeutil import Month, month_range, now_local
from fangcang.visits.views import community_choices
from fangcang.websafe import escape_markdown
from ui import charts, columns, guard, state
from ui.state import t

viewer = guard.page("effect")
MANAGERS = (Role.DISPATCHER, Role.ADMIN)


lang = state.lang()
latest = state.load(effect.latest_data_month)
st.title(t("effect.title"))
if latest is None:
    st.info(t("effect.none"))
    st.stop()

months_all = [str(m) for m in reversed(month_range(latest.shift(-35), latest))]
with st.sidebar:
    months = st.slider(t("effect.months"), 1, 12, 6, key="eff_months")
    as_of = st.selectbox(t("effect.as_of"), months_all, key="eff_as_of")

results = state.load(effect.effect_summary, months, Month.parse(as_of), viewer.scope)


def _verdict_box(ba: effect.BeforeAfter, measure: str) -> None:
    text = effect.verdict_text(ba, measure, lang)
    verdict = ba.effects[measure].verdict
    text = escape_markdown(text)  # a plain sentence that names the community (data)
    if verdict == "likely_effect":
        st.success(text, icon=":material/check_circle:")
    elif verdict == "worse_than_comparison":
        st.error(text, icon=":material/error:")
    else:
        st.warning(text, icon=":material/warning:")


if not results:
    st.info(t("effect.none"))
else:
    rows = []
    for ba in results:
        row = {
            t("effect.community"): f"{ba.community_name}（{ba.sub_district}）",
            t("effect.start"): ba.start_date.isoformat(),
        }
        for m in effect.MEASURES:
            name = t("effect.short." + m)
            e = ba.effects[m]
            row[t("effect.col.change", m=name)] = fmt_pct(e.raw.pct)
            row[t("effect.col.net", m=name)] = fmt_pct(e.did_ratio_pct)
            row[t("effect.col.verdict_m", m=name)] = t("effect.verdict_short." + e.verdict)
        rows.append(row)
    overview = pd.DataFrame(rows)
    st.dataframe(overview, hide_index=True, width="stretch")
    labels = {i: f"{ba.community_name}（{ba.start_date}）" for i, ba in enumerate(results)}
    pick = st.selectbox(t("effect.community"), list(labels), format_func=labels.get, key="eff_pick")
    ba = results[pick]
    w = ba.windows
    st.subheader(f"{escape_markdown(ba.community_name)}（{escape_markdown(ba.sub_district)}）")
    st.caption(
        t(
            "effect.windows",
            b0=str(w.before_first),
            b1=str(w.before_last),
            a0=str(w.after_first),
            a1=str(w.after_last),
            k=w.months,
        )
        + "　"
        + t("effect.measures")
        + "："
        + ba.measures_taken
    )
    for measure in effect.MEASURES:
        e = ba.effects[measure]
        st.markdown(f"**{t('effect.measure.' + measure)}**")
        c1, c2, c3, c4 = st.columns(4)
        c1.metric(t("effect.before"), fmt_int(e.raw.before))
        c2.metric(
            t("effect.after"), fmt_int(e.raw.now), delta=fmt_pct(e.raw.pct), delta_color="inverse"
        )
        c3.metric(
            t("effect.comparison"),
            fmt_pct(e.comparison_pct),
            help=f"{fmt_int(e.comparison_before)} → {fmt_int(e.comparison_after)}",
        )
        c4.metric(
            t("effect.did"),
            fmt_pct(e.did_ratio_pct),
            help=f"{t('effect.did_points')}: {fmt_pct(e.did_points)}"
            + (f"; z = {e.did_z:.2f}" if e.did_z is not None else ""),
        )
        _verdict_box(ba, measure)
    tab_total, tab_crime = st.tabs([t("effect.measure.total"), t("effect.measure.crime")])
    with tab_total:
        st.plotly_chart(charts.before_after(ba, "total"), key="eff_chart_total")
    with tab_crime:
        st.plotly_chart(charts.before_after(ba, "crime"), key="eff_chart_crime")
    st.markdown(f"**{t('effect.comparisons')}**")
    if not ba.levels_used:
        st.caption(t("effect.levels_missing"))
    comp = pd.DataFrame(
        [
            {
                t("effect.col.community"): c.name,
                t("effect.col.level"): t(f"bulletin.level.{c.level}") if c.level else "—",
                t("effect.col.level_matched"): "✓" if c.level_matched else "",
                t("effect.col.rate"): round(c.rate_before, 1),
                **{
                    t(f"effect.col.{when}_short", m=t("effect.short." + m)): getattr(c, when)[m]
                    for m in effect.MEASURES
                    for when in ("before", "after")
                },
            }
            for c in ba.comparisons
            if viewer.scope.allows(c.community_id)
        ]
    )
    # A scoped user sees the comparison group's figures, not the names of communities outside
    # their jurisdiction: those are one summed row.
    outside = [c for c in ba.comparisons if not viewer.scope.allows(c.community_id)]
    if outside:
        row = {
            t("effect.col.community"): t("effect.outside_group", n=len(outside)),
            t("effect.col.level"): "—",
            t("effect.col.level_matched"): "",
            t("effect.col.rate"): round(sum(c.rate_before for c in outside) / len(outside), 1),
            **{
                t(f"effect.col.{when}_short", m=t("effect.short." + m)): sum(
                    getattr(c, when)[m] for c in outside
                )
                for m in effect.MEASURES
                for when in ("before", "after")
            },
        }
        comp = pd.concat([comp, pd.DataFrame([row])], ignore_index=True)
    if comp.empty:
        st.info(t("effect.verdict.no_comparison"))
    else:
        st.dataframe(
            comp, hide_index=True, width="stretch", column_config=columns.counts_config(comp)
        )

# District year on year, any period.
st.divider()
st.subheader(t("effect.yoy.title" if viewer.scope.is_district else "effect.yoy.title_scope"))
c1, c2 = st.columns(2)
first = c1.selectbox(
    t("effect.yoy.from"), months_all, index=min(11, len(months_all) - 1), key="eff_yoy_from"
)
last = c2.selectbox(t("effect.yoy.to"), months_all, index=0, key="eff_yoy_to")
if Month.parse(last) < Month.parse(first):
    st.error(t("effect.yoy.order"))
else:
    rows = state.load(effect.district_yoy, Month.parse(first), Month.parse(last), viewer.scope)
    frame = effect.yoy_frame(rows, lang)
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        height=35 * (len(frame) + 1) + 3,
        # the metric's name in full ("Criminal and public order" was cut in English)
        column_config=columns.counts_config(
            frame, **{frame.columns[0]: st.column_config.TextColumn(width="medium")}
        ),
    )
    st.caption(t("effect.yoy.caption"))

# Register and end focused work (duty officers and administrators).
if viewer.role in MANAGERS:
    st.divider()
    with st.expander(t("effect.focus.manage")):
        choices = state.load(community_choices, viewer.scope)
        names = dict(zip(choices["community_id"], choices["name"], strict=True))
        with st.form("eff_focus_start"):
            cid = st.selectbox(
                t("effect.community"), list(names), format_func=names.get, key="eff_f_community"
            )
            start = st.date_input(t("effect.start"), value=now_local().date(), key="eff_f_start")
            measures = st.text_area(t("effect.measures"), key="eff_f_measures")
            if st.form_submit_button(t("effect.focus.start_btn")):
                try:
                    with state.session() as s:
                        effect.start_focus(s, cid, start, measures, viewer.username, viewer.scope)
                        s.commit()
                    st.success(t("effect.focus.started"))
                except ValueError as exc:
                    st.error(str(exc))
        open_work = [
            f for f in state.load(effect.list_focus, viewer.scope) if f["end_date"] is None
        ]
        if open_work:
            with st.form("eff_focus_end"):
                opts = {
                    f["focus_id"]: f"#{f['focus_id']} {f['community_name']}（{f['start_date']}）"
                    for f in open_work
                }
                fid = st.selectbox(
                    t("effect.focus.which"), list(opts), format_func=opts.get, key="eff_f_which"
                )
                end = st.date_input(t("effect.end"), value=now_local().date(), key="eff_f_end")
                if st.form_submit_button(t("effect.focus.end_btn")):
                    try:
                        with state.session() as s:
                            effect.end_focus(s, fid, end, viewer.username, scope=viewer.scope)
                            s.commit()
                        st.success(t("effect.focus.ended"))
                    except ValueError as exc:
                        st.error(str(exc))
