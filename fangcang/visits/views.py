"""Small read helpers for the visit pages (choices for the phone form)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Scope
from ..models import Community, House
from ..privacy import mask_address


def community_choices(session: Session, scope: Scope) -> pd.DataFrame:
    """Communities in ``scope``: community_id, name (sorted by name)."""
    rows = session.execute(
        select(Community.community_id, Community.name)
        .where(scope.clause(Community.community_id))
        .order_by(Community.name, Community.community_id)
    ).all()
    return pd.DataFrame(rows, columns=["community_id", "name"])


def house_choices(session: Session, scope: Scope, community_id: str) -> pd.DataFrame:
    """Houses of one community in ``scope`` for the visit form, addresses masked.

    Columns: house_id, address (masked), use, registered_residents.
    """
    scope.check(community_id)
    rows = session.execute(
        select(House.house_id, House.address, House.use, House.registered_residents)
        .where(House.community_id == community_id)
        .order_by(House.house_id)
    ).all()
    df = pd.DataFrame(rows, columns=["house_id", "address", "use", "registered_residents"])
    df["address"] = df["address"].map(mask_address)
    df["use"] = df["use"].map(lambda u: u.value if hasattr(u, "value") else u)
    return df


def house_residents(session: Session, scope: Scope, house_id: str) -> pd.DataFrame:
    """People registered at one house (what the officer should expect to see), masked.

    Columns: person_id, name, id_number, phone (masked), residence_type, key_person_type.
    """
    from ..models import Person
    from ..privacy import mask_frame

    house = session.get(House, house_id)
    if house is None:
        raise ValueError(f"house {house_id!r} is not in the registry")
    scope.check(house.community_id)
    rows = session.execute(
        select(
            Person.person_id,
            Person.name,
            Person.id_number,
            Person.phone,
            Person.residence_type,
            Person.key_person_type,
        )
        .where(Person.house_id == house_id)
        .order_by(Person.person_id)
    ).all()
    df = pd.DataFrame(
        rows,
        columns=["person_id", "name", "id_number", "phone", "residence_type", "key_person_type"],
    )
    for col in ("residence_type", "key_person_type"):
        df[col] = df[col].map(lambda v: v.value if hasattr(v, "value") else v)
    return mask_frame(df)
