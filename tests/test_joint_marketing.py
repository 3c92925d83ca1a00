"""The joint-marketing model: conservation, reproducibility, and directions and elasticity with CIs.

Directions are judged by the 95 % CI of the difference of means over replications (Welch), never
by one seed; the elasticity check compares the ratio of mean efforts with 2^η inside its
delta-method CI. Each replication of the bundled city takes ~0.06 s.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import yaml

from scenarios.loading import bundled_path, scenario_from_dict
from simulate.joint_marketing import JointMarketingParams, simulate_marketing
from simulate.runner import replication_seed
from simulate.service import run_simulation
from simulate.stats import t_quantile_975

BUNDLED = "city-2014"
#: Replications per arm of a direction test: enough for the CI of the difference to separate.
REPLICATIONS = 8
#: Relative tolerance of accounting identities.
EXACT = 1e-9
#: The elasticity check accepts 2^η inside the CI widened by this factor (a correct model fails ≈ 1 seed in 100).
CI_SLACK = 1.3


def merged(base: dict, patch: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        out[key] = merged(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def scenario(**jm):
    """The bundled city with `simulation.joint_marketing` patched (nested dicts merge)."""
    raw = yaml.safe_load(bundled_path(BUNDLED).read_text(encoding="utf-8"))
    raw["simulation"]["joint_marketing"] = merged(raw["simulation"].get("joint_marketing") or {}, jm)
    return scenario_from_dict(raw, base_dir=bundled_path(BUNDLED).parent)


def params(**jm) -> JointMarketingParams:
    s = scenario(**jm)
    return JointMarketingParams.from_scenario(s.simulation, s.plan_year, s)


def runs(p: JointMarketingParams, n: int = REPLICATIONS, seed: int = 7):
    return [simulate_marketing(p, replication_seed(seed, i), i) for i in range(n)]


def values(results, name: str) -> np.ndarray:
    return np.array([r.output.metrics[name] for r in results])


def difference_ci(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """95 % CI of mean(b) − mean(a) (Welch's t with the smaller df, conservative)."""
    diff = b.mean() - a.mean()
    se = math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    half = t_quantile_975(min(len(a), len(b)) - 1) * se
    return diff - half, diff + half


def assert_rises(a, b, name: str) -> None:
    low, high = difference_ci(values(a, name), values(b, name))
    assert low > 0, f"{name}: CI of the change [{low:g}, {high:g}] does not lie above 0"


def assert_falls(a, b, name: str) -> None:
    low, high = difference_ci(values(a, name), values(b, name))
    assert high < 0, f"{name}: CI of the change [{low:g}, {high:g}] does not lie below 0"


@pytest.fixture(scope="module")
def base_runs():
    """The bundled city under a 30/70 rule (an asymmetric split, so department and branch parts differ)."""
    return runs(params(sharing={"department_share": 0.3}), n=8)


# -- conservation -------------------------------------------------------------------------------


def test_payouts_add_up_to_the_distributed_profit(base_runs):
    """department + branch = pool = incentive_rate × Σ_g max(0, group profit); branches' parts add up;
    members get member_share of their branch's part; profit after incentives = profit − pool."""
    for run in base_runs:
        m = run.output.metrics
        jm = run.params.jm
        groups = run.params.groups
        pool = sum(jm.sharing.incentive_rate * max(0.0, m[f"group/{g}/simulated_profit"]) for g in groups)
        assert m["department_payout"] + m["branch_payout"] == pytest.approx(pool, rel=EXACT)
        assert m["department_payout"] == pytest.approx(jm.sharing.department_share * pool, rel=EXACT)
        assert m["profit_after_incentives"] == pytest.approx(m["simulated_profit"] - pool, rel=EXACT, abs=EXACT)
        branch_parts = [m[f"branch/{b}/branch_payout"] for b in run.params.branches]
        assert sum(branch_parts) == pytest.approx(m["branch_payout"], rel=EXACT)
        assert min(branch_parts) >= 0                      # a branch losing money gets nothing, never a bill
        assert m["member_payout"] == pytest.approx(jm.sharing.member_share * m["branch_payout"], rel=EXACT)
        assert sum(m[f"group/{g}/simulated_profit"] for g in groups) == pytest.approx(m["simulated_profit"], rel=EXACT)
        assert sum(m[f"group/{g}/new_clients"] for g in groups) == m["new_clients"]
        assert sum(m[f"branch/{b}/new_clients"] for b in run.params.branches) == m["new_clients"]


def test_funnel_never_grows(base_runs):
    """approvals ≤ decided ≤ applications ≤ leads; new clients ≤ approvals; approval rate in [0, 1]."""
    for run in base_runs:
        t = run.world.tally
        m = run.output.metrics
        assert m["approvals"] <= t.decided.sum() <= m["applications"] <= m["leads"]
        assert m["new_clients"] <= m["approvals"]
        assert 0 <= m["approval_rate"] <= 1
        assert (t.approvals <= t.decided).all() and (t.decided <= t.applications).all()


def test_no_market_gets_more_borrowers_than_merchants(base_runs):
    for run in base_runs:
        w = run.world
        assert (w.prospects >= 0).all()
        open_loans = [x for x in w.loans if x.end == math.inf]
        by_market = np.zeros(len(run.params.markets))
        assert len(open_loans) + w.prospects.sum() <= sum(m.merchants for m in run.params.markets)
        del by_market


def test_daily_balance_ends_at_the_open_loans(base_runs):
    """The last end-of-day balance (day 365, time 365) is Σ amount of the loans still open then."""
    for run in base_runs:
        open_amount = sum(x.amount for x in run.world.loans if x.start <= run.params.horizon and x.end > run.params.horizon)
        assert run.output.series[-1] == pytest.approx(open_amount, rel=EXACT)


def test_profit_by_hand_for_one_loan():
    """One loan of 100 万元 at 8 % for 180 days, deposit only, FTP 4.5 %, PD 2 %, LGD 0.45:
    interest 100·0.08·180/360 = 4; funding 100·0.045·180/360 = 2.25; deposit 10·0.015·180/360 = 0.075;
    expected loss 100·0.02·0.45·180/365 = 0.443836; booking 0.2 → 4 − 2.25 + 0.075 − 0.443836 − 0.2 = 1.181164."""
    from simulate.joint_marketing import NEW, loan_profit

    p = params()
    f = {"days": np.array([180.0]), "amount": np.array([100.0]), "rate": np.array([0.08]),
         "products": np.array([[1.0, 0.0, 0.0]]), "booked": np.array([True]), "kind": np.array([NEW])}
    assert loan_profit(p, f)[0] == pytest.approx(4 - 2.25 + 0.075 - 100 * 0.02 * 0.45 * 180 / 365 - 0.2)


# -- reproducibility ----------------------------------------------------------------------------


def test_identical_results_in_process_and_in_two_local_workers():
    s = scenario()
    one = run_simulation(s.simulation, "joint_marketing", replications=4, seed=3, workers=1, scenario=s, start_year=s.plan_year)
    two = run_simulation(s.simulation, "joint_marketing", replications=4, seed=3, workers=2, scenario=s, start_year=s.plan_year)
    assert one.to_json() == two.to_json()
    assert set(one.to_json()["by_group"]) == {"G1", "G2", "G3"}
    assert "new_clients" in one.to_json()["by_branch"]["B01"]


def test_identical_results_on_a_dask_cluster():
    distributed = pytest.importorskip("distributed")
    s = scenario()
    one = run_simulation(s.simulation, "joint_marketing", replications=3, seed=5, workers=1, scenario=s, start_year=s.plan_year)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        dask = run_simulation(s.simulation, "joint_marketing", replications=3, seed=5, scenario=s,
                              start_year=s.plan_year, dask_address=cluster.scheduler_address)
    assert dask.to_json() == one.to_json()


def test_the_model_needs_the_markets_section():
    s = scenario()
    with pytest.raises(ValueError, match="markets"):
        JointMarketingParams.from_scenario(s.simulation, 2014, s.model_copy(update={"markets": None}))


# -- directions (CIs over replications) ---------------------------------------------------------


def test_a_larger_member_share_brings_more_effort_and_clients():
    low = runs(params(sharing={"member_share": 0.2}))
    high = runs(params(sharing={"member_share": 0.6}))
    assert_rises(low, high, "effort")
    assert_rises(low, high, "new_clients")


def test_volume_pay_brings_more_loans_and_more_defaults():
    """Defaults are rare at PD 2 %: the test raises PD to 10 % in both arms so the CI separates."""
    salary = runs(params(sharing={"volume_pay_weight": 0.0}, risk={"annual_pd": 0.1}))
    volume = runs(params(sharing={"volume_pay_weight": 1.0}, risk={"annual_pd": 0.1}))
    assert_rises(salary, volume, "new_loans")
    assert_rises(salary, volume, "new_clients")
    assert_rises(salary, volume, "defaults")


def test_a_higher_micro_weight_brings_more_micro_clients_and_fewer_large_sme_hours():
    balanced = runs(params(scorecard={"micro_weight": 0.4}))
    micro = runs(params(scorecard={"micro_weight": 0.8}))
    assert_rises(balanced, micro, "new_clients")
    assert_falls(balanced, micro, "large_sme_hours")


def test_a_bigger_contribution_discount_raises_cross_sell_and_lowers_the_margin():
    small = runs(params(pricing={"contribution_discount": 0.0}))
    big = runs(params(pricing={"contribution_discount": 0.02}))
    assert_rises(small, big, "cross_sell_rate")
    assert_falls(small, big, "loan_margin")


def test_bundles_keep_clients():
    """Leaving at maturity: a bundle cut of 0.9 against none → fewer clients leave."""
    none = runs(params(renewal={"bundle_attrition_cut": 0.0}))
    strong = runs(params(renewal={"bundle_attrition_cut": 0.9}))
    assert_falls(none, strong, "attrition")


def test_free_riding_lowers_effort():
    alone = runs(params(sharing={"team_credit": 0.0}), n=8)
    pooled = runs(params(sharing={"team_credit": 1.0}), n=8)
    assert_falls(alone, pooled, "effort")


def test_zero_member_share_puts_effort_at_its_floor():
    """No reward → every member at the floor (0.5 of reference): the effort metric's CI holds 0.5."""
    results = runs(params(sharing={"member_share": 0.0}), n=10)
    e = values(results, "effort")
    half = t_quantile_975(len(e) - 1) * e.std(ddof=1) / math.sqrt(len(e)) * CI_SLACK
    assert abs(e.mean() - 0.5) <= half
    assert all(abs(x - 0.5) < 1e-12 for r in results for x in r.world.effort[[not m.leader for m in r.params.managers]])


def test_doubling_the_share_raises_effort_by_two_to_the_eta():
    """Floor 0, cap 10 (never binding): E[effort] ∝ share^η, so mean(effort at 2s) ÷ mean(effort at s) = 2^0.3
    within the delta-method 95 % CI of the ratio of two independent means."""
    effort = {"floor": 0.0, "cap": 10.0, "elasticity": 0.3}
    a = values(runs(params(sharing={"member_share": 0.2}, effort=effort), n=12), "effort")
    b = values(runs(params(sharing={"member_share": 0.4}, effort=effort), n=12, seed=8), "effort")
    ratio = b.mean() / a.mean()
    se = ratio * math.sqrt(a.var(ddof=1) / len(a) / a.mean() ** 2 + b.var(ddof=1) / len(b) / b.mean() ** 2)
    half = t_quantile_975(len(a) - 1) * se * CI_SLACK
    assert abs(ratio - 2 ** 0.3) <= half, f"ratio {ratio:.4f} vs 2^0.3 = {2 ** 0.3:.4f} ± {half:.4f}"
    assert half < 0.1  # the CI is narrow enough to tell η = 0.3 from η = 0 (ratio 1) or η = 0.6 (1.52)


# -- against the parameters (theory) ------------------------------------------------------------


def test_approval_and_cross_sell_rates_match_their_probabilities():
    """approval_rate estimates funnel.approval_rate (0.86); the cross-sell rate estimates
    1 − Π(1 − p_k) with p = (0.5, 0.3, 0.1) + 15 × 0.01 = (0.65, 0.45, 0.25): 1 − 0.35·0.55·0.75 = 0.855625."""
    results = runs(params(), n=16, seed=11)
    for name, expected in [("approval_rate", 0.86), ("cross_sell_rate", 1 - 0.35 * 0.55 * 0.75)]:
        x = values(results, name)
        half = t_quantile_975(len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)) * CI_SLACK
        assert abs(x.mean() - expected) <= half, f"{name}: {x.mean():.4f} vs {expected:.4f} ± {half:.4f}"


