"""Recording a visit (from the phone form or a visits.csv row group)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from .. import audit, checks, db
from ..access import Scope
from ..models import FactorKind, House, HouseUse, Visit, VisitResident
from ..phone import normalize_phone
from ..privacy import mask_phone
from ..timeutil import now_local
from .matching import Observed, id_number_valid, normalize_id
from .reconcile import ReconcileResult, reconcile

#: Clock skew tolerated between a phone and the server.
FUTURE_SKEW = timedelta(minutes=10)


def validate_resident(o: Observed, where: str = "resident") -> Observed:
    """Check one observed person; return it normalised. Raises ``ValueError`` naming the field.

    A person needs a name and either an ID number or a phone or a birth date (something to
    match on besides the name).
    """
    name = (o.name or "").strip()
    if not name:
        raise ValueError(f"{where}: name is required")
    if len(name) > 64:
        raise ValueError(f"{where}: name is longer than 64 characters")
    id_number = normalize_id(o.id_number)
    if id_number is not None and not id_number_valid(id_number):
        raise ValueError(
            f"{where}: ID number {id_number!r} is not a valid 18-character ID number "
            "(length, digits, birth date or check digit)"
        )
    # One phone rule for people, officers and visits: validated and stored canonically.
    phone, why = normalize_phone(o.phone)
    if why is not None:
        raise ValueError(f"{where}: phone {mask_phone(str(o.phone).strip())!r}: {why}")
    if o.birth_date is not None:
        if not isinstance(o.birth_date, date):
            raise ValueError(f"{where}: birth date must be a date")
        if o.birth_date > now_local().date() or o.birth_date.year < 1900:
            raise ValueError(f"{where}: birth date {o.birth_date} is impossible")
    if id_number is None and phone is None and o.birth_date is None:
        raise ValueError(f"{where}: give an ID number, or a phone or birth date with the name")
    return Observed(name, id_number, phone, o.birth_date)


def add_visit(
    session: Session,
    *,
    house: House,
    visited_at: datetime,
    recorded_by: str,
    officer_id: str | None,
    observed_use: HouseUse | None,
    observed_count: int | None,
    residents: Sequence[Observed],
    notes: str,
    source: str,
) -> Visit:
    """Insert a validated visit and its residents (no reconciliation, no audit)."""
    visit = Visit(
        house_id=house.house_id,
        community_id=house.community_id,
        officer_id=officer_id or None,
        visited_at=visited_at,
        observed_use=observed_use,
        observed_count=observed_count,
        notes=notes or "",
        source=source,
        recorded_by=recorded_by,
        created_at=now_local(),
    )
    session.add(visit)
    session.flush()
    for o in residents:
        session.add(
            VisitResident(
                visit_id=visit.id,
                name=o.name.strip(),
                id_number=o.id_number,
                phone=o.phone,
                birth_date=o.birth_date,
            )
        )
    session.flush()
    return visit


def recorded_count(observed_count: int | None, observed_use: HouseUse | None) -> int | None:
    """The head count as recorded: ``None`` when not recorded. 0 counts as not recorded (a
    form field left at its default) except at a house seen vacant."""
    if observed_count is None:
        return None
    n = int(observed_count)
    if n == 0 and observed_use is not HouseUse.VACANT:
        return None
    return n


def check_visit_fields(
    visited_at: datetime, observed_use, observed_count: int | None, n_residents: int
) -> HouseUse | None:
    """Validate the visit-level fields; return the observed use as a ``HouseUse``."""
    if not isinstance(visited_at, datetime):
        raise ValueError("visited_at must be a date and time")
    if visited_at > now_local() + FUTURE_SKEW:
        raise ValueError(f"visited_at {visited_at:%Y-%m-%d %H:%M} is in the future")
    if observed_use is not None and observed_use != "":
        try:
            observed_use = HouseUse(observed_use)
        except ValueError:
            allowed = ", ".join(u.value for u in HouseUse)
            raise ValueError(f"observed use {observed_use!r} is not one of: {allowed}") from None
    else:
        observed_use = None
    if observed_count is not None:
        if int(observed_count) < 0:
            raise ValueError(f"observed count {observed_count} is negative")
        if recorded_count(observed_count, observed_use) is not None and (
            int(observed_count) < n_residents
        ):
            raise ValueError(
                f"observed count {observed_count} is smaller than the {n_residents} people listed"
            )
    return observed_use


_HOUSE_FACTOR = {
    HouseUse.RENTAL.value: FactorKind.RENTAL_HOUSE,
    HouseUse.GROUP_RENTAL.value: FactorKind.GROUP_RENTAL_HOUSE,
}


def _record_house_check(session: Session, house: House, day: date) -> bool:
    """A visit to a rental or group-rental house is a check of that public-order factor: add it
    to the check history (``fangcang.checks``), so the house's control status on that day is
    what the officer did. Other houses are not factors; nothing is added for them."""
    kind = _HOUSE_FACTOR.get(str(house.use) if house.use is not None else "")
    if kind is None or not house.community_id:
        return False
    return checks.add_check(
        session,
        kind,
        house.house_id,
        house.community_id,
        day,
        interval_days=house.check_interval_days or 0,
        source="visit",
    )


def record_visit(
    session: Session,
    scope: Scope,
    *,
    house_id: str,
    visited_at: datetime,
    recorded_by: str,
    officer_id: str | None = None,
    observed_use: HouseUse | str | None = None,
    observed_count: int | None = None,
    residents: Sequence[Observed] = (),
    notes: str = "",
    source: str = "form",
) -> tuple[Visit, ReconcileResult]:
    """Record one visit, reconcile it at once and audit it (caller commits).

    Parameters
    ----------
    session : Session
    scope : Scope
        The recording user's jurisdiction; the house must be inside it.
    house_id : str
    visited_at : datetime
        Naive local time; not in the future.
    recorded_by : str
        Username of whoever enters the visit.
    officer_id : str, optional
        The visiting officer.
    observed_use : HouseUse or its value, optional
    observed_count : int, optional
        People living there as counted on site (at least the number listed). ``None`` or 0
        means not counted (0 is kept only for a house seen vacant).
    residents : sequence of Observed
        The people seen: name plus ID number, or phone or birth date.
    notes : str

    Returns
    -------
    (Visit, ReconcileResult)

    Raises
    ------
    ValueError
        Unknown house or any invalid field (the message names it); nothing is written.
    ScopeError
        The house is outside ``scope``.
    """
    house = session.get(House, str(house_id).strip())
    if house is None:
        raise ValueError(f"house {house_id!r} is not in the registry")
    scope.check(house.community_id)
    residents = [validate_resident(o, f"resident {i + 1}") for i, o in enumerate(residents)]
    use = check_visit_fields(visited_at, observed_use, observed_count, len(residents))
    visit = add_visit(
        session,
        house=house,
        visited_at=visited_at,
        recorded_by=recorded_by,
        officer_id=officer_id,
        observed_use=use,
        observed_count=recorded_count(observed_count, use),
        residents=residents,
        notes=notes,
        source=source,
    )
    result = reconcile(session, scope, visit_ids=[visit.id])
    session.refresh(visit)  # reconcile writes with set-based UPDATEs
    _record_house_check(session, house, visited_at.date())
    audit.log(
        session,
        actor=recorded_by,
        action="visit.record",
        target=f"house:{house.house_id}",
        detail={"visit_id": visit.id, "residents": len(residents), "discrepancies": result.created},
    )
    db.bump_data_version(session)
    return visit, result
