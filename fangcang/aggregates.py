"""Rebuild the pre-aggregated tables that dashboards read (agg_*), in SQL.

Every import calls ``rebuild`` inside its own transaction, so readers see either the old
aggregates with the old records or the new ones with the new records. A full rebuild is a
handful of ``INSERT ... SELECT ... GROUP BY`` statements (seconds at 3.8 M records), simpler
and safer than incremental maintenance.

Times are naive local (Asia/Shanghai) in the database, so the local day of an incident is
its stored date and months are local calendar months.

Factor rules (docs/architecture.md): key persons (people.key_person_type set; checked =
last_visit, interval = visit_interval_days), rental and group-rental houses (houses.use;
checked = last_checked, interval = check_interval_days), venues (places.kind = venue),
regulated trades (places.kind = regulated_trade), dangerous-goods places
(places.subtype = dangerous_goods, which takes precedence over kind). A missing interval is
stored as 0; the scoring configuration resolves it to the kind's default when read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from .models import (
    AggFactor,
    AggIncidentDay,
    AggIncidentHour,
    AggPopulation,
    AggRecords,
    FactorKind,
    HouseUse,
    PlaceKind,
    PlaceSubtype,
)

#: Basic-record tables counted in agg_records: kind -> table name.
RECORD_TABLES: dict[str, str] = {
    "people": "people",
    "houses": "houses",
    "places": "places",
    "objects": "objects",
    "events": "events",
    "incidents": "incidents",
}

TABLES = [AggIncidentDay, AggIncidentHour, AggFactor, AggPopulation, AggRecords]


def _dialect_sql(dialect: str) -> dict[str, str]:
    if dialect == "sqlite":
        return {
            "day": "date(occurred_at)",
            "month": "date(occurred_at, 'start of month')",
            # strftime('%w'): 0 = Sunday; shift so 0 = Monday
            "dow": "((CAST(strftime('%w', occurred_at) AS INTEGER) + 6) % 7)",
            "hour": "CAST(strftime('%H', occurred_at) AS INTEGER)",
        }
    if dialect == "postgresql":
        return {
            "day": "CAST(occurred_at AS DATE)",
            "month": "CAST(date_trunc('month', occurred_at) AS DATE)",
            "dow": "CAST(EXTRACT(ISODOW FROM occurred_at) AS INTEGER) - 1",
            "hour": "CAST(EXTRACT(HOUR FROM occurred_at) AS INTEGER)",
        }
    raise ValueError(f"aggregates support sqlite and postgresql, not {dialect}")


def _plan(dialect: str, where: str = "") -> list[tuple[str, list[str]]]:
    """The rebuild as steps of SQL statements: ``[(label, [sql, ...]), ...]``.

    ``where`` (``""`` or ``"WHERE community_id IN :ids"``) limits every scan of a record table.

    Each big table is scanned once where possible: people, houses and places are first
    grouped into a small temporary table (community x source x the factor's columns) from
    which their agg_records, agg_population and agg_factor rows are summed.
    """
    # Only table names and enum constants from the code are formatted in: no input (S608).
    d = _dialect_sql(dialect)
    rental, group = HouseUse.RENTAL.value, HouseUse.GROUP_RENTAL.value
    venue, trade = PlaceKind.VENUE.value, PlaceKind.REGULATED_TRADE.value
    dangerous = PlaceSubtype.DANGEROUS_GOODS.value
    fk = FactorKind
    is_kp = "key_person_type IS NOT NULL"
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
        # table: (factor kind expression, checked column, interval column)
        "people": (
            f"CASE WHEN {is_kp} THEN '{fk.KEY_PERSON.value}' END",
            "last_visit",
            "visit_interval_days",
        ),
        "houses": (house_factor, "last_checked", "check_interval_days"),
        "places": (place_factor, "last_inspected", "inspection_interval_days"),
    }
    steps: list[tuple[str, list[str]]] = []
    for table, (factor, checked, interval) in grouped.items():
        extra = ", residence_type" if table == "people" else ""
        checked_e = f"CASE WHEN {factor} IS NOT NULL THEN {checked} END"
        interval_e = f"CASE WHEN {factor} IS NOT NULL THEN COALESCE({interval}, 0) END"
        sql = [
            f"""CREATE TEMP TABLE _agg_{table} AS
            SELECT community_id, source{extra}, {factor} AS factor, {checked_e} AS checked_on,
                   {interval_e} AS interval_days, count(*) AS n,
                   max(updated_at) AS last_updated
            FROM {table} {where}
            GROUP BY community_id, source{extra}, {factor}, {checked_e}, {interval_e}""",  # noqa: S608
            f"""INSERT INTO agg_records (kind, source, community_id, n, last_updated)
            SELECT '{table}', source, community_id, sum(n), max(last_updated)
            FROM _agg_{table} GROUP BY source, community_id""",  # noqa: S608
            f"""INSERT INTO agg_factor (community_id, kind, checked_on, interval_days, n)
            SELECT community_id, factor, checked_on, interval_days, sum(n)
            FROM _agg_{table} WHERE factor IS NOT NULL
            GROUP BY community_id, factor, checked_on, interval_days""",  # noqa: S608
        ]
        if table == "people":
            sql.append(
                """INSERT INTO agg_population (community_id, residence_type, n)
                SELECT community_id, residence_type, sum(n) FROM _agg_people
                GROUP BY community_id, residence_type"""
            )
        sql.append(f"DROP TABLE _agg_{table}")
        steps.append((table, sql))
    steps.append(
        (
            "incidents",
            [
                f"""INSERT INTO agg_incident_day
                    (community_id, day, category, subtype, n, n_alcohol, loss_yuan)
                SELECT community_id, {d["day"]}, category, subtype, count(*),
                       sum(CASE WHEN alcohol_related THEN 1 ELSE 0 END), sum(loss_yuan)
                FROM incidents {where}
                GROUP BY community_id, {d["day"]}, category, subtype""",  # noqa: S608
                f"""INSERT INTO agg_incident_hour (community_id, month, dow, hour, category, n)
                SELECT community_id, {d["month"]}, {d["dow"]}, {d["hour"]}, category, count(*)
                FROM incidents {where}
                GROUP BY community_id, {d["month"]}, {d["dow"]}, {d["hour"]}, category""",  # noqa: S608
            ],
        )
    )
    for table in ("incidents", "objects", "events"):
        steps.append(
            (
                f"{table} records" if table == "incidents" else table,
                [
                    f"""INSERT INTO agg_records (kind, source, community_id, n, last_updated)
                    SELECT '{table}', source, community_id, count(*), max(updated_at)
                    FROM {table} {where} GROUP BY source, community_id"""  # noqa: S608
                ],
            )
        )
    return steps


def rebuild(
    session: Session,
    progress: Callable[[float, str], None] | None = None,
    communities: Collection[str] | None = None,
) -> dict:
    """Recompute the agg_* tables from the records, in the session's transaction.

    Parameters
    ----------
    session : Session
        The caller owns the transaction (the importer's): nothing is committed here.
    progress : callable(fraction, message), optional
    communities : collection of community ids, optional
        Recompute only these communities' rows (milliseconds: used after a single registry
        correction); by default everything is rebuilt.

    Returns
    -------
    dict
        ``{table: rows}`` (rows in the whole table) plus ``seconds`` (total time).
    """
    dialect = session.get_bind().dialect.name
    params: dict = {}
    where = ""
    if communities is not None:
        ids = sorted({c for c in communities if c})
        if not ids:
            raise ValueError("rebuild(communities=...) needs at least one community id")
        params = {"ids": ids}
        where = "WHERE community_id IN :ids"
    steps = _plan(dialect, where)
    started = time.perf_counter()

    def run(sql: str) -> None:
        stmt = text(sql)
        if ":ids" in sql:
            stmt = stmt.bindparams(bindparam("ids", expanding=True))
            session.execute(stmt, params)
        else:
            session.execute(stmt)

    for model in TABLES:
        run(f"DELETE FROM {model.__tablename__} {where}")  # noqa: S608
    for i, (label, statements) in enumerate(steps):
        if progress:
            progress(i / len(steps), label)
        for sql in statements:
            run(sql)
    out: dict = {}
    for model in TABLES:
        name = model.__tablename__
        out[name] = int(session.execute(text(f"SELECT count(*) FROM {name}")).scalar_one())  # noqa: S608
    if progress:
        progress(1.0, "done")
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out
