"""The branch table's column names: English keys and the Chinese headers planners use in Excel.

One table (`BRANCH_HEADERS`) maps each field of `scenarios.schema.Branch` to its Chinese header
and the unit the header carries. A branch table may use either name for a column; a Chinese
header may carry its unit in brackets (`小微贷款余额(万元)`, full-width `（万元）` too), and that
unit must be the one the column is in — the scenario's money unit for money, 户 for clients — so
a table saved in 元 under a scenario in 万元 is refused, not silently read 10,000 times too big.
The template (`microplan scenarios template`) writes these headers; the plan workbook's id and
name columns use the same words (机构号, 管辖行).

Numbers may carry thousands separators (`1,234` or `1,234.5`, groups of three): Excel writes
them so when a cell is formatted as text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Header:
    """A column's Chinese header and its unit kind: `money` (the scenario's unit), a fixed unit, or None."""

    zh: str
    unit: str | None  # "money" → the scenario's money unit; "户", "个", "人"; None: a ratio, a score or text
    kind: str  # "text" | "count" | "money" | "ratio" | "score": what the template validates


#: Branch field → its Chinese header (the one mapping table of input column names).
BRANCH_HEADERS: dict[str, Header] = {
    "id": Header("机构号", None, "text"),
    "name": Header("管辖行", None, "text"),
    "outlets": Header("网点数", "个", "count"),
    "client_managers": Header("客户经理数", "人", "count"),
    "micro_client_managers": Header("小微客户经理数", "人", "count"),
    "micro_clients": Header("小微贷款户数", "户", "count"),
    "micro_loans": Header("小微贷款余额", "money", "money"),
    "achieved_clients": Header("周期内已完成", "户", "count"),
    "long_term_target": Header("长期目标", "户", "count"),
    "last_year_target": Header("上年目标", "户", "count"),
    "last_year_actual": Header("上年实际", "户", "count"),
    "loan_size_min": Header("户均新增贷款下限", "money", "money"),
    "loan_size_max": Header("户均新增贷款上限", "money", "money"),
    "npl_ratio": Header("不良率", None, "ratio"),
    "market_potential": Header("市场潜力", None, "score"),
    "locked_target_clients": Header("锁定新增户数目标", "户", "count"),
    "locked_target_loan_increment": Header("锁定贷款增量目标", "money", "money"),
}

_WITH_UNIT = re.compile(r"^(?P<name>.+?)\s*\((?P<unit>[^()]*)\)$")
#: A number with thousands separators: groups of three digits after the first group.
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


def header_text(field: str, money_unit: str) -> str:
    """The Chinese header of `field` with its unit: `小微贷款余额(万元)`, `网点数(个)`, `机构号`."""
    header = BRANCH_HEADERS[field]
    unit = money_unit if header.unit == "money" else header.unit
    return f"{header.zh}({unit})" if unit else header.zh


def column_field(column: str, money_unit: str) -> tuple[str | None, str | None]:
    """(field, problem) for a column name: an English key or a Chinese header, with or without its unit.

    NFKC first, so full-width brackets and letters read as their plain forms. `problem` says why
    a known header cannot be read (a unit other than the column's); `field` is None for an
    unknown column.
    """
    name = unicodedata.normalize("NFKC", column).strip()
    if name in BRANCH_HEADERS:
        return name, None
    match = _WITH_UNIT.match(name)
    bare, unit = (match["name"].strip(), match["unit"].strip()) if match else (name, None)
    for field, header in BRANCH_HEADERS.items():
        if bare != header.zh:
            continue
        expected = money_unit if header.unit == "money" else header.unit
        if unit is not None and unit != expected:
            return field, (f"column {column!r} is in {unit or 'no unit'}, but {field} is in "
                           f"{expected or 'no unit'}" + (" (units.money)" if header.unit == "money" else "")
                           + f"; write {header_text(field, money_unit)!r} and the values in that unit")
        return field, None
    return None, None


def without_separators(value: Any) -> Any:
    """'1,234.5' → '1234.5' (thousands separators dropped); any other value unchanged."""
    if isinstance(value, str) and _GROUPED.match(value.strip()):
        return value.strip().replace(",", "")
    return value