# -- the CLI ------------------------------------------------------------------------------------


def test_cli_json_has_the_contract_metrics_and_the_breakdowns(cli):
    result = cli("simulate", BUNDLED, "--model", "joint_marketing", "--replications", "2", "--workers", "1", "--format", "json")
    assert result.code == 0, result.err
    import json

    data = json.loads(result.out)
    assert data["model"] == "joint_marketing"
    for name in ("new_clients", "new_loans", "approval_rate", "cross_sell_rate", "simulated_profit", "department_payout",
                 "branch_payout", "profit_after_incentives", "default_rate"):
        assert set(data["metrics"][name]) == {"mean", "std", "ci95", "p5", "p50", "p95"}
        assert name in data["by_group"]["G1"]
    assert set(data["by_branch"]) == {"B01", "B05", "B19", "B03", "B06", "B29", "B07", "B09", "B15"}
    assert data["assignment"]["M01"] == "G1" and len(data["assignment"]) == 16
    assert data["phased_targets"][0]["market"] == "M01"


def test_cli_table_shows_groups_and_branches(cli):
    result = cli("simulate", BUNDLED, "--model", "joint_marketing", "--replications", "2", "--workers", "1")
    assert result.code == 0, result.err
    assert "申贷获得率(%)" in result.out and "各联合营销小组" in result.out and "B01" in result.out


