"""The multi-year policy loop: roll-forward, conservation, Weitzman's effective reward, directions.

Real plans (HiGHS) every year, the real Monte Carlo runner; statistical checks use the CI of the
replications, never a number pinned to one seed.
"""

from __future__ import annotations

import numpy as np
import pytest

from optimize.plan import make_plan
from optimize.rolling import next_year_scenario, year_plan
from scenarios.loading import load_scenario
from simulate.behaviour import weitzman_effective_reward
from simulate.policy_loop import PolicyLoopParams, run_cycle
from simulate.runner import replication_seed
from simulate.service import run_simulation
from simulate.stats import summarise
from tests.builders import branch, build, raw_scenario, wide


def with_changes(scenario, **sections):
    """The scenario with some sections' fields replaced (e.g. policy={"name": "ratchet"})."""
    update = {key: getattr(scenario, key).model_copy(update=fields) for key, fields in sections.items()}
    return scenario.model_copy(update=update)


@pytest.fixture(scope="module")
def city():
    return load_scenario("city-2014")


@pytest.mark.parametrize("name", ["city-2014", "city-2016"])  # 2016: three_not_lower, a borrower-count floor
@pytest.mark.parametrize("policy", ["catch_up", "ratchet"])  # proportional: see optimize/rolling.py
def test_booking_the_targets_rolls_into_the_plans_own_next_year(name: str, policy: str) -> None:
    """Next year's scenario with every actual = its target plans exactly the clients of the plan's first
    rolling year: the roll-forward carries the same floors, paces, references and smoothing box.
    (Loans may differ by a little: the rolling years keep the plan year's balance as the base of the
    existing book's ±5 % band, the next year's plan the grown one.)"""
    scenario = with_changes(load_scenario(name), policy={"name": policy})
    plan = make_plan(scenario)
    x, y = wide(plan), wide(plan, "target_loan_increment")
    year = scenario.plan_year
    following = next_year_scenario(scenario, plan.inputs.long_term_target, x[year].to_numpy(), x[year].to_numpy(),
                                   y[year].to_numpy())
    again = make_plan(following)
    np.testing.assert_allclose(wide(again)[year + 1].to_numpy(), x[year + 1].to_numpy(), atol=1e-9)
    rolled = {(f.row.rule, f.row.tier): f.const for f in plan.report.windows[f"rolling/{year + 1}"].floors}
    replanned = {(r.rule, r.tier): r.const for r in again.inputs.floors.rows_for(0)}
    assert replanned.keys() == rolled.keys()
    for rule, value in rolled.items():  # the bank's borrower count is whole: its floor within a client
        assert replanned[rule] == pytest.approx(value, abs=1.0), rule


def test_achievements_roll_forward_exactly(city) -> None:
    """Conservation: the cycle's total is the sum of the yearly actuals, and every branch's achievement
    at the end is its achievement at the start plus what it booked; last year's target and actual
    are the final year's inputs."""
    params = PolicyLoopParams.from_scenario(with_changes(city, incentives={"behaviour": "mixed"}))
    records, final, _ = run_cycle(params, np.random.default_rng(7))
    booked = np.sum([r.actual for r in records], axis=0)
    start = np.array([b.achieved_clients for b in city.branches])
    end = np.array([b.achieved_clients for b in final.branches])
    np.testing.assert_array_equal(end - start, np.sum([r.actual for r in records[:-1]], axis=0))
    assert [r.year for r in records] == [2014, 2015, 2016, 2017] and final.plan_year == 2017
    np.testing.assert_array_equal([b.last_year_actual for b in final.branches], records[-2].actual)
    np.testing.assert_array_equal([b.last_year_target for b in final.branches], records[-2].target)
    result = run_simulation(params.scenario.simulation, "policy_loop", replications=1, workers=1, scenario=params.scenario,
                            seed=0)
    records0, _, _ = run_cycle(params, np.random.default_rng(replication_seed(0, 0)))
    assert result.metrics["cycle_new_clients"].mean == float(np.sum([r.actual.sum() for r in records0]))
    np.testing.assert_array_equal(result.series.mean, [r.actual.sum() for r in records0])
    assert booked.sum() == np.sum([r.actual.sum() for r in records])


