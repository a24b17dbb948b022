"""Task items after dispatch: the state machine, the officer's inbox and an item's history.

States::

    dispatched --accept--> accepted --feedback--> fed_back --evaluate--> evaluated
        |                                  ^          |
        +-------------feedback-------------+          +--unqualified--> returned
                                           +-----------------feedback------+

Feedback straight from ``dispatched`` records an implicit acceptance (the mobile terminal
often sends both at once). An item is *overdue* while it is open (dispatched, accepted or
returned) after its deadline; that is derived from the deadline, never stored.

Every change checks the version the caller read (``expected_version``) and the version column
guards the write itself, so of two people changing one item at once the second gets a
``ConflictError`` and nothing of theirs is saved.

Size: 696 lines because it is the one state machine of a dispatched item: every transition, the
viewer rule (``visible_clause``) and the listings read the same states and version column; split,
the transitions and the filters that list their states would live apart.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from .. import audit, db
from ..access import Permission, Role, ScopeError, Viewer, can
from ..models import Community, Officer
from ..models.tasks import (
    FeedbackResult,
    ItemState,
    Rating,
    TaskAction,
    TaskHistory,
    TaskItem,
)
from ..timeutil import now_local
from .errors import ConflictError, TransitionError

OPEN_STATES = (ItemState.DISPATCHED, ItemState.ACCEPTED, ItemState.RETURNED)
DONE_STATES = (ItemState.FED_BACK, ItemState.EVALUATED)
PHOTO_MAX_BYTES = 2 * 1024 * 1024
PHOTO_TYPES = {b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
NOTE_MAX = 1000
COUNT_MAX = 100_000


def is_overdue(state: ItemState | str, deadline: datetime, now: datetime) -> bool:
    """Open (dispatched, accepted, returned) and past its deadline at ``now``."""
    return ItemState(state) in OPEN_STATES and now > deadline


def visible_clause(viewer: Viewer) -> ColumnElement[bool]:
    """Which items a viewer may see: an officer their own; others their scope's communities."""
    if viewer.role is Role.OFFICER:
        return TaskItem.officer_id == (viewer.officer_id or "")
    return viewer.scope.clause(TaskItem.community_id)


def get_item(session: Session, item_id: int, viewer: Viewer) -> TaskItem:
    """The item if the viewer may see it; ``ScopeError`` otherwise, ``ValueError`` if none."""
    item = session.get(TaskItem, int(item_id))
    if item is None:
        raise ValueError(f"no task item {item_id}")
    if viewer.role is Role.OFFICER:
        if item.officer_id != viewer.officer_id:
            raise ScopeError(f"task item {item_id} is not assigned to you")
    else:
        viewer.scope.check(item.community_id)
    return item


#: Largest photo an officer may upload (phone cameras take 3-8 MB pictures); it is shrunk to
#: at most ``PHOTO_MAX_BYTES`` before it is stored.
PHOTO_UPLOAD_MAX_MB = 10
#: Longest side, in pixels, of a shrunk photo (enough to read a sign or a door number).
PHOTO_MAX_SIDE = 1600


def shrink_photo(photo: bytes) -> bytes:
    """A photo that fits the store: unchanged when within ``PHOTO_MAX_BYTES``, else re-encoded
    as JPEG with its longest side at most ``PHOTO_MAX_SIDE`` pixels (Pillow).

    Raises
    ------
    ValueError
        Not a JPEG or PNG, larger than ``PHOTO_UPLOAD_MAX_MB``, or still too large after
        shrinking (the message says which).
    """
    if len(photo) > PHOTO_UPLOAD_MAX_MB * 1048576:
        raise ValueError(
            f"photo: {len(photo) / 1048576:.1f} MB is over the {PHOTO_UPLOAD_MAX_MB} MB "
            "upload limit"
        )
    if not any(photo.startswith(m) for m in PHOTO_TYPES):
        raise ValueError("photo: only JPEG or PNG images are accepted")
    if len(photo) <= PHOTO_MAX_BYTES:
        return photo
    import io

    from PIL import Image, ImageOps

    try:
        with Image.open(io.BytesIO(photo)) as img:
            img = ImageOps.exif_transpose(img).convert("RGB")
            img.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            for quality in (85, 70, 55):
                out = io.BytesIO()
                img.save(out, "JPEG", quality=quality, optimize=True)
                if out.tell() <= PHOTO_MAX_BYTES:
                    return out.getvalue()
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"photo: the image cannot be read ({exc})") from None
    raise ValueError(f"photo: still over {PHOTO_MAX_BYTES // 1048576} MB after shrinking")


