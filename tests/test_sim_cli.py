"""`microplan simulate`: formats, options, and bad input (exit 2, one line per problem)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

#: A bundled scenario with its simulation made small enough for a test.
SMALL_SIMULATION = {"seed": 5, "replications": 3, "warmup_days": 5, "days": 30,
                    "revolving_credit": {"accounts": 200}}


@pytest.fixture
def small_scenario(tmp_path: Path, cli) -> Path:
    shown = cli("scenarios", "show", "city-2014", "--format", "yaml")
    assert shown.code == 0, shown.err
    scenario = yaml.safe_load(shown.out)
    scenario["simulation"] = SMALL_SIMULATION
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8")
    return path


def test_json_goes_to_stdout_in_the_contract_shape(cli, small_scenario):
    result = cli("simulate", small_scenario, "--format", "json", "--workers", "1")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert (data["model"], data["replications"], data["seed"], data["days"]) == ("revolving_credit", 3, 5, 30)
    assert data["money_unit"] == "万元"
    assert data["metrics"]["mean_outstanding"]["mean"] > 0


def test_options_override_the_scenario(cli, small_scenario):
    result = cli("simulate", small_scenario, "--format", "json", "--workers", "1", "--replications", "2", "--seed", "8")
    data = json.loads(result.out)
    assert (data["replications"], data["seed"]) == (2, 8)


def test_table_names_metrics_and_units(cli, small_scenario):
    result = cli("simulate", small_scenario, "--workers", "1")
    assert result.code == 0, result.err
    for text in ("日均贷款余额(万元)", "95%置信区间", "P5", "P95", "柜面平均等候(分钟)"):
        assert text in result.out


def test_csv_to_a_file(cli, small_scenario, tmp_path):
    out = tmp_path / "sim" / "metrics.csv"
    result = cli("simulate", small_scenario, "--workers", "1", "--format", "csv", "--out", out)
    assert result.code == 0, result.err
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "范围,指标,单位,均值,标准差,95%置信下限,95%置信上限,P5,P50,P95,重复次数"
    assert any(line.startswith("合计,利息收入,万元,") for line in lines)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--replications", "0"], "--replications: must be ≥ 1 (got 0)"),        # no replication to run
        (["--model", "joint-marketing"], "--model: unknown model"),               # a hyphen for the underscore
        (["--workers", "0"], "--workers: must be ≥ 1 (got 0)"),                   # no worker to run on
        (["--seed", "-3"], "--seed: must be ≥ 0 (got -3)"),                       # SeedSequence needs ≥ 0
        (["--dask", "localhost"], "--dask: a scheduler address like tcp://host:8786 (got localhost)"),  # no scheme
    ],
)
def test_bad_options_exit_2_with_one_line(cli, small_scenario, args, expected):
    result = cli("simulate", small_scenario, *args)
    assert result.code == 2
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in result.err


def test_a_missing_scenario_exits_2(cli, tmp_path):
    result = cli("simulate", tmp_path / "nope.yaml")
    assert result.code == 2 and "Traceback" not in result.err


#: Out-of-range and non-finite simulation settings, each with the field path it must name.
BAD_SIMULATION = {
    "days": 4000,                                                   # > 3,660
    "revolving_credit": {
        "accounts": 2_000_000,                                      # > 1,000,000
        "annual_rate": 1.5,                                         # a rate above 1
        "funding_rate": float("nan"),                               # not a number
        "draw_amount": {"mean": float("inf")},                      # infinite money
        "seasonality": [1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, float("inf")],
        "default": {"utilisation_sensitivity": 1000.0},             # exp(β) would overflow (e^1000)
    },
}
BAD_FIELDS = [
    "simulation.days", "simulation.revolving_credit.accounts", "simulation.revolving_credit.annual_rate",
    "simulation.revolving_credit.funding_rate", "simulation.revolving_credit.draw_amount.mean",
    "simulation.revolving_credit.seasonality.1", "simulation.revolving_credit.seasonality.11",
    "simulation.revolving_credit.default.utilisation_sensitivity",
]


def test_out_of_range_and_non_finite_settings_each_get_one_line(cli, small_scenario):
    """Every bad simulation field is reported in one pass, one line each, naming the field and the value."""
    scenario = yaml.safe_load(small_scenario.read_text(encoding="utf-8"))
    scenario["simulation"] = BAD_SIMULATION
    small_scenario.write_text(yaml.safe_dump(scenario, allow_unicode=True), encoding="utf-8")
    result = cli("simulate", small_scenario, "--workers", "1")
    assert result.code == 2 and "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == len(BAD_FIELDS), result.err
    for field, line in zip(sorted(BAD_FIELDS), sorted(lines, key=lambda text: text.split(": ")[1])):
        assert line.split(": ")[1] == field and "(got " in line, line
    assert any("finite" in line for line in lines) and any("less than or equal to 50" in line for line in lines)
