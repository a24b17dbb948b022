"""``alert``: send an urgent instruction (紧急指令) to the officer of the community concerned.

Other systems (e.g. the anti-fraud centre) call::

    python -m fangcang alert --lon 120.65 --lat 28.02 --text "居民正在被电信诈骗，立即上门劝阻"
    python -m fangcang alert --community 沿江社区 --text "..." --minutes 60
    python -m fangcang alert --address "仰义街道后京路12号" --text "..."

It prints the new item's id, community and officer; a point outside the district (or an
unknown community or address) is a clear error with exit status 2 and creates nothing.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from fangcang import db
from fangcang.cli import cli_actor
from fangcang.models import Community
from fangcang.models.tasks import Branch


def _alert(args) -> int:
    from fangcang.tasks import urgent_instruction

    engine = db.make_engine()
    db.upgrade(engine)
    where = {}
    if args.lon is not None or args.lat is not None:
        where = dict(lon=args.lon, lat=args.lat)
    if args.community is not None:
        where["community"] = args.community
    if args.address is not None:
        where["address"] = args.address
    with Session(engine, expire_on_commit=False) as s:
        item = urgent_instruction(
            s,
            cli_actor(),
            text=args.text,
            minutes=args.minutes,
            branch=args.branch,
            **where,
        )
        s.commit()
        name = s.get(Community, item.community_id).name
    print(
        f"urgent task {item.id}: {name} ({item.community_id}) -> officer {item.officer_id}, "
        f"due {item.deadline:%Y-%m-%d %H:%M}"
    )
    return 0


def register(sub) -> None:
    p = sub.add_parser("alert", help="send an urgent instruction to a community's officer")
    p.add_argument("--text", required=True, help="what has to be done")
    p.add_argument("--lon", type=float, help="longitude (WGS84) of the place")
    p.add_argument("--lat", type=float, help="latitude (WGS84) of the place")
    p.add_argument("--community", help="community id or name (instead of a point)")
    p.add_argument("--address", help="registered address (instead of a point)")
    p.add_argument("--minutes", type=int, default=30, help="deadline in minutes (default 30)")
    p.add_argument(
        "--branch",
        default=Branch.PUBLIC_ORDER.value,
        choices=[b.value for b in Branch],
        help="branch sending it (default public_order)",
    )
    p.set_defaults(func=_alert)
