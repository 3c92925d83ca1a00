"""What `microplan plan` hands to people: terminal table, workbook, CSV, JSON (README "The CLI", "The plan JSON").

Real plans of the bundled bank and of small hand-built banks (one relaxed, one with a department
buffer) are rendered and read back: one language per output, totals that add up, formulas only
where the totals row sums its own column, CSV encodings, and a table that fits 80 and 120 columns.
"""

from __future__ import annotations

import functools
import io
import json
import re
from pathlib import Path

import openpyxl
import pytest
import yaml
from builders import branch, build, raw_scenario
from rich.cells import cell_len

from api import labels
from api.plan_files import read_plan
from api.reports import BRANCH_COLUMNS, branch_values, plan_csv, plan_json, plan_xlsx
from api.terminal import plan_table_text
from optimize.plan import Plan, make_plan
from scenarios import load_scenario

#: English machine words that must never reach a Chinese output.
CODES = re.compile(r"growth_rate|borrower_count|department_|cycle_schedule|long_term_completion|approval_rate|"
                   r"asset_quality|all_in_cost|\bincrement\b|\boptimal\b|\brelaxed\b|catch_up|\bratchet\b|\bproportional\b|"
                   r"\bbehind\b|\bahead\b|\bTrue\b|\bFalse\b|\bnan\b|\bNone\b")


def tight_bank() -> dict:
    """Two branches of capacity 5 × 10 = 50 each (100) against a borrower floor of 11.2 % × 1,000 = 112: short by 12."""
    rows = [branch("B1", achieved_clients=50, micro_clients=500, micro_client_managers=5),
            branch("B2", achieved_clients=0, micro_clients=500, micro_client_managers=5)]
    raw = raw_scenario(rows, preset="custom", rules={"borrower_count": {}})
    raw["bank"]["micro_client_attrition"] = 0.112
    return raw


def buffered_bank() -> dict:
    """A 10 % department buffer on the increment floor of 3,000 (the department rows are named too)."""
    raw = raw_scenario([branch("B1"), branch("B2")], preset="two_not_lower", targets={"buffer": 0.1})
    raw["bank"].update(micro_loan_increment_prev=3_000.0, all_loan_increment_plan=0.0)
    return raw


@functools.cache
def plan_of(name: str) -> Plan:
    if name == "tight":
        return make_plan(build(tight_bank()))
    if name == "buffered":
        return make_plan(build(buffered_bank()))
    return make_plan(load_scenario(name))


PLANS = ("city-2016", "city-2019", "tight", "buffered")


def workbook_texts(data: bytes) -> list[str]:
    """Every text cell of every visible sheet (the hidden `_meta` sheet is for programs)."""
    book = openpyxl.load_workbook(io.BytesIO(data))
    return [c.value for ws in book.worksheets if ws.sheet_state == "visible"
            for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.data_type != "f"]


# ---------------------------------------------------------------- one language per output


@pytest.mark.parametrize("name", PLANS)
def test_chinese_outputs_carry_no_english_code_and_no_brace(name: str) -> None:
    """Terminal (80 and 120 columns), CSV and workbook in zh: no rule code, status code, Python word or `{`."""
    plan = plan_of(name)
    outputs = {"terminal-80": plan_table_text(plan, "zh", 80), "terminal-120": plan_table_text(plan, "zh", 120),
               "csv": plan_csv(plan, "zh"), "xlsx": "\n".join(workbook_texts(plan_xlsx(plan, "zh")))}
    for kind, text in outputs.items():
        assert not CODES.search(text), (kind, CODES.search(text))
        assert "{" not in text and "}" not in text, kind
    named = {r["rule"] for r in plan.to_json()["floors_by_year"]} | {v["rule"] for v in plan.violations + plan.warnings}
    assert named and all(labels.rule_name(r, "zh") in outputs["xlsx"] for r in named)  # the rules were there, by name