def _check_photo(photo: bytes | None) -> str | None:
    if photo is None:
        return None
    if len(photo) > PHOTO_MAX_BYTES:
        raise ValueError(
            f"photo: {len(photo) / 1048576:.1f} MB is over the {PHOTO_MAX_BYTES // 1048576} MB limit"
        )
    for magic, mime in PHOTO_TYPES.items():
        if photo.startswith(magic):
            return mime
    raise ValueError("photo: only JPEG or PNG images are accepted")


def _change(
    session: Session,
    item: TaskItem,
    viewer_name: str,
    expected_version: int | None,
    allowed_from: tuple[ItemState, ...],
    to_state: ItemState,
    action: TaskAction,
    at: datetime,
    history: dict | None = None,
    **changes,
) -> TaskItem:
    if expected_version is not None and item.version != expected_version:
        raise ConflictError("task item", item.id, expected_version, item.version)
    item_id = item.id
    if item.state not in allowed_from:
        raise TransitionError(
            f"task item {item.id} is {item.state.value}; cannot {action.value} it "
            f"(only from {', '.join(s.value for s in allowed_from)})"
        )
    before, read_version = item.state, item.version
    for key, value in changes.items():
        setattr(item, key, value)
    item.state = to_state
    session.add(
        TaskHistory(
            item_id=item.id,
            at=at,
            actor=viewer_name,
            action=action,
            from_state=before,
            to_state=to_state,
            **{"note": "", **(history or {})},
        )
    )
    try:
        session.flush()
    except StaleDataError:
        # Another session wrote the row between our read and our write.
        session.rollback()
        raise ConflictError("task item", item_id, read_version, None) from None
    return item


def _officer_may_act(item: TaskItem, viewer: Viewer) -> None:
    # The assigned officer answers; a dispatcher may record it for them (mobile-terminal import).
    if can(viewer.role, Permission.FEEDBACK):
        if item.officer_id != viewer.officer_id:
            raise ScopeError(f"task item {item.id} is not assigned to you")
    elif can(viewer.role, Permission.DISPATCH):
        viewer.scope.check(item.community_id)
    else:
        raise PermissionError(f"role {viewer.role.value} cannot act on an officer's task")


