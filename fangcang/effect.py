"""Focused work (整治) and its effect: before/after with comparison communities, and the
district's year-on-year figures.

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

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date

from scipy.stats import norm
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from . import audit, db, incidents
from .access import Scope
from .i18n import fmt_pct, t
from .incidents import (  # counted in one place; re-exported for the effect's callers
    ALL_KEYS as ALL_KEYS,
)
from .incidents import (
    METRIC_KEYS,
    METRICS,
    YoYRow,
    latest_data_month,
)
from .incidents import (
    district_monthly as district_monthly,
)
from .incidents import (
    district_yoy as district_yoy,
)
from .incidents import (
    yoy_from_monthly as yoy_from_monthly,
)
from .models import (
    AggPopulation,
    Community,
    FocusWork,
    SubDistrict,
)
from .stats import Z_SIGNIFICANT, Change, compare_counts
from .timeutil import Month, month_range, now_local

MEASURES = ("total", "crime")
#: The headline metrics (``incidents.METRICS``; the name bulletins use).
HEADLINES = METRICS
VERDICTS = ("no_comparison", "likely_effect", "worse_than_comparison", "within_comparison")


# ---------------------------------------------------------------------------------------------
# Counting (``fangcang.incidents``)
# ---------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------
# Warning levels (read through fangcang.scoring.store, the one reader of stored runs)
# ---------------------------------------------------------------------------------------------
def levels_for_month(session: Session, month: Month) -> dict[str, str] | None:
    """Community -> warning level value from the stored run for ``month``; None when no run
    is stored for that month (``scoring.store.levels_for_month``)."""
    from .scoring import store

    return store.levels_for_month(session, month)


# ---------------------------------------------------------------------------------------------
# Focused work
# ---------------------------------------------------------------------------------------------
def _community(session: Session, community_id: str) -> Community:
    c = session.get(Community, community_id)
    if c is None:
        raise ValueError(f"unknown community_id {community_id!r}")
    return c


def find_community(session: Session, text: str) -> Community:
    """A community by id or exact name; ``ValueError`` when none or several match."""
    c = session.get(Community, text)
    if c is not None:
        return c
    found = list(session.scalars(select(Community).where(Community.name == text)))
    if not found:
        raise ValueError(f"no community with id or name {text!r}")
    if len(found) > 1:
        ids = ", ".join(x.community_id for x in found)
        raise ValueError(f"several communities are named {text!r} ({ids}); give the id")
    return found[0]


def start_focus(
    session: Session,
    community_id: str,
    start_date: date,
    measures: str,
    actor: str,
    scope: Scope | None = None,
) -> FocusWork:
    """Mark a community as under focused work from ``start_date`` with the measures taken.

    Raises ``ValueError`` for an unknown community, empty measures, or when the community is
    already under focused work that is open or overlaps ``start_date``. Audited; bumps the data
    version; the caller commits.
    """
    scope = scope or Scope.district()
    _community(session, community_id)
    scope.check(community_id)
    measures = (measures or "").strip()
    if not measures:
        raise ValueError("measures must say what is being done (empty text given)")
    if not isinstance(start_date, date):
        raise ValueError(f"start_date must be a date, got {start_date!r}")
    clash = session.scalar(
        select(FocusWork).where(
            FocusWork.community_id == community_id,
            or_(FocusWork.end_date.is_(None), FocusWork.end_date >= start_date),
        )
    )
    if clash is not None:
        raise ValueError(
            f"community {community_id} is already under focused work #{clash.id} from "
            f"{clash.start_date}" + (f" to {clash.end_date}" if clash.end_date else " (open)")
        )
    fw = FocusWork(
        community_id=community_id,
        start_date=start_date,
        measures=measures,
        created_by=actor,
        created_at=now_local(),
        end_note="",
    )
    session.add(fw)
    session.flush()
    audit.log(
        session,
        actor=actor,
        action="focus.start",
        target=community_id,
        detail={"focus_id": fw.id, "start_date": start_date.isoformat()},
    )
    db.bump_data_version(session)
    return fw


def end_focus(
    session: Session,
    focus_id: int,
    end_date: date,
    actor: str,
    note: str = "",
    scope: Scope | None = None,
) -> FocusWork:
    """End focused work ``focus_id`` on ``end_date`` (not before its start; not twice)."""
    fw = session.get(FocusWork, focus_id)
    if fw is None:
        raise ValueError(f"no focused work with id {focus_id}")
    (scope or Scope.district()).check(fw.community_id)
    if fw.end_date is not None:
        raise ValueError(f"focused work #{focus_id} already ended on {fw.end_date}")
    if end_date < fw.start_date:
        raise ValueError(
            f"end date {end_date} is before the start of focused work #{focus_id} ({fw.start_date})"
        )
    fw.end_date = end_date
    fw.ended_by = actor
    fw.end_note = note or ""
    session.flush()
    audit.log(
        session,
        actor=actor,
        action="focus.end",
        target=fw.community_id,
        detail={"focus_id": fw.id, "end_date": end_date.isoformat()},
    )
    db.bump_data_version(session)
    return fw


def community_choices(session: Session, scope: Scope | None = None) -> dict[str, str]:
    """community_id -> name for the communities in the scope, by name (for pickers)."""
    scope = scope or Scope.district()
    q = (
        select(Community.community_id, Community.name)
        .where(scope.clause(Community.community_id))
        .order_by(Community.name, Community.community_id)
    )
    return {cid: name for cid, name in session.execute(q)}


def list_focus(session: Session, scope: Scope | None = None) -> list[dict]:
    """Every focused work in the scope, newest start first (then in the order registered),
    with the community's name."""
    scope = scope or Scope.district()
    q = (
        select(FocusWork, Community.name, SubDistrict.name)
        .join(Community, Community.community_id == FocusWork.community_id)
        .join(SubDistrict, SubDistrict.code == Community.sub_district_code)
        .where(scope.clause(FocusWork.community_id))
        .order_by(FocusWork.start_date.desc(), FocusWork.id)
    )
    return [
        {
            "focus_id": fw.id,
            "community_id": fw.community_id,
            "community_name": name,
            "sub_district": sd,
            "start_date": fw.start_date,
            "end_date": fw.end_date,
            "measures": fw.measures,
            "created_by": fw.created_by,
        }
        for fw, name, sd in session.execute(q)
    ]


