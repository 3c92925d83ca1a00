"""Comparing policy options (`api.comparison`, `microplan compare`): hand-worked options, equal
variants, bad patches, common random numbers, executors, the workbook.

The hand-worked bank (two branches, no regulatory floor: preset custom without rules; capacity
10 micro managers × 10 = 100 a year; long-term targets 250 and 400, nothing achieved, five years
left, so the catch-up paces are 50 and 80; last year's target and actual 50 each):

- base, catch-up: targets = paces = 50, 80; loads 0.50, 0.80 → max 0.80, spread 0.30;
- ratchet: last actual × 1.1 = 55, 55; against the base +5, −25;
- department target 160 clients, shared by spare capacity (50 and 20): extra 30 → 30·50/70 = 21.4
  and 8.6 → 21 and 9 whole → targets 71, 89; shared by outlets (5 and 5): 15 and 15 → 65, 95.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from api.comparison import BASE, compare_scenario, comparison_options, paired_difference
from builders import branch, build, raw_scenario
from scenarios import ScenarioError, scenario_from_dict
from scenarios.loading import bundled_path, read_document

#: A small simulation: four replications of 200 accounts over 30 days (a fraction of a second each).
SMALL_SIMULATION = {"seed": 7, "replications": 4, "days": 30, "revolving_credit": {"accounts": 200}}


def hand_raw(**sections) -> dict:
    return raw_scenario([branch("B1"), branch("B2", long_term_target=400)], **sections)


VARIANTS = [
    {"name": "ratchet", "description": "上年实际加码", "patch": {"policy": {"name": "ratchet"}}},
    {"name": "dept", "patch": {"targets": {"micro_client_increment": 160}}},
    {"name": "dept_outlets", "patch": {"targets": {"micro_client_increment": 160}, "policy": {"sharing_key": "outlets"}}},
]


@pytest.fixture(scope="module")
def hand():
    return compare_scenario(build(hand_raw(variants=VARIANTS)), workers=1)


def column(comparison, attribute: str, k: int) -> list:
    return [getattr(b, attribute)[k] for b in comparison.branches]


# -- hand-worked -----------------------------------------------------------------------------------

def test_hand_worked_targets_loads_and_sharing_rules(hand):
    assert hand.names == [BASE, "ratchet", "dept", "dept_outlets"]
    assert [column(hand, "target_clients", k) for k in range(4)] == [[50, 80], [55, 55], [71, 89], [65, 95]]
    assert column(hand, "change_vs_base", 1) == [5, -25]
    assert column(hand, "change_vs_last_year", 0) == [0, 30]
    base = hand.options[0]
    assert (base.max_load, base.load_spread, base.at_capacity) == (0.8, 0.3, 0)
    assert column(hand, "extra_part", 2) == [21, 9] and column(hand, "extra_part", 3) == [15, 15]
    assert [o.target_clients for o in hand.options] == [130, 110, 160, 160]
    assert hand.options[1].changed_branches == 2 and hand.options[1].moved_clients == 30


def test_every_branch_row_adds_up(hand):
    """The policy's share + the extra load = the target; differences are recomputed from the targets."""
    for row in hand.branches:
        for k in range(len(hand.options)):
            assert row.base_part[k] + row.extra_part[k] == row.target_clients[k]
            assert row.change_vs_base[k] == row.target_clients[k] - row.target_clients[0]
            assert row.load[k] == pytest.approx(row.target_clients[k] / row.capacity, abs=1e-4)
    for k, option in enumerate(hand.options):
        assert option.target_clients == sum(column(hand, "target_clients", k))
        assert option.base_part + option.extra_part == option.target_clients


# -- equal variants, policy-only variants ----------------------------------------------------------

def test_a_variant_identical_to_the_base_compares_equal():
    variants = [{"name": "same", "patch": {}}, {"name": "restated", "patch": {"policy": {"name": "catch_up"}}}]
    comparison = compare_scenario(build(hand_raw(preset="two_not_lower", variants=variants)), workers=1)
    base, *others = [o.to_json() for o in comparison.options]
    for other in others:
        for key in ("name", "description", "patch", "plan_seconds"):
            other.pop(key), base.pop(key, None)
        assert other == base
    for row in comparison.branches:
        assert len(set(row.target_clients)) == 1 and set(row.change_vs_base) == {0}
        assert len(set(row.target_loan_increment)) == 1
    assert comparison.highlights() == []


