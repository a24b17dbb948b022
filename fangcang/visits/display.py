"""What the visits page shows, as plain frames and texts (no Streamlit): the discrepancy queue
and the registry changes as display tables, the coverage headline and table, how a field value
and a proposed change read. The page (pages/visits.py, ui/visits.py) only renders these.

Column headers are localized labels (``vh.col.*``); values stay as computed by
``visits.discrepancy_queue``, ``visits.visit_measures`` and ``visits.registry_changes`` (personal
columns are masked there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ..i18n import enum_label, fmt_int, t
from ..models import DiscrepancyStatus, DiscrepancyType, HouseUse


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value == ""


def type_label(value: str, lang: str) -> str:
    """Label of a discrepancy type (``DiscrepancyType`` value)."""
    return enum_label(DiscrepancyType(value), lang)


def field_label(field: str, lang: str) -> str:
    """Label of a registry field a discrepancy proposes to change."""
    return t(f"vh.field.{field}", lang)


def value_text(field: str, value, lang: str) -> str:
    """How a registry value reads: "none" for a missing one, the house use's label for ``use``."""
    if _missing(value):
        return t("visits.none", lang)
    if field == "use":
        return enum_label(HouseUse(value), lang)
    return str(value)


def change_text(field: str, old, new, lang: str) -> str:
    """One proposed or made change: ``old → new``, or "new person: <name>" for ``new``."""
    if field == "new":
        return f"{t('visits.new_person', lang)}: {new}"
    return f"{value_text(field, old, lang)} → {value_text(field, new, lang)}"


def queue_table(
    queue: pd.DataFrame,
    names: Mapping[str, str],
    lang: str,
    *,
    one_community: bool,
    status: DiscrepancyStatus | str,
) -> pd.DataFrame:
    """The discrepancy queue (``visits.discrepancy_queue``) as the table the page shows.

    ``names`` maps community ids to names; ``one_community`` leaves the community column out
    (its name in every row is noise); decided queues (``status`` not open) add who decided,
    when and why.
    """
    show = pd.DataFrame(
        {
            t("vh.col.id", lang): queue["id"],
            t("vh.col.type", lang): queue["type"].map(lambda v: type_label(v, lang)),
            t("vh.col.community", lang): queue["community_id"].map(lambda c: names.get(c, c)),
            t("vh.col.house", lang): queue["house_id"] + " · " + queue["address"].fillna(""),
            t("vh.col.name", lang): queue["name"],
            t("vh.col.change", lang): [
                change_text(f, o, n, lang)
                for f, o, n in zip(
                    queue["field"], queue["old_value"], queue["new_value"], strict=True
                )
            ],
            t("vh.col.confidence", lang): queue["confidence"].map(
                lambda c: "" if c is None or pd.isna(c) else f"{c:.2f}"
            ),
            t("vh.col.found", lang): queue["created_at"],
        }
    )
    if one_community:
        show = show.drop(columns=[t("vh.col.community", lang)])
    if DiscrepancyStatus(status) != DiscrepancyStatus.OPEN:
        show[t("vh.col.decided_by", lang)] = queue["decided_by"]
        show[t("vh.col.decided_at", lang)] = queue["decided_at"]
        show[t("vh.col.reason", lang)] = queue["reason"]
    return show


@dataclass(frozen=True)
class Coverage:
    """The coverage headline of a set of communities (one row each of ``visit_measures``)."""

    houses: int
    share_90: float | None  # share of houses visited in the last 90 days (0..1)
    share_365: float | None
    verified: float | None  # share of houses whose registry a visit verified
    open_total: int  # open discrepancies
    oldest_open_days: int | None
    open_by_type: dict[DiscrepancyType, int]  # every type, 0 included


def coverage(measures: pd.DataFrame) -> Coverage:
    """Sum ``visit_measures`` rows into the headline (shares of all houses; None without
    houses)."""
    houses = int(measures["houses"].sum())

    def share(column: str) -> float | None:
        return None if houses == 0 else float(measures[column].sum()) / houses

    oldest = measures["oldest_open_days"].dropna()
    return Coverage(
        houses=houses,
        share_90=share("visited_90"),
        share_365=share("visited_365"),
        verified=share("verified"),
        open_total=int(measures["open_total"].sum()),
        oldest_open_days=None if oldest.empty else int(oldest.max()),
        open_by_type={x: int(measures[f"open_{x.value}"].sum()) for x in DiscrepancyType},
    )


def percent_text(share: float | None) -> str:
    """``12.3%`` or a dash when there is nothing to divide by."""
    return "—" if share is None else f"{100 * share:.1f}%"


def count_text(n: int | None, lang: str) -> str:
    return "—" if n is None else fmt_int(n, lang)


def coverage_table(measures: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Coverage per community (shares in percent), least verified first."""
    table = pd.DataFrame(
        {
            t("vh.col.community", lang): measures["name"],
            t("vh.col.houses", lang): measures["houses"],
            t("vh.col.share_90", lang): measures["share_90"] * 100,
            t("vh.col.share_365", lang): measures["share_365"] * 100,
            t("vh.col.verified_share", lang): measures["verified_share"] * 100,
            t("vh.col.open_total", lang): measures["open_total"],
            t("vh.col.oldest_open_days", lang): measures["oldest_open_days"].map(
                lambda d: "—" if d is None or pd.isna(d) else str(int(d))
            ),
        }
    )
    return table.sort_values(t("vh.col.verified_share", lang))


def changes_table(changes: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Registry changes made from visits (``visits.registry_changes``) as displayed."""
    return pd.DataFrame(
        {
            t("vh.col.at", lang): changes["at"],
            t("vh.col.actor", lang): changes["actor"],
            t("vh.col.type", lang): changes["type"].map(lambda v: type_label(v, lang)),
            t("vh.col.record", lang): changes["record_id"],
            t("vh.col.field", lang): changes["field"].map(lambda f: field_label(f, lang)),
            t("vh.col.old", lang): [
                value_text(f, v, lang)
                for f, v in zip(changes["field"], changes["old_value"], strict=True)
            ],
            t("vh.col.new", lang): [
                value_text(f, v, lang)
                for f, v in zip(changes["field"], changes["new_value"], strict=True)
            ],
        }
    )