# ---------------------------------------------------------------------------------------------
# Before / after with comparison communities
# ---------------------------------------------------------------------------------------------
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


def _match(
    focal: str,
    candidates: list[str],
    rates: dict[str, float],
    levels: dict[str, str] | None,
    n_matches: int,
    min_matches: int,
) -> list[tuple[str, bool]]:
    """Pick comparison communities: (community_id, level matched)."""
    f_rate = rates.get(focal)
    if f_rate is None:
        return []

    def dist(cid: str) -> float:
        return abs(math.log(rates[cid] + 0.01) - math.log(f_rate + 0.01))

    pool = [c for c in candidates if c in rates]
    if levels is None or focal not in levels:
        return [(c, False) for c in sorted(pool, key=lambda c: (dist(c), c))[:n_matches]]
    order = ["green", "blue", "yellow", "red"]
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
    as_of = as_of or latest_data_month(session)
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
    levels = levels_for_month(session, w.before_last)
    candidates = [c for c in names if c != community_id and c not in busy]
    picked = _match(community_id, candidates, rates, levels, n_matches, min_matches)
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
    as_of = as_of or latest_data_month(session)
    out = []
    if as_of is None:
        return out
    works = []
    for fw in list_focus(session, scope):
        try:
            works.append((fw, focus_windows(fw["start_date"], months, as_of)))
        except ValueError:
            continue  # started too recently: nothing to compare yet
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


