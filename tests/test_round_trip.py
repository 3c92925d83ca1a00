"""Excel round trip: branch tables as planners save them load to the same scenario; the template.

The reference is the bundled city-2014 scenario with its English UTF-8 CSV. The same table saved
as GBK, as UTF-8 with a BOM, with Chinese headers (units in brackets, full-width brackets too), as
XLSX, and with thousands separators must give an equal `Scenario`.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
import yaml

from scenarios import load_scenario
from scenarios.headers import BRANCH_HEADERS, header_text
from scenarios.loading import bundled_path

BUNDLED = "city-2014"


def english_rows() -> tuple[list[str], list[list[str]]]:
    """Header and rows of the bundled city-2014 branch table, as text."""
    path = bundled_path(BUNDLED).parent / "city_branches_2014.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def scenario_with_table(tmp_path: Path, table_name: str, extra: dict | None = None) -> Path:
    """The bundled scenario's YAML in tmp_path, its `branches:` pointing at `table_name`."""
    data = yaml.safe_load(bundled_path(BUNDLED).read_text(encoding="utf-8"))
    data["branches"] = table_name
    data.update(extra or {})
    path = tmp_path / "bank.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def csv_bytes(header: list[str], rows: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    return buffer.getvalue().encode(encoding)


def chinese(header: list[str], money_unit: str = "万元", full_width: bool = False) -> list[str]:
    names = [header_text(name, money_unit) for name in header]
    return [n.replace("(", "（").replace(")", "）") for n in names] if full_width else names


def grouped(value: str) -> str:
    """'49036.0' → '49,036.0': thousands separators as Excel writes them in a text cell."""
    try:
        number = float(value)
    except ValueError:
        return value
    if abs(number) < 1000:
        return value
    whole, _, fraction = value.partition(".")
    return f"{int(whole):,}" + (f".{fraction}" if fraction else "")


@pytest.fixture(scope="module")
def reference() -> object:
    return load_scenario(BUNDLED)


@pytest.mark.parametrize("encoding, headers, separators", [
    ("gbk", "zh", False),        # Excel on Chinese Windows: "CSV (逗号分隔)" is GBK
    ("utf-8-sig", "zh", False),  # "CSV UTF-8": a BOM in front
    ("gb18030", "en", True),     # English keys, GB18030, numbers with thousands separators
    ("utf-8", "zh-full", True),  # full-width brackets around the units, separators
])
def test_csv_variants_load_to_the_same_scenario(tmp_path: Path, reference: object, encoding: str, headers: str,
                                                separators: bool) -> None:
    header, rows = english_rows()
    if headers != "en":
        header = chinese(header, full_width=headers == "zh-full")
    if separators:
        rows = [[grouped(v) for v in row] for row in rows]
        assert any("," in v for row in rows for v in row)
    (tmp_path / "branches.csv").write_bytes(csv_bytes(header, rows, encoding))
    assert load_scenario(scenario_with_table(tmp_path, "branches.csv")) == reference


def test_chinese_header_xlsx_loads_to_the_same_scenario(tmp_path: Path, reference: object) -> None:
    header, rows = english_rows()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(chinese(header))
    for row in rows:  # numbers as numbers, ids and names as text, empty cells empty
        sheet.append([v if name in ("id", "name") else (float(v) if v else None) for name, v in zip(header, row)])
    book.save(tmp_path / "branches.xlsx")
    assert load_scenario(scenario_with_table(tmp_path, "branches.xlsx")) == reference


@pytest.mark.parametrize("column, message", [
    # a money column whose header says 元 while the scenario is in 万元: read 10,000× off otherwise
    ("小微贷款余额(元)", "is in 元, but micro_loans is in 万元"),
    # clients counted in another unit
    ("小微贷款户数(万户)", "is in 万户, but micro_clients is in 户"),
    # a header nobody knows
    ("贷款余额", "unknown column"),
])
def test_bad_headers_name_the_column(tmp_path: Path, column: str, message: str) -> None:
    header, rows = english_rows()
    header = chinese(header)
    position = header.index("小微贷款余额(万元)" if "贷款余额" in column else "小微贷款户数(户)")
    header[position] = column
    (tmp_path / "branches.csv").write_bytes(csv_bytes(header, rows, "utf-8"))
    result = run_cli("validate", str(scenario_with_table(tmp_path, "branches.csv")))
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_the_same_column_twice_is_refused(tmp_path: Path) -> None:
    header, rows = english_rows()
    header = header + ["机构号"]
    rows = [row + [row[0]] for row in rows]
    (tmp_path / "branches.csv").write_bytes(csv_bytes(header, rows, "utf-8"))
    result = run_cli("validate", str(scenario_with_table(tmp_path, "branches.csv")))
    assert result.returncode == 2 and "'id' and '机构号' are both id" in result.stderr


