"""数据: records by kind and source, freshness, import history (feeds included), data quality
and a browser upload that shows the importer's validation report and imports on confirmation."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pandas as pd
import streamlit as st

from fangcang import datahub, uploads
from fangcang.access import Permission
from fangcang.config import get_settings
from fangcang.i18n import fmt_int
from fangcang.models import ImportStatus
from fangcang.timeutil import now_local
from fangcang.websafe import UploadError
from ui import charts, columns, guard, state
from ui import tempfiles as tempdirs
from ui.state import t

viewer = guard.page("data_hub")
lang = state.lang()
today = now_local().date()


def _kind_label(kind: str) -> str:
    try:
        return t(f"record_kind.{kind}")
    except KeyError:
        return kind


def _read_as(layout) -> str:
    """How a file was read (encoding and delimiter, or sheet; header row; skipped rows)."""
    if layout is None:
        return ""
    if layout.encoding == "xlsx":
        n = len(layout.sheets)
        parts = [
            t("imp.read.sheet_of", sheet=layout.sheet, i=layout.sheets.index(layout.sheet) + 1, n=n)
            if n > 1
            else t("imp.read.sheet", sheet=layout.sheet)
        ]
    else:
        delim = t(f"imp.delim.{layout.delimiter}") if layout.delimiter else ""
        parts = [t("imp.read.text", encoding=layout.encoding.upper(), delim=delim)]
    parts.append(t("imp.read.header", row=layout.header_row))
    if layout.skipped_rows:
        rows = ", ".join(str(r) for r in layout.skipped_rows[:10])
        parts.append(
            t("imp.read.skipped", rows=rows + ("…" if len(layout.skipped_rows) > 10 else ""))
        )
    return "；".join(parts) if lang == "zh" else "; ".join(parts)


st.title(t("datahub.title"))
records = state.load(datahub.records_by_kind_source, viewer.scope)
fresh = state.load(datahub.source_freshness, viewer.scope, today)
history_all = state.load(datahub.import_history, limit=200, status=None)

k1, k2, k3, k4 = st.columns(4)
k1.metric(t("datahub.total"), fmt_int(int(records["n"].sum())) if not records.empty else "0")
k2.metric(t("datahub.sources"), fmt_int(len(fresh)))
k3.metric(t("datahub.stale"), fmt_int(int(fresh["stale"].sum())) if not fresh.empty else "0")
recent = (
    history_all[
        (history_all["status"] == ImportStatus.FAILED.value)
        & (pd.to_datetime(history_all["started_at"]) >= pd.Timestamp(today - timedelta(days=30)))
    ]
    if not history_all.empty
    else history_all
)
k4.metric(t("datahub.failed_30"), fmt_int(len(recent)))

tabs = st.tabs(
    [
        t("datahub.tab.records"),
        t("datahub.tab.freshness"),
        t("datahub.tab.history"),
        t("datahub.tab.quality"),
        t("datahub.tab.upload"),
    ]
)

# --- Records by kind and source ---------------------------------------------------------------
with tabs[0]:
    if records.empty:
        st.info(t("datahub.no_records"))
    else:
        by_kind = records.groupby("kind", as_index=False)["n"].sum().sort_values("n")
        fig = charts.count_bars(
            list(by_kind["kind"].map(_kind_label)),
            list(by_kind["n"]),
            t("datahub.by_kind"),
            "#1f5f9e",
            height=320,
        )
        charts.show(fig, key="datahub_by_kind")
        st.subheader(t("datahub.by_source"))
        columns.show(
            records,
            [
                columns.Column("kind", "vh.col.kind", _kind_label),
                columns.Column("source", "vh.col.source"),
                columns.Column("n", "vh.col.records", config=columns.COUNT),
                columns.Column("last_updated", "vh.col.last_updated", config=columns.DAY),
            ],
        )

# --- Freshness --------------------------------------------------------------------------------
with tabs[1]:
    st.caption(t("datahub.stale_rule", days=datahub.DEFAULT_STALE_DAYS))
    if fresh.empty:
        st.info(t("datahub.no_records"))
    else:
        table = pd.DataFrame(
            {
                t("vh.col.freshness"): fresh["stale"].map(
                    lambda s: t("datahub.stale_flag") if s else t("datahub.fresh_flag")
                ),
                t("vh.col.source"): fresh["source"],
                t("vh.col.records"): fresh["records"],
                t("vh.col.kind"): fresh["kinds"].map(
                    lambda ks: "、".join(_kind_label(k.strip()) for k in ks.split(","))
                ),
                t("vh.col.last_updated"): pd.to_datetime(fresh["last_updated"]).dt.strftime(
                    "%Y-%m-%d"
                ),
                t("vh.col.age_days"): fresh["age_days"],
                t("vh.col.last_feed_import"): [
                    "—" if v is None or pd.isna(v) else f"{pd.Timestamp(v):%Y-%m-%d %H:%M}"
                    for v in fresh["last_feed_import"]
                ],
            }
        )
        stale_rows = fresh["stale"].to_numpy()
        # Stale sources stand out by colour (no emoji: intranet machines often lack the font).
        styled = table.style.apply(
            lambda col: [
                "background-color: #fdecea; color: #a61b1b" if stale_rows[i] else ""
                for i in range(len(col))
            ],
            axis=0,
            subset=[t("vh.col.freshness"), t("vh.col.age_days")],
        )
        st.dataframe(
            styled,
            hide_index=True,
            width="stretch",
            column_config={
                t("vh.col.records"): st.column_config.NumberColumn(format="localized"),
            },
        )

# --- Import history (feeds included) ----------------------------------------------------------
with tabs[2]:
    feed_failed = (
        history_all[
            history_all["channel"].str.startswith("feed:")
            & (history_all["status"] == ImportStatus.FAILED.value)
        ]
        if not history_all.empty
        else history_all
    )
    if not feed_failed.empty:
        st.error(t("datahub.failed_feeds", n=len(feed_failed)))
        for r in feed_failed.head(5).itertuples(index=False):
            with st.expander(
                f"{r.started_at:%Y-%m-%d %H:%M} · {r.channel} · {Path(r.bundle).name}"
            ):
                st.code(r.message or "", language=None)
    only_failed = st.toggle(t("datahub.only_failed"), key="hub_only_failed")
    history = state.load(
        datahub.import_history,
        limit=200,
        status=ImportStatus.FAILED if only_failed else None,
    )
    if history.empty:
        st.info(t("datahub.no_history"))
    else:
        columns.show(
            history,
            [
                columns.Column("started_at", "vh.col.started_at", config=columns.MINUTE),
                columns.Column("status", "vh.col.status", lambda v: t(f"import_status.{v}")),
                columns.Column("channel", "vh.col.channel"),
                columns.Column("actor", "vh.col.actor"),
                columns.Column("bundle", "vh.col.bundle", lambda b: Path(b).name),
                columns.Column("records", "vh.col.records", config=columns.COUNT),
                columns.Column("rejected", "vh.col.rejected"),
                columns.Column(
                    "duration_s",
                    "vh.col.duration",
                    config=st.column_config.NumberColumn(format="%.1f"),
                ),
            ],
        )

    if viewer.can(Permission.IMPORT):
        st.subheader(t("imp.rejected.title"))
        st.caption(t("imp.rejected.caption", days=get_settings().rejected_keep_days))
        kept = uploads.rejected_files()
        if kept.empty:
            st.info(t("imp.rejected.none"))
        else:
            st.dataframe(
                pd.DataFrame(
                    {
                        t("imp.col.folder"): kept["folder"],
                        t("vh.col.file"): kept["file"],
                        t("imp.col.rows"): kept["rows"],
                        t("imp.col.created"): kept["created"],
                        t("imp.col.expires"): kept["expires"],
                    }
                ),
                hide_index=True,
                width="stretch",
                column_config={
                    t("imp.col.created"): st.column_config.DatetimeColumn(
                        format="YYYY-MM-DD HH:mm"
                    ),
                    t("imp.col.expires"): st.column_config.DatetimeColumn(format="YYYY-MM-DD"),
                },
            )
            labels = [f"{r.folder} / {r.file}" for r in kept.itertuples()]
            pick = st.selectbox(
                t("imp.rejected.pick"),
                range(len(kept)),
                format_func=labels.__getitem__,
                key="hub_rej_pick",
            )
            if st.button(t("imp.rejected.prepare"), key="hub_rej_prepare"):
                with state.session() as s:
                    data = uploads.download_rejected(
                        s, kept["path"].iloc[pick], actor=viewer.username
                    )
                    s.commit()
                st.session_state["hub_rej_data"] = (kept["file"].iloc[pick], data)
            ready = st.session_state.get("hub_rej_data")
            if ready is not None:
                st.download_button(
                    t("imp.rejected.download", file=ready[0]),
                    data=ready[1],
                    file_name=ready[0],
                    mime="text/csv",
                    key="hub_rej_download",
                )

# --- Data quality -----------------------------------------------------------------------------
with tabs[3]:
    st.caption(t("datahub.checks_hint"))
    if st.button(t("datahub.run_checks"), key="hub_run_checks") or st.session_state.get(
        "hub_checks_ran"
    ):
        st.session_state["hub_checks_ran"] = True
        q = state.load(datahub.run_quality_checks, viewer.scope)
        st.dataframe(
            pd.DataFrame(
                {
                    t("vh.col.check"): q["check"].map(lambda c: t(f"datahub.check.{c}")),
                    t("vh.col.kind"): q["kind"].map(_kind_label),
                    t("vh.col.checked"): q["checked"],
                    t("vh.col.failing"): q["failing"],
                    t("vh.col.share"): q["share"] * 100,
                    t("vh.col.seconds"): q["seconds"],
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={
                t("vh.col.checked"): st.column_config.NumberColumn(format="localized"),
                t("vh.col.failing"): st.column_config.NumberColumn(format="localized"),
                t("vh.col.share"): st.column_config.NumberColumn(format="%.2f%%"),
                t("vh.col.seconds"): st.column_config.NumberColumn(format="%.2f"),
            },
        )
        failing = q.groupby("check")["failing"].sum()
        for check_id in [c for c in failing.index if failing[c] > 0]:
            with st.expander(f"{t('datahub.sample')} · {t(f'datahub.check.{check_id}')}"):
                st.dataframe(
                    state.load(datahub.quality_sample, viewer.scope, check_id),
                    hide_index=True,
                    width="stretch",
                )

# --- Upload -----------------------------------------------------------------------------------
with tabs[4]:
    if not viewer.can(Permission.IMPORT):
        st.info(t("datahub.upload_admin_only"))
    else:
        st.caption(t("datahub.upload_help"))
        coord_choices = ["auto", "wgs84", "gcj02", "bd09"]
        coord = st.selectbox(
            t("imp.coord_system"),
            coord_choices,
            format_func=lambda c: t(f"imp.coord.{c}"),
            help=t("imp.coord_help"),
            key="hub_coord",
        )
        coord_system = None if coord == "auto" else coord
        files = st.file_uploader(
            t("datahub.upload_files"),
            type=["zip", "csv", "xlsx", "geojson", "json"],
            accept_multiple_files=True,
            key="hub_upload",
        )
        if not files and st.session_state.get("hub_tmp"):
            # The user cleared the upload: drop the copy of the files (personal data).
            shutil.rmtree(st.session_state.pop("hub_tmp"), ignore_errors=True)
            st.session_state.pop("hub_sig", None)
            st.session_state.pop("hub_check", None)
        if files:
            sig = (tuple((f.name, f.size, f.file_id) for f in files), coord_system)
            if st.session_state.get("hub_sig") != sig:
                old = st.session_state.pop("hub_tmp", None)
                if old:
                    shutil.rmtree(old, ignore_errors=True)
                # Private 0700 folder, removed with the browser session or at the next start.
                tmp = str(tempdirs.folder("hub_upload"))
                st.session_state["hub_tmp"] = tmp
                st.session_state["hub_sig"] = sig
                st.session_state.pop("hub_done", None)
                try:
                    folder = uploads.save_upload(
                        [(f.name, f.getvalue()) for f in files], Path(tmp) / "bundle"
                    )
                except UploadError as exc:
                    st.session_state["hub_check"] = str(exc)
                else:
                    with state.session() as s:
                        st.session_state["hub_check"] = uploads.check_upload_folder(
                            s, folder, viewer.scope, coord_system=coord_system
                        )
            check = st.session_state.get("hub_check")
            if isinstance(check, str):
                st.error(t("datahub.upload_rejected", msg=check))
            elif check is not None:
                st.markdown(f"**{t('datahub.report_files')}**")
                ff = check.file_frame()
                st.dataframe(
                    pd.DataFrame(
                        {
                            t("vh.col.file"): ff["file"],
                            t("vh.col.rows"): ff["rows"],
                            t("imp.col.read_as"): ff["layout"].map(_read_as),
                            t("imp.col.coordinates"): ff["coordinates"].map(
                                lambda c: t(f"imp.coord_short.{c}") if c else ""
                            ),
                            t("imp.col.unused"): ff["unused_columns"],
                        }
                    ),
                    hide_index=True,
                    width="stretch",
                    column_config={
                        t("vh.col.file"): st.column_config.TextColumn(width="small"),
                        t("vh.col.rows"): st.column_config.NumberColumn(width="small"),
                        t("imp.col.read_as"): st.column_config.TextColumn(width="large"),
                        t("imp.col.coordinates"): st.column_config.TextColumn(width="small"),
                        t("imp.col.unused"): st.column_config.TextColumn(width="medium"),
                    },
                )
                if ff["unused_columns"].ne("").any():
                    st.caption(t("imp.unused_note"))
                for file, diag in check.coord_hints:
                    st.warning(
                        t(
                            "imp.coord_hint",
                            file=file,
                            fits=t(f"imp.coord.{diag.fits}"),
                            declared=t(f"imp.coord.{diag.declared}"),
                            checked=fmt_int(diag.checked),
                            bad=fmt_int(diag.misfits[diag.declared]),
                            good=fmt_int(diag.misfits[diag.fits]),
                        )
                    )
                for note in check.notes:
                    st.caption(note)
                if check.error_count:
                    st.error(
                        t(
                            "datahub.report_errors",
                            n=fmt_int(check.error_count),
                            rows=fmt_int(check.bad_rows),
                        )
                    )
                    errors = uploads.error_frame(check.errors)
                    errors.columns = [t(f"vh.col.{c}") for c in errors.columns]
                    st.dataframe(
                        errors,
                        hide_index=True,
                        width="stretch",
                        height=min(420, 38 + 35 * len(errors)),
                    )
                elif not check.files:
                    st.error(t("datahub.upload_rejected", msg="no bundle file"))
                elif st.session_state.get("hub_done") is None:
                    st.success(t("datahub.report_ok", rows=fmt_int(sum(check.files.values()))))
                    if st.button(t("datahub.import"), type="primary", key="hub_import"):
                        with st.spinner(t("datahub.import")):
                            out = uploads.import_upload(
                                state.engine(),
                                check.folder,
                                actor=viewer.username,
                                scope=viewer.scope,
                                coord_system=coord_system,
                            )
                        st.session_state["hub_done"] = out["status"]
                        st.session_state["hub_done_secs"] = out["seconds"]
                        # Uploaded bundles hold personal data: keep no copy once imported.
                        if tmp_dir := st.session_state.pop("hub_tmp", None):
                            shutil.rmtree(tmp_dir, ignore_errors=True)
                        st.rerun()
                if (done := st.session_state.get("hub_done")) is not None:
                    if done == "ok":
                        st.success(
                            t(
                                "datahub.imported",
                                status=t("import_status.ok"),
                                secs=st.session_state.get("hub_done_secs", 0.0),
                            )
                        )
                    else:
                        st.error(t("datahub.import_failed"))
