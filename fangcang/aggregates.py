# ruff: noqa: S608  (SQL is built only from table/column names and enum constants in this
# module, never from input; values are bound parameters)
"""The pre-aggregated tables that dashboards read (agg_*), kept in step with the records in SQL.

Two ways, the same numbers (``tests/test_aggregates.py`` checks that they agree after random
sequences of imports, updates and corrections, on SQLite and PostgreSQL):

- **Incremental** (``track``): a change to some records (an import of a feed, a registry
  correction, a visit) names the records it is about to touch; their contribution to every
  aggregate is subtracted before the change and the new contribution added after it, in the
  caller's transaction. The work grows with the records touched, not with the database: a
  100-incident feed updates a few hundred aggregate rows in milliseconds.
- **Full** (``rebuild``): ``INSERT ... SELECT ... GROUP BY`` over whole tables (seconds at
  3.8 M records), for a first import, a load that replaces a large share of a table, a
  correction limited to some communities (``communities=``), and the ``db
  rebuild-aggregates`` command.

Every aggregate is a sum (counts, alcohol-related counts, losses) except
``agg_records.last_updated`` (a maximum): it is raised by new rows and recomputed exactly for
the few keys where a change could lower it.

Times are naive local (Asia/Shanghai) in the database, so the local day of an incident is
its stored date and months are local calendar months.

Factor rules (docs/architecture.md): key persons (people.key_person_type set; checked =
last_visit, interval = visit_interval_days), rental and group-rental houses (houses.use;
checked = last_checked, interval = check_interval_days), venues (places.kind = venue),
regulated trades (places.kind = regulated_trade), dangerous-goods places
(places.subtype = dangerous_goods, which takes precedence over kind). A missing interval is
stored as 0; the scoring configuration resolves it to the kind's default when read.

Size: 679 lines because the full rebuild and the incremental ``track`` must give the same numbers,
and both are generated from the one set of aggregate rules (``_sources``); split, a rule and one of
its two uses would live apart.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from .metrics import METRIC_COLUMNS, aggregate_sql, record_sql
from .models import (
    AggFactor,
    AggIncidentDay,
    AggIncidentDistrictHour,
    AggIncidentDistrictMonth,
    AggIncidentHour,
    AggIncidentMetricDay,
    AggIncidentMetricMonth,
    AggIncidentMonth,
    AggPopulation,
    AggRecords,
    FactorKind,
    HouseUse,
    PlaceKind,
    PlaceSubtype,
)

log = logging.getLogger(__name__)

#: Basic-record tables counted in agg_records: kind -> table name.
RECORD_TABLES: dict[str, str] = {
    "people": "people",
    "houses": "houses",
    "places": "places",
    "objects": "objects",
    "events": "events",
    "incidents": "incidents",
}

#: Primary key column of each record table (single-column keys).
PRIMARY_KEYS: dict[str, str] = {
    "people": "person_id",
    "houses": "house_id",
    "places": "place_id",
    "objects": "object_id",
    "events": "event_id",
    "incidents": "incident_id",
}

TABLES = [
    AggIncidentDay,
    AggIncidentMonth,
    AggIncidentDistrictMonth,
    AggIncidentMetricDay,
    AggIncidentMetricMonth,
    AggIncidentHour,
    AggIncidentDistrictHour,
    AggFactor,
    AggPopulation,
    AggRecords,
]

#: A change touching more than this share of a table's rows refreshes that table's aggregates
#: in full (one grouped scan beats subtracting and re-adding most of the table).
FULL_SHARE = 0.1


@dataclass(frozen=True)
class _Agg:
    """One aggregate table: grouping keys, summed measures and an optional maximum."""

    table: str
    keys: tuple[str, ...]
    sums: tuple[str, ...] = ("n",)
    latest: str | None = None
    #: keys that may be NULL (compared null-safely; the table has a surrogate id instead)
    nullable_keys: bool = False
    #: the category x subtype aggregate this one can be derived from (``derive``): summed over
    #: communities (a district-wide table, no community_id: a rebuild limited to some
    #: communities re-derives it) or per headline metric (``fangcang.metrics``)
    derived_from: str | None = None

    @property
    def district_wide(self) -> bool:
        return "community_id" not in self.keys

    @property
    def columns(self) -> tuple[str, ...]:
        return self.keys + self.sums + ((self.latest,) if self.latest else ())


AGGS: dict[str, _Agg] = {
    a.table: a
    for a in (
        _Agg(
            "agg_incident_day",
            ("community_id", "day", "category", "subtype"),
            ("n", "n_alcohol", "loss_yuan"),
        ),  # fmt: skip
        _Agg(
            "agg_incident_month",
            ("community_id", "month", "category", "subtype"),
            ("n", "n_alcohol", "loss_yuan"),
        ),  # fmt: skip
        _Agg(
            "agg_incident_district_month",
            ("month", "category", "subtype"),
            ("n", "n_alcohol", "loss_yuan"),
            derived_from="agg_incident_month",
        ),  # fmt: skip
        _Agg(
            "agg_incident_metric_day",
            ("community_id", "day"),
            tuple(METRIC_COLUMNS.values()),
            derived_from="agg_incident_day",
        ),  # fmt: skip
        _Agg(
            "agg_incident_metric_month",
            ("community_id", "month"),
            tuple(METRIC_COLUMNS.values()),
            derived_from="agg_incident_month",
        ),  # fmt: skip
        _Agg("agg_incident_hour", ("community_id", "month", "dow", "hour", "category")),
        _Agg(
            "agg_incident_district_hour",
            ("month", "dow", "hour", "category"),
            derived_from="agg_incident_hour",
        ),  # fmt: skip
        _Agg(
            "agg_factor",
            ("community_id", "kind", "checked_on", "interval_days"),
            nullable_keys=True,
        ),  # fmt: skip
        _Agg("agg_population", ("community_id", "residence_type")),
        _Agg("agg_records", ("kind", "source", "community_id"), latest="last_updated"),
    )
}


@dataclass
class _Source:
    """How one record table feeds the aggregates.

    ``group``: optional ``SELECT`` (with ``{src}``) into a temporary table ``_g_<table>`` that
    the parts read (one scan of a big table for several aggregates). ``parts``: ``(aggregate,
    SELECT producing the aggregate's columns in order, condition selecting the aggregate rows
    this table owns or "")``; the SELECT reads ``{src}`` (the records) or ``{g}``.
    """

    table: str
    group: str | None = None
    parts: list[tuple[str, str, str]] = field(default_factory=list)


def _dialect_sql(dialect: str) -> dict[str, str]:
    if dialect == "sqlite":
        return {
            "day": "date(occurred_at)",
            "month": "date(occurred_at, 'start of month')",
            # strftime('%w'): 0 = Sunday; shift so 0 = Monday
            "dow": "((CAST(strftime('%w', occurred_at) AS INTEGER) + 6) % 7)",
            "hour": "CAST(strftime('%H', occurred_at) AS INTEGER)",
            "same": "IS",
        }
    if dialect == "postgresql":
        return {
            "day": "CAST(occurred_at AS DATE)",
            "month": "CAST(date_trunc('month', occurred_at) AS DATE)",
            "dow": "CAST(EXTRACT(ISODOW FROM occurred_at) AS INTEGER) - 1",
            "hour": "CAST(EXTRACT(HOUR FROM occurred_at) AS INTEGER)",
            "same": "IS NOT DISTINCT FROM",
        }
    raise ValueError(f"aggregates support sqlite and postgresql, not {dialect}")


def _sources(dialect: str) -> dict[str, _Source]:
    """The aggregate rules, once: what each record table contributes to which aggregate."""
    # Only table names and enum constants from the code are formatted in: no input (S608).
    d = _dialect_sql(dialect)
    rental, group = HouseUse.RENTAL.value, HouseUse.GROUP_RENTAL.value
    venue, trade = PlaceKind.VENUE.value, PlaceKind.REGULATED_TRADE.value
    dangerous = PlaceSubtype.DANGEROUS_GOODS.value
    fk = FactorKind
    house_factor = (
        f"CASE WHEN use = '{group}' THEN '{fk.GROUP_RENTAL_HOUSE.value}' "
        f"WHEN use = '{rental}' THEN '{fk.RENTAL_HOUSE.value}' END"
    )
    place_factor = (
        f"CASE WHEN subtype = '{dangerous}' THEN '{fk.DANGEROUS_GOODS.value}' "
        f"WHEN kind = '{venue}' THEN '{fk.VENUE.value}' "
        f"WHEN kind = '{trade}' THEN '{fk.REGULATED_TRADE.value}' END"
    )
    grouped = {
        # table: (factor kind expression, checked column, interval column, factor kinds)
        "people": (
            f"CASE WHEN key_person_type IS NOT NULL THEN '{fk.KEY_PERSON.value}' END",
            "last_visit",
            "visit_interval_days",
            [fk.KEY_PERSON],
        ),
        "houses": (
            house_factor,
            "last_checked",
            "check_interval_days",
            [fk.GROUP_RENTAL_HOUSE, fk.RENTAL_HOUSE],
        ),
        "places": (
            place_factor,
            "last_inspected",
            "inspection_interval_days",
            [fk.DANGEROUS_GOODS, fk.VENUE, fk.REGULATED_TRADE],
        ),
    }
    out: dict[str, _Source] = {}
    for table, (factor, checked, interval, kinds) in grouped.items():
        extra = ", residence_type" if table == "people" else ""
        checked_e = f"CASE WHEN {factor} IS NOT NULL THEN {checked} END"
        interval_e = f"CASE WHEN {factor} IS NOT NULL THEN COALESCE({interval}, 0) END"
        kind_list = ", ".join(f"'{k.value}'" for k in kinds)
        src = _Source(
            table,
            group=f"""SELECT community_id, source{extra}, {factor} AS factor,
                   {checked_e} AS checked_on, {interval_e} AS interval_days, count(*) AS n,
                   max(updated_at) AS last_updated
            FROM {{src}}
            GROUP BY community_id, source{extra}, {factor}, {checked_e}, {interval_e}""",
            parts=[
                (
                    "agg_records",
                    f"""SELECT '{table}', source, community_id, sum(n), max(last_updated)
                    FROM {{g}} GROUP BY source, community_id""",
                    f"kind = '{table}'",
                ),
                (
                    "agg_factor",
                    """SELECT community_id, factor, checked_on, interval_days, sum(n)
                    FROM {g} WHERE factor IS NOT NULL
                    GROUP BY community_id, factor, checked_on, interval_days""",
                    f"kind IN ({kind_list})",
                ),
            ],
        )
        if table == "people":
            src.parts.append(
                (
                    "agg_population",
                    """SELECT community_id, residence_type, sum(n) FROM {g}
                    GROUP BY community_id, residence_type""",
                    "",
                )
            )
        out[table] = src
    # one column per headline metric (fangcang.metrics), in METRIC_COLUMNS order
    metric_sums = ", ".join(f"sum({record_sql(m)})" for m in METRIC_COLUMNS)
    out["incidents"] = _Source(
        "incidents",
        parts=[
            (
                "agg_incident_day",
                f"""SELECT community_id, {d["day"]}, category, subtype, count(*),
                       sum(CASE WHEN alcohol_related THEN 1 ELSE 0 END), sum(loss_yuan)
                FROM {{src}} GROUP BY community_id, {d["day"]}, category, subtype""",
                "",
            ),
            (
                "agg_incident_month",
                f"""SELECT community_id, {d["month"]}, category, subtype, count(*),
                       sum(CASE WHEN alcohol_related THEN 1 ELSE 0 END), sum(loss_yuan)
                FROM {{src}} GROUP BY community_id, {d["month"]}, category, subtype""",
                "",
            ),
            (
                "agg_incident_district_month",
                f"""SELECT {d["month"]}, category, subtype, count(*),
                       sum(CASE WHEN alcohol_related THEN 1 ELSE 0 END), sum(loss_yuan)
                FROM {{src}} GROUP BY {d["month"]}, category, subtype""",
                "",
            ),
            *[
                (
                    f"agg_incident_metric_{grain}",
                    f"SELECT community_id, {d[grain]}, {metric_sums} FROM {{src}} "
                    f"GROUP BY community_id, {d[grain]}",
                    "",
                )
                for grain in ("day", "month")
            ],
            (
                "agg_incident_hour",
                f"""SELECT community_id, {d["month"]}, {d["dow"]}, {d["hour"]}, category,
                       count(*)
                FROM {{src}}
                GROUP BY community_id, {d["month"]}, {d["dow"]}, {d["hour"]}, category""",
                "",
            ),
            (
                "agg_incident_district_hour",
                f"""SELECT {d["month"]}, {d["dow"]}, {d["hour"]}, category, count(*)
                FROM {{src}} GROUP BY {d["month"]}, {d["dow"]}, {d["hour"]}, category""",
                "",
            ),
        ],
    )
    for table in ("incidents", "objects", "events"):
        out.setdefault(table, _Source(table)).parts.append(
            (
                "agg_records",
                f"""SELECT '{table}', source, community_id, count(*), max(updated_at)
                FROM {{src}} GROUP BY source, community_id""",
                f"kind = '{table}'",
            )
        )
    return out


def _plan(
    dialect: str, where: str = "", tables: Collection[str] | None = None
) -> list[tuple[str, list[str]]]:
    """The full rebuild as steps of SQL statements: ``[(label, [sql, ...]), ...]``.

    ``where`` (``""`` or ``"WHERE community_id IN :ids"``) limits every scan of a record table
    and every delete of aggregate rows; ``tables`` limits the rebuild to the aggregates those
    record tables own (default: all).
    """
    steps: list[tuple[str, list[str]]] = []
    cond = where.removeprefix("WHERE ").strip()
    for table, source in _sources(dialect).items():
        if tables is not None and table not in tables:
            continue
        sql: list[str] = []

        # A table derivable from another aggregate of this step (``derive``: the district-wide
        # and per-metric tables) is derived from it once that is rebuilt: a scan of ~10^5
        # aggregate rows instead of the records (a full rebuild at 385,000 incidents: 5.3 s of
        # CPU less). Limited to some communities, only the district-wide ones are derived (in
        # full); the per-metric tables are rebuilt for those communities from the records.
        def derived(agg: str) -> bool:
            return bool(AGGS[agg].derived_from) and (not cond or AGGS[agg].district_wide)

        parts = [p for p in source.parts if not derived(p[0])]
        rolled = [p[0] for p in source.parts if p not in parts]
        for agg, _, owner in parts:
            clause = " AND ".join(c for c in (owner, cond) if c)
            sql.append(f"DELETE FROM {agg}" + (f" WHERE {clause}" if clause else ""))
        src = f"{table} {where}".strip()
        g = f"_g_{table}"
        if source.group:
            sql.append(f"DROP TABLE IF EXISTS {g}")
            sql.append(f"CREATE TEMP TABLE {g} AS " + source.group.format(src=src))
        for agg, select, _ in parts:
            cols = ", ".join(AGGS[agg].columns)
            sql.append(f"INSERT INTO {agg} ({cols}) " + select.format(src=src, g=g))
        if source.group:
            sql.append(f"DROP TABLE {g}")
        for agg in rolled:
            sql += _derive_sql(AGGS[agg])
        steps.append((table, sql))
    return steps


def _derive_sql(a: _Agg) -> list[str]:
    """Replace aggregate ``a`` by the category x subtype aggregate it derives from, summed over
    communities (a district-wide table) or per headline metric (the per-metric tables)."""
    keys = ", ".join(a.keys)
    if a.table.startswith("agg_incident_metric_"):
        sums = ", ".join(f"sum({aggregate_sql(m)})" for m in METRIC_COLUMNS)
    else:
        sums = ", ".join(f"sum({c})" for c in a.sums)
    return [
        f"DELETE FROM {a.table}",
        f"INSERT INTO {a.table} ({', '.join(a.columns)}) "
        f"SELECT {keys}, {sums} FROM {a.derived_from} GROUP BY {keys}",
    ]


def derive(session: Session) -> None:
    """Re-derive the district-wide and per-metric incident aggregates from ``agg_incident_day``
    and ``agg_incident_month`` (caller's transaction): for rows of those written directly
    (tests' fixtures); the import paths keep every table from the records."""
    for a in AGGS.values():
        if a.derived_from:
            for sql in _derive_sql(a):
                _run(session, sql)


def _run(session: Session, sql: str, params: dict | None = None) -> None:
    stmt = text(sql)
    if params and ":ids" in sql:
        stmt = stmt.bindparams(bindparam("ids", expanding=True))
    session.execute(stmt, params or {})


def rebuild(
    session: Session,
    progress: Callable[[float, str], None] | None = None,
    communities: Collection[str] | None = None,
    tables: Collection[str] | None = None,
) -> dict:
    """Recompute aggregate rows from the records, in the session's transaction.

    Parameters
    ----------
    session : Session
        The caller owns the transaction: nothing is committed here.
    progress : callable(fraction, message), optional
    communities : collection of community ids, optional
        Recompute only these communities' rows (a registry correction); by default every
        community.
    tables : collection of record table names, optional
        Recompute only the aggregates these tables feed (keys of ``RECORD_TABLES``); by
        default all.

    Returns
    -------
    dict
        ``{table: rows}`` (rows in the whole table) plus ``seconds`` (total time). Inside
        ``deferred(session)`` a call limited to communities only records its request and
        returns ``{}``.

    Raises
    ------
    ValueError
        ``communities`` given but empty, or an unknown table.
    """
    dialect = session.get_bind().dialect.name
    if tables is not None:
        unknown = sorted(set(tables) - set(RECORD_TABLES))
        if unknown:
            raise ValueError(f"no aggregates are fed by {unknown}; known: {list(RECORD_TABLES)}")
    params: dict = {}
    where = ""
    if communities is not None:
        ids = sorted({c for c in communities if c})
        if not ids:
            raise ValueError("rebuild(communities=...) needs at least one community id")
        pending = session.info.get("agg_deferred")
        if pending is not None:
            for table in tables if tables is not None else RECORD_TABLES:
                pending.setdefault(table, set()).update(ids)
            return {}
        params = {"ids": ids}
        where = "WHERE community_id IN :ids"
    steps = _plan(dialect, where, tables)
    started = time.perf_counter()
    for i, (label, statements) in enumerate(steps):
        if progress:
            progress(i / len(steps), label)
        for sql in statements:
            _run(session, sql, params)
    out: dict = {}
    for model in TABLES:
        name = model.__tablename__
        out[name] = int(session.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())
    if progress:
        progress(1.0, "done")
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out


@contextmanager
def deferred(session: Session) -> Iterator[None]:
    """Collect the community-limited ``rebuild`` calls made inside; run them once at the end.

    For batches of registry corrections (the demo decides hundreds): one grouped scan per
    record table over the union of the communities instead of one per correction.
    """
    if session.info.get("agg_deferred") is not None:  # nested: the outer one runs them
        yield
        return
    pending: dict[str, set[str]] = {}
    session.info["agg_deferred"] = pending
    try:
        yield
    finally:
        session.info.pop("agg_deferred", None)
    session.flush()
    for table in RECORD_TABLES:  # a fixed order
        if pending.get(table):
            rebuild(session, communities=pending[table], tables=[table])


# ---------------------------------------------------------------------------------------------
# Incremental maintenance
# ---------------------------------------------------------------------------------------------
@dataclass
class TrackStats:
    """What one ``track`` did: records touched per table, tables refreshed in full, seconds."""

    touched: dict[str, int] = field(default_factory=dict)
    full: list[str] = field(default_factory=list)
    seconds: float = 0.0


@contextmanager
def track(
    session: Session,
    records: dict[str, Iterable],
    *,
    full_share: float | None = None,
) -> Iterator[TrackStats]:
    """Keep the aggregates in step with a change to the named records, in the caller's transaction.

    Usage::

        with aggregates.track(session, {"people": [person_id, ...]}):
            ...  # insert, update or delete those people (ORM or SQL)

    Before the block the named records' contributions to every aggregate they feed are
    subtracted; after it the contributions of the same keys (as they are now: new, changed,
    or gone) are added. Records left unchanged cancel out, so naming more than was changed is
    harmless. A table whose named records exceed ``full_share`` of its rows (or that is empty
    before) has its aggregates rebuilt in full after the block instead.

    Parameters
    ----------
    session : Session
        Flushed before and after the block; nothing is committed.
    records : {record table: iterable of primary keys}
        Tables are keys of ``RECORD_TABLES``.
    full_share : float, optional
        See above (default ``FULL_SHARE``).

    Yields
    ------
    TrackStats
        Filled in when the block ends.

    Raises
    ------
    ValueError
        Unknown table.
    """
    unknown = sorted(set(records) - set(RECORD_TABLES))
    if unknown:
        raise ValueError(f"no aggregates are fed by {unknown}; known: {list(RECORD_TABLES)}")
    share = FULL_SHARE if full_share is None else full_share
    stats = TrackStats()
    t0 = time.perf_counter()
    dialect = session.get_bind().dialect.name
    sources = _sources(dialect)
    session.flush()
    delta: dict[str, list] = {}
    full: list[str] = []
    for table, keys in records.items():
        ids = sorted({str(k) for k in keys if k is not None and k == k})
        if not ids:
            continue
        stats.touched[table] = len(ids)
        # The table's size from its aggregate (instant; 0 when never aggregated: full rebuild).
        n = int(
            session.execute(
                text("SELECT COALESCE(sum(n), 0) FROM agg_records WHERE kind = :kind"),
                {"kind": table},
            ).scalar_one()
        )
        if not n or len(ids) > share * n:
            full.append(table)
        else:
            delta[table] = ids
    aggs = sorted({agg for t in delta for agg, _, _ in sources[t].parts})
    for agg in aggs:
        _run(session, f"DROP TABLE IF EXISTS _d_{agg}")
        cols = ", ".join(AGGS[agg].columns)
        _run(
            session,
            f"CREATE TEMP TABLE _d_{agg} AS SELECT {cols}, 1 AS sign FROM {agg} WHERE 1 = 0",
        )
    for table, ids in delta.items():
        _run(session, f"DROP TABLE IF EXISTS _k_{table}")
        _run(session, f"CREATE TEMP TABLE _k_{table} (id VARCHAR(64) PRIMARY KEY)")
        session.execute(text(f"INSERT INTO _k_{table} (id) VALUES (:id)"), [{"id": i} for i in ids])
        _contribute(session, sources[table], -1)
    stats.seconds = time.perf_counter() - t0
    yield stats
    t1 = time.perf_counter()
    session.flush()
    for table in delta:
        _contribute(session, sources[table], 1)
        _run(session, f"DROP TABLE _k_{table}")
    for agg in aggs:
        _apply(session, AGGS[agg], dialect, [t for t in delta if t in RECORD_TABLES])
        _run(session, f"DROP TABLE _d_{agg}")
    if full:
        rebuild(session, tables=full)
    stats.full = full
    stats.seconds = round(stats.seconds + time.perf_counter() - t1, 3)


def _contribute(session: Session, source: _Source, sign: int) -> None:
    """Add the tracked records' current contributions, times ``sign``, to the _d_ tables."""
    table = source.table
    pk = PRIMARY_KEYS[table]
    # The touched rows first, by primary key (a join the planner might turn into a scan of the
    # whole table, ordered for the GROUP BY), then the grouping on that small copy.
    src = f"_r_{table}"
    _run(session, f"DROP TABLE IF EXISTS {src}")
    _run(
        session,
        f"CREATE TEMP TABLE {src} AS SELECT * FROM {table} "
        f"WHERE {pk} IN (SELECT id FROM _k_{table})",
    )
    g = f"_g_{table}"
    if source.group:
        _run(session, f"DROP TABLE IF EXISTS {g}")
        _run(session, f"CREATE TEMP TABLE {g} AS " + source.group.format(src=src))
    for agg, select, _ in source.parts:
        cols = ", ".join(AGGS[agg].columns)
        _run(
            session,
            f"INSERT INTO _d_{agg} ({cols}, sign) SELECT q.*, {sign} FROM ("
            + select.format(src=src, g=g)
            + ") q",
        )
    if source.group:
        _run(session, f"DROP TABLE {g}")
    _run(session, f"DROP TABLE {src}")


def _apply(session: Session, a: _Agg, dialect: str, tables: list[str]) -> None:
    """Fold the collected contributions (_d_<agg>) into the aggregate table."""
    same = _dialect_sql(dialect)["same"]
    m = f"_m_{a.table}"
    keys = ", ".join(a.keys)
    sums = ", ".join(f"sum(sign * {c}) AS {c}" for c in a.sums)
    latest = ""
    if a.latest:
        latest = (
            f", max(CASE WHEN sign > 0 THEN {a.latest} END) AS new_latest"
            f", max(CASE WHEN sign < 0 THEN {a.latest} END) AS old_latest"
        )
    changed = " OR ".join(f"{c} <> 0" for c in a.sums)
    if a.latest:
        changed += (
            " OR (new_latest IS NOT NULL AND (old_latest IS NULL OR new_latest <> old_latest))"
        )
    _run(session, f"DROP TABLE IF EXISTS {m}")
    _run(
        session,
        f"CREATE TEMP TABLE {m} AS SELECT {keys}, {sums}{latest} FROM _d_{a.table} GROUP BY {keys}",
    )
    if a.nullable_keys:
        match = " AND ".join(
            f"{a.table}.{k} {same} {m}.{k}" if k == "checked_on" else f"{a.table}.{k} = {m}.{k}"
            for k in a.keys
        )
        sets = ", ".join(f"{c} = {c} + (SELECT {m}.{c} FROM {m} WHERE {match})" for c in a.sums)
        _run(
            session,
            f"UPDATE {a.table} SET {sets} WHERE community_id IN (SELECT community_id FROM {m}) "
            f"AND EXISTS (SELECT 1 FROM {m} WHERE {match})",
        )
        cols = ", ".join(a.keys + a.sums)
        mcols = ", ".join(f"{m}.{c}" for c in a.keys + a.sums)
        _run(
            session,
            f"INSERT INTO {a.table} ({cols}) SELECT {mcols} FROM {m} "
            f"WHERE ({changed}) AND NOT EXISTS (SELECT 1 FROM {a.table} WHERE {match})",
        )
        _run(
            session,
            f"DELETE FROM {a.table} WHERE n = 0 AND community_id IN (SELECT community_id FROM {m})",
        )
    else:
        cols = ", ".join(a.columns)
        picked = ", ".join(a.keys + a.sums + (("new_latest",) if a.latest else ()))
        sets = [f"{c} = {a.table}.{c} + excluded.{c}" for c in a.sums]
        if a.latest:
            c = a.latest
            sets.append(
                f"{c} = CASE WHEN excluded.{c} IS NULL OR {a.table}.{c} >= excluded.{c} "
                f"THEN {a.table}.{c} ELSE excluded.{c} END"
            )
        _run(
            session,
            f"INSERT INTO {a.table} ({cols}) SELECT {picked} FROM {m} WHERE {changed} "
            f"ON CONFLICT ({keys}) DO UPDATE SET {', '.join(sets)}",
        )
        if a.latest:
            # A maximum cannot be decremented: where a change may have lowered it (an older
            # row moved away or got an earlier time), recompute it from the records.
            stale = (
                f"SELECT {keys} FROM {m} WHERE old_latest IS NOT NULL "
                "AND (new_latest IS NULL OR new_latest < old_latest)"
            )
            for table in tables:
                _run(
                    session,
                    f"UPDATE {a.table} SET {a.latest} = (SELECT max(t.updated_at) FROM {table} t "
                    f"WHERE t.community_id = {a.table}.community_id "
                    f"AND t.source = {a.table}.source) "
                    f"WHERE kind = '{table}' AND ({keys}) IN ({stale})",
                )
        _run(
            session,
            f"DELETE FROM {a.table} WHERE n = 0 AND ({keys}) IN (SELECT {keys} FROM {m})",
        )
    _run(session, f"DROP TABLE {m}")


# ---------------------------------------------------------------------------------------------
# Staged loads (fangcang.importer.staged): aggregates of a staging copy, swapped in at once
# ---------------------------------------------------------------------------------------------
def stage_sql(table: str, src: str, dialect: str) -> tuple[list[str], list[tuple[str, str, str]]]:
    """SQL that computes ``table``'s whole contribution to the aggregates from ``src`` (a
    staging copy of the table) into temporary tables, reading only; and the swap plan.

    Returns
    -------
    (statements, parts)
        ``statements`` to run on the connection that later swaps; ``parts`` =
        ``[(aggregate, temporary table, owner condition or "")]`` for ``swap_in``.

    Raises
    ------
    ValueError
        Unknown table.
    """
    if table not in RECORD_TABLES:
        raise ValueError(f"no aggregates are fed by {table!r}; known: {list(RECORD_TABLES)}")
    source = _sources(dialect)[table]
    g = f"_g_{table}"
    sql: list[str] = []
    if source.group:
        sql += [
            f"DROP TABLE IF EXISTS {g}",
            f"CREATE TEMP TABLE {g} AS " + source.group.format(src=src),
        ]
    parts = []
    for agg, select, owner in source.parts:
        tmp = f"_s_{table}_{agg}"
        order = ", ".join(str(i + 1) for i in range(len(AGGS[agg].keys)))
        sql += [
            f"DROP TABLE IF EXISTS {tmp}",
            f"CREATE TEMP TABLE {tmp} AS SELECT * FROM ("
            + select.format(src=src, g=g)
            + f") q ORDER BY {order}",
        ]
        parts.append((agg, tmp, owner))
    if source.group:
        sql.append(f"DROP TABLE {g}")
    return sql, parts


def swap_in(session: Session, parts: list[tuple[str, str, str]]) -> None:
    """Replace a table's aggregate rows by those ``stage_sql`` computed (caller's transaction)."""
    for agg, tmp, owner in parts:
        cols = ", ".join(AGGS[agg].columns)
        _run(session, f"DELETE FROM {agg}" + (f" WHERE {owner}" if owner else ""))
        _run(session, f"INSERT INTO {agg} ({cols}) SELECT * FROM {tmp}")
        _run(session, f"DROP TABLE {tmp}")
