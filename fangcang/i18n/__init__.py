"""Chinese-first labels with an English switch.

Each feature keeps its own catalogue module here: ``STRINGS = {key: (zh, en)}``. A pair per key
means no key can miss a language; ``tests/test_i18n.py`` checks no key is defined twice and that
no text is empty. Add a module by adding its name to ``_MODULES``.
"""

from __future__ import annotations

import importlib
import re
from functools import cache

LANGS = ("zh", "en")
_MODULES = ["core", "warning", "bulletins", "access", "dashboard", "visits", "tasks", "demo"]
_MODULES += ["alcohol", "mediation"]  # alcohol-related incidents, police-lawyer mediation
_MODULES += ["security"]  # errors, busy database, sessions
_MODULES += ["analytics"]  # warning back-test and emerging hot spots
_MODULES += ["importer"]  # data hub upload preview, rejected rows (issue 12)
_MODULES += ["periods"]  # review-meeting periods and cross-filter chips (issue 13)
_MODULES += ["present"]  # presentation mode


@cache
def catalogue() -> dict[str, tuple[str, str]]:
    merged: dict[str, tuple[str, str]] = {}
    for name in _MODULES:
        strings = importlib.import_module(f"{__name__}.{name}").STRINGS
        for key, pair in strings.items():
            if key in merged:
                raise ValueError(f"i18n key {key!r} defined twice (again in {name})")
            merged[key] = pair
    return merged


def t(key: str, lang: str = "zh", **kwargs) -> str:
    """The label for ``key`` in ``lang`` (``zh`` or ``en``), formatted with ``kwargs``.

    An unknown key raises ``KeyError`` so a missing label fails tests instead of showing a key.
    """
    if lang not in LANGS:
        raise ValueError(f"language must be one of {LANGS}, got {lang!r}")
    text = catalogue()[key][LANGS.index(lang)]
    if kwargs and "|" in text:
        text = PLURAL.sub(lambda m: _plural_word(kwargs[m[1]], m[2], m[3]), text)
    return text.format(**kwargs) if kwargs else text


#: ``{rows|row|rows}`` in a label: the singular or plural word for the argument ``rows``.
PLURAL = re.compile(r"\{(\w+)\|([^|{}]*)\|([^|{}]*)\}")


def _plural_word(n, one: str, many: str) -> str:
    try:
        value = float(str(n).replace(",", ""))
    except ValueError:
        return many
    return one if value == 1 else many


def plural(n: int, one: str, many: str | None = None) -> str:
    """``n`` with its noun in English: ``plural(1, "row")`` -> ``1 row``, ``plural(2_000,
    "row")`` -> ``2,000 rows``; ``many`` for irregular plurals (``entry``/``entries``)."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def enum_label(value, lang: str = "zh") -> str:
    """Label of an enum member: key ``<enum class name in snake case>.<value>``."""
    cls = type(value).__name__
    snake = "".join("_" + c.lower() if c.isupper() else c for c in cls).lstrip("_")
    return t(f"{snake}.{value.value}", lang)


def fmt_int(n: int | float, lang: str = "zh") -> str:
    return f"{int(round(n)):,}"


def fmt_pct(x: float | None, lang: str = "zh", digits: int = 1, signed: bool = True) -> str:
    if x is None:
        return "—"
    return f"{x:+.{digits}f}%" if signed else f"{x:.{digits}f}%"
