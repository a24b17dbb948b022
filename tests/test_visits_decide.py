"""Deciding many discrepancies at once (``visits.decide``): the same registry, queue, audit
entries and aggregates as deciding them one by one, and aggregates equal to a full rebuild."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert, select, text
from support import visit_registry

from fangcang import aggregates, audit
from fangcang.access import Scope, ScopeError
from fangcang.demo import DemoContext
from fangcang.models import (
    AuditEntry,
    Discrepancy,
    DiscrepancyStatus,
    DiscrepancyType,
    House,
    HouseUse,
    RegistryChange,
)
from fangcang.timeutil import Month
from fangcang.visits import StaleDiscrepancy, confirm, demo, demo_extend, dismiss
from fangcang.visits.queue import Decision, decide

D = Scope.district()
WHEN = datetime(2026, 10, 20, 10, 0)
STALE = "登记信息已由其他核查更正"


@pytest.fixture
def queue(engine, session, factory, monkeypatch):
    """A district of 900 houses visited by the demo (nothing decided), plus a second open
    discrepancy on a house's use that the first one's confirmation makes stale, and a house
    changed by a re-import after its visit (stale from the start)."""
    visit_registry(session, houses=900, seed=3)
    aggregates.rebuild(session)
    session.commit()
    monkeypatch.setitem(demo.MAX_DECISIONS, "small", 0)
    demo_extend(DemoContext(engine=engine, scale="small", seed=7, until=Month(2026, 10)))
    session.expire_all()
    use = session.scalars(
        select(Discrepancy).where(Discrepancy.type == DiscrepancyType.USE_DIFFERS)
    ).all()
    twin = {c.name: getattr(use[0], c.name) for c in Discrepancy.__table__.columns}
    twin.pop("id")
    twin["new_value"] = HouseUse.VACANT.value if twin["new_value"] != "vacant" else "rental"
    twin["fingerprint"] += "|twin"
    session.execute(insert(Discrepancy.__table__), [twin])
    with aggregates.track(session, {"houses": [use[1].house_id]}):  # a re-import meanwhile
        session.get(House, use[1].house_id).use = HouseUse.VACANT
    session.commit()
    ids = session.scalars(
        select(Discrepancy.id)
        .where(Discrepancy.status == DiscrepancyStatus.OPEN)
        .order_by(Discrepancy.created_at, Discrepancy.id)
    ).all()
    assert len(ids) > 20
    assert {d.type for d in session.scalars(select(Discrepancy))} == set(DiscrepancyType)
    pick = np.random.default_rng(5)
    decisions = []
    for k, i in enumerate(ids):
        when = WHEN + timedelta(hours=k)
        if i in (use[0].id, use[1].id) or i == max(ids) or pick.random() < 0.6:
            decisions.append(Decision(i, True, now=when, stale_reason=STALE))
        else:
            decisions.append(Decision(i, False, reason="走访时信息记录有误", now=when))
    return decisions


def _state(session) -> dict:
    session.flush()

    def rows(sql):
        return [tuple(r) for r in session.execute(text(sql))]

    aggs = {
        m.__tablename__: sorted(
            rows(
                f"SELECT {', '.join(c.name for c in m.__table__.columns if c.name != 'id')} "
                f"FROM {m.__tablename__}"
            ),
            key=lambda r: tuple(str(v) for v in r),
        )
        for m in aggregates.TABLES
    }
    return {
        "houses": rows("SELECT * FROM houses ORDER BY house_id"),
        "people": rows("SELECT * FROM people ORDER BY person_id"),
        "discrepancies": rows("SELECT * FROM discrepancies ORDER BY id"),
        # In id order, without the id (a PostgreSQL sequence does not roll back).
        "registry_changes": rows(
            "SELECT at, actor, discrepancy_id, table_name, record_id, field, old_value, "
            "new_value FROM registry_changes ORDER BY id"
        ),
        "audit": rows("SELECT id, actor, action, target, detail FROM audit_log ORDER BY id"),
        "aggregates": aggs,
    }


def test_batch_decide_equals_one_by_one_and_a_full_rebuild(session, queue):
    done = decide(session, D, queue, actor="chief")
    batch = _state(session)
    assert done.confirmed and done.dismissed and not done.stale
    statuses = dict(session.execute(select(Discrepancy.id, Discrepancy.status)).all())
    assert {statuses[x.discrepancy_id] for x in queue} == {
        DiscrepancyStatus.CONFIRMED,
        DiscrepancyStatus.DISMISSED,
    }
    # Two confirmations were overtaken (a twin on the same house, a re-import): dismissed.
    stale = session.scalars(select(Discrepancy).where(Discrepancy.reason == STALE)).all()
    assert len(stale) == 2
    aggregates.rebuild(session)
    assert _state(session)["aggregates"] == batch["aggregates"]
    session.rollback()

    for x in queue:  # the old way: one call per decision, a stale confirmation dismissed
        if x.confirm:
            try:
                confirm(session, D, x.discrepancy_id, actor="chief", now=x.now)
                continue
            except StaleDiscrepancy:
                reason = x.stale_reason
        else:
            reason = x.reason
        dismiss(session, D, x.discrepancy_id, actor="chief", reason=reason, now=x.now)
    assert _state(session) == batch
    session.rollback()


def test_stale_confirmation_without_fallback_stays_open(session, queue):
    confirms = [x for x in queue if x.confirm]
    plain = [Decision(x.discrepancy_id, True, now=x.now) for x in confirms]
    done = decide(session, D, plain, actor="chief")
    assert len(done.stale) == 2 and all("reconcile again" in why for _, why in done.stale)
    for i, _ in done.stale:
        assert session.get(Discrepancy, i).status is DiscrepancyStatus.OPEN
    assert len(done.confirmed) == len(plain) - 2
    n_changes = session.query(RegistryChange).count()
    assert n_changes == sum(len(c) for c in done.changes.values())


def test_bad_batch_changes_nothing(session, queue):
    before = _state(session)
    first = queue[0].discrepancy_id
    with pytest.raises(ValueError, match="once per batch"):
        decide(session, D, [queue[0], queue[0]], actor="chief")
    with pytest.raises(ValueError, match="reason"):
        decide(session, D, [queue[0], Decision(first + 1, False, reason=" ")], actor="chief")
    with pytest.raises(ValueError, match="does not exist"):
        decide(session, D, [queue[0], Decision(10**9, True)], actor="chief")
    with pytest.raises(ScopeError):
        decide(session, Scope.of(["C9"]), queue[:3], actor="chief")
    with pytest.raises(ValueError, match="user"):
        decide(session, D, queue[:3], actor="")
    assert _state(session) == before


def test_log_many_equals_log_one_by_one(session):
    entries = [
        {"action": "registry.correct", "target": f"houses:H{i}", "detail": {"n": i}}
        for i in range(5)
    ]
    audit.log(session, actor="x", action="login.ok")
    session.commit()
    ids = audit.log_many(session, actor="chief", entries=entries)
    many = session.execute(
        select(AuditEntry.id, AuditEntry.action, AuditEntry.target, AuditEntry.detail)
    ).all()
    head = session.execute(text("SELECT value FROM meta WHERE key = 'audit_head'")).scalar()
    session.rollback()
    for e in entries:
        audit.log(session, actor="chief", **e)
    one = session.execute(
        select(AuditEntry.id, AuditEntry.action, AuditEntry.target, AuditEntry.detail)
    ).all()
    assert many == one and ids == [2, 3, 4, 5, 6]
    assert audit.verify(session).ok
    import json

    assert json.loads(head)["count"] == 6
    session.commit()
