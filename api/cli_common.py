"""Helpers shared by the CLI commands: loading with planner-readable errors, writing outputs."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

from scenarios import Problem, Scenario, ScenarioError, load_scenario

EXIT_OK, EXIT_RELAXED, EXIT_BAD_INPUT = 0, 1, 2


def fail(problems: list[Problem] | list[str]) -> NoReturn:
    """Print one line per problem on stderr and exit 2 (bad input)."""
    for problem in problems:
        print(str(problem), file=sys.stderr)
    raise SystemExit(EXIT_BAD_INPUT)


def load_or_exit(source: str) -> Scenario:
    """Load a scenario file or bundled name; on bad input print the problems and exit 2."""
    try:
        return load_scenario(source)
    except ScenarioError as exc:
        fail(exc.problems)


def write_output(text: str | bytes, out: Path | None) -> None:
    """Write to `out` (parents created) or, for text, to stdout."""
    if out is None:
        if isinstance(text, bytes):
            fail(["--out: binary output needs a file to write (got no --out)"])
        sys.stdout.write(text)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            out.write_bytes(text)
        else:
            out.write_text(text, encoding="utf-8")
    except OSError as exc:
        fail([f"{out}: --out: cannot write ({exc.strerror})"])
