"""Marginal distributions of a cohort spec.

Every distribution maps a uniform quantile ``u`` in (0, 1) to a value through
its inverse distribution function (:meth:`ppf`), which is what a Gaussian
copula needs: correlated normal scores become correlated uniforms, and each
marginal turns its uniform into a value with the right distribution.

Each kind is written in a spec as a TOML table with a ``distribution`` key
and its own parameters, for example ``{distribution = "normal", mean = 158.0,
sd = 34.0, unit = "ms"}``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import stats


class DistributionError(ValueError):
    """A distribution's table is malformed; the message names the parameter."""


def _number(table: dict, key: str) -> float:
    if key not in table:
        raise DistributionError(f"missing key '{key}'")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DistributionError(f"'{key}' must be a number, got {value!r}")
    if not math.isfinite(value):
        raise DistributionError(f"'{key}' must be finite, got {value!r}")
    return float(value)


def _positive(table: dict, key: str) -> float:
    value = _number(table, key)
    if value <= 0:
        raise DistributionError(f"'{key}' must be > 0, got {value!r}")
    return value


def _check_keys(table: dict, allowed: set[str]) -> None:
    unknown = sorted(set(table) - allowed - {"distribution", "unit"})
    if unknown:
        raise DistributionError(
            f"unknown key '{unknown[0]}'; expected one of "
            f"{', '.join(sorted(allowed | {'unit'}))}"
        )


def _clip_u(u: np.ndarray) -> np.ndarray:
    # Keep quantiles strictly inside (0, 1) so that ppf never returns +-inf.
    return np.clip(u, 1e-12, 1.0 - 1e-12)


@dataclass(frozen=True)
class Normal:
    """Normal distribution; ``mean`` and ``sd`` in the variable's unit."""

    mean: float
    sd: float
    unit: str = ""
    kind = "normal"

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return stats.norm.ppf(_clip_u(u), loc=self.mean, scale=self.sd)

    def expected(self) -> float:
        return self.mean

    def to_table(self) -> dict:
        return {"distribution": self.kind, "mean": self.mean, "sd": self.sd}


@dataclass(frozen=True)
class TruncatedNormal:
    """Normal distribution restricted to ``[low, high]``.

    ``mean`` and ``sd`` are those of the parent normal before truncation.
    """

    mean: float
    sd: float
    low: float
    high: float
    unit: str = ""
    kind = "truncated_normal"

    def _frozen(self):
        a = (self.low - self.mean) / self.sd
        b = (self.high - self.mean) / self.sd
        return stats.truncnorm(a, b, loc=self.mean, scale=self.sd)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self._frozen().ppf(_clip_u(u))

    def expected(self) -> float:
        return float(self._frozen().mean())

    def to_table(self) -> dict:
        return {
            "distribution": self.kind,
            "mean": self.mean,
            "sd": self.sd,
            "low": self.low,
            "high": self.high,
        }


@dataclass(frozen=True)
class LogNormal:
    """Log-normal distribution: ``log(x)`` is normal with ``mu`` and ``sigma``.

    ``mu`` and ``sigma`` are dimensionless (the log of the unit's values).
    """

    mu: float
    sigma: float
    unit: str = ""
    kind = "log_normal"

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return np.exp(stats.norm.ppf(_clip_u(u), loc=self.mu, scale=self.sigma))

    def expected(self) -> float:
        return math.exp(self.mu + 0.5 * self.sigma**2)

    def to_table(self) -> dict:
        return {"distribution": self.kind, "mu": self.mu, "sigma": self.sigma}