def test_every_rule_code_has_a_chinese_name() -> None:
    """Every rule the engine can report (floors, department rows, schedule) has its own zh name, never the fallback."""
    for rule in ("growth_rate", "increment", "borrower_count", "approval_rate", "asset_quality", "all_in_cost",
                 "department_target", "cycle_schedule", "long_term_completion", "department_growth_rate",
                 "department_increment", "department_borrower_count"):
        name = labels.rule_name(rule, "zh")
        assert name != "其他规则" and not re.search("[A-Za-z_]", name), (rule, name)


def test_english_outputs_carry_no_chinese_words_of_ours() -> None:
    """In en, our words are English: the only CJK text is the bank's own (names, 万元, 户 of the unit)."""
    plan = plan_of("tight")
    text = plan_table_text(plan, "en", 120)
    ours = text.replace("万元", "")
    for name in [b.name for b in plan.scenario.branches] + [plan.scenario.name]:
        ours = ours.replace(name, "")
    assert not re.search(r"[\u4e00-\u9fff]", ours), re.search(r"[\u4e00-\u9fff].{0,20}", ours)
    assert "not met" in text and "Borrower-count floor" in text


def test_status_words_and_exit_codes(cli, tmp_path: Path) -> None:
    """The tight bank misses its floor by 12 clients: exit 1, 未达标 in zh / "not met" in en, JSON keeps `relaxed`."""
    path = tmp_path / "tight.yaml"
    path.write_text(yaml.safe_dump(tight_bank(), allow_unicode=True), encoding="utf-8")
    zh = cli("plan", path)
    assert zh.code == 1 and "未达标" in zh.out and "relaxed" not in zh.out
    en = cli("plan", path, "--lang", "en", "--format", "json")
    body = json.loads(en.out)
    assert en.code == 1 and body["status"] == "relaxed" and body["status_text"] == "not met"
    assert body["violations"][0]["rule_text"].startswith("Borrower-count floor")
    ok = cli("plan", "city-2016", "--format", "json")
    assert ok.code == 0 and json.loads(ok.out)["status_text"] == "达标"


# ---------------------------------------------------------------- terminal


def table_lines(text: str) -> list[str]:
    """The branch table's body rows (box-drawn lines holding a branch id or the totals label)."""
    return [line for line in text.splitlines() if line.startswith("│")]


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_terminal_table_fits_without_wrapping_or_cutting(width: int, lang: str) -> None:
    """At 80 and 120 columns: every line fits, one line per branch plus the totals row, every header whole.

    city-2016 has 36 branches; the shortfall table (6 long-term warnings) adds 6 rows of its own.
    """
    plan = plan_of("city-2016")
    text = plan_table_text(plan, lang, width)
    assert max(cell_len(line) for line in text.splitlines()) <= width
    rows = table_lines(text)
    branch_rows = [r for r in rows if re.match(r"│ (B\d\d|合计|Total)\b", r)]
    assert len(branch_rows) == 36 + 1
    header = next(line for line in text.splitlines() if line.startswith("┃"))
    shown = [h.strip() for h in header.strip("┃").split("┃")]
    unit = plan.scenario.units.money
    assert shown[:2] == [labels.header("id", lang, unit, True), labels.header("name", lang, unit, True)]
    assert all(h in {labels.header(k, lang, unit, True) for k in BRANCH_COLUMNS} for h in shown), shown
    assert labels.header("target_clients", lang, unit, True) in shown
    assert len(shown) >= (5 if width == 80 else 8)


def test_terminal_numbers_right_text_left_totals_match() -> None:
    """B01's row: id and name start at the cell's left, numbers end at its right; the totals row prints Σ targets."""
    plan = plan_of("city-2016")
    text = plan_table_text(plan, "en", 120)
    values = branch_values(plan, "en")
    row = next(r for r in table_lines(text) if r.startswith("│ B01 "))
    cells = row.strip("│").split("│")
    assert cells[0].startswith(" B01") and cells[1].startswith(" 城东支行")
    assert all(c.endswith(" ") and c[-2] != " " for c in cells[2:]), cells
    total = next(r for r in table_lines(text) if r.startswith("│ Total"))
    assert f"{int(values['target_clients'].sum()):,d}" in total
    assert f"{values['target_loan_increment'].sum():,.0f}" in total


