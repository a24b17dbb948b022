"""The effect of focused work (整治): before/after with comparison communities,
difference-in-differences and a verdict in plain words.

Before/after
------------
For a community under focused work from day S, the *first full month* under focused work is
the month of S when S is the 1st, otherwise the month after. The after window is the N calendar
months from that month (cut to the months that have ended by ``as_of``; both windows then
shrink to the same length k so the exposures are equal) and the before window is the k months
just before it. Incidents are counted by ``fangcang.incidents`` (pre-aggregated tables) for
two measures: ``total`` (110 total: every category) and ``crime`` (criminal + public order).
The raw change is tested with ``fangcang.stats.compare_counts`` (exact Poisson test).

Comparison communities (how they are matched)
---------------------------------------------
Communities that pick themselves for focused work by being the worst tend to improve by
themselves (regression to the mean), so a fall alone proves little. Each focused community is
compared with up to ``n_matches`` (default 5) communities that:

1. were not under focused work at any time during either window;
2. have residents (the rate needs a denominator);
3. had the same warning level in the stored warning run of the last month before the after
   window (when no run is stored for that month, levels are not used and the result says so;
   when fewer than ``min_matches`` (default 3) such communities exist, the level condition is
   dropped for the remaining places, nearest level first, and each match records whether its
   level matched);
4. are the nearest in incident rate over the before window (110 total per 1,000 residents),
   by the absolute difference of log rates.

Difference-in-differences
-------------------------
The comparison communities' counts are pooled (summed) per window. Beside the raw change the
result gives the comparison group's change, the difference in percentage points, and the ratio
of rate ratios ``(after_f / before_f) / (after_c / before_c)`` expressed as a percentage change
(the multiplicative DiD that suits counts), with a Wald z on its log:
``se = sqrt(1/a_f + 1/b_f + 1/a_c + 1/b_c)`` (0.5 added to every cell when any is zero).

Verdict (plain words)
---------------------
- ``no_comparison``: no comparison community could be found; only the raw change is known.
- ``likely_effect``: the focused community changed beyond every comparison community (below
  the lowest of their individual changes) and the DiD z is <= -2.
- ``worse_than_comparison``: above every comparison community and DiD z >= 2.
- ``within_comparison``: anything else: the change is within what comparable communities did by
  themselves, and the plain-words warning says so.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date

from scipy.stats import norm
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from .. import incidents
from ..access import Scope
from ..models import AggPopulation, Community, FocusWork, SubDistrict, WarningLevel
from ..scoring import store
from ..stats import Z_SIGNIFICANT, Change, compare_counts
from ..timeutil import Month, month_range
from .focus import _community, list_focus

log = logging.getLogger(__name__)

MEASURES = ("total", "crime")
VERDICTS = ("no_comparison", "likely_effect", "worse_than_comparison", "within_comparison")


def community_month_counts(
    session: Session, first: Month, last: Month
) -> dict[str, dict[str, dict[str, int]]]:
    """community_id -> month -> {"total", "crime"} for ``first`` .. ``last`` (communities and
    months without incidents are absent). One query; before/after slices it."""
    df = incidents.by_month(session, Scope.district(), first, last, MEASURES, by_community=True)
    out: dict[str, dict[str, dict[str, int]]] = {}
    for cid, month, total, crime_n in df[["community_id", "month", *MEASURES]].itertuples(
        index=False
    ):
        out.setdefault(cid, {})[month] = {"total": int(total), "crime": int(crime_n)}
    return out


def residents_by_community(session: Session) -> dict[str, int]:
    q = select(AggPopulation.community_id, func.sum(AggPopulation.n)).group_by(
        AggPopulation.community_id
    )
    return {cid: int(n or 0) for cid, n in session.execute(q)}


@dataclass(frozen=True)
class Windows:
    before_first: Month
    before_last: Month
    after_first: Month
    after_last: Month
    months: int  # k: months in each window

    @property
    def first_day(self) -> date:
        return self.before_first.first_day

    @property
    def last_day(self) -> date:
        return self.after_last.last_day


def focus_windows(start: date, months: int, as_of: Month) -> Windows:
    """The before and after windows for focused work starting on ``start`` (see module doc)."""
    if months < 1:
        raise ValueError(f"months must be at least 1, got {months}")
    first_full = Month.of(start) if start.day == 1 else Month.of(start).shift(1)
    available = (as_of.year * 12 + as_of.month) - (first_full.year * 12 + first_full.month) + 1
    if available < 1:
        raise ValueError(
            f"focused work starting {start} has no complete month by {as_of} "
            f"(first full month {first_full})"
        )
    k = min(months, available)
    return Windows(
        first_full.shift(-k), first_full.shift(-1), first_full, first_full.shift(k - 1), k
    )


@dataclass(frozen=True)
class ComparisonCommunity:
    community_id: str
    name: str
    level: str | None
    level_matched: bool
    rate_before: float  # 110 total per 1,000 residents in the before window
    before: dict[str, int]
    after: dict[str, int]

    def pct(self, measure: str) -> float | None:
        return compare_counts(self.after[measure], self.before[measure]).pct


@dataclass(frozen=True)
class MeasureEffect:
    measure: str
    raw: Change  # after vs before for the focused community
    comparison_before: int
    comparison_after: int
    comparison_pct: float | None
    comparison_range: tuple[float, float] | None  # min, max of individual comparison changes
    did_points: float | None  # raw pct - comparison pct
    did_ratio_pct: float | None  # 100 * (RR_f / RR_c - 1)
    did_z: float | None
    did_p: float | None
    verdict: str


@dataclass
class BeforeAfter:
    focus_id: int
    community_id: str
    community_name: str
    sub_district: str
    start_date: date
    end_date: date | None
    measures_taken: str
    windows: Windows
    months_requested: int
    level_before: str | None
    levels_used: bool  # False when no warning run was stored for the month before
    rate_before: float | None
    comparisons: list[ComparisonCommunity]
    effects: dict[str, MeasureEffect]
    monthly: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["windows"] = {
            "before": [str(self.windows.before_first), str(self.windows.before_last)],
            "after": [str(self.windows.after_first), str(self.windows.after_last)],
            "months": self.windows.months,
        }
        d["start_date"] = self.start_date.isoformat()
        d["end_date"] = self.end_date.isoformat() if self.end_date else None
        return d


def _did(a_f: int, b_f: int, a_c: int, b_c: int) -> tuple[float, float, float]:
    """(ratio of rate ratios, Wald z of its log, two-sided p)."""
    cells = [a_f, b_f, a_c, b_c]
    if any(x == 0 for x in cells):
        cells = [x + 0.5 for x in cells]
    a_f, b_f, a_c, b_c = cells
    ratio = (a_f / b_f) / (a_c / b_c)
    se = math.sqrt(1 / a_f + 1 / b_f + 1 / a_c + 1 / b_c)
    z = math.log(ratio) / se
    return ratio, z, float(2 * norm.sf(abs(z)))


def measure_effect(
    measure: str, before: int, after: int, comps: Sequence[tuple[int, int]]
) -> MeasureEffect:
    """The raw change, the comparison change, the DiD and the verdict for one measure.

    ``comps`` holds (before, after) per comparison community.
    """
    raw = compare_counts(after, before)
    if not comps:
        return MeasureEffect(
            measure, raw, 0, 0, None, None, None, None, None, None, "no_comparison"
        )
    b_c = sum(b for b, _ in comps)
    a_c = sum(a for _, a in comps)
    comp = compare_counts(a_c, b_c)
    individual = [compare_counts(a, b).pct for b, a in comps]
    individual = [p for p in individual if p is not None]
    rng = (min(individual), max(individual)) if individual else None
    did_points = raw.pct - comp.pct if raw.pct is not None and comp.pct is not None else None
    if before + after == 0 or b_c + a_c == 0:
        ratio = z = p = None
    else:
        ratio, z, p = _did(after, before, a_c, b_c)
    did_ratio_pct = None if ratio is None else 100.0 * (ratio - 1.0)
    verdict = "within_comparison"
    if z is not None and raw.pct is not None and rng is not None:
        if raw.pct < rng[0] and z <= -Z_SIGNIFICANT:
            verdict = "likely_effect"
        elif raw.pct > rng[1] and z >= Z_SIGNIFICANT:
            verdict = "worse_than_comparison"
    return MeasureEffect(
        measure, raw, b_c, a_c, comp.pct, rng, did_points, did_ratio_pct, z, p, verdict
    )


def match_comparisons(
    focal: str,
    candidates: list[str],
    rates: dict[str, float],
    levels: dict[str, str] | None,
    n_matches: int,
    min_matches: int,
) -> list[tuple[str, bool]]:
    """Pick comparison communities for ``focal`` (see the module docstring): (community_id,
    level matched), nearest first."""
    f_rate = rates.get(focal)
    if f_rate is None:
        return []

    def dist(cid: str) -> float:
        return abs(math.log(rates[cid] + 0.01) - math.log(f_rate + 0.01))

    pool = [c for c in candidates if c in rates]
    if levels is None or focal not in levels:
        return [(c, False) for c in sorted(pool, key=lambda c: (dist(c), c))[:n_matches]]
    order = [lv.value for lv in WarningLevel]  # least serious first
    f_level = levels[focal]
    same = sorted((c for c in pool if levels.get(c) == f_level), key=lambda c: (dist(c), c))
    picked = [(c, True) for c in same[:n_matches]]
    if len(picked) < min_matches:
        f_idx = order.index(f_level) if f_level in order else 0

        def level_gap(cid: str) -> int:
            lv = levels.get(cid)
            return abs(order.index(lv) - f_idx) if lv in order else len(order)

        rest = sorted(
            (c for c in pool if levels.get(c) != f_level),
            key=lambda c: (level_gap(c), dist(c), c),
        )
        picked += [(c, False) for c in rest[: min_matches - len(picked)]]
    return picked


def before_after(
    session: Session,
    community_id: str,
    months: int = 6,
    as_of: Month | None = None,
    *,
    focus_id: int | None = None,
    n_matches: int = 5,
    min_matches: int = 3,
    scope: Scope | None = None,
    _counts: dict | None = None,
) -> BeforeAfter:
    """Incidents in the N months before vs the N months after focused work started.

    Parameters
    ----------
    session : Session
    community_id : str
        A community with focused work (its latest one unless ``focus_id`` is given).
    months : int
        N, the length of each window in calendar months (default 6).
    as_of : Month, optional
        The last month that counts as ended (default: the newest month with incident data).
    n_matches, min_matches : int
        How many comparison communities to take, and the fewest before the level condition
        is relaxed (see the module docstring).
    scope : Scope, optional
        The caller's jurisdiction; the focused community must be inside it. Comparison
        communities are drawn from the whole district (they are reported as aggregates and
        by name, which every role may see).

    Returns
    -------
    BeforeAfter
    """
    scope = scope or Scope.district()
    scope.check(community_id)
    community = _community(session, community_id)
    q = select(FocusWork).where(FocusWork.community_id == community_id)
    if focus_id is not None:
        q = q.where(FocusWork.id == focus_id)
    fw = session.scalars(q.order_by(FocusWork.start_date.desc(), FocusWork.id.desc())).first()
    if fw is None:
        raise ValueError(f"community {community_id} has no focused work")
    as_of = as_of or incidents.latest_data_month(session)
    if as_of is None:
        raise ValueError("there are no incidents in the database yet")
    w = focus_windows(fw.start_date, months, as_of)

    # Candidates: every other community not under focused work during either window.
    busy = set(
        session.scalars(
            select(FocusWork.community_id).where(
                FocusWork.start_date <= w.last_day,
                or_(FocusWork.end_date.is_(None), FocusWork.end_date >= w.first_day),
            )
        )
    )
    names = {cid: nm for cid, nm in session.execute(select(Community.community_id, Community.name))}
    residents = residents_by_community(session)
    # One table of community x month counts serves both windows and the monthly chart
    # (effect_summary passes one covering every focused work's windows).
    table = (
        _counts
        if _counts is not None
        else community_month_counts(session, w.before_first, w.after_last)
    )
    before_months = [str(m) for m in month_range(w.before_first, w.before_last)]
    after_months = [str(m) for m in month_range(w.after_first, w.after_last)]

    def window_sum(months_: list[str]) -> dict[str, dict[str, int]]:
        return {
            cid: {m: sum(by_month.get(mo, {}).get(m, 0) for mo in months_) for m in MEASURES}
            for cid, by_month in table.items()
        }

    before, after = window_sum(before_months), window_sum(after_months)
    zero = dict.fromkeys(MEASURES, 0)
    rates = {
        cid: 1000.0 * before.get(cid, zero)["total"] / residents[cid]
        for cid in names
        if residents.get(cid, 0) > 0
    }
    levels = store.levels_for_month(session, w.before_last)
    candidates = [c for c in names if c != community_id and c not in busy]
    picked = match_comparisons(community_id, candidates, rates, levels, n_matches, min_matches)
    comps = [
        ComparisonCommunity(
            community_id=cid,
            name=names[cid],
            level=(levels or {}).get(cid),
            level_matched=matched,
            rate_before=rates[cid],
            before=dict(before.get(cid, zero)),
            after=dict(after.get(cid, zero)),
        )
        for cid, matched in picked
    ]
    f_before = before.get(community_id, zero)
    f_after = after.get(community_id, zero)
    effects = {
        m: measure_effect(m, f_before[m], f_after[m], [(c.before[m], c.after[m]) for c in comps])
        for m in MEASURES
    }
    monthly = []
    for mo in before_months + after_months:
        row = {"month": mo, "phase": "after" if mo >= str(w.after_first) else "before"}
        for m in MEASURES:
            row[m] = table.get(community_id, {}).get(mo, {}).get(m, 0)
            comp_total = sum(table.get(c.community_id, {}).get(mo, {}).get(m, 0) for c in comps)
            row[f"comparison_{m}_mean"] = comp_total / len(comps) if comps else None
        monthly.append(row)
    sd = session.get(SubDistrict, community.sub_district_code)
    return BeforeAfter(
        focus_id=fw.id,
        community_id=community_id,
        community_name=community.name,
        sub_district=sd.name if sd else "",
        start_date=fw.start_date,
        end_date=fw.end_date,
        measures_taken=fw.measures,
        windows=w,
        months_requested=months,
        level_before=(levels or {}).get(community_id),
        levels_used=levels is not None,
        rate_before=rates.get(community_id),
        comparisons=comps,
        effects=effects,
        monthly=monthly,
    )


def effect_summary(
    session: Session,
    months: int = 6,
    as_of: Month | None = None,
    scope: Scope | None = None,
) -> list[BeforeAfter]:
    """``before_after`` for every focused work in the scope (skipping work that has no full
    month yet by ``as_of``), newest start first."""
    scope = scope or Scope.district()
    as_of = as_of or incidents.latest_data_month(session)
    out = []
    if as_of is None:
        return out
    works = []
    for fw in list_focus(session, scope):
        try:
            works.append((fw, focus_windows(fw["start_date"], months, as_of)))
        except ValueError as exc:  # started too recently: nothing to compare yet
            log.debug("focused work #%s left out of the summary: %s", fw["focus_id"], exc)
            continue
    if not works:
        return out
    table = community_month_counts(
        session, min(w.before_first for _, w in works), max(w.after_last for _, w in works)
    )
    for fw, _ in works:
        out.append(
            before_after(
                session,
                fw["community_id"],
                months,
                as_of,
                focus_id=fw["focus_id"],
                scope=scope,
                _counts=table,
            )
        )
    return out
