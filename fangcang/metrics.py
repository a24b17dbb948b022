"""The headline incident metrics, defined once: which incidents each key counts.

``fangcang.incidents`` turns a key into SQL on the aggregate tables or a filter on a counted
frame; ``fangcang.aggregates`` turns the headline metrics into the columns of the per-metric
tables (``agg_incident_metric_day`` / ``_month``: one column per metric, ``METRIC_COLUMNS``)
with ``record_sql``. Kept apart from ``incidents`` so that the aggregates (the importer's
path) do not import the statistics behind the year-on-year figures.

- ``total``: every incident (110 警情总量);
- ``crime``: criminal + public-order incidents (``models.CRIME_CATEGORIES``, 刑事治安警情);
- ``assault`` and ``telecom_fraud``: incidents of that subtype;
- ``alcohol``: alcohol-related incidents (the aggregates' ``n_alcohol``);
- ``category.<value>``: one ``IncidentCategory``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .models import CRIME_CATEGORIES, IncidentCategory, IncidentSubtype

#: The headline metrics, in display order (i18n key ``metric.<key>``).
METRICS: tuple[str, ...] = ("total", "crime", "assault", "telecom_fraud", "alcohol")


@dataclass(frozen=True)
class Spec:
    """What one key counts: categories (None: all), subtype (None: all), and the column of the
    category x subtype aggregates it sums (``n`` or ``n_alcohol``)."""

    categories: frozenset[str] | None
    subtype: str | None
    column: str


_CRIME = frozenset(c.value for c in CRIME_CATEGORIES)
SPECS: dict[str, Spec] = {
    "total": Spec(None, None, "n"),
    "crime": Spec(_CRIME, None, "n"),
    "assault": Spec(None, IncidentSubtype.ASSAULT.value, "n"),
    "telecom_fraud": Spec(None, IncidentSubtype.TELECOM_FRAUD.value, "n"),
    "alcohol": Spec(None, None, "n_alcohol"),
    **{f"category.{c.value}": Spec(frozenset({c.value}), None, "n") for c in IncidentCategory},
}

#: Headline metric -> its column in the per-metric tables (``n`` first: the aggregates drop a
#: row whose ``n`` falls to 0).
METRIC_COLUMNS: dict[str, str] = {m: "n" if m == "total" else f"n_{m}" for m in METRICS}


def _conditions(spec: Spec) -> list[str]:
    conditions = []
    if spec.categories is not None:
        conditions.append(
            "category IN (" + ", ".join(f"'{c}'" for c in sorted(spec.categories)) + ")"
        )
    if spec.subtype is not None:
        conditions.append(f"subtype = '{spec.subtype}'")
    return conditions


def record_sql(key: str) -> str:
    """SQL counting one incident record towards metric ``key`` (1 or 0), on the columns of
    ``incidents``; only enum values from the code are formatted in."""
    spec = SPECS[key]
    conditions = _conditions(spec)
    if spec.column == "n_alcohol":
        conditions.append("alcohol_related")
    if not conditions:
        return "1"
    return f"CASE WHEN {' AND '.join(conditions)} THEN 1 ELSE 0 END"


def aggregate_sql(key: str) -> str:
    """SQL of one category x subtype aggregate row's count towards metric ``key``."""
    spec = SPECS[key]
    conditions = _conditions(spec)
    if not conditions:
        return spec.column
    return f"CASE WHEN {' AND '.join(conditions)} THEN {spec.column} ELSE 0 END"
