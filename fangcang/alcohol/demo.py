"""The demo's story for issue 15: one station runs both practices over the last year.

- The practice area is the demo officer's community (``fangcang.auth.DEMO_COMMUNITY``, so the
  demo station and officer accounts see the practice); without it, the community whose
  last-year alcohol incidents are nearest the reported 72. Its station is the practising one.
- Patrol points: its bars/KTVs, picked greedily by how many of the last year's alcohol
  incidents within 300 m they add, until about ``TARGET_HANDLED`` incidents are covered (at
  most 10 points, radius 150 m). Two plans per point from the first day of the month eleven
  months before the last demo month: 巡特警队 Friday to Sunday 21:00-02:00, 护村队 every day
  20:00-23:00. About 9 in 10 planned check-ins are made (a few outside the radius); the rest
  are gaps.
- People in the area's alcohol incidents of the last year (one or two each); about one in
  six people appear in two or three incidents (repeat people: never in a criminal incident),
  with measures recorded against their incidents.
- Escalation watch: another station gets a few disputes followed by a criminal incident of
  the same person within 90 days; the practising station gets none.
- Mediation: 16 alcohol dispute incidents of the practising station referred over the year to
  two partner law firms, all resolved (with 1-3 sessions), and a monthly consultation.
- Files are opened, the review visit template is proposed, admitted and dispatched monthly.

Everything is loaded through the practice contract files (``fangcang.alcohol.import_file``).
The dashboard is open meanwhile: each write (an import, a month's files, a file's reviews, the
review tasks) is one short transaction with its audit entries and the demo's progress (meta
``demo_alcohol``), and a rerun after an interruption skips the writes on file (``_Stages``).

Size: 600 lines because it is one demo story (one function, ``demo_extend``) whose steps build on
each other's rows (area -> points -> plans -> check-ins -> people -> measures -> mediation).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import datetime, time, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from .. import db
from ..access import Role, Scope, Viewer
from ..models import (
    AlcoholPersonFile,
    Community,
    Incident,
    IncidentCategory,
    Place,
    PlaceSubtype,
    Station,
)
from ..timeutil import Month
from . import import_file
from .patrol import distance_m
from .repeat import record_review, review_template_draft, sync_files

ACTOR = "demo"
UNITS = (("巡特警一队", "567", "21:00", "02:00"), ("护村队", "1234567", "20:00", "23:00"))
FIRMS = (
    ("浙江瓯江律师事务所", ("林志远", "陈晓慧")),
    ("温州鹿城民和律师事务所", ("黄建国", "周敏")),
)
MEDIATIONS = 16
REVIEW_NOTES = (
    "已回访，本人近期未饮酒滋事",
    "已回访，家属表示会加强看管",
    "已回访，劝导其控制饮酒",
    "已回访，本人外出务工",
)
TARGET_HANDLED = 72
MAX_POINTS = 10
ESCALATIONS_ELSEWHERE = 4
#: Meta key of the demo's progress, ``{"stage": stages written, "counts": {...}}``.
PROGRESS_KEY = "demo_alcohol"


class _Stages:
    """The demo's writes as numbered stages (one import, one month's files, one file's
    reviews ...), each committed in one short transaction together with ``PROGRESS_KEY``,
    ``pause(session)`` after each (``fangcang.demo.builder.let_writers_in``).

    A rerun after an interruption computes everything again (same seed, same reads: no
    stage reads what a later one writes) and skips the stages on file, so it ends with the
    rows and audit entries of one uninterrupted run, none twice.
    """

    def __init__(self, session: Session, pause: Callable[[Session], None]) -> None:
        raw = db.get_meta(session, PROGRESS_KEY)
        state = json.loads(raw) if raw else {}
        self.session, self.pause = session, pause
        self.on_file = int(state.get("stage", 0))
        self.counts: dict[str, int] = dict(state.get("counts", {}))
        self.k = 0

    def write(self, name: str, fn: Callable[[], int]) -> None:
        """Stage ``fn()`` (its writes; returns a count added to ``counts[name]``), unless an
        earlier run wrote it."""
        self.k += 1
        if self.k <= self.on_file:
            return
        self.counts[name] = self.counts.get(name, 0) + int(fn())
        state = {"stage": self.k, "counts": self.counts}
        db.set_meta(self.session, PROGRESS_KEY, json.dumps(state, sort_keys=True))
        self.pause(self.session)


def _csv(df: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    df.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


def _load(s: Session, name: str, df: pd.DataFrame) -> int:
    report = import_file(
        s,
        _csv(df),
        actor=ACTOR,
        scope=Scope.district(),
        name=name,
        file=f"{name}.csv",
        channel="demo",
    )
    if not report.ok:
        raise RuntimeError(report.summary())
    return report.written


def _people(n: int, rng: np.random.Generator) -> pd.DataFrame:
    from ..demo import idcard, names

    male = rng.random(n) < 0.85
    birth = np.datetime64("1965-01-01") + rng.integers(0, 365 * 38, n).astype("timedelta64[D]")
    region = np.where(
        rng.random(n) < 0.6,
        idcard.LUCHENG,
        idcard.OTHER_REGIONS[rng.integers(0, len(idcard.OTHER_REGIONS), n)],
    )
    return pd.DataFrame(
        {
            "name": names.person_names(male, rng).to_pylist(),
            "id_number": idcard.id_numbers(region, birth, male, rng).astype(str),
            "phone": idcard.phones(n, rng).astype(str),
        }
    )


def demo_extend(ctx) -> dict:
    rng = np.random.default_rng(ctx.seed + 15)
    last = ctx.until.last_day
    year_first = last - timedelta(days=364)
    start = ctx.until.shift(-11).first_day
    lo, hi = (
        datetime.combine(year_first, time()),
        datetime.combine(last + timedelta(days=1), time()),
    )
    from ..demo import builder

    def pause(session: Session) -> None:
        builder.let_writers_in(session)  # looked up at each call (tests interrupt here)

    with Session(ctx.engine, expire_on_commit=False) as s:
        stages = _Stages(s, pause)
        # 1. the practice area
        venues = dict(
            s.execute(
                select(Place.community_id, func.count())
                .where(
                    Place.subtype.in_([PlaceSubtype.BAR, PlaceSubtype.KTV]), Place.lon.is_not(None)
                )
                .group_by(Place.community_id)
            ).all()
        )
        stats = s.execute(
            select(
                Incident.community_id,
                func.count(),
                func.sum(case((Incident.category == IncidentCategory.DISPUTE, 1), else_=0)),
            )
            .where(
                Incident.alcohol_related.is_(True),
                Incident.occurred_at >= lo,
                Incident.occurred_at < hi,
            )
            .group_by(Incident.community_id)
        ).all()
        from ..auth import DEMO_COMMUNITY

        preferred = s.scalar(select(Community.community_id).where(Community.name == DEMO_COMMUNITY))
        scored = sorted(
            (abs(n - TARGET_HANDLED) / TARGET_HANDLED + abs(int(d or 0) - 16) / 16, cid)
            for cid, n, d in stats
            if venues.get(cid, 0) >= 2
        )
        if not scored:
            return {"skipped": "no community with alcohol incidents and venues"}
        area = preferred if venues.get(preferred, 0) >= 2 else scored[0][1]
        community = s.get(Community, area)
        station_id = community.station_id
        ctx.progress(0.1, "alcohol: patrol points")

        # 2. patrol points: the venues nearest the most alcohol incidents
        inc = pd.DataFrame(
            s.execute(
                select(
                    Incident.incident_id,
                    Incident.occurred_at,
                    Incident.category,
                    Incident.lon,
                    Incident.lat,
                )
                .where(
                    Incident.community_id == area,
                    Incident.alcohol_related.is_(True),
                    Incident.occurred_at >= lo,
                    Incident.occurred_at < hi,
                )
                .order_by(Incident.occurred_at)
            ).all(),
            columns=["incident_id", "at", "category", "lon", "lat"],
        )
        inc["category"] = inc["category"].map(lambda c: IncidentCategory(c).value)
        places = pd.DataFrame(
            s.execute(
                select(Place.place_id, Place.name, Place.lon, Place.lat).where(
                    Place.community_id == area,
                    Place.subtype.in_([PlaceSubtype.BAR, PlaceSubtype.KTV]),
                    Place.lon.is_not(None),
                )
            ).all(),
            columns=["place_id", "name", "lon", "lat"],
        )
        located = inc.dropna(subset=["lon", "lat"])
        near = np.zeros((len(located), len(places)), dtype=bool)
        if len(located) and len(places):
            near = (
                distance_m(
                    located["lon"].to_numpy()[:, None],
                    located["lat"].to_numpy()[:, None],
                    places["lon"].to_numpy()[None, :],
                    places["lat"].to_numpy()[None, :],
                )
                <= 300
            )
        covered = np.zeros(len(located), dtype=bool)
        picks: list[int] = []
        while len(picks) < MAX_POINTS and covered.sum() < TARGET_HANDLED - 4:
            gain = (near & ~covered[:, None]).sum(axis=0)
            j = int(gain.argmax()) if len(places) else 0
            if not len(places) or gain[j] == 0:
                break
            picks.append(j)
            covered |= near[:, j]
        if not picks:
            picks = list(range(min(2, len(places))))
        chosen = places.iloc[picks].reset_index(drop=True)
        points = pd.DataFrame(
            {
                "point_id": [f"PP{area[-6:]}{i + 1:02d}" for i in range(len(chosen))],
                "name": chosen["name"],
                "place_id": chosen["place_id"],
                "community_id": area,
                "lon": chosen["lon"].round(6),
                "lat": chosen["lat"].round(6),
                "radius_m": 150,
                "source": "派出所指挥室",
            }
        )
        stages.write("patrol_points", lambda: _load(s, "patrol_points", points))
        plans = pd.DataFrame(
            [
                {
                    "plan_id": f"{pid}-{k}",
                    "point_id": pid,
                    "unit": unit,
                    "days": days,
                    "start_time": a,
                    "end_time": b,
                    "starts_on": start.isoformat(),
                    "ends_on": "",
                }
                for pid in points["point_id"]
                for k, (unit, days, a, b) in enumerate(UNITS, 1)
            ]
        )
        stages.write("patrol_plans", lambda: _load(s, "patrol_plans", plans))
        ctx.progress(0.3, "alcohol: check-ins")

        # 3. check-ins: ~90% of the slots made, a few of them outside the radius
        rows = []
        day = start
        while day <= last:
            for p in points.itertuples():
                for unit, days, a, b in UNITS:
                    if str(day.isoweekday()) not in days:
                        continue
                    r = rng.random()
                    if r < 0.1:
                        continue  # a gap
                    t0 = datetime.combine(day, time.fromisoformat(a))
                    t1 = datetime.combine(day, time.fromisoformat(b))
                    if t1 < t0:
                        t1 += timedelta(days=1)
                    at = t0 + (t1 - t0) * float(rng.uniform(0.05, 0.95))
                    far = r > 0.97
                    dist = float(rng.uniform(200, 400) if far else rng.uniform(0, 110))
                    bearing = float(rng.uniform(0, 2 * np.pi))
                    dlat = dist * np.cos(bearing) / 111_195.0
                    dlon = dist * np.sin(bearing) / (111_195.0 * np.cos(np.radians(p.lat)))
                    rows.append(
                        {
                            "point_id": p.point_id,
                            "unit": unit,
                            "officer_id": community.officer_id or "",
                            "checked_at": at.strftime("%Y-%m-%d %H:%M:%S"),
                            "lon": round(p.lon + dlon, 6),
                            "lat": round(p.lat + dlat, 6),
                            "accuracy_m": round(float(rng.uniform(5, 30)), 1),
                        }
                    )
            day += timedelta(days=1)
        checkins = pd.DataFrame(rows)
        stages.write("patrol_checkins", lambda: _load(s, "patrol_checkins", checkins))
        ctx.progress(0.5, "alcohol: people in incidents")

        # 4. people in the area's alcohol incidents; repeat people only in non-criminal ones
        people = _people(max(len(inc) * 2, 10), rng)
        repeat_pool = people.iloc[: max(len(inc) // 6, 2)]
        fresh = iter(people.iloc[len(repeat_pool) :].itertuples(index=False))
        roles = []
        used: dict[str, int] = {}
        non_criminal = inc.index[inc["category"] != "criminal"].tolist()
        for i, r in inc.iterrows():
            k = 1 + int(rng.random() < 0.4)
            for j in range(k):
                if j == 0 and i in non_criminal and rng.random() < 0.45:
                    cand = repeat_pool.iloc[int(rng.integers(0, len(repeat_pool)))]
                    if used.get(cand.id_number, 0) < 3:
                        used[cand.id_number] = used.get(cand.id_number, 0) + 1
                        roles.append(
                            (r.incident_id, "party", cand["name"], cand.id_number, cand.phone)
                        )
                        continue
                who = next(fresh)
                roles.append(
                    (
                        r.incident_id,
                        "party" if j == 0 else "victim",
                        who.name,
                        who.id_number,
                        who.phone,
                    )
                )
        # a small district may draw no repeat person at all: make the first of the pool the
        # party of the two latest non-criminal incidents, so the story always has a file
        if max(used.values(), default=0) < 2 and len(non_criminal) >= 2:
            cand = repeat_pool.iloc[0]
            latest = set(inc.loc[non_criminal[-2:], "incident_id"])
            roles = [x for x in roles if not (x[0] in latest and x[1] == "party")]
            roles += [(i, "party", cand["name"], cand.id_number, cand.phone) for i in latest]
        ip = pd.DataFrame(roles, columns=["incident_id", "role", "name", "id_number", "phone"])
        ip["address"] = ""
        ip["source"] = "110接处警"

        # 5. escalations in another station: a dispute, then a criminal incident of the same
        # person 10-80 days later
        other = s.scalar(
            select(Station.station_id)
            .where(Station.station_id != station_id)
            .order_by(Station.station_id)
        )
        esc_pairs = 0
        if other:
            comms = list(
                s.scalars(select(Community.community_id).where(Community.station_id == other))
            )
            disputes = s.execute(
                select(Incident.incident_id, Incident.occurred_at, Incident.community_id)
                .where(
                    Incident.community_id.in_(comms),
                    Incident.category == IncidentCategory.DISPUTE,
                    Incident.occurred_at >= lo,
                    Incident.occurred_at < hi - timedelta(days=90),
                )
                .order_by(Incident.occurred_at)
                .limit(200)
            ).all()
            extra = _people(ESCALATIONS_ELSEWHERE, rng)
            picks = (
                rng.choice(
                    len(disputes), size=min(ESCALATIONS_ELSEWHERE, len(disputes)), replace=False
                )
                if disputes
                else []
            )
            for n, idx in enumerate(sorted(int(x) for x in picks)):
                did, dat, dcomm = disputes[idx]
                crime = s.execute(
                    select(Incident.incident_id)
                    .where(
                        Incident.community_id == dcomm,
                        Incident.category == IncidentCategory.CRIMINAL,
                        Incident.occurred_at > dat + timedelta(days=10),
                        Incident.occurred_at <= dat + timedelta(days=80),
                    )
                    .order_by(Incident.occurred_at)
                    .limit(1)
                ).scalar()
                if crime is None:
                    continue
                who = extra.iloc[n]
                for iid, role in ((did, "party"), (crime, "suspect")):
                    ip.loc[len(ip)] = [
                        iid,
                        role,
                        who["name"],
                        who.id_number,
                        who.phone,
                        "",
                        "110接处警",
                    ]
                esc_pairs += 1
        stages.write("incident_people", lambda: _load(s, "incident_people", ip))
        ctx.progress(0.7, "alcohol: files and measures")

        # 6. files, measures, review template
        # files open at the end of the month a person reaches 2 incidents; reviews follow
        # every 25-35 days, the latest one skipped for about a third (their review is due)
        for k in range(11, -1, -1):
            month_end = datetime.combine(ctx.until.shift(-k).last_day + timedelta(days=1), time())
            stages.write("files", lambda m=month_end: sync_files(s, m, actor=ACTOR))
        for f in s.scalars(select(AlcoholPersonFile).order_by(AlcoholPersonFile.id)).all():
            day = f.opened_on + timedelta(days=int(rng.integers(25, 36)))
            skip_last = rng.random() < 0.35
            visits = []
            while day <= last and not (skip_last and day + timedelta(days=35) > last):
                visits.append((day, str(rng.choice(REVIEW_NOTES))))
                day += timedelta(days=int(rng.integers(25, 36)))
            if visits:
                stages.write("reviews", lambda f=f, visits=visits: _reviews(s, f, visits))
        filed = [n for n, k in used.items() if k >= 2]
        kinds = ["family_pickup", "persuasion", "compulsory"]
        measures = []
        for n in filed:
            for r in ip[ip["id_number"] == n].itertuples():
                at = inc.loc[inc["incident_id"] == r.incident_id, "at"]
                if len(at):
                    measures.append(
                        (
                            n,
                            kinds[int(rng.choice(3, p=[0.45, 0.45, 0.10]))],
                            pd.Timestamp(at.iloc[0]).date().isoformat(),
                            community.officer_id or "",
                            r.incident_id,
                        )
                    )
        mf = pd.DataFrame(
            measures, columns=["id_number", "measure", "taken_on", "officer_id", "incident_id"]
        ).drop_duplicates(["id_number", "measure", "taken_on"])
        mf["note"] = ""
        if len(mf):
            stages.write("alcohol_measures", lambda: _load(s, "alcohol_measures", mf))
        ctx.progress(0.8, "mediation")

        # 7. mediation: 16 disputes of the practising station, all resolved
        comms = list(
            s.scalars(select(Community.community_id).where(Community.station_id == station_id))
        )
        cands = s.execute(
            select(Incident.incident_id, Incident.occurred_at, Incident.alcohol_related)
            .where(
                Incident.community_id.in_(comms),
                Incident.category == IncidentCategory.DISPUTE,
                Incident.occurred_at >= lo,
                Incident.occurred_at < hi - timedelta(days=45),
            )
            .order_by(Incident.alcohol_related.desc(), Incident.occurred_at)
        ).all()
        if cands:
            # alcohol disputes first: sample among them when there are enough
            n_alc = sum(1 for c in cands if c[2])
            pool = n_alc if n_alc >= MEDIATIONS else len(cands)
            take = sorted(rng.choice(pool, size=min(MEDIATIONS, pool), replace=False).tolist())
            refs, sessions = [], []
            justice = f"{community.name[:2]}司法所"
            for n, idx in enumerate(take):
                iid, at, _ = cands[idx]
                firm, lawyers = FIRMS[n % 2]
                referred = at.date() + timedelta(days=int(rng.integers(1, 5)))
                closed = referred + timedelta(days=int(rng.integers(6, 35)))
                rid = f"MR{station_id}{n + 1:03d}"
                refs.append(
                    (
                        rid,
                        iid,
                        referred.isoformat(),
                        firm,
                        lawyers[n % 4 // 2],
                        station_id,
                        justice,
                        "resolved",
                        closed.isoformat(),
                    )
                )
                for k in range(int(rng.integers(1, 4))):
                    held = referred + (closed - referred) * (k + 1) / 3
                    sessions.append((rid, held.isoformat(), "三方调解"))
            rf = pd.DataFrame(
                refs,
                columns=[
                    "referral_id",
                    "incident_id",
                    "referred_on",
                    "law_firm",
                    "lawyer",
                    "station_id",
                    "justice_office",
                    "outcome",
                    "closed_on",
                ],
            )
            stages.write("mediation_referrals", lambda: _load(s, "mediation_referrals", rf))
            sf = pd.DataFrame(sessions, columns=["referral_id", "held_on", "note"])
            stages.write("mediation_sessions", lambda: _load(s, "mediation_sessions", sf))
            meetings = []
            for k, m in enumerate(Month.of(year_first).shift(i) for i in range(12)):
                meetings.append(
                    (
                        f"MC{station_id}{m.year}{m.month:02d}",
                        (m.first_day + timedelta(days=int(rng.integers(3, 20)))).isoformat(),
                        station_id,
                        FIRMS[k % 2][0],
                        justice,
                        "疑难纠纷会商研判",
                        int(rng.integers(1, 5)),
                    )
                )
            cf = pd.DataFrame(
                meetings,
                columns=[
                    "meeting_id",
                    "held_on",
                    "station_id",
                    "law_firm",
                    "justice_office",
                    "topic",
                    "cases_discussed",
                ],
            )
            stages.write("mediation_consultations", lambda: _load(s, "mediation_consultations", cf))
        ctx.progress(0.9, "alcohol: review tasks")

        # 8. the review visit: proposed by the public-order branch, admitted, dispatched
        try:
            draft = review_template_draft(s)
        except ValueError:
            draft = None
        if draft is not None:
            stages.write("review_items", lambda: _review_tasks(s, draft, ctx.until))
    counts = {"files": 0, "reviews": 0, "alcohol_measures": 0, **stages.counts}
    counts.update(
        area=area,
        station=station_id,
        alcohol_incidents=len(inc),
        alcohol_disputes=int((inc["category"] == "dispute").sum()),
        escalations_elsewhere=esc_pairs,
    )
    return counts


def _reviews(s: Session, f: AlcoholPersonFile, visits: list) -> int:
    """Record a file's review visits ``[(day, note)]``; returns how many."""
    officer = Viewer("demo-officer", Role.OFFICER, Scope.district(), officer_id=f.officer_id)
    for day, note in visits:
        record_review(s, officer, f.id, reviewed_on=day, note=note)
    return len(visits)


def _review_tasks(s: Session, draft, until: Month) -> int:
    """The review visit template proposed, admitted and dispatched for the last three months;
    returns the items made."""
    from ..tasks import dispatch_cycle, propose_template, review_template

    branch = Viewer(username="demo-public_order", role=Role.BRANCH, branch="public_order")
    office = Viewer(username="demo", role=Role.DISPATCHER)
    tpl = propose_template(s, draft, branch)
    review_template(s, tpl.id, office, admit=True, reason="涉酒人员一人一档回访")
    made = 0
    for k in (2, 1, 0):
        m = until.shift(-k)
        made += dispatch_cycle(
            s,
            "monthly",
            office,
            on=m.first_day,
            template_ids=[tpl.id],
            now=datetime.combine(m.first_day, time(8, 30)),
        ).created
    return made
