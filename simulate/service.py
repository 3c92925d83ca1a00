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
from simulate import joint_marketing, policy_loop, revolving_credit
from simulate.runner import Replicate, SeriesSummary, run_replications
from simulate.stats import MetricSummary

#: The engine's money unit.
ENGINE_MONEY_UNIT = "万元"


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """How the service runs one model: its parameters from the settings, its replication, its metrics."""

    build_params: Callable[..., Any]      # (settings, start_year) or, with needs_scenario, (settings, start_year, scenario)
    replicate: Replicate
    metrics: Mapping[str, tuple[str, str]]  # name → (unit kind, description)
    needs_scenario: bool = False          # the model reads more of the scenario than its `simulation` section
    details: Callable[[Any], dict] | None = None  # extra JSON from the parameters (e.g. the market assignment)
    series_name: str = "outstanding"  # the series' name in the JSON (`<name>_mean`, `_p5`, `_p95`)
    series_index: str = "day"  # what the series runs over: day (0 = 1 January) or year (calendar years)
    series_unit: str = "money"  # money (converted with the metrics) or clients


#: The models `run_simulation` knows, by name.
MODELS: dict[str, ModelSpec] = {
    "revolving_credit": ModelSpec(
        build_params=revolving_credit.RevolvingCreditParams.from_settings,
        replicate=revolving_credit.run_replication,
        metrics=revolving_credit.METRICS,
    ),
    "joint_marketing": ModelSpec(
        build_params=joint_marketing.JointMarketingParams.from_scenario,
        replicate=joint_marketing.run_replication,
        metrics=joint_marketing.METRICS,
        needs_scenario=True,
        details=joint_marketing.JointMarketingParams.details,
    ),
    "policy_loop": ModelSpec(
        build_params=policy_loop.PolicyLoopParams.from_settings,
        replicate=policy_loop.run_replication,
        metrics=policy_loop.METRICS,
        needs_scenario=True,
        series_name="new_clients", series_index="year", series_unit="clients",
    ),
}

#: Count metrics counted in clients (户); other counts are events (次).
CLIENT_COUNTS = frozenset({"defaults", "new_clients", "leads", "applications", "approvals", "renewals", "attrition"})
#: Scopes of breakdown metrics ("group/G1/new_clients") and their JSON keys.
BREAKDOWN_KEYS = {"group": "by_group", "branch": "by_branch"}
#: Money columns of the phased targets in `details`.
PHASED_TARGET_MONEY = frozenset({"loan_balance", "settlement_volume"})


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
    #: scope ("group" | "branch") → id → metric → summary (models that report per group / branch)
    breakdowns: dict[str, dict[str, dict[str, MetricSummary]]] = field(default_factory=dict)
    details: dict = field(default_factory=dict)   # model-specific extras for the JSON (not money-converted)
    series_name: str = "outstanding"      # the series in the JSON: `<name>_mean`, `_p5`, `_p95` …
    series_index: str = "day"             # … over days (0 = 1 January) or calendar years
    series_unit: str = "money"            # money (converted with the metrics) or clients

    def in_money_unit(self, unit: str) -> "SimulationResult":
        """The same result with money metrics and the series expressed in `unit` (元 | 万元 | 亿元)."""
        if unit not in MONEY_FACTORS:
            raise ValueError(f"unknown money unit {unit!r}; allowed: {', '.join(MONEY_FACTORS)}")
        factor = from_wan(to_wan(1.0, self.money_unit), unit)  # one unit of ours, in `unit`
        metrics = {
            name: summary.scaled(factor) if self.metric_units[name] == "money" else summary
            for name, summary in self.metrics.items()
        }
        scale = factor if self.series_unit == "money" else 1.0
        series = SeriesSummary(self.series.day, self.series.mean * scale,
                               self.series.p5 * scale, self.series.p95 * scale)
        values = {name: tuple(v * factor for v in vs) if self.metric_units[name] == "money" else vs
                  for name, vs in self.values.items()}
        breakdowns = {
            scope: {ident: {name: s.scaled(factor) if self.metric_units[name] == "money" else s for name, s in by_name.items()}
                    for ident, by_name in by_id.items()}
            for scope, by_id in self.breakdowns.items()
        }
        details = dict(self.details)
        if "phased_targets" in details:
            details["phased_targets"] = [
                {key: value * factor if key in PHASED_TARGET_MONEY else value for key, value in row.items()}
                for row in details["phased_targets"]
            ]
        return replace(self, metrics=metrics, series=series, money_unit=unit, breakdowns=breakdowns, details=details,
                       values=values)

    def unit_label(self, name: str) -> str:
        """The unit a metric is shown in: the money unit, 户 for counts, minutes, or blank for ratios."""
        kind = self.metric_units[name]
        return {"money": self.money_unit, "count": "户" if name in CLIENT_COUNTS else "次",
                "minutes": "分钟", "hours": "小时", "ratio": "", "clients": "户", "years": "年"}[kind]

    def to_json(self) -> dict:
        """The JSON of `microplan simulate --format json` (README.md, "Simulation"); NaN (undefined, e.g. the CCF without defaults) becomes null.

        Models reporting per group / per branch add `by_group` / `by_branch`: id → metric → summary.
        """
        result = {
            "model": self.model,
            "replications": self.replications,
            "seed": self.seed,
            "days": self.days,
            "money_unit": self.money_unit,
            "start_date": dt.date(self.start_year, 1, 1).isoformat(),
            "metrics": {name: _summary_json(s) for name, s in self.metrics.items()},
            "series": {
                self.series_index: [int(d) + (self.start_year if self.series_index == "year" else 0) for d in self.series.day],
                f"{self.series_name}_mean": [_number(v) for v in self.series.mean],
                f"{self.series_name}_p5": [_number(v) for v in self.series.p5],
                f"{self.series_name}_p95": [_number(v) for v in self.series.p95],
            },
        }
        for scope, by_id in self.breakdowns.items():
            result[BREAKDOWN_KEYS[scope]] = {
                ident: {name: _summary_json(s) for name, s in values.items()} for ident, values in by_id.items()
            }
        result.update(self.details)
        return result

    def metrics_frame(self) -> pd.DataFrame:
        """One row per metric: unit, mean, std, ci95_low, ci95_high, p5, p50, p95, replications, description."""
        rows = [
            {
                "metric": name, "unit": self.unit_label(name.rsplit("/", 1)[-1]), "mean": s.mean, "std": s.std,
                "ci95_low": s.ci95[0], "ci95_high": s.ci95[1], "p5": s.p5, "p50": s.p50, "p95": s.p95,
                "replications": s.n, "description": self.metric_descriptions[name.rsplit("/", 1)[-1]],
            }
            for name, s in self._flat_metrics()
        ]
        return pd.DataFrame(rows).set_index("metric")

    def _flat_metrics(self):
        """(name, summary) of the metrics, then of the breakdowns as "group/G1/new_clients"."""
        yield from self.metrics.items()
        for scope, by_id in self.breakdowns.items():
            for ident, values in by_id.items():
                for name, s in values.items():
                    yield f"{scope}/{ident}/{name}", s


