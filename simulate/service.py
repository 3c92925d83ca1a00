"""The simulation service: scenario settings in, a summarised Monte Carlo result out.

The only entry point the application layer (`api/`) needs: `run_simulation(settings, model, …)`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from scenarios.schema import MONEY_FACTORS, from_wan, to_wan
from scenarios.simulation import SimulationSettings
from simulate import revolving_credit
from simulate.runner import Replicate, SeriesSummary, run_replications
from simulate.stats import MetricSummary

#: The engine's money unit.
ENGINE_MONEY_UNIT = "万元"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """How the service runs one model: its parameters from the settings, its replication, its metrics."""

    build_params: Callable[[SimulationSettings, int | None], Any]
    replicate: Replicate
    metrics: Mapping[str, tuple[str, str]]  # name → (unit kind, description)


#: The models `run_simulation` knows, by name.
MODELS: dict[str, ModelSpec] = {
    "revolving_credit": ModelSpec(
        build_params=revolving_credit.RevolvingCreditParams.from_settings,
        replicate=revolving_credit.run_replication,
        metrics=revolving_credit.METRICS,
    ),
}


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """A summarised Monte Carlo run; money in `money_unit` (万元 unless converted)."""

    model: str
    replications: int
    seed: int
    days: int
    warmup_days: int
    start_year: int
    metrics: dict[str, MetricSummary]
    metric_units: dict[str, str]          # name → "money" | "ratio" | "count" | "minutes"
    metric_descriptions: dict[str, str]
    series: SeriesSummary                 # daily end-of-day portfolio balance, money
    money_unit: str = ENGINE_MONEY_UNIT
    #: name → one value per replication, in replication order (paired differences between runs
    #: on the same seeds, e.g. a comparison's variants: common random numbers)
    values: Mapping[str, tuple[float, ...]] = field(default_factory=dict)

    def in_money_unit(self, unit: str) -> "SimulationResult":
        """The same result with money metrics and the series expressed in `unit` (元 | 万元 | 亿元)."""
        if unit not in MONEY_FACTORS:
            raise ValueError(f"unknown money unit {unit!r}; allowed: {', '.join(MONEY_FACTORS)}")
        factor = from_wan(to_wan(1.0, self.money_unit), unit)  # one unit of ours, in `unit`
        metrics = {
            name: summary.scaled(factor) if self.metric_units[name] == "money" else summary
            for name, summary in self.metrics.items()
        }
        series = SeriesSummary(self.series.day, self.series.mean * factor,
                               self.series.p5 * factor, self.series.p95 * factor)
        values = {name: tuple(v * factor for v in vs) if self.metric_units[name] == "money" else vs
                  for name, vs in self.values.items()}
        return replace(self, metrics=metrics, series=series, money_unit=unit, values=values)

    def unit_label(self, name: str) -> str:
        """The unit a metric is shown in: the money unit, 户 for counts, minutes, or blank for ratios."""
        kind = self.metric_units[name]
        return {"money": self.money_unit, "count": "户" if name == "defaults" else "次",
                "minutes": "分钟", "ratio": ""}[kind]

    def to_json(self) -> dict:
        """The JSON of `microplan simulate --format json` (README.md, "Simulation"); NaN (undefined, e.g. the CCF without defaults) becomes null."""
        return {
            "model": self.model,
            "replications": self.replications,
            "seed": self.seed,
            "days": self.days,
            "money_unit": self.money_unit,
            "start_date": dt.date(self.start_year, 1, 1).isoformat(),
            "metrics": {
                name: {
                    "mean": _number(s.mean), "std": _number(s.std),
                    "ci95": [_number(s.ci95[0]), _number(s.ci95[1])],
                    "p5": _number(s.p5), "p50": _number(s.p50), "p95": _number(s.p95),
                }
                for name, s in self.metrics.items()
            },
            "series": {
                "day": [int(d) for d in self.series.day],
                "outstanding_mean": [_number(v) for v in self.series.mean],
                "outstanding_p5": [_number(v) for v in self.series.p5],
                "outstanding_p95": [_number(v) for v in self.series.p95],
            },
        }

    def metrics_frame(self) -> pd.DataFrame:
        """One row per metric: unit, mean, std, ci95_low, ci95_high, p5, p50, p95, replications, description."""
        rows = [
            {
                "metric": name, "unit": self.unit_label(name), "mean": s.mean, "std": s.std,
                "ci95_low": s.ci95[0], "ci95_high": s.ci95[1], "p5": s.p5, "p50": s.p50, "p95": s.p95,
                "replications": s.n, "description": self.metric_descriptions[name],
            }
            for name, s in self.metrics.items()
        ]
        return pd.DataFrame(rows).set_index("metric")


def _number(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def run_simulation(
    settings: SimulationSettings,
    model: str = "revolving_credit",
    *,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    dask_address: str | None = None,
    progress: Callable[[float], None] | None = None,
    start_year: int | None = None,
) -> SimulationResult:
    """Run `model` with the scenario's simulation settings; options override the settings.

    `start_year` is used when the settings give none (the CLI passes the scenario's plan year).
    Raises `ValueError` for an unknown model or a bad option value.
    """
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; allowed: {', '.join(MODELS)}")
    replications = settings.replications if replications is None else replications
    seed = settings.seed if seed is None else seed
    if replications < 1:
        raise ValueError(f"replications must be ≥ 1 (got {replications})")
    if seed < 0:
        raise ValueError(f"seed must be ≥ 0 (got {seed})")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be ≥ 1 (got {workers})")
    spec = MODELS[model]
    params = spec.build_params(settings, start_year)
    accumulator = run_replications(
        spec.replicate, params, replications=replications, seed=seed, days=settings.days,
        workers=workers, dask_address=dask_address, progress=progress,
    )
    metrics = accumulator.metrics()
    return SimulationResult(
        model=model, replications=replications, seed=seed, days=settings.days,
        warmup_days=settings.warmup_days, start_year=params.start_year,
        metrics={name: metrics[name] for name in spec.metrics},
        metric_units={name: unit for name, (unit, _) in spec.metrics.items()},
        metric_descriptions={name: text for name, (_, text) in spec.metrics.items()},
        series=accumulator.series(),
        values={name: tuple(accumulator.values[name]) for name in spec.metrics},
    )

