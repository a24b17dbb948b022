"""Administration: accounts, the audit log (filters, export) and the chain check."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pandas as pd
import streamlit as st

from fangcang import access, audit, auth
from fangcang.access import Role
from fangcang.i18n import enum_label
from fangcang.timeutil import now_local
from ui import export, guard, state
from ui.state import t

viewer = guard.page("admin")
lang = state.lang()

st.title(t("admin.title"))
tab_users, tab_audit, tab_chain = st.tabs(
    [t("admin.tab_users"), t("admin.tab_audit"), t("admin.tab_chain")]
)


def _role_label(role: Role | str) -> str:
    return enum_label(Role(role), lang)


def _branch_label(branch: str) -> str:
    try:
        return t(f"branch.{branch}")
    except KeyError:  # a branch the task catalogue does not name
        return branch


def _state(u) -> str:
    if u.disabled:
        return t("admin.state_disabled")
    if u.locked_until is not None and u.locked_until > now_local():
        return t("admin.state_locked", until=f"{u.locked_until:%H:%M}")
    return t("admin.state_active")


def _run(action) -> None:
    """Run one account change in its own transaction; show the outcome."""
    try:
        with state.session() as s:
            message = action(s)
            s.commit()
    except ValueError as exc:
        st.error(str(exc))
        return
    st.success(message)


# --- Accounts ---------------------------------------------------------------------------------
with tab_users:
    with state.session() as s:  # accounts change outside the data version: read fresh
        users = auth.list_users(s)
    stations = state.load(access.station_names)
    officers = {k: f"{name} ({k})" for k, name in state.load(access.officer_names).items()}

    table = pd.DataFrame(
        [
            {
                t("admin.col_username"): u.username,
                t("admin.col_name"): u.display_name,
                t("admin.col_role"): _role_label(u.role),
                t("admin.col_scope"): (
                    stations.get(u.station_id, u.station_id)
                    if u.station_id
                    else officers.get(u.officer_id, u.officer_id)
                    if u.officer_id
                    else _branch_label(u.branch)
                    if u.branch
                    else t("admin.district")
                ),
                t("admin.col_state"): _state(u),
                t("admin.col_last_login"): (
                    f"{u.last_login:%Y-%m-%d %H:%M}" if u.last_login else "—"
                ),
                t("admin.col_source"): u.source,
            }
            for u in users
        ]
    )
    st.subheader(t("admin.users", n=len(users)))
    if table.empty:
        st.info(t("admin.no_users"))
    else:
        st.dataframe(table, hide_index=True, width="stretch")

    left, right = st.columns(2, gap="large")
    with left, st.form("add_user", clear_on_submit=True):
        st.markdown(f"**{t('admin.add_user')}**")
        username = st.text_input(t("admin.col_username"))
        display_name = st.text_input(t("admin.col_name"))
        role = st.selectbox(t("admin.col_role"), list(Role), format_func=_role_label)
        station_id = st.selectbox(
            t("admin.station"),
            [None, *stations],
            format_func=lambda k: "—" if k is None else stations[k],
        )
        officer_id = st.selectbox(
            t("admin.officer"),
            [None, *officers],
            format_func=lambda k: "—" if k is None else officers[k],
        )
        branch = st.text_input(t("admin.branch"), placeholder="public_order")
        password = st.text_input(
            t("admin.password"), type="password", help=t("admin.password_rules")
        )
        if st.form_submit_button(t("admin.add"), type="primary"):
            _run(
                lambda s: (
                    auth.create_user(
                        s,
                        username=username.strip(),
                        password=password,
                        role=role,
                        actor=viewer.username,
                        display_name=display_name.strip(),
                        station_id=station_id,
                        officer_id=officer_id,
                        branch=branch.strip() or None,
                    )
                    and t("admin.added", username=username.strip())
                )
            )

    with right:
        st.markdown(f"**{t('admin.manage_user')}**")
        if not users:
            st.info(t("admin.no_users"))
        else:
            who = st.selectbox(
                t("admin.col_username"), [u.username for u in users], key="manage_who"
            )
            b1, b2, b3 = st.columns(3)
            if b1.button(t("admin.disable"), width="stretch"):
                _run(
                    lambda s: (
                        auth.set_disabled(s, who, True, actor=viewer.username) and t("admin.done")
                    )
                )
            if b2.button(t("admin.enable"), width="stretch"):
                _run(
                    lambda s: (
                        auth.set_disabled(s, who, False, actor=viewer.username) and t("admin.done")
                    )
                )
            if b3.button(t("admin.unlock"), width="stretch"):
                _run(lambda s: auth.unlock(s, who, actor=viewer.username) and t("admin.done"))
            with st.form("reset_password", clear_on_submit=True):
                new_password = st.text_input(
                    t("admin.new_password"), type="password", help=t("admin.password_rules")
                )
                if st.form_submit_button(t("admin.reset")):
                    _run(
                        lambda s: (
                            auth.reset_password(s, who, new_password, actor=viewer.username)
                            and t("admin.done")
                        )
                    )

# --- Audit log --------------------------------------------------------------------------------
with tab_audit:
    with state.session() as s:
        known_actions = audit.actions(s)
    prefixes = sorted({a.split(".")[0] + "." for a in known_actions})
    f1, f2, f3, f4 = st.columns([2, 2, 2, 3])
    action = f1.selectbox(
        t("admin.f_action"),
        [None, *prefixes, *known_actions],
        format_func=lambda a: t("admin.all") if a is None else a,
    )
    actor = f2.text_input(t("admin.f_actor")).strip() or None
    target = f3.text_input(t("admin.f_target")).strip() or None
    today = now_local().date()
    period = f4.date_input(t("admin.f_period"), value=(today - timedelta(days=30), today))
    since = until = None
    if isinstance(period, tuple | list) and len(period) == 2:
        since = datetime.combine(period[0], time.min)
        until = datetime.combine(period[1] + timedelta(days=1), time.min)

    with state.session() as s:
        log = audit.entries(
            s, actor=actor, action=action, target=target, since=since, until=until, limit=5000
        )
    if log.empty:
        st.info(t("admin.no_entries"))
    else:
        st.caption(t("admin.entries", n=len(log)))
        shown = log[["id", "at", "actor", "action", "target", "detail"]].rename(
            columns={
                "id": "#",
                "at": t("admin.col_at"),
                "actor": t("admin.col_actor"),
                "action": t("admin.col_action"),
                "target": t("admin.col_target"),
                "detail": t("admin.col_detail"),
            }
        )
        st.dataframe(shown, hide_index=True, width="stretch", height=420)
        export.download_buttons(
            log,
            viewer=viewer,
            name=f"audit-log-{today:%Y%m%d}",
            target="audit_log",
            key="audit_export",
        )

# --- Chain verification -----------------------------------------------------------------------
with tab_chain:
    st.markdown(t("admin.chain_help"))
    if st.button(t("admin.verify"), type="primary", icon=":material/verified:"):
        with state.session() as s:
            result = audit.verify(s)
            audit.log(
                s,
                actor=viewer.username,
                action="audit.verify",
                target="audit_log",
                detail={
                    "ok": result.ok,
                    "checked": result.checked,
                    "first_broken_id": result.first_broken_id,
                },
            )
            s.commit()
        if result.ok:
            st.success(t("admin.chain_ok", n=result.checked))
        else:
            st.error(
                t(
                    "admin.chain_broken",
                    id=result.first_broken_id,
                    reason=result.reason,
                    n=result.checked,
                )
            )
