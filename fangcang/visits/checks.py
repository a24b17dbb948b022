"""Reconciliation checks: each compares one visit with the registry and proposes corrections.

Every check is a small object with a ``type`` and ``run(ctx) -> list[Finding]``; ``CHECKS``
lists them in the order they run. A ``Finding`` carries exactly the registry correction that
confirming it applies (table, record, field, old value, new value).

Corrections proposed
--------------------
=========================  ===============================================================
use_differs                ``houses.use``: registered -> observed
count_differs              ``houses.registered_residents``: registered -> observed count
                           (only a head count the officer recorded: see ``counted``)
not_registered_here        ``people.house_id``: the other house -> this house
                           (``people.community_id`` follows the house when it differs)
unregistered               ``people.new``: a new floating resident at this house
not_seen                   ``people.house_id``: this house -> none (moved out; only
                           after a roll call: see ``roll_called``)
key_person_not_seen        ``people.house_id``: this house -> none, for a key person
duplicate_registration     ``people.house_id`` of the record where the person was not seen
                           -> none
=========================  ===============================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from ..models import DiscrepancyType, HouseUse, ResidenceType
from .matching import (
    NAME_MIN_WITH_BIRTH,
    Candidate,
    Match,
    Observed,
    birth_from_id,
    name_similarity,
    normalize_id,
)


@dataclass(frozen=True)
class SeenResident:
    """A person seen on the visit with the match found for them."""

    visit_resident_id: int | None
    observed: Observed
    match: Match
    person: Candidate | None  # the matched registry record


@dataclass(frozen=True)
class HouseContext:
    """Everything a check needs about one visit, loaded in bulk by ``reconcile``."""

    visit_id: int | None
    house_id: str
    community_id: str
    registered_use: HouseUse
    registered_count: int
    observed_use: HouseUse | None
    observed_count: int | None
    registered: tuple[Candidate, ...]  # people whose house_id is this house
    seen: tuple[SeenResident, ...]
    # id_number -> records of that person registered at other houses
    elsewhere: dict[str, tuple[Candidate, ...]] = field(default_factory=dict)

    # Cached: several checks read these for the same visit (the context never changes).
    @cached_property
    def seen_person_ids(self) -> set[str]:
        return {s.match.person_id for s in self.seen if s.match.found}

    @cached_property
    def seen_id_numbers(self) -> set[str]:
        ids = {normalize_id(s.observed.id_number) for s in self.seen}
        ids |= {s.person.id_number for s in self.seen if s.person and s.person.id_number}
        ids.discard(None)
        return ids

    @property
    def counted(self) -> int | None:
        """The head count the officer recorded, or ``None`` when none was recorded.

        A count of 0 is "not recorded" (a form field left at its default), except at a house
        the officer saw vacant, where 0 is what was observed. The number of people listed is
        never taken as a head count: an officer who met one of three residents did not count
        one resident.
        """
        if self.observed_count is None:
            return None
        if self.observed_count > 0 or self.observed_use is HouseUse.VACANT:
            return int(self.observed_count)
        return None

    @property
    def roll_called(self) -> bool:
        """The officer identified who lives here: at least one resident listed, or the house
        seen vacant. Only then is a registered person's absence evidence; a visit that records
        the use or a head count but nobody by name (nobody home, nobody willing) is not."""
        return bool(self.seen) or self.observed_use is HouseUse.VACANT

    def duplicate_pairs(self) -> list[tuple[Candidate, Candidate]]:
        """(record here, record elsewhere) for each registered person also registered at
        another house: the same ID number and the same name (fuzzy, as for a birth-date
        match). The same ID number under another name is a conflict between two people's
        records, not one person registered twice (the data hub reports it)."""
        return list(self._duplicate_pairs)

    @cached_property
    def _duplicate_pairs(self) -> list[tuple[Candidate, Candidate]]:
        pairs = []
        for p in self.registered:
            for other in self.elsewhere.get(p.id_number or "", ()):
                if other.person_id != p.person_id and (
                    name_similarity(p.name, other.name) >= NAME_MIN_WITH_BIRTH
                ):
                    pairs.append((p, other))
        return pairs


@dataclass(frozen=True)
class Finding:
    type: DiscrepancyType
    target_table: str  # "houses" or "people"
    target_id: str | None  # None for a new person
    field: str  # column name, or "new" for a new person
    old_value: str | None
    new_value: str | None
    person_key: str  # stable identity of the person concerned ("" for house-level)
    person_id: str | None = None
    visit_resident_id: int | None = None
    confidence: float | None = None
    detail: dict = field(default_factory=dict)


class Check(Protocol):
    type: DiscrepancyType

    def run(self, ctx: HouseContext) -> list[Finding]: ...


def _moved_out(ctx: HouseContext) -> set[str]:
    """Registered people whose absence a duplicate-registration finding already covers."""
    return {
        here.person_id
        for here, _ in ctx.duplicate_pairs()
        if here.person_id not in ctx.seen_person_ids
    }


class UseDiffers:
    type = DiscrepancyType.USE_DIFFERS

    def run(self, ctx: HouseContext) -> list[Finding]:
        if ctx.observed_use is None or ctx.observed_use == ctx.registered_use:
            return []
        return [
            Finding(
                self.type,
                "houses",
                ctx.house_id,
                "use",
                str(ctx.registered_use),
                str(ctx.observed_use),
                person_key="",
            )
        ]


class CountDiffers:
    type = DiscrepancyType.COUNT_DIFFERS

    def run(self, ctx: HouseContext) -> list[Finding]:
        observed = ctx.counted
        if observed is None or observed == ctx.registered_count:
            return []
        return [
            Finding(
                self.type,
                "houses",
                ctx.house_id,
                "registered_residents",
                str(ctx.registered_count),
                str(observed),
                person_key="",
            )
        ]


class NotRegisteredHere:
    """Seen here, matched to a registry person who is registered at another house (or none)."""

    type = DiscrepancyType.NOT_REGISTERED_HERE

    def run(self, ctx: HouseContext) -> list[Finding]:
        here = {p.person_id for p in ctx.registered}
        out = []
        for s in ctx.seen:
            if not s.match.found or s.person is None or s.match.person_id in here:
                continue
            # The same person may also have a record here (a duplicate registration).
            if s.person.id_number and any(
                p.id_number == s.person.id_number for p in ctx.registered
            ):
                continue
            out.append(
                Finding(
                    self.type,
                    "people",
                    s.person.person_id,
                    "house_id",
                    s.person.house_id,
                    ctx.house_id,
                    person_key=s.person.person_id,
                    person_id=s.person.person_id,
                    visit_resident_id=s.visit_resident_id,
                    confidence=s.match.confidence,
                    detail={
                        "method": str(s.match.method),
                        "from_community": s.person.community_id,
                        "to_community": ctx.community_id,
                    },
                )
            )
        return out


class Unregistered:
    """Seen here and found nowhere in the registry: an unregistered floating resident."""

    type = DiscrepancyType.UNREGISTERED

    def run(self, ctx: HouseContext) -> list[Finding]:
        out = []
        for s in ctx.seen:
            if s.match.found:
                continue
            o = s.observed
            id_number = normalize_id(o.id_number)
            birth = o.birth_date or birth_from_id(id_number)
            record = {
                "name": o.name,
                "id_number": id_number,
                "phone": (o.phone or None),
                "birth_date": birth.isoformat() if birth else None,
                "residence_type": str(ResidenceType.FLOATING),
                "house_id": ctx.house_id,
                "community_id": ctx.community_id,
            }
            key = id_number or f"{o.name}|{o.phone or ''}|{birth or ''}"
            out.append(
                Finding(
                    self.type,
                    "people",
                    None,
                    "new",
                    None,
                    json.dumps(record, ensure_ascii=False, sort_keys=True),
                    person_key=f"new:{key}",
                    visit_resident_id=s.visit_resident_id,
                )
            )
        return out


class _NotSeenBase:
    type: DiscrepancyType
    key_persons: bool

    def run(self, ctx: HouseContext) -> list[Finding]:
        if not ctx.roll_called:
            return []
        seen = ctx.seen_person_ids
        seen_ids = ctx.seen_id_numbers
        covered = _moved_out(ctx)
        out = []
        for p in ctx.registered:
            if bool(p.key_person_type) != self.key_persons:
                continue
            if p.person_id in seen or (p.id_number and p.id_number in seen_ids):
                continue
            if p.person_id in covered:
                continue
            out.append(
                Finding(
                    self.type,
                    "people",
                    p.person_id,
                    "house_id",
                    ctx.house_id,
                    None,
                    person_key=p.person_id,
                    person_id=p.person_id,
                    detail={"key_person_type": p.key_person_type} if p.key_person_type else {},
                )
            )
        return out


class NotSeen(_NotSeenBase):
    """Registered at this house but not seen on a visit that named who lives there."""

    type = DiscrepancyType.NOT_SEEN
    key_persons = False


class KeyPersonNotSeen(_NotSeenBase):
    """A key person registered at this house was not seen: reported as its own type because
    a key person out of sight is a control problem, not just a stale address."""

    type = DiscrepancyType.KEY_PERSON_NOT_SEEN
    key_persons = True


class DuplicateRegistration:
    """The same ID number registered at this house and at another one. The record at the
    house where the person was not seen is proposed for removal from that house."""

    type = DiscrepancyType.DUPLICATE_REGISTRATION

    def run(self, ctx: HouseContext) -> list[Finding]:
        seen = ctx.seen_person_ids
        seen_ids = ctx.seen_id_numbers
        out = []
        for here, other in ctx.duplicate_pairs():
            seen_here = here.person_id in seen or (here.id_number in seen_ids)
            drop = other if seen_here else here
            pair = "|".join(sorted((here.person_id, other.person_id)))
            out.append(
                Finding(
                    self.type,
                    "people",
                    drop.person_id,
                    "house_id",
                    drop.house_id,
                    None,
                    person_key=f"pair:{pair}",
                    person_id=here.person_id,
                    detail={
                        "records": [here.person_id, other.person_id],
                        "houses": [here.house_id, other.house_id],
                        "seen_here": seen_here,
                    },
                )
            )
        return out


#: The registered checks, in the order they run.
CHECKS: list[Check] = [
    UseDiffers(),
    CountDiffers(),
    NotRegisteredHere(),
    Unregistered(),
    NotSeen(),
    KeyPersonNotSeen(),
    DuplicateRegistration(),
]


def run_checks(ctx: HouseContext, checks: list[Check] | None = None) -> list[Finding]:
    """All findings of ``checks`` (default: ``CHECKS``) for one visit."""
    out: list[Finding] = []
    for check in checks or CHECKS:
        out.extend(check.run(ctx))
    return out
