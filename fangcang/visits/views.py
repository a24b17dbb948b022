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
