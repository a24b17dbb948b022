"""Benchmark the bundle importer at full size on SQLite and/or PostgreSQL.

Generates its own synthetic bundle (120 grid communities over Lucheng, valid ID numbers) of
about 3.8 M records, or uses an existing bundle folder, then imports it twice (first into an
empty database, then again on top: the upsert path) and prints rows/second per kind and the
aggregate rebuild time.

    .venv/bin/python bench/bench_import.py --out /tmp/bundle --backend sqlite
    .venv/bin/python bench/bench_import.py --bundle /tmp/bundle --backend postgresql \
        --pg postgresql://fangcang:fangcang@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fangcang import db  # noqa: E402
from fangcang.importer import import_bundle  # noqa: E402

SIZES = {
    "people": 1_200_000,
    "houses": 450_000,
    "places": 100_000,
    "objects": 900_000,
    "events": 750_000,
    "incidents": 400_000,
}
X0, Y0, STEP = 120.50, 27.95, 0.02  # 12 x 10 grid of communities
NX, NY = 12, 10

_W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])


def _ids(rng, n: int) -> np.ndarray:
    birth = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 55, n), unit="D")
    body = (
        "330302"
        + birth.strftime("%Y%m%d").to_numpy(dtype=str).astype(object)
        + pd.Series(rng.integers(0, 1000, n)).map("{:03d}".format).to_numpy(dtype=object)
    ).astype("U17")
    digits = body.view("U1").reshape(-1, 17).astype(int)
    check = np.array(list("10X98765432"))[(digits @ _W) % 11]
    return np.char.add(body, check)


def generate(out: Path, scale: float = 1.0, seed: int = 1) -> Path:
    """Write a synthetic bundle to ``out``."""
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    feats, cids = [], []
    for j in range(NY):
        for i in range(NX):
            cid = f"C{j * NX + i + 1:03d}"
            cids.append(cid)
            x0, y0 = X0 + i * STEP, Y0 + j * STEP
            ring = [[x0, y0], [x0 + STEP, y0], [x0 + STEP, y0 + STEP], [x0, y0 + STEP], [x0, y0]]
            feats.append(
                {
                    "type": "Feature",
                    "properties": {
                        "community_id": cid,
                        "name": f"社区{cid}",
                        "street": "五马街道" if j < 5 else "松台街道",
                        "station": f"第{j // 2 + 1}派出所",
                        "officer_id": f"O{j * NX + i + 1:03d}",
                    },
                    "geometry": {"type": "Polygon", "coordinates": [ring]},
                }
            )
    (out / "communities.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False),
        encoding="utf-8",
    )
    pd.DataFrame(
        {
            "officer_id": [f"O{k + 1:03d}" for k in range(len(cids))],
            "name": "民警",
            "station": [f"第{(k // NX) // 2 + 1}派出所" for k in range(len(cids))],
            "phone": "13800000000",
        }
    ).to_csv(out / "officers.csv", index=False)
    cid_arr = np.array(cids, dtype=object)
    upd = "2026-10-01 08:00:00"

    def n_of(kind: str) -> int:
        return int(SIZES[kind] * scale)

    def pts(n):
        return (
            np.round(X0 + rng.random(n) * NX * STEP, 6),
            np.round(Y0 + rng.random(n) * NY * STEP, 6),
        )

    n = n_of("people")
    kp = rng.choice(["", "drugs", "mental", "petition"], n, p=[0.99, 0.004, 0.003, 0.003])
    pd.DataFrame(
        {
            "person_id": np.char.add("P", np.arange(n).astype("U9")),
            "name": rng.choice(["张伟", "王芳", "李娜", "刘洋"], n),
            "id_number": _ids(rng, n),
            "phone": "13900000000",
            "gender": rng.choice(["male", "female"], n),
            "birth_date": "1980-05-01",
            "residence_type": rng.choice(
                ["registered", "floating", "overseas"], n, p=[0.6, 0.38, 0.02]
            ),
            "community_id": cid_arr[rng.integers(0, len(cids), n)],
            "house_id": np.char.add("H", rng.integers(0, n_of("houses") or 1, n).astype("U9")),
            "key_person_type": kp,
            "last_visit": np.where(kp != "", "2026-09-01", ""),
            "visit_interval_days": np.where(kp != "", "30", ""),
            "source": "户籍",
            "updated_at": upd,
        }
    ).to_csv(out / "people.csv", index=False)
    n = n_of("houses")
    pd.DataFrame(
        {
            "house_id": np.char.add("H", np.arange(n).astype("U9")),
            "address": "某路1号",
            "community_id": cid_arr[rng.integers(0, len(cids), n)],
            "use": rng.choice(["self_occupied", "rental", "group_rental", "vacant"], n),
            "registered_residents": rng.integers(0, 6, n),
            "last_checked": "2026-08-01",
            "check_interval_days": "90",
            "source": "房管",
            "updated_at": upd,
        }
    ).to_csv(out / "houses.csv", index=False)
    n = n_of("places")
    lon, lat = pts(n)
    pd.DataFrame(
        {
            "place_id": np.char.add("PL", np.arange(n).astype("U9")),
            "name": "某单位",
            "kind": rng.choice(["enterprise", "venue", "regulated_trade"], n),
            "subtype": rng.choice(["ktv", "hotel", "factory", "dangerous_goods"], n),
            "lon": lon,
            "lat": lat,
            "risk_level": "low",
            "last_inspected": "2026-07-01",
            "source": "治安",
            "updated_at": upd,
        }
    ).to_csv(out / "places.csv", index=False)
    n = n_of("objects")
    pd.DataFrame(
        {
            "object_id": np.char.add("OB", np.arange(n).astype("U9")),
            "kind": rng.choice(["vehicle", "ebike", "camera"], n),
            "community_id": cid_arr[rng.integers(0, len(cids), n)],
            "recorded_at": "2026-01-01 10:00:00",
            "source": "交警",
            "updated_at": upd,
        }
    ).to_csv(out / "objects.csv", index=False)
    n = n_of("events")
    pd.DataFrame(
        {
            "event_id": np.char.add("E", np.arange(n).astype("U9")),
            "kind": rng.choice(["dispute", "hazard"], n),
            "occurred_at": "2026-02-01 10:00:00",
            "status": rng.choice(["open", "closed"], n),
            "community_id": cid_arr[rng.integers(0, len(cids), n)],
            "source": "社区",
            "updated_at": upd,
        }
    ).to_csv(out / "events.csv", index=False)
    n = n_of("incidents")
    lon, lat = pts(n)
    t = pd.Timestamp("2024-11-01") + pd.to_timedelta(rng.integers(0, 730 * 86400, n), unit="s")
    pd.DataFrame(
        {
            "incident_id": np.char.add("I", np.arange(n).astype("U9")),
            "occurred_at": t.strftime("%Y-%m-%d %H:%M:%S"),
            "category": rng.choice(["criminal", "public_order", "dispute", "traffic"], n),
            "subtype": rng.choice(["", "theft", "assault"], n),
            "lon": lon,
            "lat": lat,
            "loss_yuan": rng.integers(0, 1000, n),
            "alcohol_related": rng.integers(0, 2, n),
            "source": "110",
            "updated_at": upd,
        }
    ).to_csv(out / "incidents.csv", index=False)
    return out


def _engine(backend: str, pg: str | None, tmp: Path):
    if backend == "sqlite":
        return db.make_engine(f"sqlite:///{tmp / 'bench.db'}"), None
    from sqlalchemy import create_engine, text

    admin = create_engine(
        pg.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    return db.make_engine(url), (admin, name)


def run(bundle: Path, backend: str, pg: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine, cleanup = _engine(backend, pg, Path(tmp))
        try:
            db.upgrade(engine)
            for label in ("empty database", "re-import (upsert)"):
                t0, c0 = time.perf_counter(), time.process_time()
                res = import_bundle(engine, bundle, actor="bench", channel="bench")
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                # On a shared machine wall time includes waiting for a core; the process CPU
                # time (Python + SQLite, not the PostgreSQL server) is the steadier figure.
                print(
                    f"\n[{backend}] {label}: {res.status.value} in {wall:.1f} s wall, "
                    f"{cpu:.1f} s CPU of this process",
                    flush=True,
                )
                if not res.ok:
                    print(res.report)
                    return
                print(f"  validate (read+check all files): {res.timings['validate']:.1f} s")
                for kind, n in res.counts.items():
                    secs = res.timings.get(f"load_{kind}", 0) or 1e-9
                    print(
                        f"  load {kind:<12} {n:>10,} rows {secs:7.2f} s {n / secs:>12,.0f} rows/s"
                    )
                print(
                    f"  aggregates rebuild: {res.timings['aggregates']:.2f} s {res.aggregates}",
                    flush=True,
                )
            total = sum(res.counts.values())
            print(f"  total records: {total:,}; rows/s overall (last run): {total / wall:,.0f}")
            if backend == "sqlite":
                size = sum(p.stat().st_size for p in Path(tmp).glob("bench.db*"))
                print(f"  database size: {size / 1e6:.0f} MB")
        finally:
            engine.dispose()
            if cleanup:
                from sqlalchemy import text

                admin, name = cleanup
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak memory (process): {peak:,.0f} MB")


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--bundle", type=Path, help="use this bundle instead of generating one")
    p.add_argument("--out", type=Path, default=Path("/tmp/fangcang-bench-bundle"))
    p.add_argument("--scale", type=float, default=1.0, help="fraction of the full size")
    p.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    p.add_argument("--pg", default="postgresql://fangcang:fangcang@127.0.0.1:5432/postgres")
    args = p.parse_args()
    bundle = args.bundle
    if bundle is None:
        t0 = time.perf_counter()
        bundle = generate(args.out, args.scale)
        print(f"generated {bundle} in {time.perf_counter() - t0:.1f} s")
    for backend in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        run(bundle, backend, args.pg)


if __name__ == "__main__":
    main()
