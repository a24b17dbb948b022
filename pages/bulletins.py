"""Warning bulletins (预警通报): issue one for a month, search the history, download Word or
printable HTML, preview the frozen document."""

import pandas as pd
import streamlit as st

from fangcang import bulletins
from fangcang.access import Permission
from fangcang.timeutil import Month
from ui import guard, state
from ui.state import t

viewer = guard.page("bulletins")


def _history(text: str) -> list[bulletins.BulletinSummary]:
    return state.load(bulletins.search_bulletins, text or None)


# Issued bulletins never change, so their documents are cached by id alone.
@st.cache_data(show_spinner=False, max_entries=16)
def _html(bulletin_id: int) -> str:
    with state.session() as s:
        return bulletins.to_html(bulletins.get_bulletin(s, bulletin_id))


@st.cache_data(show_spinner=False, max_entries=16)
def _docx(bulletin_id: int) -> bytes:
    with state.session() as s:
        return bulletins.to_docx(bulletins.get_bulletin(s, bulletin_id))


def _log_export(bulletin_id: int, fmt: str) -> None:
    with state.session() as s:
        bulletins.record_export(s, bulletins.get_bulletin(s, bulletin_id), fmt, viewer.username)
        s.commit()


st.title(t("bulletin.title"))

if bulletins.can_issue(viewer.role):
    with st.expander(t("bulletin.issue"), expanded=False, icon=":material/campaign:"):
        periods = state.load(bulletins.issuable_periods)
        if not periods:
            st.info(t("bulletin.no_runs"))
        else:
            period = st.selectbox(t("bulletin.issue_for"), periods, key="bul_period")
            existing = [b for b in _history("") if b.period == period]
            again = True
            if existing:
                st.warning(t("bulletin.already", titles="、".join(b.label for b in existing)))
                again = st.checkbox(t("bulletin.confirm_again"), key="bul_again")
            if st.button(t("bulletin.issue"), type="primary", disabled=not again, key="bul_issue"):
                with st.spinner(t("bulletin.issuing")):
                    with state.session() as s:
                        b = bulletins.issue_bulletin(s, Month.parse(period), viewer.username)
                        s.commit()
                        label = bulletins.bulletin_label(b.year, b.number)
                st.cache_data.clear()
                # preview and downloads below show the new issue, not the one picked before
                st.session_state["bul_pick"] = b.id
                st.success(t("bulletin.issued", title=label))

st.subheader(t("bulletin.history"))
query = st.text_input(t("bulletin.search"), key="bul_search", placeholder="沿江 / 2026-10 / 第3期")
history = _history(query.strip())
if not history:
    st.info(t("bulletin.no_match") if query.strip() else t("bulletin.none"))
    st.stop()

table = pd.DataFrame(
    [
        {
            t("bulletin.col.title"): b.label,
            t("bulletin.col.period"): b.period,
            t("bulletin.col.issued"): b.issued_at.strftime("%Y-%m-%d %H:%M"),
            t("bulletin.col.by"): b.issued_by,
            t("bulletin.col.red"): len(b.red),
            t("bulletin.col.yellow"): len(b.yellow),
            t("bulletin.col.communities"): "、".join(b.red + b.yellow),
        }
        for b in history
    ]
)
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={t("bulletin.col.communities"): st.column_config.TextColumn(width="large")},
)

labels = {b.id: f"{b.label}（{b.period}）" for b in history}
chosen = st.selectbox(t("bulletin.preview"), list(labels), format_func=labels.get, key="bul_pick")
summary = next(b for b in history if b.id == chosen)
if viewer.can(Permission.EXPORT):
    buttons = st.container(horizontal=True)  # each button as wide as its label
    buttons.download_button(
        t("bulletin.download_docx"),
        data=lambda: _docx(chosen),
        file_name=f"预警通报_{summary.year}_{summary.number:02d}.docx",
        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        icon=":material/description:",
        on_click=_log_export,
        args=(chosen, "docx"),
        key=f"bul_docx_{chosen}",
    )
    buttons.download_button(
        t("bulletin.download_html"),
        data=lambda: _html(chosen).encode("utf-8"),
        file_name=f"预警通报_{summary.year}_{summary.number:02d}.html",
        mime="text/html",
        icon=":material/print:",
        on_click=_log_export,
        args=(chosen, "html"),
        key=f"bul_html_{chosen}",
    )
st.iframe(_html(chosen), height=900)