def test_a_policy_only_variant_leaves_the_floors_unchanged():
    raw = hand_raw(preset="two_not_lower", bank={"micro_loan_increment_prev": 2500.0},
                   variants=[{"name": "ratchet", "patch": {"policy": {"name": "ratchet"}}},
                             {"name": "prop", "patch": {"policy": {"name": "proportional"}}}])
    comparison = compare_scenario(build(raw), workers=1)
    base = comparison.options[0]
    assert base.loan_floor == 2500.0 and base.loan_floor_rule == "increment"
    for option in comparison.options[1:]:
        assert (option.loan_floor, option.loan_floor_rule, option.client_floor, option.client_floor_rule) == \
               (base.loan_floor, base.loan_floor_rule, base.client_floor, base.client_floor_rule)
        assert option.changed_branches > 0  # the policy does change the targets


# -- bad patches -------------------------------------------------------------------------------------

BAD_PATCHES = [
    # a policy that does not exist
    ({"policy": {"name": "whatever"}}, "variants.0.patch.policy.name"),
    # a smoothing step out of its range
    ({"capacity": {"max_change": -1}}, "variants.0.patch.capacity.max_change"),
    # the cycle weights no longer sum to 1 (a rule between fields)
    ({"cycle": {"weights": {"outlets": 0.9, "client_managers": 0.6}}}, "variants.0.patch.cycle.weights"),
    # a typo in a key
    ({"policy": {"nmae": "ratchet"}}, "variants.0.patch.policy.nmae"),
]


@pytest.mark.parametrize(("patch", "path"), BAD_PATCHES)
def test_a_patch_that_makes_the_scenario_invalid_is_refused_naming_the_variant(patch, path):
    raw = hand_raw(variants=[{"name": "试算方案", "patch": patch}])
    with pytest.raises(ScenarioError) as caught:
        build(raw)
    lines = [str(p) for p in caught.value.problems]
    assert any(path in line for line in lines), lines
    if "nmae" not in path:  # a typo is named by its path; a bad value also names the variant
        assert any(path in line and "'试算方案'" in line for line in lines), lines


def test_the_comparison_checks_patches_of_a_scenario_built_without_the_loader():
    """The HTTP API may hand over a validated Scenario; its patches are checked again, all in one pass."""
    from scenarios.schema import Variant

    scenario = build(hand_raw())
    scenario = scenario.model_copy(update={"variants": [
        Variant(name="a", patch={"policy": {"name": "nope"}}),
        Variant(name="b", patch={"units": {"money": "元"}}),
        Variant(name="c", patch={"bank": {"micro_client_attrition": 3}}),
    ]})
    with pytest.raises(ScenarioError) as caught:
        comparison_options(scenario, "mine.yaml")
    lines = [str(p) for p in caught.value.problems]
    assert any(line.startswith("mine.yaml: variants.0.patch.policy.name") and "'a'" in line for line in lines), lines
    assert any("variants.1.patch.units.money" in line and "'b'" in line for line in lines), lines
    assert any("variants.2.patch.bank.micro_client_attrition" in line and "'c'" in line for line in lines), lines


def test_the_cli_refuses_a_bad_variant_with_exit_2_naming_it(cli, tmp_path: Path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(hand_raw(variants=[{"name": "坏方案", "patch": {"policy": {"name": "nope"}}}]),
                                   allow_unicode=True), encoding="utf-8")
    result = cli("compare", str(path))
    assert result.code == 2
    assert "variants.0.patch.policy.name" in result.err and "'坏方案'" in result.err
    assert "Traceback" not in result.err


# -- simulations: common random numbers ------------------------------------------------------------

@pytest.fixture(scope="module")
def simulated():
    variants = [{"name": "ratchet", "patch": {"policy": {"name": "ratchet"}}},
                {"name": "cheaper", "patch": {"simulation": {"revolving_credit": {"annual_rate": 0.06}}}}]
    return compare_scenario(build(hand_raw(simulation=SMALL_SIMULATION, variants=variants)), workers=1)


def test_options_with_the_same_simulation_inputs_share_one_run(simulated):
    assert simulated.simulation["models"] == ["revolving_credit"]
    assert simulated.simulation["shared"]["revolving_credit"] == [[BASE, "ratchet"], ["cheaper"]]
    for metric in simulated.metrics:
        assert metric.mean[1] == metric.mean[0]
        assert metric.diff[1] == (None if metric.mean[0] is None else 0.0)  # undefined (a CCF without defaults) stays so


def test_every_option_uses_the_same_random_numbers(simulated):
    """A rate cut changes interest only: the draws (same streams) and so the balances stay the same.
    Replication by replication, income' = income × 0.06/0.072, so the paired difference is
    d_i = −income_i/6 and its CI is the base's CI scaled by 1/6 — against an unpaired interval
    √(w² + (5w/6)²) ≈ 1.3 w wide, eight times wider."""
    by_name = {m.metric: m for m in simulated.metrics}
    assert by_name["mean_outstanding"].mean[2] == pytest.approx(by_name["mean_outstanding"].mean[0], rel=1e-12)
    income = by_name["interest_income"]
    assert income.mean[2] == pytest.approx(income.mean[0] * 0.06 / 0.072, rel=1e-9)
    low, high = income.diff_ci95[2]
    own_low, own_high = income.ci95[0]
    assert high < 0 and (high - low) == pytest.approx((own_high - own_low) * (1 - 0.06 / 0.072), rel=1e-6)
    assert income.diff[2] == pytest.approx(-income.mean[0] / 6, rel=1e-9)
    assert any(item["kind"] == "metric" and item["option"] == "cheaper" for item in simulated.highlights())


