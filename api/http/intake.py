"""Request bodies → a validated scenario, through the same reading layer and schema as the CLI.

A scenario arrives as JSON (`application/json`), as YAML (`application/yaml`), or as the files a
planner has (`multipart/form-data`: the part `scenario`, a YAML or JSON file, and the part
`branches`, the branch table as CSV or XLSX, which replaces the table the YAML names or holds).
Files go through `scenarios.reading` (encodings, duplicate keys, nesting, XLSX zip limits) and
`scenarios.loading.scenario_from_dict` (every problem in one pass), so the API refuses exactly what
`microplan validate` refuses, with the same messages. On top come the server's own limits
(`limit_problems`): branches, replications, simulated days.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePath

from api.http.settings import ApiSettings
from scenarios import Problem, Scenario, ScenarioError
from scenarios.loading import TABLE_SUFFIXES, parse_text, scenario_from_dict
from scenarios.reading import decode_text

#: How a request body is labelled in problems.
REQUEST = "<request>"
JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class Submission:
    """A validated scenario and what was submitted, to be stored as given."""

    scenario: Scenario
    kind: str                 # json | upload
    source: str               # the JSON or YAML text
    source_name: str = ""
    table_name: str = ""
    table_bytes: bytes | None = None


def media_type(content_type: str) -> str:
    """`application/json; charset=utf-8` → `application/json`."""
    return content_type.split(";", 1)[0].strip().lower()


def is_json(kind: str) -> bool:
    return kind in JSON_TYPES or kind.endswith("+json")


def from_text_body(body: bytes, kind: str) -> Submission:
    """A scenario sent as the request body, JSON or YAML (branch table inline)."""
    text = decode_text(body, REQUEST)
    raw = parse_text(text, REQUEST, as_json=is_json(kind))
    if isinstance(raw.get("branches"), str):
        raise ScenarioError([Problem(REQUEST, "branches", "a branch-table file cannot be read from a request body: put the "
                                     "rows inline, or upload the scenario and the table as multipart/form-data parts "
                                     "`scenario` and `branches`", raw["branches"], True)])
    return Submission(scenario_from_dict(raw, file=REQUEST), "json", text)


def from_upload(scenario_name: str, scenario_bytes: bytes, table_name: str | None, table_bytes: bytes | None) -> Submission:
    """A scenario uploaded as files: the YAML / JSON and, optionally, the branch table it uses."""
    label = PurePath(scenario_name or "scenario.yaml").name
    text = decode_text(scenario_bytes, label)
    raw = parse_text(text, label, as_json=label.lower().endswith(".json"))
    table_label = PurePath(table_name).name if table_name else ""
    if table_bytes is None:
        if isinstance(raw.get("branches"), str):
            raise ScenarioError([Problem(label, "branches", "the scenario names a branch-table file that was not uploaded; "
                                         "send it as the multipart part `branches`", raw["branches"], True)])
        return Submission(scenario_from_dict(raw, file=label), "upload", text, label)
    suffix = PurePath(table_label).suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ScenarioError([Problem(table_label or "branches", "branches", f"the branch table must be a {' or '.join(TABLE_SUFFIXES)} file",
                                     table_label, True)])
    with tempfile.TemporaryDirectory(prefix="microplan-upload-") as folder:
        stored = "branches" + suffix  # the name on disk; problems show the uploaded name
        (Path(folder) / stored).write_bytes(table_bytes)
        raw["branches"] = stored
        try:
            scenario = scenario_from_dict(raw, file=label, base_dir=Path(folder))
        except ScenarioError as exc:
            raise ScenarioError([_renamed(p, str(Path(folder) / stored), table_label) for p in exc.problems]) from None
    return Submission(scenario, "upload", text, label, table_label, table_bytes)


def _renamed(problem: Problem, on_disk: str, uploaded: str) -> Problem:
    """The problem labelled with the uploaded file's name, not the server's temporary path."""
    return Problem(problem.file.replace(on_disk, uploaded), problem.path, problem.message, problem.value, problem.has_value)


def limit_problems(scenario: Scenario, settings: ApiSettings, *, replications: int | None = None,
                   simulating: bool = False, label: str = REQUEST) -> list[Problem]:
    """The server's limits on one request (README "Limits of the API"): each one a problem naming its field.

    branches ≤ max_branches; for a simulation also replications ≤ max_replications (the query's
    `replications`, else `simulation.replications`) and warmup_days + days ≤ max_days.
    """
    problems = []
    if len(scenario.branches) > settings.max_branches:
        problems.append(Problem(label, "branches", f"at most {settings.max_branches} branches per request on this server "
                                "(MICROPLAN_MAX_BRANCHES)", len(scenario.branches), True))
    if simulating:
        sim = scenario.simulation
        field, count = ("replications", replications) if replications is not None else ("simulation.replications", sim.replications)
        if count > settings.max_replications:
            problems.append(Problem(label, field, f"at most {settings.max_replications} replications per request on this "
                                    "server (MICROPLAN_MAX_REPLICATIONS)", count, True))
        if sim.warmup_days + sim.days > settings.max_days:
            problems.append(Problem(label, "simulation.days", f"warmup_days + days must be at most {settings.max_days} on "
                                    "this server (MICROPLAN_MAX_DAYS)", sim.warmup_days + sim.days, True))
    return problems
