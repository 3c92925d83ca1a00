"""Loading scenarios from YAML / JSON, with branch tables from CSV / XLSX, and dumping them back.

Files are read through `scenarios.reading` (limits, encodings, duplicate keys). Validation
happens in one pass and every problem is collected (see `scenarios.errors`). Money fields are
converted from the file's unit to 万元 after validation, so error messages show the values as
the planner wrote them.
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from scenarios.base import model_in
from scenarios.consistency import cross_field_problems
from scenarios.errors import Problem, ScenarioError
from scenarios.markets import market_problems
from scenarios.headers import column_field, header_text, without_separators
from scenarios.reading import MAX_FILE_BYTES, Table, decode_text, parse_document, read_bytes, read_table
from scenarios.schema import MAX_MONEY_WAN, MONEY_FACTORS, MONEY_FIELDS, Branch, Scenario, Variant, from_wan, to_wan

__all__ = ["MAX_FILE_BYTES", "load_scenario", "load_scenario_with_files", "scenario_from_dict", "dump_scenario", "bundled_names"]

TABLE_SUFFIXES = (".csv", ".xlsx")
EXAMPLES_PACKAGE = "scenarios.examples"


# ---------------------------------------------------------------- bundled examples


def bundled_names() -> list[str]:
    """Names of the bundled example scenarios, sorted."""
    folder = resources.files(EXAMPLES_PACKAGE)
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def bundled_path(name: str) -> Path:
    """Path of a bundled example scenario file."""
    return Path(str(resources.files(EXAMPLES_PACKAGE).joinpath(f"{name}.yaml")))


# ---------------------------------------------------------------- loading


def load_scenario(source: str | Path) -> Scenario:
    """Load a scenario from a file path or a bundled example name; raise `ScenarioError`."""
    return load_scenario_with_files(source)[0]


def load_scenario_with_files(source: str | Path) -> tuple[Scenario, tuple[Path, ...]]:
    """The scenario and the files it was read from (the scenario file, its branch table if any)."""
    path = Path(source)
    if not os.path.lexists(path):
        if str(source) in bundled_names():
            path = bundled_path(str(source))
        else:
            raise ScenarioError([Problem(
                str(source), "",
                f"no such file or bundled scenario; bundled: {', '.join(bundled_names())}",
            )])
    raw = read_document(path, str(source))
    files = (path,) + ((path.parent / raw["branches"],) if isinstance(raw.get("branches"), str) else ())
    return scenario_from_dict(raw, file=str(source), base_dir=path.parent), files


def read_document(path: Path, label: str | None = None) -> dict[str, Any]:
    """A YAML or JSON file as a mapping, through the reading layer's limits (`scenarios.reading`)."""
    label = label or str(path)
    text = decode_text(read_bytes(path, label), label)
    return parse_text(text, label, as_json=path.suffix.lower() == ".json")


def parse_text(text: str, label: str, *, as_json: bool = False) -> dict[str, Any]:
    """Parse scenario text (YAML is a superset of JSON, but JSON errors read better as JSON)."""
    data = parse_document(text, label, as_json=as_json)
    if not isinstance(data, dict):
        raise ScenarioError([Problem(label, "", "a scenario must be a mapping of keys to values", data, True)])
    return data


