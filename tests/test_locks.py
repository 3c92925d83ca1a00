"""Locked plan-year targets (branch columns `locked_target_clients`, `locked_target_loan_increment`).

The plan keeps a lock exactly and shares the rest by the same rules; a lock that breaks a rule is
a violation naming the lock, the rule and by how much (`optimize/plan.py`), and `microplan check`
reports the broken rule on the branch.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import yaml
from builders import branch, build, raw_scenario

from optimize.plan import make_plan

ROOT = Path(__file__).resolve().parents[1]


def four_branches(**locks: dict) -> dict:
    """B1, B2, B4: capacity 100 (10 micro managers × 10); B3: capacity 200. Long-term target 250 each,
    nothing achieved, 5 years left → pace 50 each. Department target 320 new clients; no regulatory
    rule (preset custom, none listed); loans 10–30 万元 per client, no book change."""
    rows = [branch("B1"), branch("B2"), branch("B3", micro_client_managers=20), branch("B4")]
    for row in rows:
        row.update(locks.get(row["id"], {}))
    return raw_scenario(rows, targets={"micro_client_increment": 320})


def targets(plan) -> dict[str, tuple[float, float]]:
    table = plan.branch_table()
    return {r.id: (r.target_clients, r.target_loan_increment) for r in table.itertuples()}


def test_two_locked_branches_keep_their_targets_and_the_rest_is_reshared() -> None:
    """Hand-worked.

    Unlocked: pace 50 each (200); the department target 320 leaves 120 extra, shared by spare
    capacity (50, 50, 150, 50; Σ 300): θ = 0.4 → 70, 70, 110, 70 — loans at mid size 20 万元 per
    client.

    Locked B1 = 60 clients and 1,500 万元, B2 = 100 clients: the rest of the target is
    320 − 160 = 160 for B3 and B4; their paces take 100, the extra 60 is shared by their spare
    capacity 150 : 50 → B3 +45, B4 +15 → B3 95, B4 65. Loans: B1 1,500 (locked), B2 100 × 20 =
    2,000, B3 95 × 20 = 1,900, B4 65 × 20 = 1,300.
    """
    free = targets(make_plan(build(four_branches())))
    assert free == {"B1": (70, 1400), "B2": (70, 1400), "B3": (110, 2200), "B4": (70, 1400)}
    plan = make_plan(build(four_branches(B1={"locked_target_clients": 60, "locked_target_loan_increment": 1500},
                                         B2={"locked_target_clients": 100})))
    assert targets(plan) == {"B1": (60, 1500), "B2": (100, 2000), "B3": (95, 1900), "B4": (65, 1300)}
    assert plan.violations == [] and plan.status == "optimal"


def test_a_lock_above_capacity_is_reported_with_the_rule_and_amount() -> None:
    """B1 locked at 300: capacity 100 → above by 200; last year's target 50 with max_change 1.0 → the
    smoothing band ends at 50 + 1.0 × 100 = 150 → outside by 150. Kept as negotiated, reported."""
    plan = make_plan(build(four_branches(B1={"locked_target_clients": 300})))
    assert targets(plan)["B1"][0] == 300
    found = {(v["rule"], v.get("branch"), round(v["shortfall"], 6)) for v in plan.violations}
    assert ("lock_above_capacity", "B1", 200) in found
    assert ("lock_outside_smoothing", "B1", 150) in found
    assert plan.status == "relaxed"


def test_a_loan_lock_outside_the_band_is_reported() -> None:
    """B1: 60 clients × 30 万元 = 1,800 at most; locked at 5,000 → outside by 3,200 万元."""
    plan = make_plan(build(four_branches(B1={"locked_target_clients": 60, "locked_target_loan_increment": 5000})))
    assert targets(plan)["B1"] == (60, 5000)
    assert [(v["rule"], v["branch"], v["shortfall"]) for v in plan.violations] == [("lock_outside_loan_band", "B1", 3200)]


def test_locks_that_starve_a_floor_are_named_in_its_cause() -> None:
    """Every branch locked at 10: Σ 40 against the target 320 → short by 280, held by the locks."""
    locks = {b: {"locked_target_clients": 10} for b in ("B1", "B2", "B3", "B4")}
    plan = make_plan(build(four_branches(**locks)))
    assert [(v["rule"], v["shortfall"]) for v in plan.violations] == [("department_target", 280)]
    assert any("locked" in m and "B1, B2, B3, B4" in m for m in plan.diagnostics.messages)


def test_locks_in_yuan_are_converted_and_loans_rounded_to_the_unit() -> None:
    """The same bank in 元 with units.loan_rounding = 100,000 元 (10 万元): the lock 15,000,000 元 is
    1,500 万元; every unlocked loan target is a multiple of 10 万元."""
    raw = four_branches(B1={"locked_target_clients": 60, "locked_target_loan_increment": 15_000_000})
    for row in raw["branches"]:
        for key in ("micro_loans", "loan_size_min", "loan_size_max"):
            row[key] *= 10_000
    for key in ("all_loans_prev", "all_loan_increment_plan", "micro_loans_prev", "micro_loan_increment_prev"):
        raw["bank"][key] *= 10_000
    raw["units"] = {"money": "元", "loan_rounding": 100_000}
    scenario = build(raw)
    assert scenario.units.loan_rounding == 10 and scenario.branches[0].locked_target_loan_increment == 1500
    plan = make_plan(scenario)
    got = targets(plan)
    assert got["B1"] == (60, 1500)
    assert all(loans % 10 == 0 for bid, (_, loans) in got.items())
    assert plan.to_json()["branches"][0]["target_loan_increment"] == 15_000_000


# ---------------------------------------------------------------- end to end


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, timeout=300, cwd=ROOT)


def test_lock_two_negotiated_targets_in_the_template_and_replan(tmp_path: Path) -> None:
    """The planner's loop: template → plan → lock B01 and B02 in the workbook (B01 one client below
    its plan, B02 at its planned loans + 100 万元) → re-plan: the locks are kept exactly, every
    target is whole, totals equal the sum of the branches, the plan still meets its floors. 2014 has
    no client floor (两个不低于), so B01's client is not moved to anyone; the loan floor binds."""
    assert run_cli("scenarios", "template", "city-2014", "--out", str(tmp_path)).returncode == 0
    scenario, workbook = tmp_path / "city-2014.yaml", tmp_path / "city-2014_branches.xlsx"
    first = run_cli("plan", str(scenario), "--format", "json")
    assert first.returncode == 0, first.stderr
    before = {b["id"]: b for b in json.loads(first.stdout)["branches"]}
    locks = {"B01": (before["B01"]["target_clients"] - 1, None),
             "B02": (None, before["B02"]["target_loan_increment"] + 100)}
    book = openpyxl.load_workbook(workbook)
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    rows = {sheet.cell(r, 1).value: r for r in range(2, sheet.max_row + 1)}
    for bid, (clients, loans) in locks.items():
        if clients is not None:
            sheet.cell(rows[bid], headers.index("锁定新增户数目标(户)") + 1).value = clients
        if loans is not None:
            sheet.cell(rows[bid], headers.index("锁定贷款增量目标(万元)") + 1).value = loans
    book.save(workbook)
    second = run_cli("plan", str(scenario), "--format", "json")
    assert second.returncode == 0, second.stderr
    plan = json.loads(second.stdout)
    after = {b["id"]: b for b in plan["branches"]}
    assert after["B01"]["target_clients"] == locks["B01"][0]
    assert after["B02"]["target_loan_increment"] == locks["B02"][1]
    assert all(float(b["target_clients"]).is_integer() for b in plan["branches"])
    assert plan["totals"]["target_clients"] == sum(b["target_clients"] for b in plan["branches"])
    assert plan["totals"]["target_loan_increment"] == pytest.approx(sum(b["target_loan_increment"] for b in plan["branches"]))
    assert plan["violations"] == []
    # the increment floor binds (330,000 万元 both times): B02's extra 100 万元 comes off the others
    assert plan["totals"]["target_loan_increment"] == json.loads(first.stdout)["totals"]["target_loan_increment"]
    others = [bid for bid in before if bid != "B02"]
    assert sum(after[b]["target_loan_increment"] for b in others) == pytest.approx(
        sum(before[b]["target_loan_increment"] for b in others) - 100)


def test_microplan_check_names_the_branch_a_lock_breaks(tmp_path: Path) -> None:
    """The plan of B1 locked at 300 (capacity 100), checked independently: capacity breached by 200 on B1."""
    path = tmp_path / "lock.yaml"
    path.write_text(yaml.safe_dump(four_branches(B1={"locked_target_clients": 300}), allow_unicode=True), encoding="utf-8")
    plan_path = tmp_path / "plan.json"
    assert run_cli("plan", str(path), "--format", "json", "--out", str(plan_path)).returncode == 1
    result = run_cli("check", str(path), str(plan_path), "--format", "json")
    assert result.returncode == 1
    rows = json.loads(result.stdout)["breaches"]
    assert any(b["rule"] == "capacity" and b.get("branch") == "B1" and b["amount"] == pytest.approx(200) for b in rows), rows
