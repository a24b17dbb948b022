"""Stored warning runs: a month's colours are kept as computed, and history is queryable.

Versioning: ``run`` for a month that already has a run returns the stored one unchanged;
``run(..., rerun=True)`` adds a new version (n + 1) and keeps the old one. Readers
(``results``, ``level_changes``, ``level_history``) use the latest version of each month.

Size: 576 lines because it is the one reader and writer of stored warning runs: every
reader picks the latest version of a month the same way (``_latest_run_ids``), so splitting writer
and readers would scatter that rule.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping

import pandas as pd
from sqlalchemy import func, insert, select, true
from sqlalchemy.orm import Session

from .. import audit, db
from ..access import Scope
from ..models import Community, Station, SubDistrict, WarningLevel, WarningResult, WarningRun
from ..timeutil import Month, now_local
from . import explain
from .config import INDICATOR_KEYS, MODEL_VERSION, ScoringConfig, load_config
from .inputs import Inputs
from .model import compute

log = logging.getLogger(__name__)

#: Raw measures stored in the result row's indicator columns (both models).
RAW_COLUMNS = ("incident_rate", "crime_rate", "incident_trend", "control_gap", "floating_share")

RESULT_COLUMNS = [
    "community_id",
    "name",
    "sub_district_code",
    "sub_district",
    "station_id",
    "station",
    "model_version",
    "score",
    "level",
    "raw_level",
    "pending",
    "significant",
    "excess_p",
    "crime_ratio",
    "trend_mark",
    "trend_z",
    "stability",
    "window_stable",
    "borderline",
    *RAW_COLUMNS,
    *[f"ratio_{k}" for k in INDICATOR_KEYS],
    *[f"pt_{k}" for k in INDICATOR_KEYS],
    *[f"p_{k}" for k in RAW_COLUMNS],
    "residents",
    "incidents",
    "crime_incidents",
    "incidents_year_before",
    "factors",
    "factors_out",
    "explanation",
    "reason",
    "run_id",
    "period",
]


def latest_run(session: Session, period: Month) -> WarningRun | None:
    """The latest stored version of ``period``'s run, or None."""
    return session.scalars(
        select(WarningRun)
        .where(WarningRun.period == str(period))
        .order_by(WarningRun.version.desc())
        .limit(1)
    ).first()


def stored_periods(session: Session) -> list[Month]:
    """Months that have a stored run, oldest first."""
    return [
        Month.parse(p)
        for p in session.scalars(select(WarningRun.period).distinct().order_by(WarningRun.period))
    ]


