"""Time the task loop on a synthetic district of 120 communities (each with its officer).

    python bench/bench_tasks.py [--db URL_OF_AN_EMPTY_DATABASE] [--templates 10] [--repeat 3]

Prints the median seconds of: one-click dispatch of a weekly cycle (1 template and
``--templates`` templates over 120 communities), the same dispatch again (idempotent: nothing
created), routing an urgent instruction by point (point in polygon over 120 polygons), an
officer's inbox, and the rates by station over ~12,000 items.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from fangcang import db, tasks  # noqa: E402
from fangcang.access import Role, Scope, Viewer  # noqa: E402
from fangcang.models import Community, DivisionKind, Officer, Station, SubDistrict  # noqa: E402
from fangcang.models.tasks import Cycle, TaskItem, TaskTemplate, TemplateStatus  # noqa: E402

OFFICE = Viewer(username="bench", role=Role.DISPATCHER)
T0 = datetime(2026, 1, 5, 8, 0)


def district(s: Session, n: int = 120) -> None:
    """n square communities in a 12-column grid, 14 sub-districts, 8 stations."""
    for i in range(14):
        s.add(SubDistrict(code=f"SD{i:02d}", name=f"街道{i}", kind=DivisionKind.STREET))
    for i in range(8):
        s.add(Station(station_id=f"ST{i}", name=f"派出所{i}"))
    s.flush()
    for i in range(n):
        s.add(
            Officer(officer_id=f"O{i:03d}", name=f"民警{i}", station_id=f"ST{i % 8}", updated_at=T0)
        )
    s.flush()
    for i in range(n):
        x0, y0 = 120.5 + 0.01 * (i % 12), 28.0 + 0.01 * (i // 12)
        ring = [[x0, y0], [x0 + 0.01, y0], [x0 + 0.01, y0 + 0.01], [x0, y0 + 0.01], [x0, y0]]
        geom = json.dumps({"type": "Polygon", "coordinates": [ring]})
        s.add(
            Community(
                community_id=f"C{i:03d}",
                name=f"社区{i}",
                sub_district_code=f"SD{i % 14:02d}",
                station_id=f"ST{i % 8}",
                officer_id=f"O{i:03d}",
                geometry=geom,
                centroid_lon=x0 + 0.005,
                centroid_lat=y0 + 0.005,
                updated_at=T0,
            )
        )
    s.flush()


def templates(s: Session, n: int) -> list[int]:
    ids = []
    for i in range(n):
        t = TaskTemplate(
            branch="population",
            title=f"基准任务{i}",
            instructions="基准测试用的任务说明文字。",
            cycle=Cycle.WEEKLY,
            target_kind="all",
            target_value="",
            est_minutes=30,
            status=TemplateStatus.ADMITTED,
            proposed_by="bench",
            proposed_at=T0,
            review_reason="",
        )
        s.add(t)
        s.flush()
        ids.append(t.id)
    return ids


def timed(fn, repeat: int, reset=None) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        if reset:
            reset()
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", help="URL of an empty database (default: a temporary SQLite file)")
    ap.add_argument("--templates", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    engine = db.make_engine(args.db or f"sqlite:///{tmp.name}/bench.db")
    db.upgrade(engine)
    print(f"database: {engine.url.render_as_string(hide_password=True)}")
    with Session(engine) as s:
        district(s)
        ids = templates(s, args.templates)
        s.commit()

        def clear():
            s.rollback()
            s.execute(delete(TaskItem))
            s.commit()

        def dispatch(only):
            def run():
                res = tasks.dispatch_cycle(
                    s, Cycle.WEEKLY, OFFICE, on=date(2026, 1, 7), template_ids=only, now=T0
                )
                s.commit()
                return res

            return run

        sec, res = timed(dispatch(ids[:1]), args.repeat, clear)
        print(f"dispatch 1 template x 120 communities: {sec:.3f} s ({res.created} items)")
        sec, res = timed(dispatch(ids), args.repeat, clear)
        print(f"dispatch {len(ids)} templates x 120 communities: {sec:.3f} s ({res.created} items)")
        sec, res = timed(dispatch(ids), args.repeat)
        print(
            f"same cycle again (idempotent): {sec:.3f} s ({res.created} created, {res.existing} existing)"
        )

        def urgent():
            item = tasks.urgent_instruction(
                s, OFFICE, text="基准紧急指令", lon=120.555, lat=28.055, now=T0
            )
            s.commit()
            return item

        sec, item = timed(urgent, args.repeat)
        print(f"urgent instruction by point (120 polygons): {sec:.3f} s -> {item.community_id}")
        # ~12,000 items: the weekly templates over ten weeks.
        clear()
        for w in range(10):
            tasks.dispatch_cycle(
                s,
                Cycle.WEEKLY,
                OFFICE,
                on=date(2026, 1, 7) + timedelta(weeks=w),
                now=T0 + timedelta(weeks=w),
            )
        s.commit()
        n = s.scalar(select(func.count()).select_from(TaskItem))
        officer = Viewer(
            username="o", role=Role.OFFICER, officer_id="O007", scope=Scope.of(["C007"])
        )
        sec, box = timed(lambda: tasks.inbox(s, officer, now=T0), args.repeat)
        print(f"officer inbox ({len(box)} open items of {n:,}): {sec:.3f} s")
        sec, df = timed(
            lambda: tasks.rates(
                s, Scope.district(), datetime(2026, 1, 1), datetime(2026, 4, 1), by="station"
            ),
            args.repeat,
        )
        print(f"rates by station over {int(df['items'].sum()):,} items: {sec:.3f} s")
    engine.dispose()
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