def test_cli_bad_markets_exit_2_with_the_path(cli, tmp_path):
    raw = yaml.safe_load(bundled_path(BUNDLED).read_text(encoding="utf-8"))
    raw["branches"] = str(bundled_path(BUNDLED).parent / raw["branches"])
    raw["markets"]["markets"][0]["group"] = "G9"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = cli("simulate", str(path), "--model", "joint_marketing", "--replications", "2")
    assert result.code == 2
    assert "markets.markets.0.group: unknown group 'G9'" in result.err and "Traceback" not in result.err


def test_cli_without_markets_says_so(cli, tmp_path):
    raw = yaml.safe_load(bundled_path("city-2016").read_text(encoding="utf-8"))
    raw["branches"] = str(bundled_path("city-2016").parent / raw["branches"])
    raw.pop("markets", None)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = cli("simulate", str(path), "--model", "joint_marketing", "--replications", "2")
    assert result.code == 2
    assert "markets" in result.err and "Traceback" not in result.err


def test_breakdowns_and_targets_follow_the_money_unit():
    """亿元 = 10,000 万元: money breakdowns and phased-target money ÷ 10,000; ratios and counts unchanged."""
    s = scenario()
    wan = run_simulation(s.simulation, "joint_marketing", replications=2, seed=1, workers=1, scenario=s, start_year=s.plan_year)
    yi = wan.in_money_unit("亿元")
    g_wan, g_yi = wan.breakdowns["group"]["G1"], yi.breakdowns["group"]["G1"]
    assert g_yi["new_loans"].mean == pytest.approx(g_wan["new_loans"].mean / 10_000)
    assert g_yi["new_clients"].mean == g_wan["new_clients"].mean
    assert g_yi["approval_rate"].mean == g_wan["approval_rate"].mean
    assert yi.breakdowns["branch"]["B01"]["branch_payout"].mean == pytest.approx(wan.breakdowns["branch"]["B01"]["branch_payout"].mean / 10_000)
    first_wan, first_yi = wan.details["phased_targets"][0], yi.details["phased_targets"][0]
    assert first_yi["loan_balance"] == pytest.approx(first_wan["loan_balance"] / 10_000)
    assert first_yi["clients"] == first_wan["clients"]