def one_branch_bank(g: float, rho: float):
    """One branch, ratchet policy with growth g (λ = 1 + g: no floor, box wide), strategic, quadratic cost.

    Capacity 10 × 100 = 1,000 clients a year at effort 1; bonus β = 0.2 万元 and cost c = 0.2 万元, so
    effort = effective reward ÷ c = the Weitzman factor (1 − ρ)/(1 − ρ + ρλ) itself; effort bounds
    0–10 leave it free. Plan year 2016 of 2014–2018 (λ is defined in 2016).
    """
    raw = raw_scenario([branch("B0", micro_client_managers=100, client_managers=100, last_year_actual=300.0,
                               last_year_target=300.0, long_term_target=5000)],
                       plan_year=2016, policy={"name": "ratchet", "ratchet_growth": g},
                       capacity={"new_clients_per_micro_client_manager": 10, "max_change": 5.0},
                       incentives={"behaviour": "strategic", "discount_factor": rho, "bonus_per_client": 0.2,
                                   "penalty_per_client": 0.2, "effort_cost": 0.2, "noise_sd": 0.1},
                       simulation={"policy_loop": {"effort_floor": 0.0, "effort_cap": 10.0}})
    return build(raw)


@pytest.mark.parametrize("g,rho", [(-0.5, 0.9), (0.0, 0.6), (0.5, 0.3), (0.2, 0.8)])
def test_strategic_effort_reproduces_weitzman(g: float, rho: float) -> None:
    """Theory: linear bonus β, quadratic effort cost c·e²/2, ratchet coefficient λ = 1 + g fixed by the
    policy: the strategic branch books capacity × β(1 − ρ)/(1 − ρ + ρλ)/c on average (Weitzman 1980).

    E.g. λ = 0.5, ρ = 0.9: 0.1/0.55 = 0.182 → 182 clients of 1,000. The mean of the first year's
    booked clients over 60 replications (lognormal noise of mean 1) must hold the formula in its 95 % CI.
    """
    scenario = one_branch_bank(g, rho)
    params = PolicyLoopParams.from_scenario(scenario)
    plan = year_plan(scenario)
    lam = float(plan.ratchet.values[0])
    assert lam == pytest.approx(1 + g, abs=1e-9)
    expected = 1_000 * weitzman_effective_reward(0.2, rho, lam) / 0.2
    booked = [run_cycle(params, np.random.default_rng(replication_seed(11, i)))[0][0].actual[0] for i in range(60)]
    s = summarise(booked)
    assert s.ci95[0] <= expected <= s.ci95[1], (expected, s)


def paired(a, b, metric: str):
    """The paired difference a − b of one metric over replications run on the same seeds: its summary."""
    return summarise(np.array(a.values[metric]) - np.array(b.values[metric]))


def loop(scenario, policy: str, replications: int = 12, **incentives):
    changed = with_changes(scenario, policy={"name": policy}, incentives=incentives)
    return run_simulation(changed.simulation, "policy_loop", replications=replications, seed=5, workers=1, scenario=changed)


@pytest.mark.slow
def test_with_strategic_branches_catch_up_brings_more_clients_and_higher_rho_widens_the_gap(city) -> None:
    """Directions, paired over the same seeds: strategic branches book more over the cycle under catch-up
    (λ ≤ 0, effective reward ≥ β) than under the ratchet (λ ≈ 1.1, reward < β); the CI of the
    difference lies above 0, and the difference grows with ρ (0.3 → 0.6: the future counts more)."""
    gaps = {}
    for rho in (0.3, 0.6):
        catch_up = loop(city, "catch_up", behaviour="strategic", discount_factor=rho)
        ratchet = loop(city, "ratchet", behaviour="strategic", discount_factor=rho)
        gap = paired(catch_up, ratchet, "cycle_new_clients")
        assert gap.ci95[0] > 0, (rho, gap)
        assert ratchet.metrics["holding_back_share"].mean > catch_up.metrics["holding_back_share"].mean
        gaps[rho] = np.array(catch_up.values["cycle_new_clients"]) - np.array(ratchet.values["cycle_new_clients"])
    widening = summarise(gaps[0.6] - gaps[0.3])
    assert widening.ci95[0] > 0, widening


