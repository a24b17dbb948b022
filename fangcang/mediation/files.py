"""The contract files of police-lawyer mediation: ``mediation_referrals``,
``mediation_sessions`` and ``mediation_consultations`` (see docs/data-contract.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Scope
from ..alcohol.filekit import PracticeFile, opt, outside_scope
from ..importer import Field, FileSpec
from ..importer.spec import DATE, ENUM, INT
from ..models import (
    Community,
    Incident,
    IncidentCategory,
    MediationConsultation,
    MediationOutcome,
    MediationReferral,
    MediationSession,
    Station,
)
from ..timeutil import now_local


@dataclass(frozen=True)
class _Ctx:
    session: Session
    scope: Scope
    now: datetime
    referrals: dict[str, tuple[str, object]]  # referral_id -> (community_id, referred_on)
    station_communities: dict[str, set[str]]


def _ctx(session: Session, scope: Scope) -> _Ctx:
    refs = {
        r: (c, d)
        for r, c, d in session.execute(
            select(
                MediationReferral.referral_id,
                MediationReferral.community_id,
                MediationReferral.referred_on,
            )
        )
    }
    stations: dict[str, set[str]] = {}
    for sid, cid in session.execute(select(Community.station_id, Community.community_id)):
        stations.setdefault(sid, set()).add(cid)
    return _Ctx(session, scope, now_local(), refs, stations)


def _incidents(session: Session, ids) -> dict[str, tuple[str, str, str]]:
    """incident_id -> (community_id, station_id, category)."""
    ids = sorted({str(i) for i in ids})
    out = {}
    for i in range(0, len(ids), 5000):
        out.update(
            (iid, (cid, sid, IncidentCategory(cat).value))
            for iid, cid, sid, cat in session.execute(
                select(
                    Incident.incident_id,
                    Incident.community_id,
                    Community.station_id,
                    Incident.category,
                )
                .join(Community, Community.community_id == Incident.community_id)
                .where(Incident.incident_id.in_(ids[i : i + 5000]))
            )
        )
    return out


def _check_referrals(frame: pd.DataFrame, ctx: _Ctx) -> list[tuple]:
    out = []
    info = _incidents(ctx.session, frame["incident_id"])
    iid = frame["incident_id"].astype(str)
    unknown = ~iid.isin(info.keys())
    if unknown.any():
        out.append(
            (frame.index[unknown], "incident_id", iid[unknown], "incident is not in the database")
        )
    out += outside_scope(
        frame, "incident_id", iid.map(lambda i: info.get(i, (None,))[0]), ctx.scope
    )
    not_dispute = ~unknown & iid.map(lambda i: info.get(i, ("", "", ""))[2] != "dispute")
    if not_dispute.any():
        out.append(
            (
                frame.index[not_dispute],
                "incident_id",
                iid[not_dispute],
                "only dispute incidents are referred to mediation",
            )
        )
    given = frame["station_id"].notna()
    wrong = (
        given
        & ~unknown
        & (frame["station_id"].astype(str) != iid.map(lambda i: info.get(i, ("", "", ""))[1]))
    )
    if wrong.any():
        out.append(
            (
                frame.index[wrong],
                "station_id",
                frame["station_id"][wrong].astype(str),
                "not the station of the incident's community",
            )
        )
    outcome = frame["outcome"].fillna(MediationOutcome.PENDING.value).astype(str)
    closed = frame["closed_on"].notna()
    bad = (outcome != MediationOutcome.PENDING.value) & ~closed
    if bad.any():
        out.append(
            (
                frame.index[bad],
                "closed_on",
                [""] * int(bad.sum()),  # the closed_on cell itself: empty
                outcome[bad]
                .map(lambda o: f"the outcome {o} needs closed_on (an outcome other than pending)")
                .to_numpy(),
            )
        )
    bad = (outcome == MediationOutcome.PENDING.value) & closed
    if bad.any():
        out.append(
            (
                frame.index[bad],
                "closed_on",
                frame["closed_on"][bad].astype(str),
                "a pending referral has no closed_on",
            )
        )
    back = closed & (frame["closed_on"] < frame["referred_on"])
    if back.any():
        out.append(
            (
                frame.index[back],
                "closed_on",
                frame["closed_on"][back].astype(str),
                "before referred_on",
            )
        )
    future = frame["referred_on"] > pd.Timestamp(ctx.now.date())
    if future.any():
        out.append(
            (
                frame.index[future],
                "referred_on",
                frame["referred_on"][future].astype(str),
                "in the future",
            )
        )
    return out


def _day(v):
    return pd.Timestamp(v).date() if opt(v) is not None else None


def _load_referrals(session: Session, frame: pd.DataFrame, ctx: _Ctx, actor: str) -> int:
    info = _incidents(session, frame["incident_id"])
    for r in frame.itertuples(index=False):
        cid, sid, _ = info[str(r.incident_id)]
        session.merge(
            MediationReferral(
                referral_id=str(r.referral_id),
                incident_id=str(r.incident_id),
                community_id=cid,
                station_id=sid,
                referred_on=_day(r.referred_on),
                law_firm=str(r.law_firm).strip(),
                lawyer=str(r.lawyer).strip(),
                justice_office=opt(r.justice_office) or "",
                outcome=MediationOutcome(opt(r.outcome) or MediationOutcome.PENDING.value),
                closed_on=_day(r.closed_on),
                source=opt(r.source) or "",
                updated_at=ctx.now,
            )
        )
    session.flush()
    return len(frame)


REFERRALS = FileSpec(
    "mediation_referrals",
    key="referral_id",
    description="Dispute incidents referred to police-lawyer mediation (警律联调).",
    fields=(
        Field("referral_id", required=True, aliases=("委托编号", "调解编号"), max_length=40),
        Field(
            "incident_id",
            required=True,
            aliases=("警情编号",),
            max_length=40,
            description="a dispute incident in the database",
        ),
        Field("referred_on", DATE, required=True, aliases=("委托日期", "移交日期")),
        Field("law_firm", required=True, aliases=("律师事务所", "律所"), max_length=128),
        Field("lawyer", required=True, aliases=("律师", "调解律师"), max_length=64),
        Field(
            "station_id",
            aliases=("派出所编号",),
            max_length=32,
            description="default: the station of the incident's community (must agree when given)",
        ),
        Field("justice_office", aliases=("司法所",), max_length=128, default=""),
        Field(
            "outcome",
            ENUM,
            choices=MediationOutcome,
            default=MediationOutcome.PENDING.value,
            aliases=("调解结果", "结果"),
        ),
        Field(
            "closed_on",
            DATE,
            aliases=("结案日期", "办结日期"),
            description="required for an outcome other than pending",
        ),
        Field("source", aliases=("数据来源", "来源"), default="", max_length=64),
    ),
    checks=(_check_referrals,),
)


def _check_sessions(frame: pd.DataFrame, ctx: _Ctx) -> list[tuple]:
    rid = frame["referral_id"].astype(str)
    unknown = ~rid.isin(ctx.referrals.keys())
    out = []
    if unknown.any():
        out.append(
            (
                frame.index[unknown],
                "referral_id",
                rid[unknown],
                "referral is not in the database (import mediation_referrals.csv first)",
            )
        )
    out += outside_scope(
        frame, "referral_id", rid.map(lambda r: ctx.referrals.get(r, (None,))[0]), ctx.scope
    )
    referred = rid.map(
        lambda r: pd.Timestamp(ctx.referrals[r][1]) if r in ctx.referrals else pd.NaT
    )
    early = referred.notna() & (frame["held_on"] < referred)
    if early.any():
        out.append(
            (
                frame.index[early],
                "held_on",
                frame["held_on"][early].astype(str),
                "before the referral",
            )
        )
    return out


def _load_sessions(session: Session, frame: pd.DataFrame, ctx: _Ctx, actor: str) -> int:
    n = 0
    for r in frame.itertuples(index=False):
        held, note = _day(r.held_on), opt(r.note) or ""
        exists = session.scalar(
            select(MediationSession.id).where(
                MediationSession.referral_id == str(r.referral_id),
                MediationSession.held_on == held,
                MediationSession.note == note,
            )
        )
        if not exists:
            session.add(MediationSession(referral_id=str(r.referral_id), held_on=held, note=note))
            n += 1
    session.flush()
    return n


SESSIONS = FileSpec(
    "mediation_sessions",
    description="Mediation sessions held on referrals.",
    fields=(
        Field("referral_id", required=True, aliases=("委托编号", "调解编号"), max_length=40),
        Field("held_on", DATE, required=True, aliases=("调解日期", "日期")),
        Field("note", aliases=("调解情况", "备注"), max_length=1000, default=""),
    ),
    checks=(_check_sessions,),
)


def _check_consultations(frame: pd.DataFrame, ctx: _Ctx) -> list[tuple]:
    sid = frame["station_id"].astype(str)
    unknown = ~sid.isin(set(ctx.session.scalars(select(Station.station_id))))
    out = []
    if unknown.any():
        out.append((frame.index[unknown], "station_id", sid[unknown], "unknown station"))
    outside = ~unknown & ~sid.map(
        lambda s: any(ctx.scope.allows(c) for c in ctx.station_communities.get(s, ()))
    )
    if outside.any():
        out.append((frame.index[outside], "station_id", sid[outside], "outside your jurisdiction"))
    return out


def _load_consultations(session: Session, frame: pd.DataFrame, ctx: _Ctx, actor: str) -> int:
    for r in frame.itertuples(index=False):
        session.merge(
            MediationConsultation(
                meeting_id=str(r.meeting_id),
                held_on=_day(r.held_on),
                station_id=str(r.station_id),
                law_firm=str(r.law_firm).strip(),
                justice_office=opt(r.justice_office) or "",
                topic=opt(r.topic) or "",
                cases_discussed=int(opt(r.cases_discussed) or 0),
            )
        )
    session.flush()
    return len(frame)


CONSULTATIONS = FileSpec(
    "mediation_consultations",
    key="meeting_id",
    description="Consultation meetings (会商) of law firm, station and justice office.",
    fields=(
        Field("meeting_id", required=True, aliases=("会商编号",), max_length=40),
        Field("held_on", DATE, required=True, aliases=("会商日期", "日期")),
        Field("station_id", required=True, aliases=("派出所编号",), max_length=32),
        Field("law_firm", required=True, aliases=("律师事务所", "律所"), max_length=128),
        Field("justice_office", aliases=("司法所",), max_length=128, default=""),
        Field("topic", aliases=("会商内容", "议题"), max_length=1000, default=""),
        Field("cases_discussed", INT, min=0, default=0, aliases=("研判案件数", "案件数")),
    ),
    checks=(_check_consultations,),
)

MEDIATION_FILES = [
    PracticeFile(REFERRALS, _ctx, _load_referrals),
    PracticeFile(SESSIONS, _ctx, _load_sessions),
    PracticeFile(CONSULTATIONS, _ctx, _load_consultations),
]
