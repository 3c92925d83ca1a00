"""Shared fixtures: run the real `microplan` entry point in-process and capture its output."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/builders.py


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Call `microplan ARGS…` through `api.cli.main` (the console script's own entry)."""
    from api.cli import main

    def run(*args: str) -> CliResult:
        monkeypatch.setattr(sys, "argv", ["microplan", *map(str, args)])
        code = 0
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


from hypothesis import Phase, settings  # noqa: E402

# `--hypothesis-profile=noshrink` reports the first failing example at once (for debugging).
settings.register_profile("noshrink", phases=[Phase.explicit, Phase.reuse, Phase.generate])
