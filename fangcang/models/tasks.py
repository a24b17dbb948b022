"""The task loop (一键派单): templates, dispatched items and their history.

A ``TaskTemplate`` is proposed by a police branch and admitted (or rejected) by the coordinating
office. Dispatching a cycle creates one ``TaskItem`` per target community; the unique key
(template, cycle, community) makes a second dispatch of the same cycle create nothing. Urgent
instructions are items without a template. Every change of an item appends a ``TaskHistory``
row (feedback with its optional photo, evaluations, returns), and ``TaskItem.version`` is the
optimistic-concurrency counter: a writer holding an older version gets a clear conflict.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, enum_type


class Branch(enum.StrEnum):
    """The seven police branches that hand work to community officers."""

    POPULATION = "population"  # 人口
    PUBLIC_ORDER = "public_order"  # 治安
    NARCOTICS = "narcotics"  # 禁毒
    CRIMINAL_INVESTIGATION = "criminal_investigation"  # 刑侦
    COUNTER_TERRORISM = "counter_terrorism"  # 反恐
    PETITIONS = "petitions"  # 信访
    EXIT_ENTRY = "exit_entry"  # 出入境


class Cycle(enum.StrEnum):
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    AD_HOC = "ad_hoc"


class TargetKind(enum.StrEnum):
    ALL = "all"  # every community
    SUB_DISTRICTS = "sub_districts"  # communities of chosen sub-districts
    COMMUNITIES = "communities"  # an explicit list
    RULE = "rule"  # a registered rule (fangcang.tasks.targets.RULES)


class TemplateStatus(enum.StrEnum):
    PROPOSED = "proposed"  # waiting for admission (准入)
    ADMITTED = "admitted"
    REJECTED = "rejected"


class ItemState(enum.StrEnum):
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    FED_BACK = "fed_back"
    EVALUATED = "evaluated"
    RETURNED = "returned"  # rated unqualified: back with the officer


class Rating(enum.StrEnum):
    EXCELLENT = "excellent"
    QUALIFIED = "qualified"
    UNQUALIFIED = "unqualified"


class FeedbackResult(enum.StrEnum):
    DONE = "done"  # 已完成
    PARTIAL = "partial"  # 部分完成
    UNABLE = "unable"  # 无法完成 (note says why)


class TaskAction(enum.StrEnum):
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    FEEDBACK = "feedback"
    EVALUATE = "evaluate"
    RETURN = "return"


class TaskTemplate(Base):
    """A kind of work a branch asks of community officers (one of ~124)."""

    __tablename__ = "task_templates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    branch: Mapped[Branch] = mapped_column(enum_type(Branch), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    instructions: Mapped[str] = mapped_column(Text, nullable=False)
    cycle: Mapped[Cycle] = mapped_column(enum_type(Cycle), nullable=False)
    target_kind: Mapped[TargetKind] = mapped_column(enum_type(TargetKind), nullable=False)
    # JSON: a list of sub-district codes or community ids, or {"rule": name, ...params}.
    target_value: Mapped[str] = mapped_column(Text, default="", nullable=False)
    est_minutes: Mapped[int] = mapped_column(Integer, nullable=False)
    # Days after the cycle starts (capped at its end); NULL = the last day of the cycle.
    deadline_days: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[TemplateStatus] = mapped_column(
        enum_type(TemplateStatus), nullable=False, index=True
    )
    proposed_by: Mapped[str] = mapped_column(String(64), nullable=False)
    proposed_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    review_reason: Mapped[str] = mapped_column(Text, default="", nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class TaskItem(Base):
    """One piece of work for one community's officer (a template in a cycle, or urgent)."""

    __tablename__ = "task_items"
    __table_args__ = (
        # Dispatch idempotence: one item per template, cycle and community.
        UniqueConstraint("template_id", "cycle_key", "community_id", name="uq_task_items_key"),
        Index("ix_task_items_officer_state", "officer_id", "state"),
        Index("ix_task_items_dispatched_at", "dispatched_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    template_id: Mapped[int | None] = mapped_column(ForeignKey("task_templates.id"), index=True)
    cycle_key: Mapped[str] = mapped_column(String(32), nullable=False)  # 2026-W48, 2026-11 ...
    community_id: Mapped[str] = mapped_column(
        ForeignKey("communities.community_id"), nullable=False, index=True
    )
    officer_id: Mapped[str] = mapped_column(ForeignKey("officers.officer_id"), nullable=False)
    branch: Mapped[Branch] = mapped_column(enum_type(Branch), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    instructions: Mapped[str] = mapped_column(Text, default="", nullable=False)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    source: Mapped[str] = mapped_column(String(32), default="cycle", nullable=False)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    est_minutes: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    state: Mapped[ItemState] = mapped_column(enum_type(ItemState), nullable=False)
    dispatched_by: Mapped[str] = mapped_column(String(64), nullable=False)
    dispatched_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    deadline: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    fed_back_at: Mapped[datetime | None] = mapped_column(DateTime)
    evaluated_at: Mapped[datetime | None] = mapped_column(DateTime)
    result: Mapped[FeedbackResult | None] = mapped_column(enum_type(FeedbackResult))
    note: Mapped[str] = mapped_column(Text, default="", nullable=False)
    count_done: Mapped[int | None] = mapped_column(Integer)
    rating: Mapped[Rating | None] = mapped_column(enum_type(Rating))
    returns: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}


class TaskHistory(Base):
    """What happened to an item, in order: feedback (with photo), evaluations, returns."""

    __tablename__ = "task_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("task_items.id"), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    action: Mapped[TaskAction] = mapped_column(enum_type(TaskAction), nullable=False)
    from_state: Mapped[ItemState | None] = mapped_column(enum_type(ItemState))
    to_state: Mapped[ItemState] = mapped_column(enum_type(ItemState), nullable=False)
    result: Mapped[FeedbackResult | None] = mapped_column(enum_type(FeedbackResult))
    note: Mapped[str] = mapped_column(Text, default="", nullable=False)
    count_done: Mapped[int | None] = mapped_column(Integer)
    rating: Mapped[Rating | None] = mapped_column(enum_type(Rating))
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)
    photo_type: Mapped[str | None] = mapped_column(String(32))
