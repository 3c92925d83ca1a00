"""The files a planner edits (`microplan scenarios template NAME --out DIR`).

- `NAME.yaml`: the scenario with every field written out and commented with its description and
  unit (taken from the schema, so the comments cannot drift from what the loader accepts); the
  branch table is a path to the workbook beside it.
- `NAME_branches.xlsx`: the branch table with the Chinese headers the loader reads
  (`scenarios.headers`), units in the headers, the field's description as a note on each header
  and data validation per column: whole numbers ≥ 0 for counts, decimals for money, 0–1 for
  ratios. Written through `api.writing` (text cells stay text, never formulas).

Both load back to the same scenario (tests/test_round_trip.py).
"""

from __future__ import annotations

import io
import unicodedata
from typing import Any

import yaml
from pydantic import BaseModel

from api.writing import new_workbook, write_cell, write_text
from scenarios.base import model_in
from scenarios.headers import BRANCH_HEADERS, header_text
from scenarios.loading import scenario_to_dict
from scenarios.schema import MAX_CLIENTS, MAX_MONEY, MONEY_FIELDS, Branch, Scenario

#: Rows of the workbook that carry data validation: the branches and room for more.
VALIDATED_ROWS = 2_000
#: Column that comments start at in the YAML (values shorter than this are padded).
COMMENT_COLUMN = 40


def template_files(scenario: Scenario, table_name: str) -> tuple[str, bytes]:
    """(YAML text, XLSX bytes) of `scenario`, the YAML naming `table_name` as its branch table."""
    data = scenario_to_dict(scenario)
    rows = data.pop("branches")
    data["branches"] = table_name
    return scenario_yaml(data, scenario.units.money), branch_workbook(rows, scenario.units.money)


# ---------------------------------------------------------------- YAML with comments


def scenario_yaml(data: dict[str, Any], money_unit: str) -> str:
    """The scenario mapping as block YAML, each field followed by `# description [unit]`."""
    lines = [
        f"# {data.get('name', '')}: a microplan scenario (README 'The scenario file').",
        f"# Money fields are in {money_unit} (units.money); counts in 户. `null` = empty (the default applies).",
        "# Check it with: microplan validate THIS_FILE",
    ]
    lines += _mapping_lines(data, Scenario, "", 0, money_unit)
    return "\n".join(lines) + "\n"


def _mapping_lines(data: dict[str, Any], model: type[BaseModel] | None, prefix: str, depth: int, unit: str) -> list[str]:
    lines = []
    indent = "  " * depth
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        field = model.model_fields.get(key) if model is not None else None
        comment = _comment(field, path, unit, key == "branches")
        inner = model_in(field.annotation) if field is not None else None
        if isinstance(value, dict) and value and isinstance(inner, type) and issubclass(inner, BaseModel) \
                and field is not None and field.annotation is not dict and not _is_mapping_of_models(field):
            text = f"{indent}{key}:"
            lines.append(text + (f"{' ' * max(1, COMMENT_COLUMN - width(text))}# {comment}" if comment else ""))
            lines += _mapping_lines(value, inner, path, depth + 1, unit)
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):  # variants: a block list
            text = f"{indent}{key}:"
            lines.append(text + (f"{' ' * max(1, COMMENT_COLUMN - width(text))}# {comment}" if comment else ""))
            block = yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=100)
            lines += [f"{indent}  {line}" for line in block.splitlines()]
        else:
            text = f"{indent}{key}: {_flow(value)}"
            lines.append(text + (f"{' ' * max(1, COMMENT_COLUMN - width(text))}# {comment}" if comment else ""))
    return lines


def width(text: str) -> int:
    """Columns `text` takes in a fixed-width editor: wide (CJK) characters count two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _is_mapping_of_models(field: Any) -> bool:
    """dict[str, Model] fields (regulation.rules) are written inline: their keys are not fields."""
    import typing

    return typing.get_origin(field.annotation) is dict


def _flow(value: Any) -> str:
    """One value as single-line YAML (flow style for lists and mappings)."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def _comment(field: Any, path: str, unit: str, is_table: bool) -> str:
    """A field's description, its money unit spelled out where it is money."""
    if is_table:
        return "the branch table (workbook beside this file; Chinese or English headers)"
    if field is None or not field.description:
        return ""
    text = " ".join(field.description.split())
    if _is_money(path):
        text = text.replace(" (万元 by default)", "").replace("money unit", f"money unit {unit}")
        if unit not in text:
            text += f" [{unit}]"
    return text