def test_narrow_terminal_prints_blocks() -> None:
    """At 30 columns not even id, name and target fit (40 cells): each branch becomes a block of `header value` lines."""
    plan = plan_of("tight")
    text = plan_table_text(plan, "zh", 30)
    assert not any(line.startswith("┃ 机构号") for line in text.splitlines())
    assert max(cell_len(line) for line in text.splitlines()) <= 30
    assert "B1  " in text and "  本年目标(户)" in text


def test_long_names_are_shortened_not_wrapped() -> None:
    """A 40-character branch name is cut to 16 cells with `…`, so the row stays one line."""
    raw = tight_bank()
    raw["branches"][0]["name"] = "很长的名字" * 8
    text = plan_table_text(make_plan(build(raw)), "zh", 80)
    row = next(r for r in table_lines(text) if r.startswith("│ B1 "))
    assert "…" in row and cell_len(row) <= 80


# ---------------------------------------------------------------- the workbook


def test_workbook_sheets_rows_totals_and_formulas() -> None:
    """city-2016 in zh: the sheets; 36 branch rows; the totals row sums rows 2–37 and its cached value is the printed total."""
    plan = plan_of("city-2016")
    data = plan_xlsx(plan, "zh")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames == ["分行目标", "滚动计划", "概要", "监管底线", "未达标与提示", "诊断", "_meta"]
    assert book["_meta"].sheet_state == "hidden"
    ws = book["分行目标"]
    ids = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
    assert ids == [b.id for b in plan.scenario.branches] + ["合计"]
    column = BRANCH_COLUMNS.index("target_clients") + 1
    assert ws.cell(1, column).value == "新增小微户数目标" and column == 8  # the checker's column H
    assert ws.cell(38, column).value == "=SUM(H2:H37)"
    cached = openpyxl.load_workbook(io.BytesIO(data), data_only=True)["分行目标"]
    values = [cached.cell(r, column).value for r in range(2, 38)]
    assert cached.cell(38, column).value == sum(values) == plan.to_json()["totals"]["target_clients"]
    loans = BRANCH_COLUMNS.index("target_loan_increment") + 1
    assert ws.cell(1, loans).value == "小微贷款增量目标(万元)"
    assert cached.cell(38, loans).value == pytest.approx(sum(cached.cell(r, loans).value for r in range(2, 38)))
    assert all(float(cached.cell(r, column).value).is_integer() for r in range(2, 38))
    formulas = [(s.title, c.coordinate) for s in book.worksheets for row in s.iter_rows() for c in row if c.data_type == "f"]
    assert all(title == "分行目标" and coordinate.endswith("38") for title, coordinate in formulas)
    assert ws.freeze_panes == "C2"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage  # fitToWidth absent = 1 (one page wide) and ws.page_setup.fitToWidth in (None, 1) and ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == "$1:$1"


def test_workbook_last_year_change_and_reasons() -> None:
    """B01 of city-2016: last target 121, last actual 128, target 135 → change +14; behind schedule, at capacity."""
    book = openpyxl.load_workbook(io.BytesIO(plan_xlsx(plan_of("city-2016"), "zh")), data_only=True)
    ws = book["分行目标"]
    header = [c.value for c in ws[1]]
    row = {h: ws.cell(2, i + 1).value for i, h in enumerate(header)}
    assert (row["上年目标(户)"], row["上年实际(户)"], row["新增小微户数目标"], row["比上年目标增减(户)"]) == (121, 128, 135, 14)
    assert row["目标说明"].startswith("落后进度；追赶进度 140 户/年") and "满产能" in row["目标说明"]


def test_years_are_written_without_thousands_separators() -> None:
    """Year cells carry the number format `0` (Excel would show 2,016 under `#,##0`)."""
    book = openpyxl.load_workbook(io.BytesIO(plan_xlsx(plan_of("city-2016"), "en")))
    for sheet, column in (("Rolling plan", 3), ("Floors", 4), ("Shortfalls", 3)):
        ws = book[sheet]
        assert ws.cell(1, column).value == "Year"
        assert ws.cell(2, column).number_format == "0", sheet


