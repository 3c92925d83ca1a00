"""Scenario loading: bad input is exit 2 with the field path; bundled examples, generator, round trip."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from builders import branch, raw_scenario
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios import bundled_names, dump_scenario, load_scenario, scenario_from_dict
from scenarios.generate import synthetic_bank


def valid_raw() -> dict:
    return raw_scenario([branch("B1"), branch("B2")])


def write(tmp_path: Path, data: object, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True) if not isinstance(data, str) else data, encoding="utf-8")
    return path


def patched(**changes: object) -> dict:
    """The valid scenario with dotted-path changes applied (value None deletes the key)."""
    data = copy.deepcopy(valid_raw())
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = data
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        if value is None:
            del node[last]
        else:
            node[last] = value
    return data


BAD_DOCUMENTS = [
    # (content, expected field path fragment, expected message fragment)
    pytest.param(patched(branches__0__outlets=-3), "branches.0.outlets", "greater than or equal to 0", id="negative outlets: counts are ≥ 0"),
    pytest.param(patched(branches__0__outlets="many"), "branches.0.outlets", "integer", id="wrong type: outlets must be a number"),
    pytest.param({**valid_raw(), "plan_yaer": 2014}, "plan_yaer", "unknown key", id="typo in a key is an error, not ignored"),
    pytest.param(patched(plan_year=None), "plan_year", "required", id="missing required field"),
    pytest.param(patched(branches__0__micro_client_managers=99), "branches.0.micro_client_managers", "micro_client_managers must be ≤ client_managers", id="more micro managers than managers"),
    pytest.param(patched(branches__0__loan_size_min=90.0), "branches.0.loan_size_min", "loan_size_min must be ≤ loan_size_max", id="loan-size band upside down"),
    pytest.param(patched(branches__1__id="B1"), "branches.1.id", "unique", id="duplicate branch id"),
    pytest.param(patched(cycle__horizon_years=7), "cycle.horizon_years", "less than or equal to 5", id="cycle longer than 5 years"),
    pytest.param(patched(plan_year=2030), ": plan_year", "inside the cycle", id="plan year outside the cycle"),
    pytest.param(patched(bank__micro_client_attrition=1.5), "bank.micro_client_attrition", "less than or equal to 1", id="rate above 1"),
    pytest.param(patched(units={"money": "美元"}), "units.money", "元", id="unknown money unit"),
    pytest.param(patched(branches=[]), "branches", "at least 1", id="zero branches"),
    pytest.param(patched(bank__micro_loans_prev=5e7), "bank.micro_loans_prev", "must not exceed all_loans_prev", id="micro loans above all loans"),
    pytest.param(patched(cycle__weights={"outlets": 0.5, "client_managers": 0.6}), "cycle.weights.outlets", "sum to 1 (got 1.1)", id="weights not summing to 1 (market_potential takes its default 0)"),
    pytest.param("name: x\nplan_year: [2014\n", "line 3", "YAML syntax error", id="YAML syntax error names the line"),
    pytest.param("- just\n- a list\n", "", "must be a mapping", id="top level is not a mapping"),
]


@pytest.mark.parametrize(("content", "path", "message"), BAD_DOCUMENTS)
def test_bad_scenario_exits_2_with_field_path(cli, tmp_path: Path, content: object, path: str, message: str) -> None:
    file = write(tmp_path, content)
    result = cli("validate", file)
    assert result.code == 2
    assert "Traceback" not in result.err and result.out == ""
    assert path in result.err and message in result.err
    assert all(line.startswith(str(file)) for line in result.err.splitlines())


def test_every_problem_reported_in_one_pass(cli, tmp_path: Path) -> None:
    result = cli("validate", write(tmp_path, patched(branches__0__outlets=-1, branches__1__micro_clients=-5, plan_yaer=1)))
    assert result.code == 2 and len(result.err.splitlines()) == 3


def test_cross_field_problems_come_with_field_problems(cli, tmp_path: Path) -> None:
    """Field problems (negative outlets) no longer hide the rules between fields: band, cycle, ids, M0 ≤ L0."""
    data = patched(branches__0__outlets=-1, branches__1__loan_size_min=90.0, plan_year=2030,
                   bank__micro_loans_prev=5e7)
    data["branches"].append(dict(data["branches"][0], id="b1", outlets=3))
    result = cli("validate", write(tmp_path, data))
    lines = result.err.splitlines()
    assert result.code == 2 and len(lines) == 5, result.err
    for fragment in ("branches.0.outlets:", "branches.1.loan_size_min: loan_size_min must be ≤ loan_size_max",
                     ": plan_year: plan_year must lie inside the cycle", "bank.micro_loans_prev: micro_loans_prev must not exceed",
                     "branches.2.id: branch ids must be unique: 'b1' repeats row 0"):
        assert any(fragment in line for line in lines), (fragment, result.err)


def test_a_rule_between_fields_is_skipped_when_its_own_field_is_wrong(cli, tmp_path: Path) -> None:
    """client_managers = "many" is one problem; micro ≤ all cannot be judged and adds none."""
    result = cli("validate", write(tmp_path, patched(branches__0__client_managers="many")))
    assert result.code == 2 and len(result.err.splitlines()) == 1 and "branches.0.client_managers" in result.err


def test_money_units_convert_one_way_and_back() -> None:
    """1 亿元 = 10,000 万元 and 1 元 = 0.0001 万元 (by hand); from_wan undoes to_wan."""
    from scenarios.schema import from_wan, to_wan

    assert to_wan(1.0, "亿元") == 10_000.0 and to_wan(1.0, "元") == 0.0001 and to_wan(7.0, "万元") == 7.0
    assert from_wan(10_000.0, "亿元") == 1.0 and from_wan(1.0, "元") == 10_000.0
    for unit in ("元", "万元", "亿元"):
        assert from_wan(to_wan(123.5, unit), unit) == pytest.approx(123.5)


def test_value_is_shown(cli, tmp_path: Path) -> None:
    result = cli("validate", write(tmp_path, patched(branches__0__outlets=-3)))
    assert "(got -3)" in result.err


def table_scenario(tmp_path: Path, table_name: str) -> Path:
    raw = valid_raw()
    raw["branches"] = table_name
    return write(tmp_path, raw)


BAD_FILES = [
    pytest.param("missing.yaml", None, "no such file", id="missing file"),
    pytest.param("s.json", '{"name": "x",\n "plan_year": }', "JSON syntax error", id="JSON syntax error"),
    pytest.param("big.yaml", "BIG", "too large", id="a 200 MB file is refused before reading"),
    pytest.param("bin.yaml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8", id="binary file"),
]


@pytest.mark.parametrize(("name", "content", "message"), BAD_FILES)
def test_bad_file_exits_2(cli, tmp_path: Path, name: str, content: object, message: str) -> None:
    path = tmp_path / name
    if content == "BIG":
        with path.open("wb") as f:
            f.truncate(200 * 1024 * 1024)  # sparse: costs no disk
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = cli("validate", path)
    assert result.code == 2 and message in result.err and "Traceback" not in result.err


TABLE_CASES = [
    # (file name, writer, expected message)
    pytest.param("b.csv", lambda p: pd.DataFrame([branch("B1"), branch("B2")]).drop(columns=["outlets"]).to_csv(p, index=False),
                 "missing column 'outlets'", id="CSV missing a column"),
    pytest.param("b.csv", lambda p: pd.DataFrame(columns=list(branch("B1"))).to_csv(p, index=False),
                 "no rows", id="CSV with zero rows"),
    pytest.param("b.xlsx", lambda p: p.write_text("this is not a workbook"), "not a readable .xlsx", id="XLSX that is not one"),
    pytest.param("b.csv", lambda p: pd.DataFrame([branch("B1", outlets=-2), branch("B2")]).to_csv(p, index=False),
                 "branches.0.outlets", id="bad cell names the row and column"),
    pytest.param("b.txt", lambda p: p.write_text("x"), "must be .csv or .xlsx", id="unsupported table type"),
    pytest.param("nope.csv", lambda p: None, "not found", id="table file missing"),
]


@pytest.mark.parametrize(("name", "writer", "message"), TABLE_CASES)
def test_bad_branch_table_exits_2(cli, tmp_path: Path, name: str, writer, message: str) -> None:
    writer(tmp_path / name)
    result = cli("validate", table_scenario(tmp_path, name))
    assert result.code == 2 and message in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_branch_table_from_file_loads(tmp_path: Path, suffix: str) -> None:
    frame = pd.DataFrame([branch("B1"), branch("B2", long_term_target=None)])
    getattr(frame, "to_csv" if suffix == "csv" else "to_excel")(tmp_path / f"b.{suffix}", index=False)
    scenario = load_scenario(table_scenario(tmp_path, f"b.{suffix}"))
    assert [b.id for b in scenario.branches] == ["B1", "B2"]
    assert scenario.branches[1].long_term_target is None


def test_money_converted_to_wan_on_load() -> None:
    raw = valid_raw()
    raw["units"] = {"money": "亿元"}
    for b in raw["branches"]:
        b["micro_loans"] = 1.0
    raw["bank"].update(all_loans_prev=100.0, micro_loans_prev=2.0, all_loan_increment_plan=10.0)
    s = scenario_from_dict(raw)
    assert s.bank.all_loans_prev == 1_000_000 and s.branches[0].micro_loans == 10_000
    assert s.branches[0].loan_size_min == raw["branches"][0]["loan_size_min"] * 10_000


@pytest.mark.parametrize("name", bundled_names())
def test_bundled_scenarios_validate(cli, name: str) -> None:
    assert cli("validate", name).out.strip() == "ok"


def test_bundled_list_names_every_example(cli) -> None:
    out = cli("scenarios").out
    assert {"city-2014", "city-2016", "city-2019"} <= {line.split()[0] for line in out.splitlines()}


@pytest.mark.parametrize("fmt", ["yaml", "json"])
@pytest.mark.parametrize("name", bundled_names())
def test_show_round_trip(cli, tmp_path: Path, name: str, fmt: str) -> None:
    shown = cli("scenarios", "show", name, "--format", fmt)
    path = tmp_path / f"saved.{fmt}"
    path.write_text(shown.out, encoding="utf-8")
    assert cli("validate", path).code == 0
    assert load_scenario(path) == load_scenario(name)


def test_round_trip_keeps_money_unit() -> None:
    raw = valid_raw()
    raw["units"] = {"money": "元"}
    raw["bank"].update(all_loans_prev=1e10, micro_loans_prev=2e8, all_loan_increment_plan=1e9)
    s = scenario_from_dict(raw)
    again = scenario_from_dict(yaml.safe_load(dump_scenario(s)))
    assert again == s


@pytest.mark.parametrize("n", [10, 1000])
def test_generator_deterministic_and_valid(cli, tmp_path: Path, n: int) -> None:
    assert synthetic_bank(n, 7) == synthetic_bank(n, 7)
    assert synthetic_bank(n, 7) != synthetic_bank(n, 8)
    out = tmp_path / "g.yaml"
    assert cli("scenarios", "generate", "--branches", n, "--seed", 7, "--out", out).code == 0
    assert len(load_scenario(out).branches) == n


def test_schema_is_json_schema(cli) -> None:
    schema = json.loads(cli("scenarios", "schema").out)
    assert schema["type"] == "object" and "branches" in schema["properties"]
    assert schema["additionalProperties"] is False


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_valid_scenarios_load(data: st.DataObject) -> None:
    from builders import scenarios_raw

    raw = data.draw(scenarios_raw())
    assert len(scenario_from_dict(raw).branches) == len(raw["branches"])


JUNK = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9), st.floats(allow_nan=True),
                 st.text(max_size=5), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_corruption_exits_2_never_crashes(cli, tmp_path: Path, data: st.DataObject) -> None:
    raw = valid_raw()
    section = data.draw(st.sampled_from(["bank", "cycle", "capacity", "branch", "top"]))
    target = raw["branches"][0] if section == "branch" else raw if section == "top" else raw[section]
    key = data.draw(st.sampled_from(sorted(target)))
    target[key] = data.draw(JUNK)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = cli("validate", path)
    assert result.code in (0, 2), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    if result.code == 2:
        assert result.err.strip()


def test_the_simulation_result_converts_money_with_from_wan() -> None:
    """One money conversion in the project: 1 万元 of a simulated metric is 10,000 元 and 0.0001 亿元."""
    import numpy as np

    from simulate.runner import SeriesSummary
    from simulate.service import SimulationResult
    from simulate.stats import summarise

    result = SimulationResult("m", 2, 1, 1, 0, 2014, {"x": summarise(np.array([1.0, 1.0]))}, {"x": "money"}, {"x": ""},
                              SeriesSummary(np.array([0]), np.array([1.0]), np.array([1.0]), np.array([1.0])))
    assert result.in_money_unit("元").metrics["x"].mean == pytest.approx(10_000.0)
    assert result.in_money_unit("亿元").metrics["x"].mean == pytest.approx(1e-4)
    assert result.in_money_unit("元").in_money_unit("亿元").series.mean[0] == pytest.approx(1e-4)