def verdict_text(ba: BeforeAfter, measure: str, lang: str = "zh") -> str:
    """One plain sentence about a measure's change, with the warning when it is within what
    comparison communities did by themselves."""
    e = ba.effects[measure]
    metric = t(METRIC_KEYS[measure], lang)
    base = t(
        "effect.sentence.raw",
        lang,
        name=ba.community_name,
        metric=metric,
        k=ba.windows.months,
        before=e.raw.before,
        after=e.raw.now,
        pct=fmt_pct(e.raw.pct, lang),
        sig=t("effect.sig.yes" if e.raw.significant else "effect.sig.no", lang),
    )
    if e.verdict == "no_comparison":
        return base + t("effect.verdict.no_comparison", lang)
    return base + t(
        f"effect.verdict.{e.verdict}",
        lang,
        n=len(ba.comparisons),
        comp_pct=fmt_pct(e.comparison_pct, lang),
        lo=fmt_pct(e.comparison_range[0], lang) if e.comparison_range else "—",
        hi=fmt_pct(e.comparison_range[1], lang) if e.comparison_range else "—",
        did=fmt_pct(e.did_ratio_pct, lang),
    )


# ---------------------------------------------------------------------------------------------
# District year-on-year (counted by ``fangcang.incidents``)
# ---------------------------------------------------------------------------------------------
def yoy_frame(rows: list[YoYRow], lang: str = "zh"):
    """The YoY rows as a display table (labels in ``lang``)."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                t("effect.col.metric", lang): r.label(lang),
                t("effect.col.now", lang): r.now,
                t("effect.col.last_year", lang): r.last_year,
                t("effect.col.pct", lang): (
                    t("effect.zero_last_year", lang)
                    if r.zero_last_year and r.now
                    else fmt_pct(r.pct, lang, 2)
                ),
                "z": round(r.z, 2),
                "p": "<0.0001" if r.p_value < 0.0001 else f"{r.p_value:.4f}",
                t("effect.col.significant", lang): t(
                    "effect.sig.yes" if r.significant else "effect.sig.no", lang
                ),
            }
            for r in rows
        ]
    )


# ---------------------------------------------------------------------------------------------
# Demo: focused work for 沿江社区 and a few other warned communities
# ---------------------------------------------------------------------------------------------
def demo_extend(ctx) -> dict:
    """Demo extension: focused work from six months before the demo's last month for 沿江社区
    (仰义街道) and up to two other communities that were red in the month before; then a year of
    numbered bulletins from the stored warning runs (``fangcang.bulletins.demo_bulletins``)."""
    from sqlalchemy.orm import Session as _Session

    from .bulletins import demo_bulletins

    start_month = ctx.until.shift(-5)  # six months: start_month .. until
    counts = {"focus_work": 0}
    with _Session(ctx.engine) as s:
        yj = s.scalar(
            select(Community)
            .join(SubDistrict, SubDistrict.code == Community.sub_district_code)
            .where(Community.name == "沿江社区", SubDistrict.name.like("仰义%"))
        )
        chosen = [yj.community_id] if yj is not None else []
        levels = levels_for_month(s, start_month.shift(-1)) or {}
        others = sorted(c for c, lv in levels.items() if lv == "red" and c not in chosen)
        # Deterministic pick of two other red communities (by id) when the warning ran.
        chosen += others[:2]
        measures = {
            0: "派出所所长挂点督办；每周清查出租房屋和群租房；夜间巡逻加密至每晚两次；"
            "对重点人员逐人走访；联合市场监管整治娱乐场所。",
            1: "社区民警驻点；出租房屋逐户核查；重点场所每周检查。",
            2: "加强巡逻防控；重点人员走访；反诈宣传进楼入户。",
        }
        for i, cid in enumerate(chosen):
            start_focus(s, cid, start_month.first_day, measures[min(i, 2)], "demo")
            counts["focus_work"] += 1
        s.commit()
    ctx.progress(0.5, "focused work")
    counts.update(demo_bulletins(ctx))
    return counts
