"""The scoring configuration: one TOML file (``fangcang/scoring.toml`` by default).

This is the configuration of model version 2 (``MODEL_VERSION``): rates relative to the
district through fixed anchors, a significance gate and persistence (docs/scoring.md).

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

#: The model version this code computes (stored with every run; version 1 was the percentile
#: model, whose stored runs stay readable).
MODEL_VERSION = 2

#: The indicators of the model, in display order (weights and anchors must name exactly these).
INDICATOR_KEYS: tuple[str, ...] = (
    "crime_ratio",
    "incident_ratio",
    "trend",
    "control_ratio",
    "floating_ratio",
)

#: Levels that have a threshold, most serious first (green is "below blue").
THRESHOLD_LEVELS: tuple[WarningLevel, ...] = (
    WarningLevel.RED,
    WarningLevel.YELLOW,
    WarningLevel.BLUE,
)


def _frozen(d: dict) -> MappingProxyType:
    return MappingProxyType(dict(d))


def _number(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)


def _check_anchors(key: str, pairs) -> tuple[tuple[float, float], ...]:
    try:
        out = tuple((float(r), float(p)) for r, p in pairs)
        ok = all(_number(r) and _number(p) for r, p in pairs)
    except (TypeError, ValueError):
        ok, out = False, ()
    if not ok or len(out) < 2:
        raise ValueError(f"anchors {key} must be at least two [ratio, points] pairs, got {pairs!r}")
    ratios = [r for r, _ in out]
    if any(r < 0 for r in ratios) or not all(
        a < b for a, b in zip(ratios, ratios[1:], strict=False)
    ):
        raise ValueError(
            f"anchors {key}: ratios must be >= 0 and strictly increasing, got {ratios}"
        )
    points = [p for _, p in out]
    lo = -100.0 if key == "trend" else 0.0
    if any(not lo <= p <= 100 for p in points):
        raise ValueError(f"anchors {key}: points must be within {lo:g}..100, got {points}")
    if not all(a <= b for a, b in zip(points, points[1:], strict=False)):
        raise ValueError(f"anchors {key}: points must not decrease as the ratio rises")
    return out


@dataclass(frozen=True)
class ScoringConfig:
    """Weights, anchors, level thresholds, windows, significance, persistence, default factor
    intervals and stability settings (see docs/scoring.md).

    Weights are normalised to sum to 1 when they do not already; ``raw_weights`` keeps what
    was given.
    """

    weights: MappingProxyType
    thresholds: MappingProxyType  # {WarningLevel: minimum score}
    anchors: MappingProxyType  # {indicator: ((ratio, points), ...)}
    window_months: int = 12
    trend_months: int = 3
    alpha: float = 0.01
    trend_alpha: float = 0.01
    persistence_months: int = 2
    immediate_red: float = 80.0
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
            if not _number(v):
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

        a = dict(self.anchors)
        if set(a) != set(INDICATOR_KEYS):
            raise ValueError("anchors must name exactly " + ", ".join(INDICATOR_KEYS))
        object.__setattr__(
            self, "anchors", _frozen({k: _check_anchors(k, a[k]) for k in INDICATOR_KEYS})
        )

        th = {WarningLevel(k): v for k, v in dict(self.thresholds).items()}
        if set(th) != set(THRESHOLD_LEVELS):
            raise ValueError("thresholds must give exactly red, yellow and blue")
        for lvl, v in th.items():
            if not _number(v):
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

        for name, lo, hi in (
            ("window_months", 1, 12),
            ("trend_months", 1, 12),
            ("persistence_months", 1, 2),
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{name} must be an integer, got {v!r}")
            if not lo <= v <= hi:
                raise ValueError(f"{name} must be {lo}..{hi}, got {v}")
        for name in ("alpha", "trend_alpha"):
            v = getattr(self, name)
            if not _number(v) or not 0 < v < 1:
                raise ValueError(f"significance {name} must be within (0, 1), got {v!r}")
        if not _number(self.immediate_red) or not 0 <= self.immediate_red <= 100:
            raise ValueError(
                f"persistence immediate_red must be within 0..100, got {self.immediate_red!r}"
            )

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
        """The level of one (rounded) score, before the significance gate."""
        for lvl in THRESHOLD_LEVELS:
            if score >= self.thresholds[lvl]:
                return lvl
        return WarningLevel.GREEN

    def weight_vector(self) -> list[float]:
        return [self.weights[k] for k in INDICATOR_KEYS]

    def to_dict(self) -> dict:
        """A plain, canonical dict (the form stored with each run and read by ``from_dict``)."""
        return {
            "model_version": MODEL_VERSION,
            "window_months": self.window_months,
            "trend_months": self.trend_months,
            "weights": {k: self.weights[k] for k in INDICATOR_KEYS},
            "anchors": {k: [list(p) for p in self.anchors[k]] for k in INDICATOR_KEYS},
            "levels": {lvl.value: self.thresholds[lvl] for lvl in THRESHOLD_LEVELS},
            "significance": {"alpha": float(self.alpha), "trend_alpha": float(self.trend_alpha)},
            "persistence": {
                "months": self.persistence_months,
                "immediate_red": float(self.immediate_red),
            },
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
        allowed = {
            "model_version",
            "window_months",
            "trend_months",
            "weights",
            "anchors",
            "levels",
            "significance",
            "persistence",
            "factor_intervals",
            "stability",
        }
        unknown = set(data) - allowed
        if unknown:
            raise ValueError(f"{source}: unknown setting(s) {', '.join(sorted(unknown))}")
        version = data.get("model_version", MODEL_VERSION)
        if version != MODEL_VERSION:
            raise ValueError(
                f"{source}: model_version {version!r} is not the model this code computes "
                f"({MODEL_VERSION}); stored runs of other versions are read, not recomputed"
            )
        for section in ("weights", "anchors", "levels", "factor_intervals"):
            if not isinstance(data.get(section), dict):
                raise ValueError(f"{source}: section [{section}] is missing")
        sections = {
            "stability": {"draws", "spread", "borderline", "seed"},
            "significance": {"alpha", "trend_alpha"},
            "persistence": {"months", "immediate_red"},
        }
        for name, keys in sections.items():
            extra = set(data.get(name, {})) - keys
            if extra:
                raise ValueError(
                    f"{source}: unknown [{name}] setting(s) {', '.join(sorted(extra))}"
                )
        stab = data.get("stability", {})
        sig = data.get("significance", {})
        per = data.get("persistence", {})
        try:
            return cls(
                weights=_frozen(data["weights"]),
                thresholds=_frozen(data["levels"]),
                anchors=_frozen(data["anchors"]),
                window_months=data.get("window_months", 12),
                trend_months=data.get("trend_months", 3),
                alpha=sig.get("alpha", 0.01),
                trend_alpha=sig.get("trend_alpha", 0.01),
                persistence_months=per.get("months", 2),
                immediate_red=per.get("immediate_red", 80.0),
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
