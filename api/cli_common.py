"""Helpers shared by the CLI commands: loading with planner-readable errors, writing outputs.

Bad input prints one line per problem (`api.errors.say`) and exits 2 at once, so a command
behaves the same inside or outside `api.errors.run`; files go through `api.writing` (atomic,
neutralised).
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import NoReturn

from api.errors import EXIT_BAD_INPUT, EXIT_OK, EXIT_RELAXED, BadInput, say
from api.writing import out_target_problems, write_output as _write_output
from scenarios import Problem, Scenario, ScenarioError
from scenarios.loading import load_scenario_with_files

__all__ = ["EXIT_BAD_INPUT", "EXIT_OK", "EXIT_RELAXED", "fail", "load_or_exit", "write_output"]


class Lang(str, Enum):
    """The language of an output: Chinese (the default) or English."""

    zh = "zh"
    en = "en"


class Policy(str, Enum):
    """The decomposition policies a command may override the scenario's with."""

    catch_up = "catch_up"
    ratchet = "ratchet"
    proportional = "proportional"


def fail(problems: list[Problem] | list[str]) -> NoReturn:
    """Print one line per problem on stderr and exit 2 (bad input)."""
    for problem in problems:
        say(str(problem))
    raise SystemExit(EXIT_BAD_INPUT)


def load_or_exit(source: str, out: Path | None = None) -> Scenario:
    """Load a scenario file or bundled name; with `out`, also check that `out` can be written
    and is not one of the scenario's own files (ScenarioError / BadInput: exit 2)."""
    if out is not None and (early := out_target_problems(out)):
        fail(early)
    try:
        scenario, files = load_scenario_with_files(source)
    except ScenarioError as exc:
        fail(exc.problems)
    if out is not None and (problems := out_target_problems(out, files)):
        fail(problems)
    return scenario


def write_output(text: str | bytes, out: Path | None) -> None:
    """Write to `out` (atomically: all or nothing) or, for text, to stdout; an unusable target exits 2."""
    try:
        _write_output(text, out)
    except BadInput as exc:
        fail(exc.lines)
