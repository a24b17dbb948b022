"""The one colour palette of the dashboard: warning levels, sequential scales, series.

Every page, map and chart takes its colours from here so that "red" means the same red
everywhere (map polygons, table badges, charts, presentation mode).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .models import WarningLevel

#: Warning levels from lowest to highest, as stored strings (the enum's order).
LEVELS: tuple[str, ...] = tuple(lv.value for lv in WarningLevel)

#: The same levels most serious first (red, yellow, blue, green): legends, documents, pickers.
SERIOUS_FIRST: tuple[str, ...] = tuple(reversed(LEVELS))

#: Fill colour per warning level (green 绿, blue 蓝, yellow 黄, red 红).
LEVEL_COLOURS: dict[str, str] = {
    "green": "#2e9e44",
    "blue": "#2f6fd0",
    "yellow": "#f2b705",
    "red": "#d7263d",
}

#: Communities without a value (no warning run yet, no tasks ...).
NO_DATA = "#c9ccd1"

#: Outline of communities and sub-district boundaries.
OUTLINE = "#5b6470"
BOUNDARY = "#1d2733"
STATION = "#1f4e8c"  # the app's primary colour (.streamlit/config.toml)

#: A sequential scale (light -> dark orange-red), five classes, for scores and indicators.
SEQUENTIAL: tuple[str, ...] = ("#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000")

#: A diverging-free "good" scale (light -> dark green) for completion and coverage shares.
GOOD: tuple[str, ...] = ("#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c")

#: Density layers on the map (incident heat, cluster bubbles): a purple -> magenta ramp that
#: cannot be mistaken for the four warning colours (no green, blue, yellow or red).
HEAT: tuple[str, ...] = ("#e9d8f5", "#c89be3", "#a05cc9", "#8e2ba8", "#6a0f7a", "#4a0057")

#: Chart series: this year against last year.
THIS_YEAR = "#1f4e8c"
LAST_YEAR = "#9aa5b1"

#: Incident categories in charts (stable order and colours).
CATEGORY_COLOURS: dict[str, str] = {
    "criminal": "#d7263d",
    "public_order": "#f08a24",
    "dispute": "#8e6cc0",
    "traffic": "#2f6fd0",
    "fire": "#b5523b",
    "assistance": "#2e9e44",
    "other": "#9aa5b1",
}

#: Public-order factor kinds on the map (aggregated circles per community).
FACTOR_COLOURS: dict[str, str] = {
    "key_person": "#c2185b",
    "rental_house": "#6d4c41",
    "group_rental_house": "#ef6c00",
    "venue": "#7b1fa2",
    "regulated_trade": "#00838f",
    "dangerous_goods": "#b71c1c",
}


#: A change that is a result (statistically significant): up (worse) red, down (better) green;
#: one that is not significant is grey, so it does not read as a result.
CHANGE_UP = "#c0392b"
CHANGE_DOWN = "#2e7d32"
CHANGE_NOT_SIGNIFICANT = "#6b7280"


def change_colour(pct: float | None, significant: bool) -> str:
    """Text colour of a change in a count of incidents: red when it rose, green when it fell,
    grey when it is not significant (or there is no change or no figure)."""
    if not significant or pct is None or pct == 0:
        return CHANGE_NOT_SIGNIFICANT
    return CHANGE_UP if pct > 0 else CHANGE_DOWN


def level_colour(level: str | None) -> str:
    """Fill colour of a warning level string; grey for None or an unknown value."""
    return LEVEL_COLOURS.get(str(level), NO_DATA) if level is not None else NO_DATA


def class_breaks(values: Sequence[float], n: int = 5) -> list[float]:
    """Upper bounds of ``n`` equal-count classes (quantiles) of the finite values.

    Returns an increasing list (duplicates removed); empty when there is no finite value.
    """
    if n < 1:
        raise ValueError(f"number of classes must be at least 1, got {n}")
    finite = sorted(float(v) for v in values if v is not None and math.isfinite(float(v)))
    if not finite:
        return []
    breaks = []
    for i in range(1, n + 1):
        pos = i / n * (len(finite) - 1)
        lo, hi = math.floor(pos), math.ceil(pos)
        q = finite[lo] + (finite[hi] - finite[lo]) * (pos - lo)
        if not breaks or q > breaks[-1]:
            breaks.append(q)
    return breaks


def class_colour(value: float | None, breaks: Sequence[float], scale: Sequence[str]) -> str:
    """Colour of ``value`` in the classes ``breaks`` (from ``class_breaks``) on ``scale``."""
    if value is None or not breaks or not math.isfinite(float(value)):
        return NO_DATA
    # Spread the used classes over the whole scale so 2 classes still run light -> dark.
    i = next((k for k, upper in enumerate(breaks) if float(value) <= upper), len(breaks) - 1)
    if len(breaks) == 1:
        return scale[-1]
    return scale[round(i * (len(scale) - 1) / (len(breaks) - 1))]


#: Emerging hot-spot categories on the map (fangcang.scoring.hotspots): hot spots in reds and
#: oranges (darkest = intensifying), cold spots in blues, the rest neutral.
HOTSPOT_COLOURS: dict[str, str] = {
    "new_hot": "#ff8f00",
    "consecutive_hot": "#f4511e",
    "intensifying_hot": "#7f0000",
    "persistent_hot": "#c62828",
    "diminishing_hot": "#ef6c6c",
    "sporadic_hot": "#f9a88a",
    "oscillating_hot": "#d81b60",
    "historical_hot": "#bcaaa4",
    "new_cold": "#00acc1",
    "consecutive_cold": "#26a69a",
    "intensifying_cold": "#0d2b6b",
    "persistent_cold": "#1565c0",
    "diminishing_cold": "#64a0e0",
    "sporadic_cold": "#a7c8ec",
    "oscillating_cold": "#7e57c2",
    "historical_cold": "#b0bec5",
    "no_pattern": "#ebe6d6",
    "island": "#e0e0e0",
    "not_assessed": NO_DATA,
}