def test_a_scenario_without_a_simulation_section_is_only_planned(hand):
    assert hand.metrics == [] and hand.balance == [] and hand.simulation == {}


def test_sections_survive_the_conversion_to_wan():
    """A scenario in 元 without a simulation section still has none after its money is converted."""
    raw = hand_raw(units={"money": "元"})
    for row in raw["branches"]:
        for key in ("micro_loans", "loan_size_min", "loan_size_max"):
            row[key] *= 10_000
    for key in ("all_loans_prev", "all_loan_increment_plan", "micro_loans_prev", "micro_loan_increment_prev"):
        raw["bank"][key] *= 10_000
    scenario = build(raw)
    assert "simulation" not in scenario.model_fields_set
    assert "simulation" in build({**raw, "simulation": SMALL_SIMULATION}).model_fields_set


def test_paired_difference_by_hand():
    """d = (1, 3) − (0, 0) = (1, 3): mean 2, s = √2, CI 2 ± 12.706·√2/√2 = 2 ± 12.706."""
    mean, (low, high) = paired_difference([1.0, 3.0], [0.0, 0.0])
    assert mean == 2.0 and low == pytest.approx(2 - 12.706) and high == pytest.approx(2 + 12.706)
    assert paired_difference([1.0, 2.0], [1.0, 2.0]) == (0.0, (0.0, 0.0))
    assert paired_difference([], []) == (None, (None, None))


# -- executors -----------------------------------------------------------------------------------------

def without_seconds(data: dict) -> dict:
    data = copy.deepcopy(data)
    data.pop("seconds")
    for option in data["options"]:
        option.pop("plan_seconds")
    return data


def test_two_local_workers_give_the_same_comparison(hand):
    scenario = build(hand_raw(variants=VARIANTS))
    seen: list[float] = []
    parallel = compare_scenario(scenario, workers=2, progress=seen.append)
    assert without_seconds(parallel.to_json()) == without_seconds(hand.to_json())
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_a_dask_cluster_gives_the_same_comparison(simulated):
    distributed = pytest.importorskip("distributed")
    variants = [{"name": "ratchet", "patch": {"policy": {"name": "ratchet"}}},
                {"name": "cheaper", "patch": {"simulation": {"revolving_credit": {"annual_rate": 0.06}}}}]
    scenario = build(hand_raw(simulation=SMALL_SIMULATION, variants=variants))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        on_dask = compare_scenario(scenario, dask_address=cluster.scheduler_address)
    assert without_seconds(on_dask.to_json()) == without_seconds(simulated.to_json())


def test_small_banks_plan_in_process_unless_workers_are_asked_for():
    """36 branches × 9 options = 324 branch plans: below the threshold the default plans here; a
    request for 2 workers is kept; 3 options of 1,000 branches reach the threshold."""
    from api.comparison import AUTO_PARALLEL_MIN_BRANCH_PLANS, plan_workers

    assert AUTO_PARALLEL_MIN_BRANCH_PLANS == 2_000
    assert plan_workers(36 * 9, None) == 1 and plan_workers(36 * 9, 2) == 2
    assert plan_workers(1_000 * 3, None) is None


def test_run_tasks_keeps_the_task_order():
    from simulate.runner import run_tasks

    assert run_tasks(abs, [-3, 1, -2, 5, -4], workers=2) == [3, 1, 2, 5, 4]
    assert run_tasks(abs, [], workers=2) == []


# -- the JSON and the workbook -------------------------------------------------------------------------

def test_json_is_plain_json(simulated):
    data = json.loads(json.dumps(simulated.to_json(), allow_nan=False))
    assert data["schema_version"] == 1 and data["money_unit"] == "万元"
    assert [o["name"] for o in data["options"]] == [BASE, "ratchet", "cheaper"]
    assert {"mean", "ci95", "diff", "diff_ci95"} <= set(data["simulation"]["metrics"][0])
    assert len(data["simulation"]["balance"]) == 3 and len(data["simulation"]["balance"][0]["mean"]) == 30


@pytest.fixture(scope="module")
def city():
    """The bundled city-2014 with its variants, plans only (its simulation section left out: fast)."""
    raw = read_document(bundled_path("city-2014"))
    raw.pop("simulation")
    return compare_scenario(scenario_from_dict(raw, file="city-2014", base_dir=bundled_path("city-2014").parent), workers=1)