def accept(
    session: Session,
    item_id: int,
    viewer: Viewer,
    *,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> TaskItem:
    """The officer acknowledges the item (dispatched -> accepted)."""
    item = session.get(TaskItem, int(item_id))
    if item is None:
        raise ValueError(f"no task item {item_id}")
    _officer_may_act(item, viewer)
    at = at or now_local()
    _change(
        session,
        item,
        viewer.username,
        expected_version,
        (ItemState.DISPATCHED,),
        ItemState.ACCEPTED,
        TaskAction.ACCEPT,
        at,
        accepted_at=at,
    )
    db.bump_data_version(session)
    return item


def feedback(
    session: Session,
    item_id: int,
    viewer: Viewer,
    *,
    result: FeedbackResult | str,
    note: str = "",
    count_done: int | None = None,
    photo: bytes | None = None,
    expected_version: int | None = None,
    at: datetime | None = None,
) -> TaskItem:
    """Report the work (accepted/returned/dispatched -> fed_back).

    Parameters
    ----------
    result : FeedbackResult
        done, partial or unable; anything but ``done`` needs a note saying why.
    count_done : int, optional
        How many (households visited, places checked ...), 0-100000.
    photo : bytes, optional
        A JPEG or PNG of at most 2 MB, stored with the history entry.
    """
    if result is None:
        allowed = ", ".join(r.value for r in FeedbackResult)
        raise ValueError(f"result: choose one of {allowed}")
    try:
        result = FeedbackResult(result)
    except ValueError:
        allowed = ", ".join(r.value for r in FeedbackResult)
        raise ValueError(f"result: {result!r} is not one of {allowed}") from None
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValueError(f"note: at most {NOTE_MAX} characters, got {len(note)}")
    if result is not FeedbackResult.DONE and not note:
        raise ValueError(f"note: say why the result is {result.value}")
    if count_done is not None and (
        not isinstance(count_done, int)
        or isinstance(count_done, bool)
        or not 0 <= count_done <= COUNT_MAX
    ):
        raise ValueError(f"count_done: must be a whole number 0-{COUNT_MAX}, got {count_done!r}")
    mime = _check_photo(photo)
    item = session.get(TaskItem, int(item_id))
    if item is None:
        raise ValueError(f"no task item {item_id}")
    _officer_may_act(item, viewer)
    at = at or now_local()
    changes = dict(fed_back_at=at, result=result, note=note, count_done=count_done)
    if item.accepted_at is None:
        changes["accepted_at"] = at
    _change(
        session,
        item,
        viewer.username,
        expected_version,
        (ItemState.DISPATCHED, ItemState.ACCEPTED, ItemState.RETURNED),
        ItemState.FED_BACK,
        TaskAction.FEEDBACK,
        at,
        history=dict(result=result, note=note, count_done=count_done, photo=photo, photo_type=mime),
        **changes,
    )
    db.bump_data_version(session)
    return item


def evaluate(
    session: Session,
    item_id: int,
    viewer: Viewer,
    *,
    rating: Rating | str,
    reason: str = "",
    expected_version: int | None = None,
    at: datetime | None = None,
) -> TaskItem:
    """A supervisor rates fed-back work; ``unqualified`` (with a reason) returns it. Audited."""
    if not can(viewer.role, Permission.EVALUATE):
        raise PermissionError(f"role {viewer.role.value} cannot evaluate tasks")
    try:
        rating = Rating(rating)
    except ValueError:
        allowed = ", ".join(r.value for r in Rating)
        raise ValueError(f"rating: {rating!r} is not one of {allowed}") from None
    reason = (reason or "").strip()
    if rating is Rating.UNQUALIFIED and not reason:
        raise ValueError("reason: an unqualified rating needs a reason for the officer")
    if len(reason) > NOTE_MAX:
        raise ValueError(f"reason: at most {NOTE_MAX} characters, got {len(reason)}")
    item = get_item(session, item_id, viewer)
    at = at or now_local()
    if rating is Rating.UNQUALIFIED:
        _change(
            session,
            item,
            viewer.username,
            expected_version,
            (ItemState.FED_BACK,),
            ItemState.RETURNED,
            TaskAction.RETURN,
            at,
            history=dict(rating=rating, note=reason),
            rating=rating,
            evaluated_at=at,
            returns=item.returns + 1,
        )
    else:
        _change(
            session,
            item,
            viewer.username,
            expected_version,
            (ItemState.FED_BACK,),
            ItemState.EVALUATED,
            TaskAction.EVALUATE,
            at,
            history=dict(rating=rating, note=reason),
            rating=rating,
            evaluated_at=at,
        )
    audit.log(
        session,
        actor=viewer.username,
        action="task.evaluate",
        target=f"task:{item.id}",
        detail={"rating": rating.value, "reason": reason},
    )
    db.bump_data_version(session)
    return item


ITEM_COLUMNS = [
    "id",
    "version",
    "urgent",
    "branch",
    "title",
    "instructions",
    "community_id",
    "community_name",
    "officer_id",
    "officer_name",
    "state",
    "dispatched_at",
    "deadline",
    "accepted_at",
    "fed_back_at",
    "result",
    "note",
    "count_done",
    "rating",
    "returns",
    "overdue",
    "minutes_left",
    "template_id",
    "cycle_key",
]


def _filters(
    q,
    *,
    states=None,
    community_id=None,
    urgent=None,
    station_id=None,
    template_key=None,
    officer_id=None,
    text="",
):
    if states:
        q = q.where(TaskItem.state.in_(states))
    if community_id:
        q = q.where(TaskItem.community_id == community_id)
    if urgent is not None:
        q = q.where(TaskItem.urgent.is_(urgent))
    if station_id:
        q = q.where(Community.station_id == station_id)
    if template_key == "urgent":
        q = q.where(TaskItem.template_id.is_(None))
    elif template_key:
        q = q.where(TaskItem.template_id == int(template_key))
    if officer_id:
        q = q.where(TaskItem.officer_id == officer_id)
    text = (text or "").strip()
    if text:
        q = q.where(
            TaskItem.title.contains(text, autoescape=True)
            | Community.name.contains(text, autoescape=True)
            | Officer.name.contains(text, autoescape=True)
            | TaskItem.note.contains(text, autoescape=True)
        )
    return q


def items_frame(
    session: Session,
    viewer: Viewer,
    *,
    states: tuple[ItemState, ...] | None = None,
    community_id: str | None = None,
    now: datetime | None = None,
    urgent: bool | None = None,
    limit: int | None = None,
    offset: int = 0,
    station_id: str | None = None,
    template_key: str | None = None,
    officer_id: str | None = None,
    text: str = "",
) -> pd.DataFrame:
    """Items the viewer may see, as a table with ``overdue`` and ``minutes_left`` derived.

    ``station_id``, ``template_key`` (a template id as text, or ``urgent``), ``officer_id``
    and ``text`` (in title, community, officer or note) narrow the list; ``offset``/``limit``
    page it (``count_items`` gives the total for the same filters).
    """
    now = now or now_local()
    q = (
        select(TaskItem, Community.name, Officer.name)
        .join(Community, Community.community_id == TaskItem.community_id)
        .join(Officer, Officer.officer_id == TaskItem.officer_id)
        .where(visible_clause(viewer))
        .order_by(TaskItem.dispatched_at.desc(), TaskItem.id.desc())
    )
    q = _filters(
        q,
        states=states,
        community_id=community_id,
        urgent=urgent,
        station_id=station_id,
        template_key=template_key,
        officer_id=officer_id,
        text=text,
    )
    if offset:
        q = q.offset(int(offset))
    if limit:
        q = q.limit(limit)
    rows = []
    for it, cname, oname in session.execute(q):
        rows.append(
            {
                "id": it.id,
                "version": it.version,
                "urgent": it.urgent,
                "branch": it.branch.value,
                "title": it.title,
                "instructions": it.instructions,
                "community_id": it.community_id,
                "community_name": cname,
                "officer_id": it.officer_id,
                "officer_name": oname,
                "state": it.state.value,
                "dispatched_at": it.dispatched_at,
                "deadline": it.deadline,
                "accepted_at": it.accepted_at,
                "fed_back_at": it.fed_back_at,
                "result": it.result.value if it.result else None,
                "note": it.note,
                "count_done": it.count_done,
                "rating": it.rating.value if it.rating else None,
                "returns": it.returns,
                "overdue": is_overdue(it.state, it.deadline, now),
                "minutes_left": int((it.deadline - now).total_seconds() // 60),
                "template_id": it.template_id,
                "cycle_key": it.cycle_key,
            }
        )
    return pd.DataFrame(rows, columns=ITEM_COLUMNS)


def count_items(
    session: Session,
    viewer: Viewer,
    *,
    states: tuple[ItemState, ...] | None = None,
    station_id: str | None = None,
    template_key: str | None = None,
    officer_id: str | None = None,
    text: str = "",
) -> int:
    """How many items ``items_frame`` lists for the same filters (for counts and paging)."""
    from sqlalchemy import func

    q = (
        select(func.count())
        .select_from(TaskItem)
        .join(Community, Community.community_id == TaskItem.community_id)
        .join(Officer, Officer.officer_id == TaskItem.officer_id)
        .where(visible_clause(viewer))
    )
    q = _filters(
        q,
        states=states,
        station_id=station_id,
        template_key=template_key,
        officer_id=officer_id,
        text=text,
    )
    return int(session.scalar(q) or 0)


def items_page(
    session: Session,
    viewer: Viewer,
    *,
    limit: int,
    offset: int = 0,
    states: tuple[ItemState, ...] | None = None,
    station_id: str | None = None,
    template_key: str | None = None,
    officer_id: str | None = None,
    text: str = "",
) -> tuple[pd.DataFrame, int]:
    """One page of ``items_frame`` and the total ``count_items`` for the same filters.

    Returns
    -------
    (DataFrame, int)
        At most ``limit`` rows starting at ``offset`` (columns as ``items_frame``), and how
        many items match in all (for page counts).

    Raises
    ------
    ValueError
        ``limit`` is not positive or ``offset`` is negative.
    """
    if int(limit) <= 0 or int(offset) < 0:
        raise ValueError(f"items_page: limit must be > 0 and offset >= 0, got {limit}, {offset}")
    kw = dict(
        states=states,
        station_id=station_id,
        template_key=template_key,
        officer_id=officer_id,
        text=text,
    )
    frame = items_frame(session, viewer, limit=int(limit), offset=int(offset), **kw)
    return frame, count_items(session, viewer, **kw)


def item_choices(
    session: Session, viewer: Viewer, states: tuple[ItemState, ...] | None = None
) -> dict[str, dict[str, str]]:
    """What the items the viewer may see (in ``states``) can be filtered by: ``station``,
    ``template`` (``urgent`` for urgent instructions) and ``officer``, each {key: label}."""
    from ..models import Station

    base = (
        select(TaskItem.template_id, TaskItem.title, Community.station_id, Station.name)
        .join(Community, Community.community_id == TaskItem.community_id)
        .join(Station, Station.station_id == Community.station_id)
        .where(visible_clause(viewer))
    )
    if states:
        base = base.where(TaskItem.state.in_(states))
    stations: dict[str, str] = {}
    templates: dict[str, str] = {}
    for tid, title, sid, sname in session.execute(base.distinct()):
        stations[sid] = sname
        if tid is not None:
            templates[str(tid)] = title
        else:
            templates["urgent"] = ""
    q = (
        select(TaskItem.officer_id, Officer.name)
        .join(Officer, Officer.officer_id == TaskItem.officer_id)
        .where(visible_clause(viewer))
    )
    if states:
        q = q.where(TaskItem.state.in_(states))
    officers = dict(session.execute(q.distinct()).all())
    return {
        "station": dict(sorted(stations.items(), key=lambda kv: kv[1])),
        "template": dict(sorted(templates.items(), key=lambda kv: (kv[0] != "urgent", kv[1]))),
        "officer": dict(sorted(officers.items(), key=lambda kv: kv[1])),
    }


def evaluate_many(
    session: Session,
    items: dict[int, int],
    viewer: Viewer,
    *,
    rating: Rating | str,
    reason: str = "",
    at: datetime | None = None,
) -> int:
    """Rate several fed-back items at once ({item id: version read}); all or nothing.

    Raises ``ConflictError`` (nothing saved) when any item changed since it was read, and
    whatever ``evaluate`` raises for one of them. Each item is audited as ``task.evaluate``.
    """
    if not items:
        raise ValueError("items: choose at least one item to rate")
    at = at or now_local()
    for item_id, version in sorted(items.items()):
        evaluate(
            session, item_id, viewer, rating=rating, reason=reason, expected_version=version, at=at
        )
    return len(items)


def inbox(session: Session, viewer: Viewer, *, now: datetime | None = None) -> pd.DataFrame:
    """The officer's open items (我的任务): urgent first, then overdue, then by deadline."""
    df = items_frame(session, viewer, states=OPEN_STATES, now=now)
    if df.empty:
        return df
    return df.sort_values(
        ["urgent", "overdue", "deadline", "id"], ascending=[False, False, True, True]
    ).reset_index(drop=True)


def history(session: Session, item_id: int, viewer: Viewer) -> pd.DataFrame:
    """What happened to an item (without photo bytes; ``has_photo`` says whether one exists)."""
    get_item(session, item_id, viewer)
    rows = session.execute(
        select(
            TaskHistory.id,
            TaskHistory.at,
            TaskHistory.actor,
            TaskHistory.action,
            TaskHistory.from_state,
            TaskHistory.to_state,
            TaskHistory.result,
            TaskHistory.note,
            TaskHistory.count_done,
            TaskHistory.rating,
            TaskHistory.photo_type,
        )
        .where(TaskHistory.item_id == int(item_id))
        .order_by(TaskHistory.id)
    ).all()
    df = pd.DataFrame(
        rows,
        columns=[
            "id",
            "at",
            "actor",
            "action",
            "from_state",
            "to_state",
            "result",
            "note",
            "count_done",
            "rating",
            "photo_type",
        ],
    )
    for col in ("action", "from_state", "to_state", "result", "rating"):
        df[col] = df[col].map(lambda v: getattr(v, "value", v))
    df["has_photo"] = df["photo_type"].notna()
    return df


def return_reason(session: Session, item_id: int, viewer: Viewer) -> str:
    """The note of the latest return of an item to its officer (退回), "" if it was never returned.

    Raises
    ------
    ValueError
        The item does not exist (as ``get_item``).
    ScopeError
        The viewer may not see the item (as ``get_item``).
    """
    h = history(session, item_id, viewer)
    back = h[h["action"] == "return"]
    return str(back["note"].iloc[-1]) if not back.empty else ""


def history_photo(session: Session, history_id: int, viewer: Viewer) -> tuple[bytes, str] | None:
    """The photo bytes and MIME type of one feedback entry, if the viewer may see the item."""
    h = session.get(TaskHistory, int(history_id))
    if h is None or h.photo is None:
        return None
    get_item(session, h.item_id, viewer)
    return h.photo, h.photo_type or "application/octet-stream"