def scenario_from_dict(raw: dict[str, Any], *, file: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """Validate a raw mapping (branch table path resolved against `base_dir`) into a Scenario in 万元.

    Every problem is found in one pass: field problems, rules between fields whose inputs are
    valid (`scenarios.consistency`), money beyond the limit once converted, and unknown keys in
    the free-form parts (variant patches), and the `markets:` section's references.
    """
    data = dict(raw)
    table = None
    if isinstance(data.get("branches"), str):
        if base_dir is None:
            raise ScenarioError([Problem(file, "branches", "a branch-table path needs a scenario file to be relative to", data["branches"], True)])
        table = read_branch_table(base_dir / data["branches"], file_money_unit(data))
        data["branches"] = table.rows
    problems: list[Problem] = []
    scenario = None
    errored: set[str] = set()
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        field_errors = [e for e in errors if e["type"] != "cross_field"]
        errored = {".".join(str(p) for p in e["loc"]) for e in field_errors}
        problems = problems_from_validation(field_errors, file, table)
        problems += [Problem(_where(file, table, path), path, message)
                     for path, message in cross_field_problems(data, Scenario, errored)]
        problems += [Problem(file, path, message) for path, message in _market_problems(data, errored)]
        if not problems:  # the raw rules missed what the models found: never lose a problem
            problems = problems_from_validation(errors, file, table)
    problems += money_limit_problems(data, file, table, errored)
    problems += free_form_problems(data, file, valid=scenario is not None)
    if problems:
        raise ScenarioError(problems)
    assert scenario is not None
    try:
        return to_engine_units(scenario)
    except ValidationError as exc:
        raise ScenarioError(problems_from_validation(exc.errors(include_url=False), file, table)) from None


def _market_problems(data: dict[str, Any], errored: set[str]) -> list[tuple[str, str]]:
    """The `markets:` section's rules between fields (`scenarios.markets.market_problems`), on the raw mapping."""
    branches = data.get("branches")
    ids = [b.get("id") for b in branches if isinstance(b, dict)] if isinstance(branches, list) else None
    return [(path, message) for path, message in market_problems(data.get("markets"), "markets", ids)
            if not any(path == e or path.startswith(e + ".") for e in errored)]


def read_branch_table(path: Path, money_unit: str = "万元") -> Table:
    """Rows of a CSV or XLSX branch table (through `scenarios.reading`), keyed by field name.

    Columns may be named by the English key or the Chinese header (`scenarios.headers`); numbers
    may carry thousands separators. Columns are checked: each required one present, none unknown,
    none twice (`id` and `机构号` are the same column).
    """
    label = str(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise ScenarioError([Problem(label, "branches", f"branch table must be {' or '.join(TABLE_SUFFIXES)}", path.name, True)])
    if not os.path.lexists(path):
        raise ScenarioError([Problem(label, "branches", "branch table file not found")])
    table = read_table(path, label)
    columns = list(table.rows[0]) if table.rows else []
    fields, problems = column_fields(columns, label, money_unit)
    present = set(fields.values())
    required = [n for n, f in Branch.model_fields.items() if f.is_required()]
    problems += [Problem(label, "branches", f"missing column {name!r} ({header_text(name, money_unit)})")
                 for name in required if name not in present and columns]
    if not table.rows:
        problems.append(Problem(label, "branches", "the branch table has no rows"))
    if problems:
        raise ScenarioError(problems)
    table.rows = [{fields[c]: table_cell(fields[c], v) for c, v in row.items()} for row in table.rows]
    return table


def column_fields(columns: list[str], label: str, money_unit: str) -> tuple[dict[str, str], list[Problem]]:
    """Column name → Branch field (English key or Chinese header), and the problems of the header."""
    fields: dict[str, str] = {}
    problems: list[Problem] = []
    first: dict[str, str] = {}
    for column in columns:
        field, problem = column_field(column, money_unit)
        if problem:
            problems.append(Problem(label, "branches", problem))
        elif field is None:
            problems.append(Problem(label, "branches", f"unknown column; allowed: {', '.join(Branch.model_fields)} "
                                                       "or their Chinese headers (see `microplan scenarios template`)",
                                    str(column), True))
        elif field in first:
            problems.append(Problem(label, "branches", f"columns {first[field]!r} and {column!r} are both {field}; keep one"))
        else:
            fields[column] = first[field] = field
    return fields, problems


def table_cell(field: str, value: Any) -> Any:
    """A cell as the schema reads it: ids and names as text, numbers without thousands separators."""
    if field in ("id", "name"):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(int(value)) if float(value).is_integer() else str(value)
        return value
    return without_separators(value)


# ---------------------------------------------------------------- errors


def _where(file: str, table: Table | None, path: str) -> str:
    """The file a problem at `path` is in: the branch table's row for a table row, else the scenario."""
    parts = path.split(".")
    if table is not None and parts[0] == "branches" and len(parts) > 1 and parts[1].isdigit():
        row = int(parts[1])
        if row < len(table.row_numbers):
            return f"{table.label} row {table.row_numbers[row]}"
    return file


def problems_from_validation(errors: list[dict], file: str, table: Table | None) -> list[Problem]:
    """Turn pydantic's errors into planner-readable problems, one per error."""
    problems = []
    for err in errors:
        loc = tuple(err["loc"])
        path = ".".join(str(p) for p in loc) or "scenario"
        where = _where(file, table, path)
        kind = err["type"]
        if kind == "missing":
            problems.append(Problem(where, path, "required field is missing"))
        elif kind == "extra_forbidden":
            allowed = allowed_keys(loc[:-1])
            hint = f"; allowed: {', '.join(allowed)}" if allowed else ""
            problems.append(Problem(where, path, f"unknown key (check the spelling){hint}"))
        else:
            message = err["msg"].removeprefix("Value error, ")
            shows_value = "(got " in message
            problems.append(Problem(where, path, message, err.get("input"), not shows_value and not isinstance(err.get("input"), (dict, list))))
    return problems


def allowed_keys(loc: tuple) -> list[str]:
    """Field names allowed at a location of the scenario, for 'unknown key' hints."""
    model: Any = Scenario
    for part in loc:
        if isinstance(part, int) or not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return []
        model = model_in(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def file_money_unit(data: dict[str, Any]) -> str:
    """The money unit a raw scenario names (`units.money`), 万元 when absent or not a unit."""
    units = data.get("units")
    unit = units.get("money", "万元") if isinstance(units, dict) else "万元"
    return unit if isinstance(unit, str) and unit in MONEY_FACTORS else "万元"


def money_limit_problems(data: dict[str, Any], file: str, table: Table | None, errored: set[str]) -> list[Problem]:
    """|amount| in 万元 ≤ MAX_MONEY_WAN for every money field: the bound that holds in any unit."""
    units = data.get("units")
    unit = units.get("money", "万元") if isinstance(units, dict) else "万元"
    if not isinstance(unit, str) or unit not in MONEY_FACTORS:
        return []
    problems = []
    for dotted in MONEY_FIELDS:
        for path, value in _values_at(data, dotted.split("."), ""):
            if path in errored or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if math.isfinite(value) and abs(to_wan(value, unit)) > MAX_MONEY_WAN:
                problems.append(Problem(_where(file, table, path), path,
                                        f"must be at most {MAX_MONEY_WAN:g} 万元 in size once converted from {unit}",
                                        value, True))
    return problems


def _values_at(node: Any, parts: list[str], prefix: str) -> Any:
    """(dotted path, value) at a `MONEY_FIELDS`-style path (`*` = every list item) in raw data."""
    if not parts:
        yield prefix, node
        return
    head, rest = parts[0], parts[1:]
    if head == "*":
        for i, item in enumerate(node if isinstance(node, list) else []):
            yield from _values_at(item, rest, f"{prefix}.{i}")
    elif isinstance(node, dict) and head in node:
        yield from _values_at(node[head], rest, f"{prefix}.{head}" if prefix else head)


# ---------------------------------------------------------------- free-form parts


def free_form_problems(data: dict[str, Any], file: str, *, valid: bool) -> list[Problem]:
    """Unknown keys inside the parts the schema leaves free-form, and bad values a variant patch brings.

    A variant's patch must name scenario fields (it is merged into the base scenario); when the
    base is valid, the patched scenario is validated too and its problems reported under
    `variants.N.patch`.
    """
    problems: list[Problem] = []
    variants = data.get("variants")
    for i, variant in enumerate(variants if isinstance(variants, list) else []):
        patch = variant.get("patch") if isinstance(variant, dict) else None
        if not isinstance(patch, dict):
            continue
        unknown = list(unknown_patch_keys(patch, Scenario, f"variants.{i}.patch"))
        problems += [Problem(file, path, f"unknown key (check the spelling){hint}") for path, hint in unknown]
        if valid and not unknown:
            problems += patched_problems(data, patch, file, f"variants.{i}.patch", variant.get("name"))
    return problems


def unknown_patch_keys(patch: dict[str, Any], model: type[BaseModel], prefix: str) -> Any:
    """(path, hint) of every key of a patch that names no field of `model` (recursively)."""
    for key, value in patch.items():
        field = model.model_fields.get(str(key))
        if field is None:
            yield f"{prefix}.{key}", f"; allowed: {', '.join(model.model_fields)}"
            continue
        inner = model_in(field.annotation)
        if inner is None or inner is Variant:
            continue
        if isinstance(value, dict) and field.annotation is not dict:
            yield from unknown_patch_keys(value, inner, f"{prefix}.{key}")
        elif isinstance(value, list):
            for j, item in enumerate(value):
                if isinstance(item, dict):
                    yield from unknown_patch_keys(item, inner, f"{prefix}.{key}.{j}")


def apply_patch(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A variant's scenario: `patch` merged into `base` (mappings merged key by key, other values replaced)."""
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = apply_patch(merged[key], value)
        else:
            merged[key] = value
    return merged


def patched_problems(data: dict[str, Any], patch: dict[str, Any], file: str, prefix: str,
                     variant: object = None) -> list[Problem]:
    """Problems of the scenario a patch makes, reported under the patch's own path and naming the variant."""
    patched = apply_patch({k: v for k, v in data.items() if k != "variants"}, patch)
    try:
        Scenario.model_validate(patched)
    except ValidationError as exc:
        found = problems_from_validation(exc.errors(include_url=False), file, None)
        return [Problem(p.file, f"{prefix}.{p.path}", in_variant(p.message, variant), p.value, p.has_value) for p in found]
    return []


def in_variant(message: str, variant: object) -> str:
    """A problem's message with the variant it belongs to: `… (in variant 'ratchet')`."""
    return f"{message} (in variant {variant!r})" if isinstance(variant, str) else message


# ---------------------------------------------------------------- units


def to_engine_units(scenario: Scenario) -> Scenario:
    """The scenario with every money field in 万元 (`units.money` still names the file's unit)."""
    unit = scenario.units.money
    if MONEY_FACTORS[unit] == 1.0:
        return scenario
    converted = Scenario.model_validate(scale_money(scenario.model_dump(), lambda v: to_wan(v, unit)))
    keep_fields_set(converted, scenario)
    return converted


def keep_fields_set(converted: BaseModel, original: BaseModel) -> None:
    """Mark on `converted` the fields the file gave, as on `original` (which sections a scenario
    has, e.g. `simulation` and its models, survives the conversion to 万元)."""
    object.__setattr__(converted, "__pydantic_fields_set__", set(original.model_fields_set))
    for name in original.model_fields_set:
        new, old = getattr(converted, name, None), getattr(original, name, None)
        if isinstance(new, BaseModel) and isinstance(old, BaseModel):
            keep_fields_set(new, old)


def scale_money(data: dict[str, Any], convert: Callable[[float], float]) -> dict[str, Any]:
    """A copy of a scenario mapping with `convert` applied to every field in `MONEY_FIELDS`."""
    data = copy.deepcopy(data)
    for dotted in MONEY_FIELDS:
        _scale_path(data, dotted.split("."), convert)
    return data


def _scale_path(node: Any, parts: list[str], convert: Callable[[float], float]) -> None:
    head, rest = parts[0], parts[1:]
    if head == "*":
        for item in node if isinstance(node, list) else []:
            _scale_path(item, rest, convert)
        return
    if not isinstance(node, dict) or node.get(head) is None:
        return
    if rest:
        _scale_path(node[head], rest, convert)
    elif isinstance(node[head], (int, float)):
        node[head] = convert(node[head])


# ---------------------------------------------------------------- dumping


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a plain mapping in the file's own money unit (inverse of loading)."""
    data = scenario.model_dump(mode="json")
    unit = scenario.units.money
    return data if MONEY_FACTORS[unit] == 1.0 else scale_money(data, lambda v: from_wan(v, unit))


def dump_scenario(scenario: Scenario, fmt: str = "yaml") -> str:
    """The scenario as YAML or JSON text, ready to save, edit and load again."""
    data = scenario_to_dict(scenario)
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    stream = io.StringIO()
    yaml.safe_dump(data, stream, allow_unicode=True, sort_keys=False)
    return stream.getvalue()