def _is_money(path: str) -> bool:
    parts = path.split(".")
    return any(dotted.replace("branches.*.", "branches.").split(".") == parts for dotted in MONEY_FIELDS)


# ---------------------------------------------------------------- the branch workbook


def branch_workbook(rows: list[dict[str, Any]], money_unit: str) -> bytes:
    """The branch table as XLSX: Chinese headers with units, notes, validation, frozen header and id."""
    buffer = io.BytesIO()
    fields = list(BRANCH_HEADERS)
    with new_workbook(buffer) as book:
        sheet = book.add_worksheet("分行表")
        header = book.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", "text_wrap": True, "valign": "top"})
        quoted = book.add_format({"quote_prefix": True})
        formats = {"money": book.add_format({"num_format": "#,##0.00"}), "count": book.add_format({"num_format": "#,##0"}),
                   "ratio": book.add_format({"num_format": "0.00%"}), "score": None, "text": book.add_format({"num_format": "@"})}
        for col, name in enumerate(fields):
            spec = BRANCH_HEADERS[name]
            write_text(sheet, 0, col, header_text(name, money_unit), header, quoted=quoted)
            sheet.write_comment(0, col, f"{name}: {' '.join((Branch.model_fields[name].description or '').split())}",
                                {"x_scale": 2.5, "y_scale": 1.5})
            sheet.set_column(col, col, max(10, 2 * len(header_text(name, money_unit)) + 2), formats[spec.kind])
            sheet.data_validation(1, col, VALIDATED_ROWS, col, validation(name, spec.kind, money_unit))
        for r, row in enumerate(rows, start=1):
            for col, name in enumerate(fields):
                write_cell(sheet, r, col, row.get(name), quoted)
        sheet.set_row(0, 36)
        sheet.freeze_panes(1, 2)
        sheet.set_landscape()
        sheet.set_paper(9)  # A4
        sheet.fit_to_pages(1, 0)  # one page wide
        sheet.repeat_rows(0)
    return buffer.getvalue()


def validation(name: str, kind: str, money_unit: str) -> dict[str, Any]:
    """xlsxwriter data validation of one column: what Excel refuses as the planner types."""
    field = Branch.model_fields[name]
    low, high = bounds(field)
    title = header_text(name, money_unit)
    if kind == "text":
        rule = {"validate": "length", "criteria": "between", "minimum": 1, "maximum": int(high or 200)}
        message = f"{title}: 1–{int(high or 200)} characters"
    elif kind == "count":
        rule = {"validate": "integer", "criteria": "between", "minimum": int(low or 0), "maximum": int(high or MAX_CLIENTS)}
        message = f"{title}: a whole number ≥ {int(low or 0)}"
    elif kind == "ratio":
        rule = {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1}
        message = f"{title}: a share between 0 and 1 (1.2% = 0.012)"
    else:
        rule = {"validate": "decimal", "criteria": "between", "minimum": low if low is not None else -MAX_MONEY,
                "maximum": high if high is not None else MAX_MONEY}
        message = f"{title}: a number" + (f" ≥ {low:g}" if low is not None else "") + (f" in {money_unit}" if kind == "money" else "")
    return {**rule, "ignore_blank": True, "error_title": "microplan", "error_message": message[:255],
            "input_title": title[:32], "input_message": message[:255]}


def bounds(field: Any) -> tuple[float | None, float | None]:
    """(lowest, highest) a field accepts, from its pydantic metadata (ge/gt, le/lt; max_length for text)."""
    low = high = None
    for item in field.metadata:
        for attr in ("ge", "gt"):
            if getattr(item, attr, None) is not None:
                low = float(getattr(item, attr))
        for attr in ("le", "lt"):
            if getattr(item, attr, None) is not None:
                high = float(getattr(item, attr))
        if getattr(item, "max_length", None) is not None:
            high = float(item.max_length)
    return low, high
