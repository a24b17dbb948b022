"""Sign-in: local accounts (argon2, lockout), optional single sign-on, demo accounts in demos.

``app.py`` calls :func:`signed_in_viewer`; when it is None, :func:`render_login` and stop.
The logic (password check, lockout, audit, claim-to-role mapping) is in ``fangcang.auth``.
"""

from __future__ import annotations

import json
import logging

import streamlit as st

from fangcang import auth, db, sessions
from fangcang.access import Role, Viewer
from fangcang.config import get_settings
from fangcang.i18n import enum_label
from fangcang.websafe import escape_markdown

from . import filters, guard, nav, session_routes, state
from .state import t

log = logging.getLogger(__name__)

#: Where a role lands after signing in when the address names no page.
LANDING = {Role.OFFICER: "my_tasks"}


def landing_page(role: Role | str) -> str | None:
    """The page id a role lands on (``LANDING``, else the navigation's default page)."""
    allowed = nav.allowed(Role(role))
    wanted = LANDING.get(Role(role))
    if wanted in {p.id for p in allowed}:
        return wanted
    return next((p.id for p in allowed if p.default), allowed[0].id if allowed else None)


def signed_in_viewer() -> Viewer | None:
    """The signed-in viewer (None after an idle time-out or when the account was disabled)."""
    return guard.current_viewer()


def _apply(result: auth.LoginResult, started: sessions.Started | None = None) -> None:
    if result.ok:
        guard.sign_in(result.viewer, started)
        st.rerun()
    elif result.reason == "locked":
        until = result.locked_until.strftime("%H:%M") if result.locked_until else "?"
        st.error(t("login.locked", until=until))
    elif result.reason == "disabled":
        st.error(t("login.disabled"))
    elif result.reason == "no_role":
        st.error(t("login.no_role"))
    else:
        st.error(t("login.bad_credentials"))


def _sign_in_write(check, method: str) -> tuple[auth.LoginResult, sessions.Started | None] | None:
    """Run a sign-in check and open its session, waiting out a busy database; None (after a
    plain "busy, retry" message) when it stays busy."""

    def work(s):
        result = check(s)
        started = sessions.start(s, result.viewer.username, method=method) if result.ok else None
        return result, started

    try:
        return db.run_write(state.engine(), work, what="sign-in")
    except db.DatabaseBusy:
        st.warning(t("login.busy"), icon=":material/hourglass_top:")
        return None


def _password_sign_in(username: str, password: str) -> None:
    if not username or not password:
        st.error(t("login.missing"))
        return
    # The check commits itself (failures count however the request ends); run_write commits
    # the audit entry and the session row.
    done = _sign_in_write(lambda s: auth.authenticate(s, username, password), "password")
    if done is not None:
        _apply(*done)


def _sso_configured() -> bool:
    # st.login reads its provider from secrets.toml [auth]; only then offer the button.
    try:
        return "auth" in st.secrets
    except Exception as exc:  # no secrets file at all
        log.debug("no secrets file, so no single sign-on: %s", exc)
        return False


def _render_sso() -> None:
    if not _sso_configured():
        return
    if getattr(st.user, "is_logged_in", False):
        try:
            done = _sign_in_write(lambda s: auth.oidc_sign_in(s, st.user.to_dict()), "oidc")
        except ValueError as exc:  # a bad role map or an identity token without a user name
            st.error(str(exc))
        else:
            if done is not None:
                if done[0].ok:
                    st.session_state["sso"] = True
                _apply(*done)
        if st.button(t("login.sso_logout")):
            st.logout()
        return
    st.divider()
    if st.button(t("login.sso"), icon=":material/badge:", width="stretch"):
        st.login()


def _is_demo() -> bool:
    with state.session() as s:
        return bool(db.get_meta(s, "demo"))


def _render_demo_accounts() -> None:
    if not _is_demo():
        return
    with state.session() as s:
        accounts = auth.demo_accounts(s)
    if not accounts:
        return
    lang = state.lang()
    st.divider()
    st.markdown(f"**{t('login.demo_title')}**")
    st.caption(t("login.demo_hint"))
    st.dataframe(
        [
            {
                t("admin.col_role"): enum_label(user.role, lang),
                t("login.username"): user.username,
                t("login.password"): password,
            }
            for user, password in accounts
        ],
        hide_index=True,
        width="stretch",
    )
    by_name = dict((u.username, (u, pw)) for u, pw in accounts)
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    chosen = left.selectbox(
        t("login.demo_pick"),
        list(by_name),
        format_func=lambda n: f"{enum_label(by_name[n][0].role, lang)} · {n}",
        key="demo_account",
    )
    if right.button(t("login.demo_sign_in"), key="demo_sign_in", width="stretch"):
        _password_sign_in(chosen, by_name[chosen][1])


