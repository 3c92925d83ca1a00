"""Reading a plan back from the files `microplan plan` writes: the plan JSON and the XLSX workbook.

The result is a targets table in engine units (万元, 户) — columns branch, year, target_clients,
target_loan_increment — for `optimize.check`, with the file's printed resolution, plan year and
policy when the file says them.

The workbook is read by its header names, not by sheet or column positions, so a planner may
edit target cells, add rows above the header (a title block), add a totals row, or reorder
columns. Headers are recognised in Chinese or English, with or without a unit in brackets;
money is converted from the unit in the loan header (`小微贷款增量目标(万元)`), else from the
scenario's unit. The plan-year targets come from the branch-targets sheet (the one a planner
edits), the rolling years from the rolling-plan sheet; a plan-year row of the rolling sheet that
disagrees with the branch sheet is reported as a note. Plan year, policy and money unit come from
the hidden `_meta` sheet `microplan plan` writes (key in column A, value in B) when it is there,
else from the headers and the diagnostics sheet's first line (workbooks of earlier versions).

Problems are `Problem`s (`FILE: where: what (got VALUE)`), all of them collected in one pass.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from optimize.check import Resolution
from scenarios.errors import Problem, ScenarioError
from scenarios.reading import decode_text, open_workbook, parse_json, read_bytes
from scenarios.schema import MONEY_FACTORS, to_wan

#: The plan JSON prints numbers to at most this many decimals (`optimize/plan.py`); a file that
#: shows more decimals is taken at that finer resolution.
JSON_DECIMALS = 2
#: Largest plan file read, bytes.
MAX_PLAN_BYTES = 50 * 1024 * 1024
#: Rows searched for the header row of a sheet (a title block may sit above it).
HEADER_SEARCH_ROWS = 30
#: Columns read per sheet (the plan workbook has 12).
MAX_PLAN_COLUMNS = 100

#: Accepted header names per field, normalised (lower case, no unit in brackets, single spaces).
HEADERS: dict[str, set[str]] = {
    "branch": {"机构号", "机构编号", "branch id", "branch_id", "id"},
    "year": {"年度", "年份", "year"},
    "target_clients": {"新增小微户数目标", "target new micro clients", "target new clients", "target_clients"},
    "target_loan_increment": {"小微贷款增量目标", "target micro-loan increment", "target loan increment",
                              "target_loan_increment"},
}
#: Labels of a totals row (its id cell), which is not a branch.
TOTAL_LABELS = {"合计", "总计", "全行", "total", "totals", "sum"}
POLICIES = ("catch_up", "ratchet", "proportional")


class PlanFileError(Exception):
    """A plan file could not be read; `problems` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


@dataclass
class PlanFile:
    """A plan read back from a file, targets in engine units."""

    path: str
    targets: pd.DataFrame  # branch, year, target_clients (户), target_loan_increment (万元)
    money_unit: str  # the file's money unit
    resolution: Resolution  # printed resolution, engine units
    plan_year: int | None = None  # as the file states it
    policy: str | None = None
    violations: list[dict] | None = None  # the engine's own report (plan JSON only)
    notes: list[str] = field(default_factory=list)


def read_plan(path: str | Path, default_unit: str, default_year: int | None = None) -> PlanFile:
    """Read a plan JSON or XLSX; the defaults (the scenario's) apply when the file names no money unit or plan year.

    Files are read through `scenarios.reading` (size limit, regular files only, zip-bomb checks,
    JSON nesting, duplicate keys and NaN refused), as every file microplan reads.
    """
    path = Path(path)
    label = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".json", ".xlsx", ".xlsm"):
        raise PlanFileError([Problem(label, "", "a plan file must be .json (microplan plan --format json) or .xlsx (--out x.xlsx)", path.suffix or path.name, True)])
    try:
        data = read_bytes(path, label, MAX_PLAN_BYTES)
        if suffix == ".json":
            return read_plan_json(label, parse_json(decode_text(data, label), label), default_unit)
        book = open_workbook(data, label)
        try:
            return read_plan_xlsx(label, book, default_unit, default_year)
        finally:
            book.close()
    except ScenarioError as exc:
        raise PlanFileError(exc.problems) from None


# ---------------------------------------------------------------- JSON


