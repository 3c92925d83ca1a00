"""Problems found in a scenario, reported the way a planner can act on them.

Every problem prints as `FILE: field.path: what is wrong (got VALUE)`; the CLI writes one per
line on stderr and exits 2, the API returns them as a 4xx JSON body. A problem is always one
line, and text from the input (a file name, a key, a value) is escaped so that it cannot drive
the terminal it is printed on (`scenarios.text.printable`).
"""

from __future__ import annotations

from dataclasses import dataclass

from scenarios.text import printable

_MAX_VALUE_CHARS = 80


def show_value(value: object) -> str:
    """A short, single-line rendering of an offending value."""
    text = repr(value) if isinstance(value, str) else str(value)
    text = printable(text.replace("\r", "\\r").replace("\n", "\\n"))
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario."""

    file: str  # the file (or "<request>") the problem was found in
    path: str  # dotted field path, e.g. "branches.3.outlets"; "" for the whole file
    message: str  # what is wrong and what is allowed
    value: object = None  # the offending value, if any
    has_value: bool = False  # False when there is no value to show (e.g. a missing field)

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}: " if self.path else f"{self.file}: "
        got = f" (got {show_value(self.value)})" if self.has_value else ""
        return printable(f"{where}{self.message}{got}".replace("\r", "\\r").replace("\n", "\\n"))

    def to_json(self) -> dict:
        """The problem as a JSON object for API clients."""
        body: dict = {"file": self.file, "field": self.path, "message": self.message}
        if self.has_value:
            body["got"] = show_value(self.value)
        return body


class ScenarioError(Exception):
    """A scenario could not be loaded; `problems` says every reason found in one pass."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems
