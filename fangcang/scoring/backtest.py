"""Back-test: did the score rank next quarter's incidents better than last window's counts?

For each assessment month M whose next quarter (M+1 .. M+3) is fully in the data:
- ``rho``: Spearman rank correlation between the score at M and incidents in M+1 .. M+3;
- ``hit_share``: share of those incidents that fell in communities red or yellow at M;
- ``area_share``: share of the district's area those communities cover;
- ``pai`` (predictive accuracy index) = hit_share / area_share.
The baseline ranks communities by all incidents in the window ending with M, flags the same
number of communities (its top k, k = red + yellow), and gets the same three figures.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from pyproj import Transformer
from scipy.stats import spearmanr
from shapely import transform
from shapely.geometry import shape
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .. import db
from ..models import AggIncidentDay, Community, WarningBacktest, WarningLevel
from ..timeutil import Month, now_local
from .config import ScoringConfig, load_config
from .inputs import incident_counts
from .model import compute

#: CGCS2000 / 3-degree Gauss-Kruger CM 120E: metric areas around Wenzhou.
AREA_CRS = "EPSG:4549"

COLUMNS = [
    "period",
    "n_communities",
    "next_incidents",
    "flagged",
    "rho",
    "hit_share",
    "area_share",
    "pai",
    "baseline_rho",
    "baseline_hit_share",
    "baseline_area_share",
    "baseline_pai",
]


def community_areas(session: Session, ids: list[str]) -> np.ndarray:
    """Area of each community's polygon in km² (projected to EPSG:4549), aligned with ``ids``."""
    tr = Transformer.from_crs("EPSG:4326", AREA_CRS, always_xy=True)

    def to_metric(xy: np.ndarray) -> np.ndarray:
        return np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))

    geoms = dict(session.execute(select(Community.community_id, Community.geometry)).all())
    out = np.zeros(len(ids))
    for i, cid in enumerate(ids):
        text = geoms.get(cid)
        if text:
            out[i] = transform(shape(json.loads(text)), to_metric).area / 1e6
    return out


def last_data_month(session: Session) -> Month | None:
    """The month of the newest day in ``agg_incident_day``."""
    last = session.scalar(select(func.max(AggIncidentDay.day)))
    return Month.of(last) if last else None


def _spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    if len(a) < 3 or np.all(a == a[0]) or np.all(b == b[0]):
        return None  # undefined for constant input
    return float(spearmanr(a, b).statistic)


def _hits(
    flag: np.ndarray, next_n: np.ndarray, area: np.ndarray
) -> tuple[float | None, float | None, float | None]:
    total_n, total_a = next_n.sum(), area.sum()
    hit = float(next_n[flag].sum() / total_n) if total_n > 0 else None
    share = float(area[flag].sum() / total_a) if total_a > 0 else None
    pai = hit / share if hit is not None and share else None
    return hit, share, pai


def backtest_month(
    session: Session, period: Month, config: ScoringConfig, areas: np.ndarray | None = None
) -> dict:
    """Back-test figures for one assessment month (see the module docstring)."""
    df = compute(session, period, config, with_stability=False).sort_values("community_id")
    ids = df["community_id"].tolist()
    areas = community_areas(session, ids) if areas is None else areas
    next_n, _ = incident_counts(session, ids, period.shift(1), period.shift(3))
    last_n = df["incidents"].to_numpy(np.int64)  # all incidents in the window ending with M
    score = df["score"].to_numpy(float)
    flag = (
        df["level"].map(lambda lv: WarningLevel(lv).rank >= WarningLevel.YELLOW.rank).to_numpy(bool)
    )
    k = int(flag.sum())
    # Baseline: top k by last window's incidents (ties broken by community id, stable order).
    order = np.argsort(-last_n, kind="stable")
    base_flag = np.zeros(len(ids), dtype=bool)
    base_flag[order[:k]] = True
    hit, share, pai = _hits(flag, next_n, areas)
    bhit, bshare, bpai = _hits(base_flag, next_n, areas)
    return {
        "period": str(period),
        "n_communities": len(ids),
        "next_incidents": int(next_n.sum()),
        "flagged": k,
        "rho": _spearman(score, next_n),
        "hit_share": hit,
        "area_share": share,
        "pai": pai,
        "baseline_rho": _spearman(last_n.astype(float), next_n),
        "baseline_hit_share": bhit,
        "baseline_area_share": bshare,
        "baseline_pai": bpai,
    }


def backtest(
    session: Session,
    months: int = 12,
    config: ScoringConfig | None = None,
    until: Month | None = None,
    store: bool = False,
) -> pd.DataFrame:
    """Back-test the last ``months`` assessment months whose next quarter is in the data.

    Parameters
    ----------
    months : int
        How many assessment months (1..60).
    until : Month, optional
        The last month of data to use (default: the newest month in ``agg_incident_day``);
        the last assessment month is ``until - 3``.
    store : bool
        Also keep the rows in ``warning_backtest`` (replacing earlier rows for the same month
        and configuration) for the dashboard; the caller commits.

    Returns
    -------
    DataFrame
        ``COLUMNS``, oldest month first; empty when there is not enough data.
    """
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 60:
        raise ValueError(f"months must be an integer 1..60, got {months!r}")
    config = config or load_config()
    until = until or last_data_month(session)
    if until is None:
        return pd.DataFrame(columns=COLUMNS)
    last = until.shift(-3)
    periods = [last.shift(-i) for i in reversed(range(months))]
    ids = sorted(session.scalars(select(Community.community_id)))
    areas = community_areas(session, ids)
    rows = [backtest_month(session, m, config, areas) for m in periods]
    df = pd.DataFrame(rows, columns=COLUMNS)
    if store:
        save(session, df, config)
    return df


def save(session: Session, df: pd.DataFrame, config: ScoringConfig) -> None:
    """Keep back-test rows (one per month and configuration; newer replace older)."""
    if df.empty:
        return
    session.execute(
        delete(WarningBacktest).where(
            WarningBacktest.period.in_(df["period"].tolist()),
            WarningBacktest.config_hash == config.hash,
        )
    )
    version = db.data_version(session)
    now = now_local()
    for r in df.to_dict("records"):
        session.add(
            WarningBacktest(
                config_hash=config.hash,
                computed_at=now,
                data_version=version,
                **{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()},
            )
        )
    session.flush()


def stored_backtest(session: Session, config: ScoringConfig | None = None) -> pd.DataFrame:
    """The kept back-test rows for ``config`` (default: the current configuration), oldest first."""
    config = config or load_config()
    rows = session.scalars(
        select(WarningBacktest)
        .where(WarningBacktest.config_hash == config.hash)
        .order_by(WarningBacktest.period)
    ).all()
    return pd.DataFrame([{c: getattr(r, c) for c in COLUMNS} for r in rows], columns=COLUMNS)


def summary(df: pd.DataFrame) -> dict:
    """Means over the back-tested months (None where a figure was undefined every month)."""
    out = {"months": len(df)}
    for c in COLUMNS[4:]:
        vals = pd.to_numeric(df[c], errors="coerce").dropna() if len(df) else pd.Series(dtype=float)
        out[c] = float(vals.mean()) if len(vals) else None
    return out