def run(
    session: Session,
    period: Month,
    config: ScoringConfig | None = None,
    actor: str = "system",
    rerun: bool = False,
    inputs: Mapping[Month, Inputs] | None = None,
) -> WarningRun:
    """Score ``period`` and store the run with every community's result (caller commits).

    Parameters
    ----------
    session : Session
    period : Month
    config : ScoringConfig, optional
        Default ``load_config()``; stored with the run (JSON and hash).
    actor : str
        Who ran it (audited).
    rerun : bool
        When the month already has a run: False returns that run untouched (a stored month's
        colours never change by themselves); True stores a new version beside it.
    inputs : mapping, optional
        {month: Inputs} read beforehand for the district's communities
        (``inputs.read_inputs_for``, several months in one read; see ``compute``).

    Returns
    -------
    WarningRun

    Raises
    ------
    ValueError
        When there are no communities, or no incidents at all in the month's window (a run
        stored then would freeze meaningless colours).
    """
    existing = latest_run(session, period)
    if existing is not None and not rerun:
        return existing
    config = config or load_config()
    df = compute(session, period, config, inputs=inputs)
    if df.empty:
        raise ValueError(f"no communities on file: cannot score {period}")
    if int(df["incidents"].sum()) == 0:
        # Every community would sit at the district rate of nothing, stored for good.
        first, last = df.attrs["window"]
        raise ValueError(
            f"no incidents in the window {first}..{last} for any community: import data for "
            f"{period} before scoring it"
        )
    explanations = explain.build(df, config)
    version = (existing.version + 1) if existing is not None else 1
    wr = WarningRun(
        period=str(period),
        version=version,
        created_at=now_local(),
        created_by=actor,
        config=config.to_json(),
        config_hash=config.hash,
        data_version=db.data_version(session),
        window_first=df.attrs["window"][0],
        n_communities=len(df),
        model_version=MODEL_VERSION,
    )
    session.add(wr)
    session.flush()
    rows = []
    for r in df.to_dict("records"):
        pts = {
            k: {"ratio": round(float(r[k]), 6), "points": round(float(r[f"pt_{k}"]), 4)}
            for k in INDICATOR_KEYS
        }
        rows.append(
            dict(
                run_id=wr.id,
                community_id=r["community_id"],
                incident_rate=float(r["incident_rate"]),
                crime_rate=float(r["crime_rate"]),
                incident_trend=float(r["trend_z"]),
                control_gap=float(r["control_gap"]),
                floating_share=float(r["floating_share"]),
                residents=int(r["residents"]),
                incidents=int(r["incidents"]),
                crime_incidents=int(r["crime_incidents"]),
                incidents_year_before=int(r["crime_year_before"]),
                factors=int(r["factors"]),
                factors_out=int(r["factors_out"]),
                score=float(r["score"]),
                level=WarningLevel(r["level"]),
                stability=float(r["stability"]),
                window_stable=bool(r["window_stable"]),
                borderline=bool(r["borderline"]),
                significant=bool(r["significant"]),
                explanation=json.dumps(explanations[r["community_id"]], ensure_ascii=False),
                raw_level=WarningLevel(r["raw_level"]),
                pending=r["pending"] if isinstance(r["pending"], str) else None,
                excess_p=float(r["excess_p"]),
                crime_ratio=float(r["crime_ratio"]),
                trend_mark=str(r["trend_mark"]),
                trend_z=float(r["trend_z"]),
                points=json.dumps(pts),
            )
        )
    # One executemany (the ORM's unit of work costs ~0.1 s per run of 120 communities).
    session.execute(insert(WarningResult), rows)
    counts = df["level"].map(lambda lv: WarningLevel(lv).value).value_counts().to_dict()
    audit.log(
        session,
        actor=actor,
        action="warning.rerun" if version > 1 else "warning.run",
        target=str(period),
        detail={"run_id": wr.id, "version": version, "config_hash": config.hash, "levels": counts},
    )
    db.bump_data_version(session)
    session.flush()
    return wr


def _latest_run_ids(session: Session):
    """Subquery: (period, id of the latest version)."""
    latest = (
        select(WarningRun.period, func.max(WarningRun.version).label("version"))
        .group_by(WarningRun.period)
        .subquery()
    )
    return (
        select(WarningRun.id, WarningRun.period)
        .join(
            latest,
            (latest.c.period == WarningRun.period) & (latest.c.version == WarningRun.version),
        )
        .subquery()
    )


def _record(res, lang: str | None, explanations: bool = True) -> dict:
    """One stored result (a row of ``_result_select``: the columns of ``warning_results`` by
    name) as a flat dict (both model versions; model-2 fields None for model-1 rows and the
    other way round)."""
    explanation = json.loads(res.explanation) if explanations and res.explanation else {}
    pts = json.loads(res.points) if res.points else {}
    reason = ""
    if lang and explanation:
        try:
            reason = explain.reason_line(explanation, lang)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("no reason line for %s: %s", res.community_id, exc)
    rec = {
        "community_id": res.community_id,
        "score": float(res.score),
        "level": WarningLevel(res.level).value,
        "raw_level": WarningLevel(res.raw_level).value if res.raw_level else None,
        "pending": res.pending,
        "significant": bool(res.significant),
        "excess_p": res.excess_p,
        "crime_ratio": res.crime_ratio,
        "trend_mark": res.trend_mark,
        "trend_z": res.trend_z,
        "stability": float(res.stability),
        "window_stable": bool(res.window_stable),
        "borderline": bool(res.borderline),
        **{k: float(getattr(res, k)) for k in RAW_COLUMNS},
        **{f"ratio_{k}": (pts.get(k) or {}).get("ratio") for k in INDICATOR_KEYS},
        **{f"pt_{k}": (pts.get(k) or {}).get("points") for k in INDICATOR_KEYS},
        **{f"p_{k}": getattr(res, f"p_{k}") for k in RAW_COLUMNS},
        "residents": int(res.residents),
        "incidents": int(res.incidents),
        "crime_incidents": int(res.crime_incidents),
        "incidents_year_before": int(res.incidents_year_before),
        "factors": int(res.factors),
        "factors_out": int(res.factors_out),
        "explanation": explanation,
        "reason": reason,
        "run_id": res.run_id,
    }
    return rec