def test_shortfall_sheet_lists_rule_year_branch_amount_unit() -> None:
    """The tight bank: one violation, 户数不低于 2014, the whole bank, 12 户."""
    ws = openpyxl.load_workbook(io.BytesIO(plan_xlsx(plan_of("tight"), "zh")))["未达标与提示"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0] == ["类别", "规则", "年度", "机构号", "缺口", "单位"]
    assert ["未达标", "户数不低于", 2014, "全行", 12, "户"] in rows


def test_injected_text_never_becomes_a_formula() -> None:
    """A branch name and a bank name that look like formulas stay text; the only formulas are the totals row's SUMs."""
    raw = tight_bank()
    raw["name"] = "=HYPERLINK(\"http://x\",\"y\")"
    raw["branches"][1]["name"] = "=SUM(A1:A9)"
    book = openpyxl.load_workbook(io.BytesIO(plan_xlsx(make_plan(build(raw)), "zh")))
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    assert ws.title == "分行目标" and re.fullmatch(r"=SUM\(([A-Z])2:\1\d+\)", cell.value), (ws.title, cell.value)
    assert "=SUM(A1:A9)" in [c.value for c in book["分行目标"]["B"]]


def test_metadata_sheet_is_read_back(tmp_path: Path) -> None:
    """Without the unit in the loan headers, the diagnostics and the rolling sheet, plan_files reads year, policy and unit from `_meta`."""
    plan = plan_of("city-2016")
    book = openpyxl.load_workbook(io.BytesIO(plan_xlsx(plan, "zh")))
    for ws in book.worksheets[:2]:
        for cell in ws[1]:
            if isinstance(cell.value, str):
                cell.value = cell.value.replace("(万元)", "")
    del book["诊断"]
    del book["滚动计划"]  # no year column left: only `_meta` names the plan year
    path = tmp_path / "plan.xlsx"
    book.save(path)
    read = read_plan(path, "亿元")
    assert (read.plan_year, read.policy, read.money_unit, read.notes) == (2016, "catch_up", "万元", [])


def test_money_in_yi_yuan_to_the_rounding_unit() -> None:
    """In 亿元 the 1 万元 rounding unit is 0.0001 亿元: the workbook's format and the CSV show 4 decimals."""
    scenario = load_scenario("city-2014")
    from scenarios.schema import Scenario

    scenario = Scenario.model_validate({**scenario.model_dump(), "units": {"money": "亿元"}})
    plan = make_plan(scenario)
    book = openpyxl.load_workbook(io.BytesIO(plan_xlsx(plan, "en")))
    ws = book["Branch targets"]
    loans = BRANCH_COLUMNS.index("target_loan_increment") + 1
    assert ws.cell(1, loans).value == "Target micro-loan increment (亿元)"
    assert ws.cell(2, loans).number_format == "#,##0.0000"
    first = plan_csv(plan, "en").splitlines()[1].split(",")
    assert re.fullmatch(r"\d+\.\d{4}", first[loans - 1])


# ---------------------------------------------------------------- files from the command line


def test_csv_is_utf8_with_bom_by_default_and_gbk_on_request(cli, tmp_path: Path) -> None:
    """Same table, two encodings: BOM + UTF-8 by default, GBK with --encoding gbk (what Excel on Chinese Windows reads)."""
    default, gbk = tmp_path / "plan.csv", tmp_path / "plan-gbk.csv"
    assert cli("plan", "city-2016", "--out", default).code == 0
    assert cli("plan", "city-2016", "--out", gbk, "--encoding", "gbk").code == 0
    data = default.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert gbk.read_bytes().decode("gbk") == text
    header, first = text.splitlines()[:2]
    assert header.startswith("机构号,管辖行,") and first.startswith("B01,城东支行,")
    cells = first.split(",")
    assert cells[BRANCH_COLUMNS.index("target_clients")] == "135"  # a whole number, no ".0"


def test_a_name_gbk_cannot_hold_is_one_line_exit_2(cli, tmp_path: Path) -> None:
    raw = tight_bank()
    raw["branches"][0]["name"] = "城东支行😀"
    path = tmp_path / "bank.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    result = cli("plan", path, "--out", tmp_path / "plan.csv", "--encoding", "gbk")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1 and "gbk" in result.err
    assert not (tmp_path / "plan.csv").exists()


