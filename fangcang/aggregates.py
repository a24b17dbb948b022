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
from collections.abc import Callable

from sqlalchemy import text
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


def _statements(dialect: str) -> list[tuple[str, str]]:
    # Only table names and enum constants from the code are formatted in: no input (S608).
    d = _dialect_sql(dialect)
    rental, group = HouseUse.RENTAL.value, HouseUse.GROUP_RENTAL.value
    venue, trade = PlaceKind.VENUE.value, PlaceKind.REGULATED_TRADE.value
    dangerous = PlaceSubtype.DANGEROUS_GOODS.value
    fk = FactorKind
    records = " UNION ALL ".join(
        f"SELECT '{kind}' AS kind, source, community_id, count(*) AS n, "  # noqa: S608
        f"max(updated_at) AS last_updated FROM {table} GROUP BY source, community_id"
        for kind, table in RECORD_TABLES.items()
    )
    return [
        (
            "agg_incident_day",
            f"""INSERT INTO agg_incident_day
                (community_id, day, category, subtype, n, n_alcohol, loss_yuan)
            SELECT community_id, {d["day"]}, category, subtype, count(*),
                   sum(CASE WHEN alcohol_related THEN 1 ELSE 0 END), sum(loss_yuan)
            FROM incidents
            GROUP BY community_id, {d["day"]}, category, subtype""",  # noqa: S608
        ),
        (
            "agg_incident_hour",
            f"""INSERT INTO agg_incident_hour (community_id, month, dow, hour, category, n)
            SELECT community_id, {d["month"]}, {d["dow"]}, {d["hour"]}, category, count(*)
            FROM incidents
            GROUP BY community_id, {d["month"]}, {d["dow"]}, {d["hour"]}, category""",  # noqa: S608
        ),
        (
            "agg_factor",
            f"""INSERT INTO agg_factor (community_id, kind, checked_on, interval_days, n)
            SELECT community_id, kind, checked_on, interval_days, count(*) FROM (
                SELECT community_id, '{fk.KEY_PERSON.value}' AS kind, last_visit AS checked_on,
                       COALESCE(visit_interval_days, 0) AS interval_days
                FROM people WHERE key_person_type IS NOT NULL
                UNION ALL
                SELECT community_id,
                       CASE WHEN use = '{group}' THEN '{fk.GROUP_RENTAL_HOUSE.value}'
                            ELSE '{fk.RENTAL_HOUSE.value}' END,
                       last_checked, COALESCE(check_interval_days, 0)
                FROM houses WHERE use IN ('{rental}', '{group}')
                UNION ALL
                SELECT community_id,
                       CASE WHEN subtype = '{dangerous}' THEN '{fk.DANGEROUS_GOODS.value}'
                            WHEN kind = '{venue}' THEN '{fk.VENUE.value}'
                            ELSE '{fk.REGULATED_TRADE.value}' END,
                       last_inspected, COALESCE(inspection_interval_days, 0)
                FROM places
                WHERE subtype = '{dangerous}' OR kind IN ('{venue}', '{trade}')
            ) AS factors
            GROUP BY community_id, kind, checked_on, interval_days""",  # noqa: S608
        ),
        (
            "agg_population",
            """INSERT INTO agg_population (community_id, residence_type, n)
            SELECT community_id, residence_type, count(*) FROM people
            GROUP BY community_id, residence_type""",
        ),
        (
            "agg_records",
            f"""INSERT INTO agg_records (kind, source, community_id, n, last_updated)
            {records}""",
        ),
    ]


def rebuild(session: Session, progress: Callable[[float, str], None] | None = None) -> dict:
    """Recompute every agg_* table from the records, in the session's transaction.

    Parameters
    ----------
    session : Session
        The caller owns the transaction (the importer's): nothing is committed here.
    progress : callable(fraction, message), optional

    Returns
    -------
    dict
        ``{table: rows}`` plus ``seconds`` (total time).
    """
    dialect = session.get_bind().dialect.name
    statements = _statements(dialect)
    started = time.perf_counter()
    out: dict = {}
    for i, (table, sql) in enumerate(statements):
        if progress:
            progress(i / len(statements), table)
        session.execute(text(f"DELETE FROM {table}"))  # noqa: S608
        session.execute(text(sql))
        out[table] = int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())  # noqa: S608
    if progress:
        progress(1.0, "done")
    out["seconds"] = round(time.perf_counter() - started, 3)
    return out