def read_plan_json(label: str, data: Any, default_unit: str) -> PlanFile:
    """The plan JSON of `microplan plan --format json`: branches with the plan year and `rolling` years."""
    if not isinstance(data, dict):
        raise PlanFileError([Problem(label, "", "a plan JSON must be an object with plan_year and branches", data, True)])
    problems: list[Problem] = []
    unit = data.get("money_unit", default_unit)
    if unit not in MONEY_FACTORS:
        problems.append(Problem(label, "money_unit", f"unknown money unit; allowed: {', '.join(MONEY_FACTORS)}", unit, True))
        unit = default_unit
    factor = to_wan(1.0, unit)  # 万元 per unit of the file
    plan_year = data.get("plan_year")
    if not _is_whole(plan_year):
        problems.append(Problem(label, "plan_year", "required: the plan year as a whole number", plan_year, plan_year is not None))
    branches = data.get("branches")
    if not isinstance(branches, list) or not branches:
        problems.append(Problem(label, "branches", "required: a non-empty list of branches", branches, branches is not None))
        raise PlanFileError(problems)
    rows: list[tuple[str, int, float, float]] = []
    decimals = JSON_DECIMALS
    for i, item in enumerate(branches):
        where = f"branches.{i}"
        if not isinstance(item, dict):
            problems.append(Problem(label, where, "must be an object", item, True))
            continue
        bid = item.get("id")
        if not isinstance(bid, str) or not bid.strip():
            problems.append(Problem(label, f"{where}.id", "required: the branch id", bid, bid is not None))
            continue
        entries = [(f"{where}", plan_year, item)]
        rolling = item.get("rolling", [])
        if not isinstance(rolling, list):
            problems.append(Problem(label, f"{where}.rolling", "must be a list of years", rolling, True))
            rolling = []
        for j, later in enumerate(rolling):
            if not isinstance(later, dict):
                problems.append(Problem(label, f"{where}.rolling.{j}", "must be an object", later, True))
                continue
            year = later.get("year")
            if not _is_whole(year):
                problems.append(Problem(label, f"{where}.rolling.{j}.year", "required: a whole year", year, year is not None))
                continue
            entries.append((f"{where}.rolling.{j}", year, later))
        for place, year, entry in entries:
            values = []
            for key in ("target_clients", "target_loan_increment"):
                value = entry.get(key)
                if not _is_number(value):
                    problems.append(Problem(label, f"{place}.{key}", "required: a number", value, value is not None))
                    continue
                decimals = max(decimals, _decimals(value))
                values.append(float(value))
            if len(values) == 2 and _is_whole(year):
                rows.append((bid.strip(), int(year), values[0], values[1] * factor))
    if problems:
        raise PlanFileError(problems)
    step = 10.0 ** -min(decimals, 9)
    policy = data.get("policy") if data.get("policy") in POLICIES else None
    violations = data.get("violations") if isinstance(data.get("violations"), list) else None
    return PlanFile(label, _frame(rows), unit, Resolution(clients=step, loans=step * factor), int(plan_year), policy, violations)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_whole(value: Any) -> bool:
    return _is_number(value) and float(value).is_integer()


def _decimals(value: float) -> int:
    """Decimals a JSON number was printed with (repr is the shortest round-trip form)."""
    text = repr(float(value))
    if "e" in text:
        return 9
    return len(text.split(".")[1].rstrip("0")) if "." in text else 0