def test_every_branch_field_has_one_chinese_header() -> None:
    from scenarios.schema import Branch

    assert list(BRANCH_HEADERS) == list(Branch.model_fields)
    assert len({h.zh for h in BRANCH_HEADERS.values()}) == len(BRANCH_HEADERS)


# ---------------------------------------------------------------- the template


@pytest.fixture()
def template(tmp_path: Path) -> tuple[Path, Path]:
    """`microplan scenarios template city-2014 --out DIR`: (YAML, XLSX)."""
    result = run_cli("scenarios", "template", BUNDLED, "--out", str(tmp_path / "mine"))
    assert result.returncode == 0, result.stderr
    return tmp_path / "mine" / f"{BUNDLED}.yaml", tmp_path / "mine" / f"{BUNDLED}_branches.xlsx"


def test_template_loads_to_the_bundled_scenario(template: tuple[Path, Path], reference: object) -> None:
    yaml_path, xlsx_path = template
    assert load_scenario(yaml_path) == reference
    text = yaml_path.read_text(encoding="utf-8")
    assert "micro_loans_prev: 2536333.0" in text and "# M0 小微贷款余额, money unit 万元" in text
    sheet = openpyxl.load_workbook(xlsx_path).worksheets[0]
    headers = [c.value for c in sheet[1]]
    assert headers[:3] == ["机构号", "管辖行", "网点数(个)"] and "小微贷款余额(万元)" in headers
    assert all(c.comment is not None for c in sheet[1])  # every header explains its field


def test_template_validates_each_column_by_kind(template: tuple[Path, Path]) -> None:
    """Counts: whole ≥ 0; money: decimal; ratios: decimal 0–1; ids: text length."""
    sheet = openpyxl.load_workbook(template[1]).worksheets[0]
    headers = [c.value for c in sheet[1]]
    rules = {}
    for dv in sheet.data_validations.dataValidation:
        for ref in str(dv.sqref).split():
            column = openpyxl.utils.column_index_from_string("".join(ch for ch in ref.split(":")[0] if ch.isalpha()))
            rules[headers[column - 1]] = (dv.type, float(dv.formula1), float(dv.formula2))
    assert rules["网点数(个)"] == ("whole", 0, 100_000)
    assert rules["小微贷款户数(户)"][:2] == ("whole", 0)
    assert rules["小微贷款余额(万元)"][:2] == ("decimal", 0)
    assert rules["锁定贷款增量目标(万元)"][:2] == ("decimal", -1e15)  # a negotiated increment may be negative
    assert rules["不良率"] == ("decimal", 0, 1)
    assert rules["机构号"][0] == "textLength"
    assert len(rules) == len(headers)


def test_template_edit_a_cell_then_validate(template: tuple[Path, Path]) -> None:
    """Edit B03's outlets 19 → 20 in the workbook: validates ok, and the scenario has 20."""
    yaml_path, xlsx_path = template
    book = openpyxl.load_workbook(xlsx_path)
    sheet = book.worksheets[0]
    column = [c.value for c in sheet[1]].index("网点数(个)") + 1
    assert sheet.cell(4, 1).value == "B03" and sheet.cell(4, column).value == 19
    sheet.cell(4, column).value = 20
    book.save(xlsx_path)
    result = run_cli("validate", str(yaml_path))
    assert (result.returncode, result.stdout) == (0, "ok\n"), result.stderr
    assert load_scenario(yaml_path).branches[2].outlets == 20


@pytest.mark.parametrize("header, value, field, message", [
    ("网点数(个)", -2, "outlets", "greater than or equal to 0"),            # a negative count
    ("小微客户经理数(人)", 99, "micro_client_managers", "≤ client_managers"),  # more micro managers than managers
    ("不良率", "1.2%", "npl_ratio", "number"),                              # a percentage typed as text
])
def test_template_bad_edit_names_row_and_field(template: tuple[Path, Path], header: str, value: object, field: str,
                                               message: str) -> None:
    yaml_path, xlsx_path = template
    book = openpyxl.load_workbook(xlsx_path)
    sheet = book.worksheets[0]
    sheet.cell(4, [c.value for c in sheet[1]].index(header) + 1).value = value
    book.save(xlsx_path)
    result = run_cli("validate", str(yaml_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{xlsx_path} row 4: branches.2.{field}: " in result.stderr and message in result.stderr


def test_template_out_must_be_a_folder(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = run_cli("scenarios", "template", BUNDLED, "--out", str(tmp_path / "file"))
    assert result.returncode == 2 and "not a folder" in result.stderr


# ---------------------------------------------------------------- helpers


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", *args], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])


def has_soffice() -> bool:
    return shutil.which("soffice") is not None