def _frame(
    session: Session, stmt, lang: str | None = None, explanations: bool = True
) -> pd.DataFrame:
    rows = session.execute(stmt).all()
    if not rows:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    records = []
    for res in rows:
        rec = _record(res, lang, explanations)
        rec.update(
            name=res.c_name,
            sub_district_code=res.c_sd_code,
            sub_district=res.c_sd_name,
            station_id=res.c_st_id,
            station=res.c_st_name,
            period=res.c_period,
            model_version=int(res.c_version or 1),
        )
        records.append(rec)
    return pd.DataFrame.from_records(records, columns=RESULT_COLUMNS)


def _result_select(scope: Scope):
    # Plain columns, not WarningResult entities: the rows are read once into a frame, and
    # building ORM objects cost about half of a page's reading of them.
    return (
        select(
            *WarningResult.__table__.c,
            Community.name.label("c_name"),
            Community.sub_district_code.label("c_sd_code"),
            SubDistrict.name.label("c_sd_name"),
            Community.station_id.label("c_st_id"),
            Station.name.label("c_st_name"),
            WarningRun.period.label("c_period"),
            WarningRun.model_version.label("c_version"),
        )
        .join(WarningRun, WarningRun.id == WarningResult.run_id)
        .outerjoin(Community, Community.community_id == WarningResult.community_id)
        .outerjoin(SubDistrict, SubDistrict.code == Community.sub_district_code)
        .outerjoin(Station, Station.station_id == Community.station_id)
        .where(scope.clause(WarningResult.community_id))
    )


