"""任务准入: a branch proposes a task template; the coordinating office admits or rejects it,
seeing look-alike templates and the officers' projected weekly workload first."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from fangcang import access, tasks
from fangcang.access import Permission
from fangcang.i18n import enum_label
from fangcang.models.tasks import Branch, Cycle, TargetKind, TemplateStatus
from fangcang.palette import SERIOUS_FIRST
from fangcang.tasks.admission import DUPLICATE_THRESHOLD
from fangcang.websafe import escape_markdown
from ui import guard, state
from ui.state import t

viewer = guard.page("task_admission")
lang = state.lang()
can_propose = viewer.can(Permission.PROPOSE_TEMPLATE)
can_review = viewer.can(Permission.DISPATCH)


def _status(v: str) -> str:
    return enum_label(TemplateStatus(v), lang)


def _target(kind: str, value: str) -> str:
    """The target in words: 全部社区, the sub-district names, N 个社区, or the rule."""
    kind = TargetKind(kind)
    data = json.loads(value) if value else None
    if kind is TargetKind.ALL:
        return enum_label(kind, lang)
    if kind is TargetKind.SUB_DISTRICTS:
        names = state.load(access.sub_district_names)
        return "、".join(names.get(c, c) for c in data)
    if kind is TargetKind.COMMUNITIES:
        return t("admission.target.communities", n=len(data))
    if data["rule"] == "rental_houses":
        return t("admission.target.rental_houses", n=data["min_houses"])
    levels = "/".join(t(f"warning_level_short.{lv}") for lv in data.get("levels", []))
    return t("admission.target.warning_level", levels=levels)


st.title(t("admission.title"))
st.caption(t("admission.caption"))
if flash := st.session_state.pop("admission_flash", None):
    st.success(flash)
templates = state.load(tasks.list_templates)
names = [n for n, ok in (("propose", can_propose), ("review", can_review), ("list", True)) if ok]
tabs = dict(zip(names, st.tabs([t(f"admission.tab.{n}") for n in names]), strict=True))

# --- propose -----------------------------------------------------------------------------------
if "propose" in tabs:
    with tabs["propose"]:
        sds = list(state.load(access.sub_district_names).items())
        comms = state.load(access.visible_communities, viewer.scope)
        own = [Branch(viewer.branch)] if viewer.branch else list(Branch)
        c1, c2 = st.columns(2)
        branch = c1.selectbox(t("admission.branch"), own, format_func=lambda b: enum_label(b, lang))
        cycle = c2.selectbox(
            t("admission.cycle"), list(Cycle), format_func=lambda c: enum_label(c, lang)
        )
        kind = st.radio(
            t("admission.target_kind"),
            list(TargetKind),
            horizontal=True,
            format_func=lambda k: enum_label(k, lang),
        )
        target = None
        if kind is TargetKind.SUB_DISTRICTS:
            sd_names = dict(sds)
            target = st.multiselect(
                t("admission.sub_districts"),
                list(sd_names),
                format_func=lambda c: sd_names[c],
                placeholder=t("dash.choose"),
            )
        elif kind is TargetKind.COMMUNITIES:
            c_names = dict(comms)
            target = st.multiselect(
                t("admission.communities"),
                list(c_names),
                format_func=lambda c: f"{c_names[c]} ({c})",
                placeholder=t("dash.choose"),
            )
        elif kind is TargetKind.RULE:
            rule = st.selectbox(
                t("admission.rule"),
                list(tasks.targets.RULES),
                format_func=lambda r: t(tasks.targets.RULES[r].label_key),
            )
            if rule == "warning_level":
                levels = st.multiselect(
                    t("admission.levels"),
                    list(SERIOUS_FIRST),
                    default=list(SERIOUS_FIRST[:2]),  # red and yellow
                    placeholder=t("dash.choose"),
                )
                target = {"rule": rule, "levels": levels}
            else:
                n = st.number_input(t("admission.min_houses"), min_value=1, value=100, step=10)
                target = {"rule": rule, "min_houses": int(n)}
        with st.form("propose_form"):
            title = st.text_input(t("admission.task_title"), max_chars=200)
            instructions = st.text_area(t("admission.instructions"), height=110)
            c3, c4 = st.columns(2)
            minutes = c3.number_input(t("admission.minutes"), min_value=1, max_value=480, value=30)
            days = c4.number_input(t("admission.deadline_days"), min_value=0, max_value=92, value=0)
            submitted = st.form_submit_button(t("admission.submit"), type="primary")
        if submitted:
            draft = tasks.TemplateDraft(
                branch, title, instructions, cycle, kind, target, int(minutes), int(days) or None
            )
            try:
                with state.session() as s:
                    tpl = tasks.propose_template(s, draft, viewer)
                    dup = tasks.find_duplicates(s, tpl.title, tpl.instructions, exclude_id=tpl.id)
                    s.commit()
                st.success(t("admission.proposed", title=tpl.title, id=tpl.id))
                if not dup.empty:
                    st.warning(t("admission.duplicates_now"))
                    st.dataframe(dup, hide_index=True, width="stretch")
            except (ValueError, PermissionError) as exc:
                st.error(str(exc))

# --- review ------------------------------------------------------------------------------------
if "review" in tabs:
    with tabs["review"]:
        waiting = templates[templates["status"] == TemplateStatus.PROPOSED.value]
        if waiting.empty:
            st.info(t("admission.no_proposals"))
        else:
            labels = {
                int(r.id): f"#{r.id} [{enum_label(Branch(r.branch), lang)}] {r.title}"
                for r in waiting.itertuples()
            }
            tid = st.selectbox(t("admission.pick"), list(labels), format_func=labels.get)
            row = waiting[waiting["id"] == tid].iloc[0]
            dup, load = state.load(tasks.admission_review, tid)
            left, right = st.columns([1, 1], gap="large")
            with left, st.container(border=True):
                st.markdown(f"**{escape_markdown(row['title'])}**")
                st.caption(
                    " · ".join(
                        [
                            enum_label(Branch(row["branch"]), lang),
                            enum_label(Cycle(row["cycle"]), lang),
                            _target(row["target_kind"], row["target_value"]),
                            f"{row['est_minutes']} min",
                            t(
                                "admission.proposed_by",
                                who=row["proposed_by"],
                                at=f"{row['proposed_at']:%Y-%m-%d}",
                            ),
                        ]
                    )
                )
                st.text(row["instructions"])
                st.markdown(f"**{t('admission.duplicates', threshold=int(DUPLICATE_THRESHOLD))}**")
                if dup.empty:
                    st.info(t("admission.no_duplicates"))
                else:
                    st.dataframe(
                        pd.DataFrame(
                            {
                                t("tasks.col.id"): dup["id"],
                                t("tasks.col.branch"): dup["branch"].map(
                                    lambda b: enum_label(Branch(b), lang)
                                ),
                                t("tasks.col.title"): dup["title"],
                                t("tasks.col.status"): dup["status"].map(_status),
                                t("tasks.col.score"): dup["score"],
                            }
                        ),
                        hide_index=True,
                        width="stretch",
                    )
            with right, st.container(border=True):
                cap = int(load["cap"].iloc[0]) if not load.empty else 0
                st.markdown(f"**{t('admission.workload', cap=cap)}**")
                over = int(load["over_cap"].sum()) if not load.empty else 0
                a, b, c = st.columns(3)
                a.metric(
                    t("admission.max_projected"),
                    f"{load['projected_minutes'].max():.0f}" if not load.empty else "—",
                )
                b.metric(
                    t("admission.added_total"),
                    f"{load['added_minutes'].sum():.0f}" if not load.empty else "—",
                )
                c.metric(t("admission.over_cap_n"), over)
                if over:
                    st.warning(t("admission.over_cap", n=over))
                st.dataframe(
                    pd.DataFrame(
                        {
                            t("tasks.col.officer"): load["officer_name"],
                            t("tasks.col.current_minutes"): load["current_minutes"],
                            t("tasks.col.added_minutes"): load["added_minutes"],
                            t("tasks.col.projected_minutes"): load["projected_minutes"],
                            t("tasks.col.over_cap"): load["over_cap"].map({True: "⚠", False: ""}),
                        }
                    ),
                    hide_index=True,
                    width="stretch",
                    height=240,
                )
            with st.form(f"review_{tid}"):
                reason = st.text_input(t("admission.reason"), max_chars=500)
                b1, b2 = st.columns(2)
                admit = b1.form_submit_button(t("admission.admit"), type="primary", width="stretch")
                reject = b2.form_submit_button(t("admission.reject"), width="stretch")
            if admit or reject:
                try:
                    with state.session() as s:
                        tpl = tasks.review_template(
                            s,
                            tid,
                            viewer,
                            admit=bool(admit),
                            reason=reason,
                            expected_version=int(row["version"]),
                        )
                        s.commit()
                    key = "admission.admitted" if admit else "admission.rejected"
                    st.session_state["admission_flash"] = t(key, title=tpl.title)
                    st.rerun()
                except tasks.ConflictError:
                    st.error(t("tasks.conflict"))
                except (ValueError, PermissionError) as exc:
                    st.error(str(exc))

# --- all templates -----------------------------------------------------------------------------
with tabs["list"]:
    if templates.empty:
        st.info(t("admission.empty_list"))
    else:
        st.dataframe(
            pd.DataFrame(
                {
                    t("tasks.col.id"): templates["id"],
                    t("tasks.col.branch"): templates["branch"].map(
                        lambda b: enum_label(Branch(b), lang)
                    ),
                    t("tasks.col.title"): templates["title"],
                    t("tasks.col.cycle"): templates["cycle"].map(
                        lambda c: enum_label(Cycle(c), lang)
                    ),
                    t("tasks.col.target"): [
                        _target(k, v)
                        for k, v in zip(
                            templates["target_kind"], templates["target_value"], strict=True
                        )
                    ],
                    t("tasks.col.minutes"): templates["est_minutes"],
                    t("tasks.col.status"): templates["status"].map(_status),
                }
            ),
            hide_index=True,
            width="stretch",
            height=480,
        )
