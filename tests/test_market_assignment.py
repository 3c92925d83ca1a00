"""The market assignment MIP (optimize/markets.py), the phased targets, and the `markets:` section's checks."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
import yaml

from optimize.markets import AssignmentInputs, GroupInput, MarketInput, assign_markets, balance_gap, phased_targets
from scenarios.errors import ScenarioError
from scenarios.loading import bundled_path, load_scenario, scenario_from_dict

BUNDLED = "city-2014"


def four_markets(given: str | None = None) -> AssignmentInputs:
    """Districts A (three markets of 100) and B (one of 150); G1 has 2 members, G2 has 1."""
    markets = (MarketInput("A1", "A", 100), MarketInput("A2", "A", 100), MarketInput("A3", "A", 100),
               MarketInput("B1", "B", 150, given))
    return AssignmentInputs(markets, (GroupInput("G1", 2), GroupInput("G2", 1)), balance_weight=1.0, district_weight=0.05)


def objective_of(inputs: AssignmentInputs, group_of: dict[str, str]) -> float:
    """w_bal · gap + w_dist · (group, district) pairs, recomputed from the table with pandas."""
    frame = pd.DataFrame({"market": [m.id for m in inputs.markets], "district": [m.district for m in inputs.markets]})
    frame["group"] = frame["market"].map(group_of)
    pairs = len(frame[["group", "district"]].drop_duplicates())
    return inputs.balance_weight * balance_gap(inputs, group_of) + inputs.district_weight * pairs


def test_hand_case_balances_potential_per_member_and_keeps_districts_together():
    """p̄ = 450 / 3 = 150 per member: G1 (2 members) needs 300 = A1+A2+A3, G2 (1) needs 150 = B1.

    That split has gap 0 and 2 (group, district) pairs: objective 0 + 0.05·2 = 0.10, and no other
    split reaches gap 0 (300 is only 100+100+100), so it is the unique optimum.
    """
    result = assign_markets(four_markets())
    assert result.group_of == {"A1": "G1", "A2": "G1", "A3": "G1", "B1": "G2"}
    assert result.gap == pytest.approx(0.0, abs=1e-9)
    assert result.objective == pytest.approx(0.10)
    assert result.districts == {"G1": ("A",), "G2": ("B",)}


def test_a_given_assignment_is_kept_at_its_cost():
    """B1 given to G1: G1 = {B1, A} → 250/2 = 125 per member, G2 = 200 → gap |200/150 − 1| = 1/3;
    G1 = {B1, A, A} → 175 and 100 → gap 1/3 too; both cover 3 pairs → objective 1/3 + 0.15.
    Every other split is worse (G1 = {B1}: G2 300 → gap 1). Several optima: assert the value."""
    inputs = four_markets(given="G1")
    result = assign_markets(inputs)
    assert result.group_of["B1"] == "G1"
    assert result.objective == pytest.approx(1 / 3 + 0.15, abs=1e-6)
    assert objective_of(inputs, result.group_of) == pytest.approx(result.objective, abs=1e-6)


def test_bundled_markets_every_market_once_given_kept_and_objective_recomputed():
    scenario = load_scenario(BUNDLED)
    section = scenario.markets
    inputs = AssignmentInputs.from_section(section)
    result = assign_markets(inputs)
    assert sorted(result.group_of) == sorted(m.id for m in section.markets)       # each market exactly once
    assert set(result.group_of.values()) <= {g.id for g in section.groups}
    for market in section.markets:
        if market.group:
            assert result.group_of[market.id] == market.group
    assert objective_of(inputs, result.group_of) == pytest.approx(result.objective, abs=1e-6)
    # no group is left without markets, and districts stay together: fewer pairs than markets
    assert all(result.markets_of(g.id) for g in section.groups)
    assert sum(len(d) for d in result.districts.values()) < len(section.markets)


def test_district_weight_trades_balance_for_closeness():
    """With a heavy district weight the two A-markets of 100 stay together even when splitting them balances better.

    Markets A1, A2 (district A, 100 each), B1 (district B, 100); two groups of one member; p̄ = 150.
    Light weight (0.01): any split has gap ≥ 1/3 (loads 200/100); heavy (10): covering 2 pairs wins.
    """
    markets = (MarketInput("A1", "A", 100), MarketInput("A2", "A", 100), MarketInput("B1", "B", 100))
    groups = (GroupInput("G1", 1), GroupInput("G2", 1))
    heavy = assign_markets(AssignmentInputs(markets, groups, 1.0, 10.0))
    assert heavy.group_of["A1"] == heavy.group_of["A2"] != heavy.group_of["B1"]
    assert sum(len(d) for d in heavy.districts.values()) == 2


def test_phased_targets_by_hand():
    """M01: 2400 merchants, 60 clients, penetration 0.06 → end 144; phases 0.4/0.7/1.0:
    60 + round(84·0.4) = 94, 60 + round(84·0.7) = 119, 144; accounts 0.25·2400 = 600 → 240, 420, 600;
    loan balance clients × 35 万元; settlement accounts × 150 万元."""
    scenario = load_scenario(BUNDLED)
    result = assign_markets(AssignmentInputs.from_section(scenario.markets))
    frame = phased_targets(scenario.markets, result.group_of, 2014)
    m01 = frame[frame.market == "M01"].set_index("year")
    assert list(m01.clients) == [94, 119, 144]
    assert list(m01.accounts) == [240, 420, 600]
    assert list(m01.loan_balance) == pytest.approx([94 * 35, 119 * 35, 144 * 35])
    assert list(m01.settlement_volume) == pytest.approx([240 * 150, 420 * 150, 600 * 150])
    assert set(frame.group) == {"G1", "G2", "G3"} and len(frame) == 3 * len(scenario.markets.markets)


def raw_bundled() -> dict:
    return yaml.safe_load(bundled_path(BUNDLED).read_text(encoding="utf-8"))


def problems_of(raw: dict) -> list[str]:
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(raw, file="s.yaml", base_dir=bundled_path(BUNDLED).parent)
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize(("change", "expected"), [
    # a market given to a group that does not exist
    (lambda r: r["markets"]["markets"][0].update(group="G9"), "markets.markets.0.group: unknown group 'G9'"),
    # a member from a branch that is not in the branch table
    (lambda r: r["markets"]["groups"][1]["members"][0].update(branch="B99"), "markets.groups.1.members.0.branch: unknown branch 'B99'"),
    # two markets with one id
    (lambda r: r["markets"]["markets"][3].update(id="M01"), "markets.markets.3.id: duplicate id"),
    # more existing clients than merchants
    (lambda r: r["markets"]["markets"][2].update(existing_clients=5000), "markets.markets.2.existing_clients: must be ≤ merchants (900)"),
    # phases that do not reach the whole target
    (lambda r: r["markets"]["targets"].update(phases=[0.5, 0.9]), "markets.targets.phases: the last phase must reach 1"),
    # phases that fall
    (lambda r: r["markets"]["targets"].update(phases=[0.6, 0.4, 1.0]), "markets.targets.phases: cumulative shares must not fall"),
    # effort floor above its cap
    (lambda r: r["simulation"]["joint_marketing"].update(effort={"floor": 2, "cap": 1}), "simulation.joint_marketing.effort.floor: floor must be ≤ cap"),
    # contribution weights not summing to 1
    (lambda r: r["simulation"]["joint_marketing"].update(cross_sell={"deposit_weight": 0.9}), "contribution weights must sum to 1"),
    # a share outside 0–1
    (lambda r: r["simulation"]["joint_marketing"]["sharing"].update(department_share=1.3), "simulation.joint_marketing.sharing.department_share"),
    # an unknown key (a typo)
    (lambda r: r["simulation"]["joint_marketing"].update(partners=3), "simulation.joint_marketing.partners"),
])
def test_bad_markets_are_reported_with_their_path(change, expected):
    raw = raw_bundled()
    change(raw)
    assert any(expected in p for p in problems_of(raw)), problems_of(raw)


def test_every_problem_in_one_pass():
    raw = raw_bundled()
    raw["markets"]["markets"][0]["group"] = "G9"
    raw["markets"]["markets"][1]["merchants"] = -5
    raw["markets"]["groups"][0]["members"][0]["branch"] = "B99"
    found = problems_of(copy.deepcopy(raw))
    assert any("markets.markets.0.group" in p for p in found)
    assert any("markets.markets.1.merchants" in p for p in found)
    assert any("markets.groups.0.members.0.branch" in p for p in found)


def test_money_of_markets_and_joint_marketing_is_converted_to_wan():
    """A file in 元: average loan 350,000 元 → 35 万元; deposit 100,000 元 → 10; a visit 200 元 → 0.02."""
    raw = raw_bundled()
    raw["units"] = {"money": "元"}
    raw["markets"]["markets"][0]["average_loan"] = 350_000
    raw["markets"]["targets"]["settlement_per_account"] = 1_500_000
    raw["simulation"]["joint_marketing"]["pricing"]["deposit_balance"] = 100_000
    raw["simulation"]["joint_marketing"]["costs"] = {"per_visit": 200}
    s = scenario_from_dict(raw, file="s.yaml", base_dir=bundled_path(BUNDLED).parent)
    assert s.markets.markets[0].average_loan == pytest.approx(35)
    assert s.markets.targets.settlement_per_account == pytest.approx(150)
    assert s.simulation.joint_marketing.pricing.deposit_balance == pytest.approx(10)
    assert s.simulation.joint_marketing.costs.per_visit == pytest.approx(0.02)