def results(
    session: Session,
    period: Month,
    scope: Scope | None = None,
    lang: str | None = None,
    *,
    explanations: bool = True,
) -> pd.DataFrame:
    """The stored results of ``period`` (latest version) within ``scope``, highest score first.

    The one reader of stored warning results: pages, the overview, the map, community
    profiles, the effect module and bulletins all call it (or the functions below).

    Parameters
    ----------
    lang : {"zh", "en"}, optional
        Fill ``reason`` (the top reasons in one line) in that language; "" without it.
    explanations : bool
        False: leave the stored explanations unread (``explanation`` ``{}``, ``reason`` "")
        for a caller that needs only levels and scores (decoding them is most of the read).

    Returns
    -------
    DataFrame
        ``RESULT_COLUMNS``: names; ``model_version`` of the run; score, level (WarningLevel
        value) and, for model 2, ``raw_level``, ``pending``, ``excess_p``, ``crime_ratio``,
        ``trend_mark``, ``trend_z``, ``ratio_<indicator>`` and ``pt_<indicator>``; for model 1
        the percentiles ``p_<raw column>``; the raw measures, counts, stability marks,
        ``explanation`` (dict; render with ``explain.sentences``), ``reason``, ``run_id``,
        ``period``. Empty (with these columns) when the month has no stored run.
    """
    scope = scope or Scope.district()
    wr = latest_run(session, period)
    if wr is None:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    stmt = _result_select(scope).where(WarningResult.run_id == wr.id)
    df = _frame(session, stmt, lang, explanations)
    return df.sort_values(
        ["score", "community_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def level_scores(session: Session, period: Month, scope: Scope | None = None) -> pd.DataFrame:
    """The levels and scores of ``period``'s stored results (latest version) within ``scope``:
    community_id, level (WarningLevel value), score; highest score first, as ``results``
    orders them. For a caller that compares levels (a previous month's): a few columns read
    directly, no result records built. Empty (these columns) when the month has no run."""
    cols = ["community_id", "level", "score"]
    scope = scope or Scope.district()
    wr = latest_run(session, period)
    if wr is None:
        return pd.DataFrame(columns=cols)
    rows = session.execute(
        select(WarningResult.community_id, WarningResult.level, WarningResult.score).where(
            WarningResult.run_id == wr.id, scope.clause(WarningResult.community_id)
        )
    ).all()
    df = pd.DataFrame(
        [(cid, WarningLevel(lv).value, float(score)) for cid, lv, score in rows], columns=cols
    )
    return df.sort_values(
        ["score", "community_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def level_changes(
    session: Session,
    period: Month,
    scope: Scope | None = None,
    *,
    now: pd.DataFrame | None = None,
    before: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Communities whose level differs from the previous month's stored run.

    ``now`` and ``before`` may pass ``results`` of ``period`` and of the month before when the
    caller holds them already (they are read otherwise).

    Returns
    -------
    DataFrame
        ``community_id, name, sub_district, station, level_before, level, score_before, score,
        change`` with ``change`` one of ``new_red`` (now red, was not), ``upgraded`` (more
        serious, not to red), ``downgraded``; or ``new`` when the community had no result last
        month. Unchanged communities are left out. Empty when either month has no run.
    """
    cols = [
        "community_id",
        "name",
        "sub_district",
        "station",
        "level_before",
        "level",
        "score_before",
        "score",
        "change",
    ]
    now = results(session, period, scope) if now is None else now
    before = results(session, period.shift(-1), scope) if before is None else before
    if now.empty or before.empty:
        return pd.DataFrame(columns=cols)
    # last month's level and score by community (dicts: a pandas lookup per row cost more
    # than the rest of the comparison)
    prev_level = dict(zip(before["community_id"], before["level"], strict=True))
    prev_score = dict(zip(before["community_id"], before["score"].tolist(), strict=True))
    rows = []
    for r in now[["community_id", "name", "sub_district", "station", "level", "score"]].itertuples(
        index=False
    ):
        lvl = WarningLevel(r.level)
        if r.community_id not in prev_level:
            rows.append(
                (
                    r.community_id,
                    r.name,
                    r.sub_district,
                    r.station,
                    None,
                    lvl.value,
                    None,
                    r.score,
                    "new",
                )
            )
            continue
        old = WarningLevel(prev_level[r.community_id])
        if old == lvl:
            continue
        if lvl is WarningLevel.RED:
            change = "new_red"
        elif lvl.rank > old.rank:
            change = "upgraded"
        else:
            change = "downgraded"
        rows.append(
            (
                r.community_id,
                r.name,
                r.sub_district,
                r.station,
                old.value,
                lvl.value,
                float(prev_score[r.community_id]),
                r.score,
                change,
            )
        )
    order = {"new_red": 0, "upgraded": 1, "downgraded": 2, "new": 3}
    df = pd.DataFrame(rows, columns=cols)
    if df.empty:
        return df
    df["_o"] = df["change"].map(order)
    return (
        df.sort_values(["_o", "score"], ascending=[True, False])
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def level_history(
    session: Session,
    community_id: str,
    scope: Scope | None = None,
    first: Month | None = None,
    last: Month | None = None,
) -> pd.DataFrame:
    """One community's stored level and score month by month (latest version of each month),
    optionally limited to ``first`` .. ``last``: period, level, score, stability, borderline,
    significant, raw_level, pending, trend_mark (the last three None for model-1 runs), run_id.

    Raises
    ------
    fangcang.access.ScopeError
        When the community is outside ``scope``.
    """
    scope = scope or Scope.district()
    scope.check(community_id)
    latest = _latest_run_ids(session)
    rows = session.execute(
        select(
            latest.c.period,
            WarningResult.level,
            WarningResult.score,
            WarningResult.stability,
            WarningResult.borderline,
            WarningResult.significant,
            WarningResult.raw_level,
            WarningResult.pending,
            WarningResult.trend_mark,
            WarningResult.run_id,
        )
        .join(latest, latest.c.id == WarningResult.run_id)
        .where(WarningResult.community_id == community_id)
        .where(latest.c.period >= str(first) if first else true())
        .where(latest.c.period <= str(last) if last else true())
        .order_by(latest.c.period)
    ).all()
    df = pd.DataFrame(
        [tuple(r) for r in rows],
        columns=[
            "period",
            "level",
            "score",
            "stability",
            "borderline",
            "significant",
            "raw_level",
            "pending",
            "trend_mark",
            "run_id",
        ],
    )
    df["level"] = [WarningLevel(v).value for v in df["level"]]
    df["raw_level"] = [WarningLevel(v).value if v else None for v in df["raw_level"]]
    return df


def level_counts(session: Session, scope: Scope | None = None) -> pd.DataFrame:
    """Communities per level per stored month (latest versions): columns period, green, blue,
    yellow, red."""
    scope = scope or Scope.district()
    latest = _latest_run_ids(session)
    rows = session.execute(
        select(latest.c.period, WarningResult.level, func.count())
        .join(latest, latest.c.id == WarningResult.run_id)
        .where(scope.clause(WarningResult.community_id))
        .group_by(latest.c.period, WarningResult.level)
    ).all()
    levels = [lv.value for lv in WarningLevel]
    if not rows:
        return pd.DataFrame(columns=["period", *levels])
    df = pd.DataFrame(rows, columns=["period", "level", "n"])
    df["level"] = df["level"].map(lambda lv: WarningLevel(lv).value)
    wide = df.pivot_table(index="period", columns="level", values="n", fill_value=0, aggfunc="sum")
    wide = wide.reindex(columns=levels, fill_value=0).astype(int).reset_index()
    wide.columns.name = None
    return wide.sort_values("period").reset_index(drop=True)


def level_order() -> list[str]:
    """The level values, least serious first: the one order (from ``WarningLevel``)."""
    return [lv.value for lv in WarningLevel]


def count_levels(frame: pd.DataFrame) -> dict[str, int]:
    """Communities per level in a results frame (every level present, 0 when none)."""
    counts = frame["level"].value_counts() if len(frame) else {}
    return {lv: int(counts.get(lv, 0)) for lv in level_order()}


def run_results(session: Session, run_id: int, lang: str | None = None) -> pd.DataFrame:
    """The results of one stored run by id (any version), highest score first; empty when
    the run does not exist."""
    stmt = _result_select(Scope.district()).where(WarningResult.run_id == run_id)
    df = _frame(session, stmt, lang)
    if df.empty:
        return df
    return df.sort_values(
        ["score", "community_id"], ascending=[False, True], kind="stable"
    ).reset_index(drop=True)


def levels_for_month(session: Session, period: Month) -> dict[str, str] | None:
    """Community -> level value of the month's latest stored run; None when it has none."""
    wr = latest_run(session, period)
    if wr is None:
        return None
    rows = session.execute(
        select(WarningResult.community_id, WarningResult.level).where(WarningResult.run_id == wr.id)
    ).all()
    return {cid: WarningLevel(lv).value for cid, lv in rows}


def persistence_state(
    session: Session, period: Month
) -> dict[str, tuple[WarningLevel, WarningLevel]] | None:
    """{community: (level in force, raw level)} of the month's latest stored run when it is a
    model-2 run; None otherwise (no run, or a model-1 run, whose levels are not carried on)."""
    wr = latest_run(session, period)
    if wr is None or int(wr.model_version or 1) != MODEL_VERSION:
        return None
    rows = session.execute(
        select(WarningResult.community_id, WarningResult.level, WarningResult.raw_level).where(
            WarningResult.run_id == wr.id
        )
    ).all()
    return {
        cid: (WarningLevel(lv), WarningLevel(raw) if raw else WarningLevel(lv))
        for cid, lv, raw in rows
    }


def pending_changes(
    session: Session,
    period: Month,
    scope: Scope | None = None,
    *,
    frame: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Communities with a change seen once and not yet in force (待升级 / 待降级): community_id,
    name, sub_district, level, raw_level, pending, score; upgrades first. ``frame`` may pass
    the ``results`` of ``period`` when the caller holds them already."""
    cols = ["community_id", "name", "sub_district", "level", "raw_level", "pending", "score"]
    df = results(session, period, scope) if frame is None else frame
    if df.empty or "pending" not in df:
        return pd.DataFrame(columns=cols)
    df = df[df["pending"].notna()]
    order = {"upgrade": 0, "downgrade": 1}
    return (
        df.assign(_o=df["pending"].map(order))
        .sort_values(["_o", "score"], ascending=[True, False])[cols]
        .reset_index(drop=True)
    )
