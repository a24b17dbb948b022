"""Fake but well-formed resident ID numbers (GB 11643-1999) and mobile phone numbers.

Everything is vectorised with numpy (digit matrices turned into fixed-width byte strings), so a
million numbers take well under a second. The numbers are PII in form and must be treated so.
"""

from __future__ import annotations

import numpy as np

#: GB 11643 weights of the first 17 digits; the check character is CHECK[sum % 11].
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)

#: Lucheng's own region code and the county codes floating residents commonly come from.
LUCHENG = 330302
# fmt: off
OTHER_REGIONS = np.array(
    [
        330303, 330304, 330381, 330382, 330324, 330326,  # other Wenzhou districts and counties
        522401, 522422, 522426, 520221,  # Guizhou
        511321, 511623, 510922, 513723,  # Sichuan
        362421, 362329, 360124,  # Jiangxi
        341222, 341623, 342422,  # Anhui
        430524, 431021, 432502,  # Hunan
        411527, 412726, 421182, 422822, 500235, 452427,  # Henan, Hubei, Chongqing, Guangxi
    ]
)
MOBILE_PREFIXES = np.array(
    [130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 157, 158, 159, 166, 173,
     176, 177, 178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199]
)
# fmt: on


def digits_to_str(codes: np.ndarray) -> np.ndarray:
    """An (n, width) matrix of ASCII codes (uint8) -> fixed-width ASCII bytes (numpy ``S``).

    Bytes, not ``str``: they go to Arrow and the CSV writer as they are; ``.astype(str)``
    gives Python strings when needed.
    """
    width = codes.shape[1]
    return np.ascontiguousarray(codes, dtype=np.uint8).view(f"S{width}").ravel()


def int_digits(values: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative ints as an (n, width) uint8 matrix."""
    values = np.asarray(values, dtype=np.int64)
    out = np.empty((len(values), width), dtype=np.uint8)
    for k in range(width - 1, -1, -1):
        values, out[:, k] = np.divmod(values, 10)
    return out


def check_char(first17: np.ndarray) -> np.ndarray:
    """ASCII codes of the GB 11643 check character for an (n, 17) digit matrix."""
    return CHECK[(first17.astype(np.int64) @ WEIGHTS) % 11]


def id_numbers(
    region: np.ndarray, birth: np.ndarray, male: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """18-character ID numbers with a correct check character (ASCII bytes, numpy ``S18``).

    Parameters
    ----------
    region
        Six-digit region codes (ints).
    birth
        Birth dates (``datetime64[D]``).
    male
        Booleans: the sequence number is odd for men, even for women. Numbers are unique
        within one call.
    rng
        Random generator for the sequence numbers.
    """
    # datetime64 -> yyyymmdd ints without a Python loop
    y = birth.astype("datetime64[Y]").astype(np.int64) + 1970
    m = birth.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (birth - birth.astype("datetime64[M]")).astype(np.int64) + 1
    seq = _unique_sequence((region * 100_000_000 + y * 10000 + m * 100 + d) * 2 + male, rng)
    seq = seq * 2 + np.where(male, 1, 0)  # 0..999, odd for men
    first17 = np.hstack(
        [
            int_digits(region, 6),
            int_digits(y * 10000 + m * 100 + d, 8),
            int_digits(seq, 3),
        ]
    )
    return digits_to_str(np.hstack([first17 + 48, check_char(first17)[:, None]]))


def _unique_sequence(group: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A number 0..499 per row, different for every row of the same ``group`` (so the ID
    numbers, region + birth date + sequence + gender, never repeat), starting at a random
    offset in each group."""
    n = len(group)
    order = np.argsort(group, kind="stable")
    sorted_group = group[order]
    starts = np.r_[True, sorted_group[1:] != sorted_group[:-1]] if n else np.zeros(0, bool)
    gid = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    rank = np.arange(n) - first[gid]
    if n and rank.max() >= 500:
        raise ValueError("more than 500 people of one gender share a birth date and region code")
    offset = rng.integers(0, 500, len(first))
    out = np.empty(n, dtype=np.int64)
    out[order] = (offset[gid] + rank) % 500
    return out


def is_valid_id(value: str) -> bool:
    """True when ``value`` is 18 characters with a correct GB 11643 check character."""
    if not isinstance(value, str) or len(value) != 18 or not value[:17].isdigit():
        return False
    first = np.array([int(c) for c in value[:17]])
    return chr(check_char(first[None, :])[0]) == value[17].upper()


def phones(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` 11-digit mobile numbers with real operator prefixes (fake subscribers)."""
    prefix = MOBILE_PREFIXES[rng.integers(0, len(MOBILE_PREFIXES), n)]
    rest = rng.integers(0, 10**8, n)
    return digits_to_str(np.hstack([int_digits(prefix, 3), int_digits(rest, 8)]) + 48)


def fixed_ids(prefix: str, n: int, width: int, start: int = 1) -> np.ndarray:
    """``prefix`` + zero-padded running numbers: ``P0000001`` ... (vectorised)."""
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    body = int_digits(np.arange(start, start + n), width) + 48
    return digits_to_str(np.hstack([np.broadcast_to(head, (n, len(head))), body]))
