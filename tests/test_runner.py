"""The Monte Carlo runner, the summaries and the service: reproducible whatever the executor."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scenarios.simulation import SimulationSettings
from simulate.records import ReplicationOutput
from simulate.runner import Accumulator, chunk_size, replication_seed, run_replications
from simulate.service import MODELS, run_simulation
from simulate.stats import T_975_TABLE, summarise, t_quantile_975

#: A small portfolio: a replication takes a few tenths of a second.
SMALL = {"replications": 6, "seed": 99, "warmup_days": 10, "days": 40,
         "revolving_credit": {"accounts": 300, "default": {"annual_pd": 0.3}}}


def small_settings(**overrides) -> SimulationSettings:
    return SimulationSettings.model_validate({**SMALL, **overrides})


@pytest.fixture(scope="module")
def in_process_json() -> dict:
    return run_simulation(small_settings(), workers=1).to_json()


# -- seeds and ordering -------------------------------------------------------------------------

def test_replication_seed_is_the_spawned_child():
    children = np.random.SeedSequence(2014).spawn(5)
    for i, child in enumerate(children):
        assert np.array_equal(replication_seed(2014, i).generate_state(4), child.generate_state(4))


def output(index: int, value: float, days: int = 3) -> ReplicationOutput:
    return ReplicationOutput(index, {"x": value, "y": math.nan if index % 2 else 1.0}, np.full(days, value))


def test_accumulator_folds_in_replication_order_whatever_the_arrival_order():
    values = [0.1, 0.7, 0.2, 1e16, 0.3, -1e16]   # order-sensitive floating-point sums
    ordered, shuffled = Accumulator(3), Accumulator(3)
    for i, v in enumerate(values):
        ordered.add(output(i, v))
    for i in [3, 0, 5, 1, 4, 2]:
        shuffled.add(output(i, values[i]))
    assert shuffled.count == ordered.count == 6
    assert shuffled.values == ordered.values
    assert np.array_equal(shuffled.series().mean, ordered.series().mean)


def test_accumulator_keeps_the_band_of_the_first_replications_only():
    acc = Accumulator(3, band_limit=2)
    for i, v in enumerate([1.0, 2.0, 30.0]):
        acc.add(output(i, v))
    series = acc.series()
    assert np.allclose(series.mean, 11.0)
    assert np.all(series.p95 <= 2.0)


def test_chunks_are_small_enough_for_progress_and_never_empty():
    assert chunk_size(1, 8) == 1
    assert chunk_size(100, 2) == 13
    assert chunk_size(100_000, 2) == 25


# -- summaries ----------------------------------------------------------------------------------

def test_summary_of_a_hand_checked_sample():
    s = summarise([1.0, 2.0, 3.0, 4.0])
    sd = math.sqrt(5 / 3)
    assert s.mean == 2.5 and s.std == pytest.approx(sd)
    assert s.ci95 == pytest.approx((2.5 - 3.182 * sd / 2, 2.5 + 3.182 * sd / 2))
    assert (s.p5, s.p50, s.p95) == pytest.approx((1.15, 2.5, 3.85))


@pytest.mark.parametrize(
    ("values", "n"),
    [
        ([math.nan, math.nan], 0),   # nothing defined: every statistic NaN
        ([5.0], 1),                  # one value: no spread, no interval
        ([5.0, math.nan], 1),        # NaN left out
    ],
)
def test_summary_of_undefined_values(values, n):
    s = summarise(values)
    assert s.n == n
    assert math.isnan(s.std) and math.isnan(s.ci95[0])


def test_t_quantile_joins_the_table_smoothly_and_tends_to_the_normal():
    assert t_quantile_975(30) == T_975_TABLE[30]
    assert t_quantile_975(31) == pytest.approx(2.0395, abs=2e-4)
    assert t_quantile_975(120) == pytest.approx(1.9799, abs=2e-4)
    assert t_quantile_975(10**6) == pytest.approx(1.96, abs=1e-3)


# -- executors: identical results for a seed ----------------------------------------------------

def test_two_local_workers_give_identical_results(in_process_json):
    assert run_simulation(small_settings(), workers=2).to_json() == in_process_json


def test_a_dask_cluster_gives_identical_results(in_process_json):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        result = run_simulation(small_settings(), dask_address=cluster.scheduler_address)
    assert result.to_json() == in_process_json


def test_progress_rises_to_one():
    seen: list[float] = []
    run_simulation(small_settings(replications=4), workers=1, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 2


def test_more_replications_extend_the_same_streams(in_process_json):
    """Replication i is the same whatever the total: the first six of eight equal the six."""
    specs = MODELS["revolving_credit"]
    params = specs.build_params(small_settings(), None)
    acc6 = run_replications(specs.replicate, params, replications=6, seed=99, days=40, workers=1)
    acc8 = run_replications(specs.replicate, params, replications=8, seed=99, days=40, workers=1)
    assert all(acc8.values[name][:6] == acc6.values[name] for name in acc6.values)


# -- the service --------------------------------------------------------------------------------

def test_json_has_the_contract_shape(in_process_json):
    j = in_process_json
    assert {"model", "replications", "seed", "days", "metrics", "series"} <= j.keys()
    assert (j["model"], j["replications"], j["seed"], j["days"]) == ("revolving_credit", 6, 99, 40)
    for name in ["mean_outstanding", "peak_outstanding", "mean_utilisation", "interest_income", "funding_cost",
                 "defaults", "loss", "ead", "ccf", "declined_draw_amount", "counter_wait_minutes"]:
        assert set(j["metrics"][name]) == {"mean", "std", "ci95", "p5", "p50", "p95"}
    assert set(j["series"]) == {"day", "outstanding_mean", "outstanding_p5", "outstanding_p95"}
    assert len(j["series"]["day"]) == len(j["series"]["outstanding_mean"]) == 40
    m = j["metrics"]["mean_outstanding"]
    assert m["ci95"][0] <= m["mean"] <= m["ci95"][1] and m["p5"] <= m["p50"] <= m["p95"]


def test_money_unit_scales_money_only():
    result = run_simulation(small_settings(replications=2), workers=1)
    in_yi = result.in_money_unit("亿元")
    assert in_yi.metrics["interest_income"].mean == pytest.approx(result.metrics["interest_income"].mean / 10_000)
    assert in_yi.metrics["mean_utilisation"] == result.metrics["mean_utilisation"]
    assert in_yi.metrics["defaults"] == result.metrics["defaults"]
    assert in_yi.series.mean == pytest.approx(result.series.mean / 10_000)
    frame = result.metrics_frame()
    assert list(frame.columns[:8]) == ["unit", "mean", "std", "ci95_low", "ci95_high", "p5", "p50", "p95"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "joint-marketing"}, "allowed: revolving_credit"),   # a hyphen for the underscore: not a model
        ({"model": "nonsense"}, "unknown model 'nonsense'"),
        ({"replications": 0}, "replications must be ≥ 1 (got 0)"),
        ({"seed": -1}, "seed must be ≥ 0 (got -1)"),
        ({"workers": 0}, "workers must be ≥ 1 (got 0)"),
    ],
)
def test_bad_options_raise_value_errors_that_name_the_value(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_simulation(small_settings(), **kwargs)