def test_with_myopic_branches_the_policies_differ_only_by_their_targets(city) -> None:
    """Myopic branches answer this year's pay only; with the bonus equal to the penalty that pay is β
    whatever the target, so on the same seeds catch-up and ratchet book exactly the same clients,
    while the targets they were set differ."""
    catch_up = loop(city, "catch_up", replications=4, behaviour="myopic")
    ratchet = loop(city, "ratchet", replications=4, behaviour="myopic")
    assert catch_up.values["cycle_new_clients"] == ratchet.values["cycle_new_clients"]
    assert catch_up.values["cycle_target_clients"] != ratchet.values["cycle_target_clients"]
    assert catch_up.metrics["holding_back_share"].mean == ratchet.metrics["holding_back_share"].mean == 0.0


def test_local_processes_give_identical_results(city) -> None:
    """The same seed in-process and in two local worker processes: identical metrics and series."""
    scenario = with_changes(city, incentives={"behaviour": "mixed"})
    here = run_simulation(scenario.simulation, "policy_loop", replications=4, seed=3, workers=1, scenario=scenario)
    there = run_simulation(scenario.simulation, "policy_loop", replications=4, seed=3, workers=2, scenario=scenario)
    assert here.to_json() == there.to_json()


@pytest.mark.slow
def test_a_dask_cluster_gives_identical_results(city) -> None:
    distributed = pytest.importorskip("distributed")
    scenario = with_changes(city, incentives={"behaviour": "mixed"})
    here = run_simulation(scenario.simulation, "policy_loop", replications=4, seed=3, workers=1, scenario=scenario)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        there = run_simulation(scenario.simulation, "policy_loop", replications=4, seed=3, scenario=scenario,
                               dask_address=cluster.scheduler_address)
    assert here.to_json() == there.to_json()


def test_json_has_a_yearly_series_and_the_contract_names(city) -> None:
    result = run_simulation(city.simulation, "policy_loop", replications=2, seed=1, workers=1, scenario=city)
    data = result.to_json()
    assert {"cycle_new_clients", "cycle_completion", "floor_missed_years", "holding_back_share",
            "attainment_dispersion", "bonus_paid"} <= set(data["metrics"])
    assert data["series"]["year"] == [2014, 2015, 2016, 2017]
    assert len(data["series"]["new_clients_mean"]) == 4
    assert all(float(v).is_integer() for v in result.values["cycle_new_clients"])  # whole clients


def test_the_loop_needs_the_whole_scenario(city) -> None:
    with pytest.raises(ValueError, match="needs the whole scenario"):
        run_simulation(city.simulation, "policy_loop", replications=1, workers=1)


