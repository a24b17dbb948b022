"""Matching a person seen on a visit to the registry.

Order of evidence:

1. ID number (exact, after normalising a trailing ``x`` to ``X``): confidence 1.0.
2. Name with the same phone number: the names are compared with ``rapidfuzz.fuzz.ratio``
   (0-100); a score of at least ``NAME_MIN_WITH_PHONE`` is a match with confidence
   ``0.95 * score / 100``.
3. Name with the same birth date: a score of at least ``NAME_MIN_WITH_BIRTH`` is a match with
   confidence ``0.90 * score / 100``.
4. Name with both the phone and the birth date agreeing: ``NAME_MIN_WITH_BOTH`` (one wrong
   character in a two-character name) with confidence ``0.98 * score / 100``.

Evidence that contradicts a candidate rules it out whatever the names say: a different ID
number, or a different birth date when both are known (a father and a son of the same name
sharing a phone are two people: the near-miss is never merged). A birth date missing on the
form is taken from the ID number when one was seen.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import NamedTuple

from rapidfuzz import fuzz
from sqlalchemy import (
    Column,
    Date,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Session

from ..models import MatchMethod, Person

#: Minimum name similarity (rapidfuzz ratio, 0-100) when the phone number agrees. One wrong
#: character in a three-character Chinese name scores 66.7; in a two-character name 50.
NAME_MIN_WITH_PHONE = 60.0
#: Minimum name similarity when only the birth date agrees (many people share a birth date,
#: so the name must agree more closely).
NAME_MIN_WITH_BIRTH = 80.0
#: Minimum name similarity when both the phone and the birth date agree.
NAME_MIN_WITH_BOTH = 50.0
PHONE_WEIGHT = 0.95
BIRTH_WEIGHT = 0.90
BOTH_WEIGHT = 0.98

_CHUNK = 500  # values per IN (...) list: well under every backend's parameter limit


class Candidate(NamedTuple):
    """A registry person as matching sees it (a tuple: thousands are built per batch)."""

    person_id: str
    name: str
    id_number: str | None
    phone: str | None
    birth_date: date | None
    house_id: str | None
    community_id: str
    key_person_type: str | None = None


@dataclass(frozen=True)
class Observed:
    """A person as seen on a visit."""

    name: str
    id_number: str | None = None
    phone: str | None = None
    birth_date: date | None = None


@dataclass(frozen=True)
class Match:
    person_id: str | None
    method: MatchMethod
    confidence: float | None

    @property
    def found(self) -> bool:
        return self.person_id is not None


NO_MATCH = Match(None, MatchMethod.NONE, None)


def normalize_id(value: str | None) -> str | None:
    """Upper-case, stripped ID number, or None when empty."""
    if value is None:
        return None
    value = str(value).strip().upper()
    return value or None


@lru_cache(maxsize=1 << 16)  # names repeat: a reconciliation compares each many times
def normalize_name(value: str) -> str:
    """NFKC (full-width to half-width), no spaces or middle dots: 'Ａ　李' -> 'A李'."""
    text = unicodedata.normalize("NFKC", str(value))
    return "".join(ch for ch in text if not ch.isspace() and ch not in "·•.")


def birth_from_id(id_number: str | None) -> date | None:
    """The birth date encoded in an 18-digit ID number (digits 7-14), or None."""
    id_number = normalize_id(id_number)
    if not id_number or len(id_number) != 18 or not id_number[6:14].isdigit():
        return None
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def name_similarity(a: str, b: str) -> float:
    """rapidfuzz ratio (0-100) of the normalised names."""
    return float(fuzz.ratio(normalize_name(a), normalize_name(b)))


def _contradicts(obs: Observed, obs_birth: date | None, cand: Candidate) -> bool:
    obs_id = normalize_id(obs.id_number)
    cand_id = normalize_id(cand.id_number)
    if obs_id and cand_id and obs_id != cand_id:
        return True
    return obs_birth is not None and cand.birth_date is not None and obs_birth != cand.birth_date


def match_one(
    obs: Observed,
    *,
    by_id: dict[str, list[Candidate]],
    by_phone: dict[str, list[Candidate]],
    by_birth: dict[date, list[Candidate]],
    prefer_house: str | None = None,
) -> Match:
    """Match one observed person against pre-loaded candidates (see ``RegistryLookup``).

    ``prefer_house`` breaks ties in favour of a record registered at the visited house (the
    same person registered twice is reported separately as a duplicate registration).
    """
    obs_id = normalize_id(obs.id_number)
    if obs_id:
        cands = by_id.get(obs_id)
        if cands:
            if len(cands) == 1:
                best = cands[0]
            else:
                best = next((c for c in cands if c.house_id == prefer_house), cands[0])
            return Match(best.person_id, MatchMethod.ID_NUMBER, 1.0)
    obs_birth = obs.birth_date or birth_from_id(obs_id)

    scored: list[tuple[float, bool, str, MatchMethod]] = []
    phone = (obs.phone or "").strip()
    if phone:
        for c in by_phone.get(phone, ()):
            if _contradicts(obs, obs_birth, c):
                continue
            score = name_similarity(obs.name, c.name)
            both = obs_birth is not None and c.birth_date == obs_birth
            threshold, weight = (
                (NAME_MIN_WITH_BOTH, BOTH_WEIGHT) if both else (NAME_MIN_WITH_PHONE, PHONE_WEIGHT)
            )
            if score >= threshold:
                conf = round(weight * score / 100.0, 4)
                scored.append(
                    (conf, c.house_id == prefer_house, c.person_id, MatchMethod.NAME_PHONE)
                )
    if obs_birth is not None:
        for c in by_birth.get(obs_birth, ()):
            if _contradicts(obs, obs_birth, c):
                continue
            score = name_similarity(obs.name, c.name)
            if score >= NAME_MIN_WITH_BIRTH:
                conf = round(BIRTH_WEIGHT * score / 100.0, 4)
                scored.append(
                    (conf, c.house_id == prefer_house, c.person_id, MatchMethod.NAME_BIRTH)
                )
    if not scored:
        return NO_MATCH
    conf, _, person_id, method = max(scored, key=lambda s: (s[0], s[1], s[2]))
    return Match(person_id, method, conf)


def _candidate(row) -> Candidate:
    # Inlined normalize_id and phone strip: this runs for every candidate row (about a million
    # in a full-size reconciliation).
    person_id, name, id_number, phone, birth_date, house_id, community_id, key_type = row
    return Candidate(
        person_id,
        name,
        (str(id_number).strip().upper() or None) if id_number is not None else None,
        (phone or "").strip() or None,
        birth_date,
        house_id,
        community_id,
        key_type or None,
    )


_COLUMNS = (
    Person.person_id,
    Person.name,
    Person.id_number,
    Person.phone,
    Person.birth_date,
    Person.house_id,
    Person.community_id,
    # As plain text: converting to the enum costs more than the rest of the row.
    type_coerce(Person.key_person_type, String).label("key_person_type"),
)


def people_where(session: Session, column, values: Iterable, extra=None) -> list[Candidate]:
    """Registry people whose ``column`` is in ``values`` (queried in chunks), optionally
    narrowed by the ``extra`` WHERE clause."""
    values = sorted({v for v in values if v is not None and v != ""})
    out: list[Candidate] = []
    if values and session.autoflush:
        session.flush()  # as Session.execute would (rows are read on the Core connection)
    # One statement with an expanding parameter: compiled once and cached, the values bound
    # as they are (an IN of literal values coerces every value, a few microseconds each).
    q = select(*_COLUMNS).where(column.in_(bindparam("values", expanding=True)))
    if extra is not None:
        q = q.where(extra)
    conn = session.connection()
    for i in range(0, len(values), _CHUNK):
        out.extend(map(_candidate, conn.execute(q, {"values": values[i : i + _CHUNK]})))
    return out


def _people_by_birth_initial(session: Session, pairs: set) -> list[Candidate]:
    """People whose (birth date, first character of the name) is one of ``pairs``.

    The plain ``birth_date IN (...)`` lets the birth-date index find the rows; the row-value
    IN then keeps only the wanted pairs inside the database.
    """
    pairs = sorted(pairs)
    out: list[Candidate] = []
    if pairs and session.autoflush:
        session.flush()
    step = _CHUNK // 2
    for i in range(0, len(pairs), step):
        chunk = pairs[i : i + step]
        q = select(*_COLUMNS).where(
            Person.birth_date.in_(sorted({d for d, _ in chunk})),
            tuple_(Person.birth_date, func.substr(Person.name, 1, 1)).in_(chunk),
        )
        out.extend(map(_candidate, session.connection().execute(q)))
    return out


#: From this many (birth date, initial) pairs on, one pass over the people table (joined to
#: the pairs in a temporary table) is cheaper than an index search per pair: at full size
#: (1.2 M people, ~55 per birth date) 3,000 pairs cost about 1 s by index, 30,000 pairs
#: 2.5 s by one pass.
SCAN_PAIRS = 10_000

_WANT = Table(
    "tmp_birth_initial",
    MetaData(),
    Column("birth_date", Date, primary_key=True),
    Column("initial", String(8), primary_key=True),
    prefixes=["TEMPORARY"],
)


def people_by_birth_initial(session: Session, pairs: set) -> dict[tuple, list[Candidate]]:
    """People whose (birth date, first character of the name) is one of ``pairs``, by pair
    (every pair a key, an empty list when nobody has it).

    Few pairs: index searches (``_people_by_birth_initial``). Many (``SCAN_PAIRS``): the
    pairs go into a temporary table and one pass over the people table picks the rows (on
    SQLite the ``+`` keeps the planner from searching the birth-date index per pair).
    """
    out: dict[tuple, list[Candidate]] = {pair: [] for pair in pairs}
    if len(pairs) < SCAN_PAIRS:
        rows = _people_by_birth_initial(session, pairs)
    else:
        session.flush()
        conn = session.connection()
        # A table left by a failed call on this connection goes first. No ``finally`` drop:
        # after an error PostgreSQL refuses every statement until rollback, so a DROP there
        # would replace the real error with "current transaction is aborted" (the rollback
        # removes the table created in it anyway).
        _WANT.drop(conn, checkfirst=True)
        _WANT.create(conn)
        conn.execute(insert(_WANT), [{"birth_date": d, "initial": i} for d, i in pairs])
        birth = (
            literal_column("+people.birth_date", Date)
            if conn.dialect.name == "sqlite"
            else Person.birth_date
        )
        q = select(*_COLUMNS).join_from(
            Person,
            _WANT,
            (_WANT.c.birth_date == birth) & (_WANT.c.initial == func.substr(Person.name, 1, 1)),
        )
        rows = list(map(_candidate, conn.execute(q)))
        _WANT.drop(conn)
    for c in rows:
        out.setdefault((c.birth_date, (c.name or "")[:1]), []).append(c)
    return out


@dataclass
class RegistryLookup:
    """Candidates for a batch of observed people, loaded with a few set queries."""

    by_id: dict[str, list[Candidate]]
    by_phone: dict[str, list[Candidate]]
    by_birth: dict[date, list[Candidate]]

    @classmethod
    def load(
        cls,
        session: Session,
        observed: Sequence[Observed],
        *,
        houses: Sequence[str | None] | None = None,
        registered: Mapping[str, Sequence[Candidate]] | None = None,
        births: Mapping[tuple, Sequence[Candidate]] | None = None,
    ) -> RegistryLookup:
        """Load the candidates for ``observed``.

        ``houses`` (the house each observed person was seen at, in the same order) and
        ``registered`` (every person registered at those houses, by house) let an ID number
        held by a person registered at the visited house be settled without a query: such a
        record is the match whatever other records carry the number (``match_one`` prefers
        the visited house). ``registered`` must then list everyone registered at each house.
        ``births``: candidates already loaded by (birth date, initial) pair
        (``people_by_birth_initial`` for many batches at once); pairs not in it are queried.
        """
        known: dict[str, list[Candidate]] = {}  # ID number -> its records at a visited house
        ids: set[str] = set()
        norm = [normalize_id(o.id_number) for o in observed]
        for k, i in enumerate(norm):
            if i is None:
                continue
            if registered is not None and houses is not None:
                local = [c for c in registered.get(houses[k] or "", ()) if c.id_number == i]
                if local:
                    known.setdefault(i, [])
                    known[i].extend(c for c in local if c not in known[i])
                    continue
            ids.add(i)
        # ID numbers may be stored with a lower-case x; query both spellings.
        id_values = ids | {i[:-1] + "x" for i in ids if i.endswith("X")}
        by_id: dict[str, list[Candidate]] = {}
        for c in people_where(session, Person.id_number, id_values):
            by_id.setdefault(c.id_number, []).append(c)
        for i, local in known.items():
            if i in by_id:  # also queried for a person seen elsewhere: all its records are in
                continue
            by_id[i] = local
        # Name-based evidence is only needed for people whose ID number found nobody.
        rest = [o for o, i in zip(observed, norm, strict=True) if i not in by_id]
        phones = {(o.phone or "").strip() for o in rest}
        by_phone: dict[str, list[Candidate]] = {}
        for c in people_where(session, Person.phone, phones):
            by_phone.setdefault(c.phone, []).append(c)
        # Many people share a birth date. With NAME_MIN_WITH_BIRTH at 80, a name that differs
        # in its first character cannot reach the threshold unless it is five or more
        # characters long, so only (birth date, first character) pairs are fetched.
        pairs = set()
        for o in rest:
            birth = o.birth_date or birth_from_id(o.id_number)
            initial = normalize_name(o.name)[:1] if o.name else ""
            if birth is not None and initial:
                pairs.add((birth, initial))
        by_birth: dict[date, list[Candidate]] = {}
        if births is not None:
            # By the batch's pairs (a set operation with births.keys() would copy all of
            # them, tens of thousands, for every batch).
            loaded = {pair for pair in pairs if pair in births}
            for pair in loaded:
                by_birth.setdefault(pair[0], []).extend(births[pair])
            pairs = pairs - loaded
        for c in _people_by_birth_initial(session, pairs):
            by_birth.setdefault(c.birth_date, []).append(c)
        for d in (by_id, by_phone, by_birth):
            for lst in d.values():
                if len(lst) > 1:
                    lst.sort(key=lambda c: c.person_id)
        return cls(by_id, by_phone, by_birth)

    def match(self, obs: Observed, prefer_house: str | None = None) -> Match:
        return match_one(
            obs,
            by_id=self.by_id,
            by_phone=self.by_phone,
            by_birth=self.by_birth,
            prefer_house=prefer_house,
        )


def match_people(
    session: Session, observed: Sequence[Observed], prefer_house: str | None = None
) -> list[Match]:
    """Match each observed person to the registry (see the module docstring for the rules).

    Parameters
    ----------
    session : Session
    observed : sequence of Observed
    prefer_house : str, optional
        The visited house: among equally good candidates, the one registered there wins.

    Returns
    -------
    list of Match
        One per observed person, in order; ``Match.person_id`` is None when nobody matched.
    """
    lookup = RegistryLookup.load(session, observed)
    return [lookup.match(o, prefer_house) for o in observed]


# ---------------------------------------------------------------------------------------------
# ID number check digit (GB 11643-1999)
# ---------------------------------------------------------------------------------------------
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"


def id_number_valid(value: str | None) -> bool:
    """True when ``value`` is an 18-character ID number with a correct check digit and a real
    birth date."""
    value = normalize_id(value)
    if not value or len(value) != 18 or not value[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == value[17] and birth_from_id(value) is not None