def _frame(rows: list[tuple[str, int, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["branch", "year", "target_clients", "target_loan_increment"])


# ---------------------------------------------------------------- XLSX


@dataclass
class Sheet:
    """A sheet whose header row names a branch id column and at least one target column."""

    title: str
    header_row: int  # 1-based
    columns: dict[str, int]  # field → 0-based column index
    units: dict[str, str]  # field → money unit named in its header
    rows: list[tuple[int, tuple]]  # (1-based row number, cell values) below the header


def normalise_header(text: Any) -> tuple[str, str | None]:
    """('小微贷款增量目标', '万元') from '小微贷款增量目标(万元)': the name without brackets, and a money unit in them."""
    if not isinstance(text, str):
        return "", None
    inside = re.findall(r"[(（]([^)）]*)[)）]", text)
    unit = next((u.strip() for u in inside if u.strip() in MONEY_FACTORS), None)
    name = re.sub(r"[(（][^)）]*[)）]", "", text)
    return " ".join(name.split()).lower(), unit


def header_field(name: str) -> str | None:
    """Which field a normalised header names, if any (spaces and underscores alike)."""
    for key, names in HEADERS.items():
        if {name, name.replace(" ", "_"), name.replace("_", " ")} & names:
            return key
    return None


def find_sheets(book: Any) -> list[Sheet]:
    """Every sheet of the workbook with a recognisable header row, in workbook order."""
    sheets = []
    for ws in book.worksheets:
        ws.reset_dimensions()  # a forged <dimension> must not widen every row
        rows = list(ws.iter_rows(values_only=True, max_col=MAX_PLAN_COLUMNS))
        for r, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
            columns: dict[str, int] = {}
            units: dict[str, str] = {}
            for c, cell in enumerate(cells):
                name, unit = normalise_header(cell)
                key = header_field(name)
                if key and key not in columns:
                    columns[key] = c
                    if unit:
                        units[key] = unit
            if "branch" in columns and ("target_clients" in columns or "target_loan_increment" in columns):
                body = [(r + 2 + i, row) for i, row in enumerate(rows[r + 1:])]
                sheets.append(Sheet(ws.title, r + 1, columns, units, body))
                break
    return sheets


def read_plan_xlsx(label: str, book: Any, default_unit: str, default_year: int | None = None) -> PlanFile:
    """The plan workbook: plan-year targets from the branch sheet, later years from the rolling sheet."""
    sheets = find_sheets(book)
    branch_sheet = next((s for s in sheets if "year" not in s.columns), None)
    rolling_sheet = next((s for s in sheets if "year" in s.columns), None)
    if branch_sheet is None and rolling_sheet is None:
        raise PlanFileError([Problem(label, "", "no sheet with a branch id column (机构号 / Branch id) and target columns "
                                                "(新增小微户数目标 / Target new micro clients, 小微贷款增量目标 / Target micro-loan increment)")])
    problems: list[Problem] = []
    notes: list[str] = []
    units = [s.units["target_loan_increment"] for s in (branch_sheet, rolling_sheet) if s and "target_loan_increment" in s.units]
    unit = units[0] if units else default_unit
    if not units:
        notes.append(f"{label}: no money unit in the loan headers; read as the scenario's unit {default_unit}")
    if len(set(units)) > 1:
        problems.append(Problem(label, "", f"the loan headers name different money units ({' / '.join(units)})"))
    meta = workbook_metadata(book)
    plan_year, policy = workbook_title(book)
    plan_year = meta.get("plan_year", plan_year)
    policy = meta.get("policy", policy)
    if not units and "money_unit" in meta:
        unit = meta["money_unit"]
        notes = [n for n in notes if "no money unit in the loan headers" not in n]
    rolling_rows: dict[tuple[str, int], tuple[float | None, float | None, str]] = {}
    if rolling_sheet is not None:
        for bid, year, values, where in sheet_records(label, rolling_sheet, None, problems):
            if (bid, year) in rolling_rows:
                problems.append(Problem(label, where, f"{bid} {year} appears twice"))
            rolling_rows[(bid, year)] = (*values, where)
    if plan_year is None:
        years = sorted({year for _, year in rolling_rows})
        plan_year = years[0] if years else default_year
        if not years and default_year is not None:
            notes.append(f"{label}: the workbook names no plan year; its branch targets are read as {default_year}'s")
    branch_rows: dict[str, tuple[float | None, float | None, str]] = {}
    if branch_sheet is not None:
        if plan_year is None:
            problems.append(Problem(label, branch_sheet.title, "cannot tell the plan year: no rolling-plan sheet with a year column and no title line"))
        for bid, _, values, where in sheet_records(label, branch_sheet, plan_year, problems):
            if bid in branch_rows:
                problems.append(Problem(label, where, f"{bid} appears twice"))
            branch_rows[bid] = (*values, where)
    if problems:
        raise PlanFileError(problems)
    factor = to_wan(1.0, unit)  # 万元 per unit of the file
    merged: dict[tuple[str, int], list] = {key: [c, l, where] for key, (c, l, where) in rolling_rows.items()}
    for bid, (clients, loans, where) in branch_rows.items():
        old = merged.get((bid, plan_year))
        if old is not None:
            for i, (name, new_value) in enumerate((("target_clients", clients), ("target_loan_increment", loans))):
                if new_value is not None and old[i] is not None and not math.isclose(old[i], new_value, rel_tol=1e-9, abs_tol=1e-9):
                    notes.append(f"{label}: {old[2]}: {bid} {plan_year} {name} {old[i]:,.2f} differs from "
                                 f"{where} ({new_value:,.2f}); the {branch_sheet.title} value is checked")
        merged[(bid, plan_year)] = [
            clients if clients is not None else (old[0] if old else None),
            loans if loans is not None else (old[1] if old else None),
            where,
        ]
    rows = []
    for (bid, year), (clients, loans, where) in merged.items():
        missing = [n for n, v in (("target_clients", clients), ("target_loan_increment", loans)) if v is None]
        if missing:
            problems.append(Problem(label, where, f"{bid} {year}: no {' or '.join(missing)} column in its sheet"))
            continue
        rows.append((bid, year, clients, loans * factor))
    if problems:
        raise PlanFileError(problems)
    return PlanFile(label, _frame(rows), unit, Resolution(), plan_year, policy, None, notes)


def sheet_records(label: str, sheet: Sheet, year: int | None, problems: list[Problem]):
    """(branch, year, (clients, loans), where) per data row; bad cells appended to `problems`."""
    cols = sheet.columns
    for row_number, cells in sheet.rows:
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells):
            continue
        raw_id = _cell(cells, cols["branch"])
        if raw_id is None or (isinstance(raw_id, str) and not raw_id.strip()) or str(raw_id).strip().lower() in TOTAL_LABELS:
            continue  # a totals or note row, not a branch
        bid = str(int(raw_id)) if isinstance(raw_id, float) and raw_id.is_integer() else str(raw_id).strip()
        where = f"{sheet.title}!row {row_number}"
        row_year = year
        if "year" in cols:
            value = _number(_cell(cells, cols["year"]))
            if value is None or not float(value).is_integer():
                problems.append(Problem(label, f"{sheet.title}!{_address(cols['year'], row_number)}", f"{bid}: the year must be a whole number", _cell(cells, cols["year"]), True))
                continue
            row_year = int(value)
        values: list[float | None] = []
        for key in ("target_clients", "target_loan_increment"):
            if key not in cols:
                values.append(None)
                continue
            cell = _cell(cells, cols[key])
            number = _number(cell)
            if number is None:
                what = "is empty (a formula without a saved result? open and save the workbook in Excel)" if cell is None else "is not a number"
                problems.append(Problem(label, f"{sheet.title}!{_address(cols[key], row_number)}", f"{bid} {row_year} {key} {what}", cell, cell is not None))
            values.append(number)
        if row_year is not None:
            yield bid, row_year, tuple(values), where


def _cell(cells: tuple, index: int) -> Any:
    return cells[index] if index < len(cells) else None


def _number(value: Any) -> float | None:
    """A cell as a number: numbers as they are, text with thousands separators accepted."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("，", "")
        try:
            number = float(text)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _address(column: int, row: int) -> str:
    """'H5' from a 0-based column and a 1-based row."""
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(column + 1)}{row}"


#: The hidden sheet `microplan plan` writes with plan year, policy, money and rounding unit.
META_SHEET = "_meta"


def workbook_metadata(book: Any) -> dict[str, Any]:
    """plan_year, policy and money_unit from the hidden `_meta` sheet (key in column A, value in B), those that are valid."""
    if META_SHEET not in book.sheetnames:
        return {}
    ws = book[META_SHEET]
    ws.reset_dimensions()
    raw = {}
    for cells in ws.iter_rows(max_row=HEADER_SEARCH_ROWS, max_col=2, values_only=True):
        if len(cells) == 2 and isinstance(cells[0], str):
            raw[cells[0].strip()] = cells[1]
    meta: dict[str, Any] = {}
    if _is_whole(raw.get("plan_year")):
        meta["plan_year"] = int(raw["plan_year"])
    if raw.get("policy") in POLICIES:
        meta["policy"] = raw["policy"]
    if raw.get("money_unit") in MONEY_FACTORS:
        meta["money_unit"] = raw["money_unit"]
    return meta


#: The first line of the diagnostics sheet: "NAME — 2014 — catch_up — optimal".
TITLE_PATTERN = re.compile(r"—\s*(\d{4})\s*—\s*(" + "|".join(POLICIES) + r")\s*—")


def workbook_title(book: Any) -> tuple[int | None, str | None]:
    """Plan year and policy from the workbook's diagnostics line, when it is there."""
    for ws in book.worksheets:
        for cells in ws.iter_rows(max_row=3, max_col=MAX_PLAN_COLUMNS, values_only=True):
            for cell in cells:
                if isinstance(cell, str) and (match := TITLE_PATTERN.search(cell)):
                    return int(match.group(1)), match.group(2)
    return None, None