def test_cli_runs_the_loop_with_a_policy_and_refuses_it_for_other_models(tmp_path) -> None:
    """`microplan simulate city-2014 --model policy_loop --policy ratchet` prints the loop's metrics; a
    policy for the card model is bad usage (exit 2, one line naming the option)."""
    import json
    import subprocess
    import sys

    run = lambda *args: subprocess.run([sys.executable, "-m", "api.cli", "simulate", "city-2014", *args],
                                       capture_output=True, text=True)
    done = run("--model", "policy_loop", "--policy", "ratchet", "--replications", "2", "--workers", "1", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["model"] == "policy_loop" and data["series"]["year"] == [2014, 2015, 2016, 2017]
    bad = run("--policy", "ratchet", "--replications", "2")
    assert bad.returncode == 2 and "--policy" in bad.stderr and "Traceback" not in bad.stderr


def two_year_bank(**rules):
    """One branch (capacity 10 × 10 = 100), L = 250 with 150 achieved, plan year 2017 of 2014–2018, catch-up;
    myopic, no noise: effort 1 books exactly the capacity, 100 a year."""
    raw = raw_scenario([branch("B0", achieved_clients=150, micro_clients=1100)], plan_year=2017, rules=rules,
                       incentives={"behaviour": "myopic", "noise_sd": 0.0, "bonus_per_client": 0.2, "penalty_per_client": 0.3})
    return build(raw)


def test_metrics_of_a_hand_worked_cycle() -> None:
    """2017: pace (250 − 150)/2 = 50, booked 100 → bonus 0.2 × 50 = 10 万元, attainment 2.
    2018: achieved 250, pace 0 → target 0 (< 10 % of capacity: left out of the dispersion), booked 100
    → bonus 0.2 × 100 = 20. Cycle: 200 clients, completion (150 + 200)/250 = 1.4, bonus 30, no penalty,
    no floor (custom preset without rules), nobody holds back, dispersion of one attainment = 0."""
    scenario = two_year_bank()
    records, _, long_term = run_cycle(PolicyLoopParams.from_scenario(scenario), np.random.default_rng(0))
    assert [r.target.tolist() for r in records] == [[50.0], [0.0]]
    assert [r.actual.tolist() for r in records] == [[100.0], [100.0]]
    from simulate.policy_loop import cycle_metrics

    m = cycle_metrics(PolicyLoopParams.from_scenario(scenario), records, long_term)
    assert m == pytest.approx({"cycle_new_clients": 200, "cycle_completion": 1.4, "cycle_target_clients": 50,
                               "floor_missed_years": 0, "holding_back_share": 0, "attainment_dispersion": 0,
                               "bonus_paid": 30, "penalty_charged": 0})


def test_a_floor_the_branch_cannot_book_is_missed_every_year() -> None:
    """Borrower-count floor X ≥ 0.1·C (C0 = 1,100): 110 in 2017, 0.1·(0.9·1,100 + 100) = 109 in 2018; the
    plan asks for capacity, 100, and the branch books 100: both years miss the floor; no bonus, and
    the penalty is 0 (booked = target)."""
    scenario = two_year_bank(borrower_count={"margin": 0.0})
    params = PolicyLoopParams.from_scenario(scenario)
    records, _, long_term = run_cycle(params, np.random.default_rng(0))
    from simulate.policy_loop import cycle_metrics

    m = cycle_metrics(params, records, long_term)
    assert [r.target.tolist() for r in records] == [[100.0], [100.0]]
    assert m["floor_missed_years"] == 2 and m["bonus_paid"] == 0 and m["penalty_charged"] == 0


def test_a_branch_short_of_its_target_answers_the_penalty() -> None:
    """A negotiated 2017 target of 120 above capacity 100: at effort 1 the branch falls short, so one more
    client saves the penalty, 0.3 万元, not the bonus 0.2: effort (0.3/0.2)^0.3 = 1.1294, booked
    round(112.94) = 113, penalty 0.3 × (120 − 113) = 2.1 万元 in 2017."""
    raw = raw_scenario([branch("B0", achieved_clients=150, micro_clients=1100, locked_target_clients=120)], plan_year=2017,
                       incentives={"behaviour": "myopic", "noise_sd": 0.0, "bonus_per_client": 0.2, "penalty_per_client": 0.3})
    records, _, _ = run_cycle(PolicyLoopParams.from_scenario(build(raw)), np.random.default_rng(0))
    assert records[0].target.tolist() == [120.0] and records[0].actual.tolist() == [113.0]
    assert records[0].effort[0] == pytest.approx(1.5 ** 0.3)
    assert records[0].penalty == pytest.approx(2.1)