@pytest.mark.parametrize(("suffix", "fmt"), [(".csv", "json"), (".json", "xlsx"), (".xlsx", "csv")])
def test_format_contradicting_the_suffix_is_exit_2(cli, tmp_path: Path, suffix: str, fmt: str) -> None:
    out = tmp_path / f"x{suffix}"
    result = cli("plan", "city-2014", "--out", out, "--format", fmt)
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1
    assert result.err.startswith(f"{out}: --format: contradicts") and not out.exists()


@pytest.mark.parametrize(("suffix", "check"), [(".json", lambda p: json.loads(p.read_text())["schema_version"] == 1),
                                              (".csv", lambda p: p.read_bytes().startswith(b"\xef\xbb\xbf")),
                                              (".xlsx", lambda p: openpyxl.load_workbook(p).sheetnames[0] == "Branch targets")])
def test_the_suffix_sets_the_format(cli, tmp_path: Path, suffix: str, check) -> None:
    out = tmp_path / f"plan{suffix}"
    assert cli("plan", "city-2014", "--out", out, "--lang", "en").code == 0
    assert check(out)


def test_plan_json_shape() -> None:
    """schema_version, units, floors for every year of the window, localised status and messages; old keys kept."""
    plan = plan_of("city-2016")
    body = plan_json(plan, "zh")
    assert body["schema_version"] == 1 and body["units"] == {"money": "万元", "clients": "户", "loan_rounding": 1.0}
    assert {(r["rule"], r["year"]) for r in body["floors_by_year"]} == {(r, y) for r in ("growth_rate", "borrower_count") for y in (2016, 2017)}
    first = body["floors_by_year"][0]
    assert set(first) == {"rule", "tier", "quantity", "year", "required", "plan_total", "slack"}
    assert first["slack"] == pytest.approx(first["plan_total"] - first["required"], abs=0.01)
    assert body["status"] == "optimal" and body["status_text"] == "达标" and body["lang"] == "zh"
    assert body["warnings"][0]["rule_text"] == "长期目标完成"
    assert all("{" not in m and not CODES.search(m) for m in body["messages"])
    assert {"scenario", "plan_year", "policy", "money_unit", "floors", "totals", "branches", "violations", "diagnostics"} <= set(body)


def test_version_and_help(cli) -> None:
    from importlib.metadata import version

    result = cli("--version")
    assert result.code == 0 and result.out == f"microplan {version('microplan')}\n"
    text = cli("plan", "--help").out
    assert "microplan plan city-2014 --out plan-2014.xlsx" in text
    for policy in ("catch_up", "ratchet", "proportional"):
        assert re.search(rf"^\s*{policy}\s+\S", text, re.M), policy


def test_a_locked_branch_says_so_in_its_reason() -> None:
    """B1 locked at 40 new clients (inside its capacity 50): the plan keeps 40 and its reason says 锁定目标 / locked."""
    raw = tight_bank()
    raw["branches"][0]["locked_target_clients"] = 40
    plan = make_plan(build(raw))
    values = branch_values(plan, "zh").set_index("id")
    assert values.loc["B1", "target_clients"] == 40 and "锁定目标" in values.loc["B1", "reason"]
    assert "锁定目标" not in values.loc["B2", "reason"]
    assert "locked" in branch_values(plan, "en").set_index("id").loc["B1", "reason"]


def test_reconciliation_warnings_reach_every_output() -> None:
    """The bank's micro balance typed ten times the branches' total: the plan's diagnostics name both numbers, in its language."""
    raw = tight_bank()
    scenario = build(raw)
    total = sum(b.micro_loans for b in scenario.branches)
    raw["bank"]["micro_loans_prev"] = 10 * total
    plan = make_plan(build(raw))
    zh = plan_table_text(plan, "zh", 120)
    assert "与分行表合计" in zh and f"{total:,.0f}" in zh
    assert any(t.startswith("bank.micro_loans_prev:") for t in workbook_texts(plan_xlsx(plan, "en")))
