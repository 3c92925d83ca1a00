"""Reconciliation: the bank's figures against the branch table's totals (scenarios/consistency.py).

Hand-worked: the bundled city-2014 bank has M0 = 2,536,333 万元 = Σ branch micro loans, and
C = 8,757 户 = Σ branch micro clients. A typo adding 7,000,000 万元 to M0 gives 9,536,333:
gap = 7,000,000 / 9,536,333 = 73.4 % > 5 % → a warning naming 9,536,333 and 2,536,333.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scenarios import load_scenario
from scenarios.consistency import RECONCILIATION_TOLERANCE, reconciliation_warnings, relative_gap
from scenarios.loading import bundled_path

ROOT = Path(__file__).resolve().parents[1]


def bundled_copy(tmp_path: Path, **bank: float) -> Path:
    """city-2014 in tmp_path (with its branch table), bank fields replaced."""
    source = bundled_path("city-2014")
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["bank"].update(bank)
    (tmp_path / data["branches"]).write_bytes((source.parent / data["branches"]).read_bytes())
    path = tmp_path / "bank.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def validate(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", "validate", *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def test_bundled_scenarios_reconcile() -> None:
    for name in ("city-2014", "city-2016", "city-2019"):
        assert reconciliation_warnings(load_scenario(name)) == [], name


def test_a_seven_million_typo_in_the_micro_balance_warns_and_strict_refuses(tmp_path: Path) -> None:
    path = bundled_copy(tmp_path, micro_loans_prev=2536333 + 7_000_000)
    plain = validate(str(path))
    assert plain.returncode == 0 and plain.stdout == "ok\n"
    assert "bank.micro_loans_prev" in plain.stderr and "9,536,333 万元" in plain.stderr and "2,536,333 万元" in plain.stderr
    assert "73.4%" in plain.stderr
    strict = validate(str(path), "--strict")
    assert strict.returncode == 2 and strict.stdout == ""
    assert strict.stderr.startswith(f"{path}: bank.micro_loans_prev: ") and "Traceback" not in strict.stderr


@pytest.mark.parametrize("bank, field, shown", [
    # borrowers: 8,757 → 9,300 is 5.8 % above Σ 8,757 (gap 543 / 9,300)
    ({"micro_clients_prev": 9300}, "bank.micro_clients_prev", ("9,300 户", "8,757 户")),
    # a digit too many in the balance (and in all loans, so M0 ≤ L0 still holds): 10 × Σ
    ({"micro_loans_prev": 25363330, "all_loans_prev": 126820000}, "bank.micro_loans_prev",
     ("25,363,330 万元", "2,536,333 万元")),
])
def test_each_reconciliation_names_both_numbers(tmp_path: Path, bank: dict, field: str, shown: tuple[str, str]) -> None:
    lines = reconciliation_warnings(load_scenario(bundled_copy(tmp_path, **bank)))
    assert len(lines) == 1 and lines[0].startswith(field + ":")
    assert all(number in lines[0] for number in shown)


@pytest.mark.parametrize("bank_balance, warns", [
    # Σ = 2,536,333; 5 % of the larger figure is the edge
    (2536333 / (1 - RECONCILIATION_TOLERANCE) * 0.999, False),  # gap just under 5 % of the bank figure
    (2536333 / (1 - RECONCILIATION_TOLERANCE) * 1.001, True),   # just over
    (2536333 * (1 - RECONCILIATION_TOLERANCE) * 1.001, False),  # bank below Σ, just within
    (2536333 * (1 - RECONCILIATION_TOLERANCE) * 0.999, True),   # just beyond
])
def test_tolerance_edge(tmp_path: Path, bank_balance: float, warns: bool) -> None:
    lines = reconciliation_warnings(load_scenario(bundled_copy(tmp_path, micro_loans_prev=bank_balance)))
    assert bool(lines) is warns


def test_money_is_shown_in_the_files_unit_and_chinese_has_no_field_codes(tmp_path: Path) -> None:
    """The same bank written in 亿元: M0 = 253.6333 亿元 typed as 953.6333 → both numbers in 亿元."""
    from scenarios.loading import dump_scenario

    s = load_scenario("city-2014")
    data = yaml.safe_load(dump_scenario(s.model_copy(update={"units": s.units.model_copy(update={"money": "亿元"})})))
    assert data["bank"]["micro_loans_prev"] == pytest.approx(253.6333)
    data["bank"]["micro_loans_prev"] = 953.6333
    path = tmp_path / "inline.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    zh = reconciliation_warnings(load_scenario(path), lang="zh")
    assert len(zh) == 1 and "953.63 亿元" in zh[0] and "253.63 亿元" in zh[0]
    assert "micro" not in zh[0] and "bank." not in zh[0]


def test_relative_gap_by_hand() -> None:
    """|100 − 95| / 100 = 0.05; |0 − 0| → 0; |−10 − 10| / 10 = 2."""
    assert relative_gap(100, 95) == pytest.approx(0.05)
    assert relative_gap(0, 0) == 0.0
    assert relative_gap(-10, 10) == pytest.approx(2.0)
