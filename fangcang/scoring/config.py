"""The scoring configuration: one TOML file (``fangcang/scoring.toml`` by default).

``ScoringConfig`` is immutable and validated on construction, so a bad what-if (negative weight,
thresholds out of order) fails early with a ``ValueError`` saying what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from ..config import get_settings
from ..models import FactorKind, WarningLevel

#: The indicators of the default model, in display order (weights must name exactly these).
INDICATOR_KEYS: tuple[str, ...] = (
    "incident_rate",
    "crime_rate",
    "incident_trend",
    "control_gap",
    "floating_share",
)

#: Levels that have a threshold, most serious first (green is "below blue").
THRESHOLD_LEVELS: tuple[WarningLevel, ...] = (
    WarningLevel.RED,
    WarningLevel.YELLOW,
    WarningLevel.BLUE,
)


def _frozen(d: dict) -> MappingProxyType:
    return MappingProxyType(dict(d))


@dataclass(frozen=True)
class ScoringConfig:
    """Weights, level thresholds, window, default factor intervals and stability settings.

    Weights are normalised to sum to 1 when they do not already (see docs/scoring.md);
    ``raw_weights`` keeps what was given.
    """

    weights: MappingProxyType
    thresholds: MappingProxyType  # {WarningLevel: minimum score}
    window_months: int = 3
    factor_intervals: MappingProxyType = field(default_factory=lambda: _frozen({}))
    draws: int = 1000
    spread: float = 0.2
    borderline: float = 0.8
    seed: int = 20260
    raw_weights: MappingProxyType | None = None

    def __post_init__(self) -> None:
        w = dict(self.weights)
        missing = [k for k in INDICATOR_KEYS if k not in w]
        unknown = [k for k in w if k not in INDICATOR_KEYS]
        if missing or unknown:
            raise ValueError(
                "weights must name exactly "
                + ", ".join(INDICATOR_KEYS)
                + (f"; missing: {', '.join(missing)}" if missing else "")
                + (f"; unknown: {', '.join(unknown)}" if unknown else "")
            )
        for k, v in w.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"weight {k} must be a number, got {v!r}")
            if v < 0:
                raise ValueError(f"weight {k} must not be negative, got {v}")
        total = float(sum(w.values()))
        if total <= 0:
            raise ValueError("weights must not all be zero")
        if self.raw_weights is None:
            object.__setattr__(
                self, "raw_weights", _frozen({k: float(w[k]) for k in INDICATOR_KEYS})
            )
        if abs(total - 1.0) > 1e-9:
            # Rounded so that a normalised set and the same set given summing to 1 hash alike.
            w = {k: round(float(w[k]) / total, 12) for k in INDICATOR_KEYS}
        object.__setattr__(self, "weights", _frozen({k: float(w[k]) for k in INDICATOR_KEYS}))

        th = {WarningLevel(k): v for k, v in dict(self.thresholds).items()}
        if set(th) != set(THRESHOLD_LEVELS):
            raise ValueError("thresholds must give exactly red, yellow and blue")
        for lvl, v in th.items():
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"threshold {lvl.value} must be a number, got {v!r}")
            if not 0 <= v <= 100:
                raise ValueError(f"threshold {lvl.value} must be within 0..100, got {v}")
        values = [th[lvl] for lvl in THRESHOLD_LEVELS]
        if not all(a > b for a, b in zip(values, values[1:], strict=False)):
            raise ValueError(
                "thresholds must be strictly descending (red > yellow > blue), got "
                + ", ".join(f"{lvl.value}={th[lvl]}" for lvl in THRESHOLD_LEVELS)
            )
        object.__setattr__(
            self, "thresholds", _frozen({lvl: float(th[lvl]) for lvl in THRESHOLD_LEVELS})
        )

        if isinstance(self.window_months, bool) or not isinstance(self.window_months, int):
            raise ValueError(f"window_months must be an integer, got {self.window_months!r}")
        if not 1 <= self.window_months <= 12:
            raise ValueError(f"window_months must be 1..12, got {self.window_months}")

        fi = {FactorKind(k): v for k, v in dict(self.factor_intervals).items()}
        missing_kinds = [k.value for k in FactorKind if k not in fi]
        if missing_kinds:
            raise ValueError(f"factor_intervals missing: {', '.join(missing_kinds)}")
        for k, v in fi.items():
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(
                    f"factor interval {k.value} must be a whole number of days >= 1, got {v!r}"
                )
        object.__setattr__(self, "factor_intervals", _frozen({k: fi[k] for k in FactorKind}))

        if (
            isinstance(self.draws, bool)
            or not isinstance(self.draws, int)
            or not 1 <= self.draws <= 100_000
        ):
            raise ValueError(f"stability draws must be an integer 1..100000, got {self.draws!r}")
        if not isinstance(self.spread, int | float) or not 0 <= self.spread < 1:
            raise ValueError(f"stability spread must be within [0, 1), got {self.spread!r}")
        if not isinstance(self.borderline, int | float) or not 0 <= self.borderline <= 1:
            raise ValueError(f"stability borderline must be within [0, 1], got {self.borderline!r}")

    # ------------------------------------------------------------------------------------------
    def level_of(self, score: float) -> WarningLevel:
        """The level of one (rounded) score."""
        for lvl in THRESHOLD_LEVELS:
            if score >= self.thresholds[lvl]:
                return lvl
        return WarningLevel.GREEN

    def weight_vector(self) -> list[float]:
        return [self.weights[k] for k in INDICATOR_KEYS]

    def to_dict(self) -> dict:
        """A plain, canonical dict (the form stored with each run and read by ``from_dict``)."""
        return {
            "window_months": self.window_months,
            "weights": {k: self.weights[k] for k in INDICATOR_KEYS},
            "levels": {lvl.value: self.thresholds[lvl] for lvl in THRESHOLD_LEVELS},
            "factor_intervals": {k.value: v for k, v in self.factor_intervals.items()},
            "stability": {
                "draws": self.draws,
                "spread": float(self.spread),
                "borderline": float(self.borderline),
                "seed": self.seed,
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON: two runs with the same hash used the same model."""
        return hashlib.sha256(self.to_json().encode("utf-8")).hexdigest()

    def with_changes(
        self,
        weights: dict[str, float] | None = None,
        levels: dict[str, float] | None = None,
        **kwargs,
    ) -> ScoringConfig:
        """A what-if copy: ``weights`` / ``levels`` replace the named entries only."""
        new_w = dict(self.weights)
        if weights:
            new_w.update(weights)
        new_t = {lvl.value: v for lvl, v in self.thresholds.items()}
        if levels:
            new_t.update(levels)
        return replace(
            self, weights=_frozen(new_w), thresholds=_frozen(new_t), raw_weights=None, **kwargs
        )

    @classmethod
    def from_dict(cls, data: dict, source: str = "configuration") -> ScoringConfig:
        """Build from the TOML/JSON shape; errors name ``source`` and the bad setting."""
        allowed = {"window_months", "weights", "levels", "factor_intervals", "stability"}
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"{source}: unknown setting(s) {', '.join(sorted(unknown))}")
        for section in ("weights", "levels", "factor_intervals"):
            if not isinstance(data.get(section), dict):
                raise ValueError(f"{source}: section [{section}] is missing")
        stab = data.get("stability", {})
        unknown_stab = set(stab) - {"draws", "spread", "borderline", "seed"}
        if unknown_stab:
            raise ValueError(
                f"{source}: unknown [stability] setting(s) {', '.join(sorted(unknown_stab))}"
            )
        try:
            return cls(
                weights=_frozen(data["weights"]),
                thresholds=_frozen(data["levels"]),
                window_months=data.get("window_months", 3),
                factor_intervals=_frozen(data["factor_intervals"]),
                draws=stab.get("draws", 1000),
                spread=stab.get("spread", 0.2),
                borderline=stab.get("borderline", 0.8),
                seed=int(stab.get("seed", 20260)),
            )
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from exc

    @classmethod
    def from_json(cls, text: str) -> ScoringConfig:
        return cls.from_dict(json.loads(text), source="stored configuration")


def load_config(path: str | Path | None = None) -> ScoringConfig:
    """Read and validate the scoring configuration.

    Parameters
    ----------
    path : str or Path, optional
        A TOML file; default ``FANGCANG_SCORING_CONFIG`` or ``fangcang/scoring.toml``.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the file is not valid TOML or a setting is invalid (the message names the file).
    """
    path = Path(path) if path is not None else get_settings().scoring_config
    if not path.is_file():
        raise FileNotFoundError(f"scoring configuration not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    return ScoringConfig.from_dict(data, source=str(path))
