"""``python -m fangcang alert`` and ``tasks dispatch|export|import|rates`` on a small district."""

from __future__ import annotations

import pandas as pd
import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fangcang.cli import main
from fangcang.models import AuditEntry
from fangcang.models.tasks import ItemState, TaskItem
from tests.conftest import Factory
from tests.tasks_support import admitted, build_district


@pytest.fixture
def db_url(sqlite_engine, monkeypatch):
    url = sqlite_engine.url.render_as_string(False)
    # ``--db`` writes FANGCANG_DB_URL into the environment; monkeypatch restores it afterwards.
    monkeypatch.setenv("FANGCANG_DB_URL", url)
    with Session(sqlite_engine, expire_on_commit=False) as s:
        build_district(Factory(s))
        admitted(s)
        s.commit()
    return url


def _items(url, **where):
    from fangcang import db

    engine = db.make_engine(url)
    with Session(engine) as s:
        q = select(TaskItem)
        for k, v in where.items():
            q = q.where(getattr(TaskItem, k) == v)
        out = list(s.scalars(q))
        n_audit = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "task.urgent")
        )
    engine.dispose()
    return out, n_audit


def test_alert_by_point(db_url, capsys):
    rc = main(
        [
            "--db",
            db_url,
            "alert",
            "--lon",
            "120.615",
            "--lat",
            "28.005",
            "--text",
            "反诈中心预警：居民正在被骗，立即上门劝阻",
            "--minutes",
            "20",
        ]
    )
    out = capsys.readouterr().out
    assert rc == 0 and "五马社区 (C02) -> officer O1" in out
    items, n_audit = _items(db_url, urgent=True)
    assert [(i.community_id, i.officer_id) for i in items] == [("C02", "O1")]
    assert (items[0].deadline - items[0].dispatched_at).total_seconds() == 20 * 60
    assert n_audit == 1


def test_alert_outside_the_district_is_a_clear_error(db_url, capsys):
    rc = main(
        ["--db", db_url, "alert", "--lon", "121.5", "--lat", "31.2", "--text", "区外测试指令"]
    )
    err = capsys.readouterr().err
    assert rc == 2
    assert err.startswith("error: point (121.500000, 31.200000) is outside the district")
    assert _items(db_url)[0] == []


def test_alert_by_community_and_address(db_url, capsys):
    assert (
        main(["--db", db_url, "alert", "--community", "仰义社区", "--text", "走失老人：协助寻找"])
        == 0
    )
    assert (
        main(["--db", db_url, "alert", "--address", "不存在路1号", "--text", "地址测试指令"]) == 2
    )
    assert "not in the house register" in capsys.readouterr().err
    assert [i.community_id for i in _items(db_url, urgent=True)[0]] == ["C04"]


# Rates count items by the day they were dispatched (the clock), not by their cycle: the test
# dispatches on a known day so that "2026-11" holds them whenever it runs (CI once ran it just
# after midnight of 1 December in Asia/Shanghai, and the items fell in 2026-12).
@time_machine.travel("2026-11-20T10:00:00+08:00", tick=True)
def test_tasks_dispatch_export_import_rates(db_url, tmp_path, capsys):
    assert (
        main(["--db", db_url, "tasks", "dispatch", "--cycle", "weekly", "--on", "2026-11-18"]) == 0
    )
    assert "cycle 2026-W47: 4 items created" in capsys.readouterr().out
    assert (
        main(["--db", db_url, "tasks", "dispatch", "--cycle", "weekly", "--on", "2026-11-20"]) == 0
    )
    assert "0 items created, 4 already there" in capsys.readouterr().out
    out = tmp_path / "open.csv"
    assert main(["--db", db_url, "tasks", "export", "--out", str(out)]) == 0
    exported = pd.read_csv(out, encoding="utf-8-sig")
    assert len(exported) == 4
    fb = exported[["item_id", "officer_id", "version"]].head(2).assign(result="done", note="完成")
    fb_path = tmp_path / "feedback.csv"
    fb.to_csv(fb_path, index=False)
    assert main(["--db", db_url, "tasks", "import", str(fb_path)]) == 0
    assert "2 feedback rows imported" in capsys.readouterr().out
    assert len(_items(db_url, state=ItemState.FED_BACK)[0]) == 2
    # The same file again: a clear error naming the rows, nothing changed.
    assert main(["--db", db_url, "tasks", "import", str(fb_path)]) == 2
    err = capsys.readouterr().err
    assert "feedback.csv row 2, column item_id" in err
    assert main(["--db", db_url, "tasks", "rates", "--period", "2026-11", "--by", "total"]) == 0
    assert "0.500" in capsys.readouterr().out  # 2 of 4 completed
    assert (
        main(["--db", db_url, "tasks", "dispatch", "--cycle", "weekly", "--on", "18/11/2026"]) == 2
    )