def _summary_json(s: MetricSummary) -> dict:
    return {"mean": _number(s.mean), "std": _number(s.std), "ci95": [_number(s.ci95[0]), _number(s.ci95[1])],
            "p5": _number(s.p5), "p50": _number(s.p50), "p95": _number(s.p95)}


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
    scenario: Any = None,
) -> SimulationResult:
    """Run `model` with the scenario's simulation settings; options override the settings.

    `start_year` is used when the settings give none (the CLI passes the scenario's plan year).
    `scenario` (the whole loaded scenario) is needed by models that read more than the
    `simulation` section (joint_marketing: its `markets:`). Raises `ValueError` for an unknown
    model, a bad option value, or a model missing the scenario parts it needs.
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
    if spec.needs_scenario:
        if scenario is None:
            raise ValueError(f"model {model!r} needs the whole scenario (scenario=…), not only its simulation settings")
        params = spec.build_params(settings, start_year, scenario)
    else:
        params = spec.build_params(settings, start_year)
    accumulator = run_replications(
        spec.replicate, params, replications=replications, seed=seed, days=getattr(params, "series_length", settings.days),
        workers=workers, dask_address=dask_address, progress=progress,
    )
    metrics = accumulator.metrics()
    breakdowns: dict[str, dict[str, dict[str, MetricSummary]]] = {}
    for key, summary in metrics.items():
        if key.count("/") >= 2 and key.split("/", 1)[0] in BREAKDOWN_KEYS:
            scope, rest = key.split("/", 1)
            ident, name = rest.rsplit("/", 1)
            breakdowns.setdefault(scope, {}).setdefault(ident, {})[name] = summary
    return SimulationResult(
        model=model, replications=replications, seed=seed, days=settings.days,
        warmup_days=settings.warmup_days, start_year=params.start_year,
        metrics={name: metrics[name] for name in spec.metrics},
        metric_units={name: unit for name, (unit, _) in spec.metrics.items()},
        metric_descriptions={name: text for name, (_, text) in spec.metrics.items()},
        series=accumulator.series(),
        values={name: tuple(accumulator.values[name]) for name in spec.metrics},
        breakdowns=breakdowns,
        details=spec.details(params) if spec.details else {},
        series_name=spec.series_name, series_index=spec.series_index, series_unit=spec.series_unit,
    )