def render_login() -> None:
    """The sign-in page: title, the form, single sign-on, and demo accounts in a demo."""
    _, mid, _ = st.columns([1, 2, 1])
    with mid:
        st.title(t("app.title"))
        st.caption(t("login.subtitle"))
        reason = st.session_state.pop(guard.SIGNED_OUT_REASON, None)
        if reason == "idle":
            st.info(t("login.idle", minutes=get_settings().idle_timeout_minutes))
        elif reason == "disabled":
            st.warning(t("login.disabled"))
        elif reason == "logout":
            st.success(t("login.signed_out"))
        elif reason in ("ended", "expired"):
            st.warning(t(f"login.{reason}"))
        render_cookie_script()
        with st.form("login", border=True):
            st.subheader(t("login.title"))
            username = st.text_input(t("login.username"), autocomplete="username")
            password = st.text_input(
                t("login.password"), type="password", autocomplete="current-password"
            )
            submitted = st.form_submit_button(t("login.submit"), type="primary", width="stretch")
        if submitted:
            _password_sign_in(username.strip(), password)
        _render_sso()
        _render_demo_accounts()


def _scope_text(viewer: Viewer) -> str:
    if viewer.scope.is_district:
        return t("account.scope_city" if filters.is_city() else "account.scope_district")
    return t("account.scope_n", n=len(viewer.scope.community_ids or ()))


def render_account_box(viewer: Viewer) -> None:
    """Sidebar: who is signed in, their role and jurisdiction, and a sign-out button."""
    with st.sidebar:
        role = enum_label(Role(viewer.role), state.lang())
        # Display names come from admins or the identity provider: no markdown from them.
        st.markdown(f"**{escape_markdown(viewer.display_name or viewer.username)}**")
        st.caption(f"{role} · {_scope_text(viewer)}")
        if st.button(t("account.sign_out"), icon=":material/logout:", key="sign_out"):
            try:  # ends every session of the account: other tabs and devices too
                db.run_write(state.engine(), lambda s: auth.log_logout(s, viewer), what="sign-out")
            except db.DatabaseBusy:
                st.warning(t("error.busy"), icon=":material/hourglass_top:")
                return
            sso = st.session_state.pop("sso", False)
            guard.sign_out("logout")
            if sso:
                st.logout()
            st.rerun()


_SCRIPT = """<script>
(function () {{
  var tries = 0;
  function go() {{
    fetch({url}, {{method: "POST", credentials: "same-origin",
      headers: {{"Content-Type": "application/json"}}, body: {body}}})
      .then(function (r) {{ if (r.status === 503 && ++tries < 8) setTimeout(go, 1000 * tries); }})
      .catch(function () {{ if (++tries < 8) setTimeout(go, 1000 * tries); }});
  }}
  go();
}})();
</script>"""


def render_cookie_script() -> None:
    """Set (after a sign-in) or delete (after a sign-out) the HttpOnly session cookie.

    The page posts the one-time hand-off code to ``/fangcang/session`` (``ui.session_routes``,
    mounted by serve.py), which answers with the cookie; the token itself never reaches the
    page. Without those routes (``streamlit run app.py``) the post fails quietly and the
    sign-in lasts as long as the tab.

    The script is drawn on every run until the server has traded the code
    (:func:`fangcang.sessions.handoff_open`): the run that signs in is often cut short (``/``
    switches to the role's landing page at once), and a browser that had not yet drawn that
    run's script would otherwise never post the code (seen on a loaded machine). The same
    script drawn again is the same element (not run again); a second post of a used code is
    refused and changes nothing.
    """
    code = st.session_state.get(guard.HANDOFF)
    if code is not None:
        with state.session() as s:
            still_open = sessions.handoff_open(s, code)
        if not still_open:
            st.session_state.pop(guard.HANDOFF, None)
            return
        url, body = session_routes.SESSION_PATH, json.dumps({"code": code})
    elif st.session_state.pop(guard.CLEAR_COOKIE, False):
        url, body = session_routes.SIGNOUT_PATH, json.dumps({})
    else:
        return
    # Data in the script is JSON (json.dumps escapes quotes; "<" cannot occur in the code).
    script = _SCRIPT.format(url=json.dumps(url), body=json.dumps(body))
    with st.sidebar:
        st.html(script, unsafe_allow_javascript=True, width="content")