def test_the_bundled_scenario_compares_the_three_policies_and_two_sharing_rules(city):
    policies = {o.policy for o in city.options}
    keys = {o.sharing_key for o in city.options if o.extra_part > 0 and o.policy == "catch_up"}
    assert policies == {"catch_up", "ratchet", "proportional"}
    assert keys == {"spare_capacity", "outlets"}
    assert len(city.branches) == 36


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_workbook_has_its_sheets_and_one_row_per_branch(city, tmp_path: Path, lang: str):
    import openpyxl

    from api.comparison_xlsx import write_comparison_xlsx

    path = tmp_path / "compare.xlsx"
    write_comparison_xlsx(city, path, lang=lang)
    book = openpyxl.load_workbook(path)
    expected = {"zh": ["概要", "分行目标", "与基准差异", "贷款增量", "基础与加压", "_meta"],
                "en": ["Summary", "Branch targets", "Differences", "Loan targets", "Pace and extra", "_meta"]}[lang]
    assert book.sheetnames == expected
    assert book["_meta"].sheet_state == "hidden"
    for name in expected[1:5]:
        ws = book[name]
        ids = [ws.cell(row=r, column=1).value for r in range(2, ws.max_row)]
        assert ids == [b.id for b in city.branches]                      # one row per branch …
        assert ws.cell(row=ws.max_row, column=1).value == ("合计" if lang == "zh" else "Total")   # … then the totals
        assert str(ws.cell(row=ws.max_row, column=3).value).startswith("=SUM(")
        assert ws.print_options is not None and ws.page_setup.orientation == "landscape"
    targets = book[expected[1]]
    headers = [c.value for c in targets[1]]
    assert all("(" in h for h in headers[2:]), headers                 # a unit in every numeric header
    first = headers.index("基准方案\n目标(户)" if lang == "zh" else "Base\ntarget (clients)")
    assert [targets.cell(row=r, column=first + 1).value for r in range(2, 38)] == [b.target_clients[0] for b in city.branches]
    text = " ".join(str(c.value) for row in book[expected[0]].iter_rows() for c in row if c.value is not None)
    if lang == "zh":
        assert "catch_up" not in text and "增量不低于" in text
    else:
        assert "Increment floor" in text


def test_the_cli_prints_the_table_and_writes_the_workbook(cli, tmp_path: Path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(hand_raw(variants=VARIANTS), allow_unicode=True), encoding="utf-8")
    out = tmp_path / "c.xlsx"
    result = cli("compare", str(path), "--out", str(out), "--workers", "1")
    assert result.code == 0, result.err
    assert "基准方案" in result.out and "ratchet" in result.out and out.stat().st_size > 0
    assert cli("compare", str(path), "--out", str(tmp_path / "c.csv")).code == 2
    assert cli("compare", str(path), "--workers", "0").code == 2
    assert cli("compare", str(path), "--report", str(tmp_path / "page.txt")).code == 2
    assert cli("compare", str(path), "--report", str(path.with_suffix(".html")), "--out", str(path.with_suffix(".xlsx"))).code == 0


def test_balance_series_are_whole_days(simulated):
    band = simulated.balance[0]
    assert band.day == list(range(30)) and np.all(np.array(band.p5) <= np.array(band.p95))


def test_an_option_that_misses_a_rule_exits_1_and_is_named_first(cli, tmp_path: Path):
    """A department target of 1,000 clients against a capacity of 2 × 100: the variant's plan is relaxed."""
    variants = [{"name": "ratchet", "patch": {"policy": {"name": "ratchet"}}},
                {"name": "too_much", "patch": {"targets": {"micro_client_increment": 1000}}}]
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(hand_raw(variants=variants), allow_unicode=True), encoding="utf-8")
    result = cli("compare", str(path), "--lang", "en")
    assert result.code == 1, result.err
    comparison = compare_scenario(build(hand_raw(variants=variants)), workers=1)
    first = next(item for item in comparison.highlights() if item["option"] == "too_much")
    assert first == {"kind": "status", "option": "too_much", "base": "optimal", "status": "relaxed"}
    assert "the plan's status changes from met to not met" in result.out


def test_duplicate_or_base_variant_names_are_refused_with_every_other_problem():
    from scenarios.schema import Variant

    scenario = build(hand_raw()).model_copy(update={"variants": [
        Variant(name="base", patch={}), Variant(name="x", patch={}), Variant(name="x", patch={"policy": {"name": "nope"}})]})
    with pytest.raises(ScenarioError) as caught:
        compare_scenario(scenario, workers=1)
    lines = [str(p) for p in caught.value.problems]
    assert [line.split(": ")[1] for line in lines] == ["variants.0.name", "variants.1.name", "variants.2.name",
                                                        "variants.2.patch.policy.name"], lines
