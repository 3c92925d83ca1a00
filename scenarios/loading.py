"""Loading scenarios from YAML / JSON, with branch tables from CSV / XLSX, and dumping them back.

Validation happens in one pass and every problem is collected (see `scenarios.errors`). Money
fields are converted from the file's unit to 万元 after validation, so error messages show the
values as the planner wrote them.
"""

from __future__ import annotations

import copy
import io
import json
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from scenarios.errors import Problem, ScenarioError
from scenarios.schema import MONEY_FACTORS, MONEY_FIELDS, Branch, Scenario

#: Largest scenario or branch-table file accepted, bytes (a 20,000-branch CSV is ~3 MB).
MAX_FILE_BYTES = 50 * 1024 * 1024
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
    path = Path(source)
    if not path.exists():
        if str(source) in bundled_names():
            path = bundled_path(str(source))
        else:
            raise ScenarioError([Problem(
                str(source), "",
                f"no such file or bundled scenario; bundled: {', '.join(bundled_names())}",
            )])
    raw = read_document(path)
    return scenario_from_dict(raw, file=str(source), base_dir=path.parent)


def read_document(path: Path) -> dict[str, Any]:
    """Parse a YAML or JSON file into a mapping, reporting syntax errors with their line."""
    label = str(path)
    if path.is_dir():
        raise ScenarioError([Problem(label, "", "is a directory, not a scenario file")])
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ScenarioError([Problem(label, "", f"file too large: {size} bytes, at most {MAX_FILE_BYTES}")])
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(label, "", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(label, "", f"cannot be read: {exc.strerror}")]) from None
    return parse_text(text, label, as_json=path.suffix.lower() == ".json")


def parse_text(text: str, label: str, *, as_json: bool = False) -> dict[str, Any]:
    """Parse scenario text (YAML is a superset of JSON, but JSON errors read better as JSON)."""
    try:
        data = json.loads(text) if as_json else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise ScenarioError([Problem(label, f"line {exc.lineno}", f"JSON syntax error: {exc.msg}")]) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ScenarioError([Problem(label, f"line {line}", f"YAML syntax error: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(label, "", f"YAML error: {exc}")]) from None
    if not isinstance(data, dict):
        raise ScenarioError([Problem(label, "", "a scenario must be a mapping of keys to values", data, True)])
    return data


def scenario_from_dict(raw: dict[str, Any], *, file: str = "<scenario>", base_dir: Path | None = None) -> Scenario:
    """Validate a raw mapping (branch table path resolved against `base_dir`) into a Scenario in 万元."""
    data = dict(raw)
    table_label = None
    if isinstance(data.get("branches"), str):
        if base_dir is None:
            raise ScenarioError([Problem(file, "branches", "a branch-table path needs a scenario file to be relative to", data["branches"], True)])
        table_path = base_dir / data["branches"]
        table_label = str(table_path)
        data["branches"] = read_branch_table(table_path)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(problems_from_validation(exc, file, table_label)) from None
    return to_engine_units(scenario)


def read_branch_table(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV or XLSX branch table as dicts; empty cells become None."""
    label = str(path)
    if path.suffix.lower() not in TABLE_SUFFIXES:
        raise ScenarioError([Problem(label, "branches", f"branch table must be {' or '.join(TABLE_SUFFIXES)}", path.name, True)])
    if not path.is_file():
        raise ScenarioError([Problem(label, "branches", "branch table file not found")])
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ScenarioError([Problem(label, "branches", f"file too large: {path.stat().st_size} bytes, at most {MAX_FILE_BYTES}")])
    import pandas as pd  # deferred: pandas is only needed for tables

    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype={"id": str, "name": str}, encoding="utf-8-sig")
        else:
            frame = pd.read_excel(path, dtype={"id": str, "name": str}, engine="openpyxl")
    except (ValueError, OSError, KeyError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(label, "branches", f"cannot read the table: {str(exc).splitlines()[0]}")]) from None
    except Exception as exc:  # noqa: BLE001 — openpyxl/zipfile raise many types for a non-XLSX file
        raise ScenarioError([Problem(label, "branches", f"not a readable {path.suffix} table: {type(exc).__name__}")]) from None
    required = [n for n, f in Branch.model_fields.items() if f.is_required()]
    allowed = set(Branch.model_fields)
    problems = [Problem(label, "branches", f"missing column {name!r}") for name in required if name not in frame.columns]
    problems += [
        Problem(label, "branches", f"unknown column; allowed: {', '.join(Branch.model_fields)}", str(c), True)
        for c in frame.columns if c not in allowed
    ]
    if frame.empty and not problems:
        problems.append(Problem(label, "branches", "the branch table has no rows"))
    if problems:
        raise ScenarioError(problems)
    frame = frame.astype(object).where(frame.notna(), None)
    return [{k: _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _plain(value: Any) -> Any:
    """numpy scalars → Python scalars; whole floats stay floats (pydantic accepts 3.0 for int)."""
    return value.item() if hasattr(value, "item") else value


# ---------------------------------------------------------------- errors


def problems_from_validation(exc: ValidationError, file: str, table_label: str | None) -> list[Problem]:
    """Turn pydantic's errors into planner-readable problems, one per error."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = ".".join(str(p) for p in loc) or "scenario"
        where = file
        if table_label and loc[:1] == ("branches",) and len(loc) > 1 and isinstance(loc[1], int):
            where = f"{table_label} row {loc[1] + 2}"
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
        model = _model_in(field.annotation)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    """The pydantic model inside an annotation such as `list[Branch]` or `X | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------- units


def to_engine_units(scenario: Scenario) -> Scenario:
    """The scenario with every money field in 万元 (`units.money` still names the file's unit)."""
    factor = MONEY_FACTORS[scenario.units.money]
    if factor == 1.0:
        return scenario
    return Scenario.model_validate(scale_money(scenario.model_dump(), factor))


def scale_money(data: dict[str, Any], factor: float) -> dict[str, Any]:
    """A copy of a scenario mapping with every field in `MONEY_FIELDS` multiplied by `factor`."""
    data = copy.deepcopy(data)
    for dotted in MONEY_FIELDS:
        _scale_path(data, dotted.split("."), factor)
    return data


def _scale_path(node: Any, parts: list[str], factor: float) -> None:
    head, rest = parts[0], parts[1:]
    if head == "*":
        for item in node if isinstance(node, list) else []:
            _scale_path(item, rest, factor)
        return
    if not isinstance(node, dict) or node.get(head) is None:
        return
    if rest:
        _scale_path(node[head], rest, factor)
    elif isinstance(node[head], (int, float)):
        node[head] = node[head] * factor


# ---------------------------------------------------------------- dumping


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a plain mapping in the file's own money unit (inverse of loading)."""
    data = scenario.model_dump(mode="json")
    factor = MONEY_FACTORS[scenario.units.money]
    return data if factor == 1.0 else scale_money(data, 1.0 / factor)


def dump_scenario(scenario: Scenario, fmt: str = "yaml") -> str:
    """The scenario as YAML or JSON text, ready to save, edit and load again."""
    data = scenario_to_dict(scenario)
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    stream = io.StringIO()
    yaml.safe_dump(data, stream, allow_unicode=True, sort_keys=False)
    return stream.getvalue()