@dataclass(frozen=True)
class Uniform:
    """Uniform distribution on ``[low, high]``."""

    low: float
    high: float
    unit: str = ""
    kind = "uniform"

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + (self.high - self.low) * np.asarray(u, dtype=float)

    def expected(self) -> float:
        return 0.5 * (self.low + self.high)

    def to_table(self) -> dict:
        return {"distribution": self.kind, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class Categorical:
    """A finite set of categories with probabilities that sum to one.

    Attributes
    ----------
    probabilities : dict of str to float
        Category name to probability, in the order written.
    """

    probabilities: dict[str, float] = field(default_factory=dict)
    unit: str = ""
    kind = "categorical"

    @property
    def categories(self) -> list[str]:
        return list(self.probabilities)

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Map uniforms to category names by the cumulative probabilities."""
        cumulative = np.cumsum(list(self.probabilities.values()))
        cumulative[-1] = 1.0
        index = np.searchsorted(cumulative, np.asarray(u, dtype=float), side="right")
        index = np.minimum(index, len(cumulative) - 1)
        return np.asarray(self.categories, dtype=object)[index]

    def to_table(self) -> dict:
        return {"distribution": self.kind, "probabilities": dict(self.probabilities)}


Distribution = Normal | TruncatedNormal | LogNormal | Uniform | Categorical

KINDS = ("normal", "truncated_normal", "log_normal", "uniform", "categorical")


def _categorical(table: dict) -> Categorical:
    _check_keys(table, {"probabilities"})
    probs = table.get("probabilities")
    if not isinstance(probs, dict) or not probs:
        raise DistributionError(
            "'probabilities' must be a non-empty table of category = probability"
        )
    clean = {}
    for name, value in probs.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DistributionError(
                f"probabilities.{name} must be a number, got {value!r}"
            )
        if not 0.0 <= value <= 1.0:
            raise DistributionError(
                f"probabilities.{name} must be in [0, 1], got {value!r}"
            )
        clean[str(name)] = float(value)
    total = sum(clean.values())
    if abs(total - 1.0) > 1e-6:
        raise DistributionError(f"probabilities must sum to 1, they sum to {total:.6g}")
    return Categorical(clean, unit=table.get("unit", ""))


def from_table(table: dict) -> Distribution:
    """Build a distribution from its TOML table.

    Parameters
    ----------
    table : dict
        Holds ``distribution`` (one of :data:`KINDS`), its parameters and an
        optional ``unit``.

    Raises
    ------
    DistributionError
        If the kind is unknown or a parameter is missing, not a number, out
        of range or unexpected.
    """
    if not isinstance(table, dict):
        raise DistributionError(f"expected a table, got {table!r}")
    kind = table.get("distribution")
    unit = table.get("unit", "")
    if not isinstance(unit, str):
        raise DistributionError(f"'unit' must be a string, got {unit!r}")
    if kind == "normal":
        _check_keys(table, {"mean", "sd"})
        return Normal(_number(table, "mean"), _positive(table, "sd"), unit)
    if kind == "truncated_normal":
        _check_keys(table, {"mean", "sd", "low", "high"})
        low, high = _number(table, "low"), _number(table, "high")
        if not low < high:
            raise DistributionError(f"'low' ({low}) must be below 'high' ({high})")
        mean, sd = _number(table, "mean"), _positive(table, "sd")
        return TruncatedNormal(mean, sd, low, high, unit)
    if kind == "log_normal":
        _check_keys(table, {"mu", "sigma"})
        return LogNormal(_number(table, "mu"), _positive(table, "sigma"), unit)
    if kind == "uniform":
        _check_keys(table, {"low", "high"})
        low, high = _number(table, "low"), _number(table, "high")
        if not low < high:
            raise DistributionError(f"'low' ({low}) must be below 'high' ({high})")
        return Uniform(low, high, unit)
    if kind == "categorical":
        return _categorical(table)
    raise DistributionError(
        f"'distribution' must be one of {', '.join(KINDS)}, got {kind!r}"
    )


def to_table(dist: Distribution) -> dict:
    """The TOML table of ``dist``, with its unit when it has one."""
    table = dist.to_table()
    if dist.unit:
        table["unit"] = dist.unit
    return table
