"""Shared pydantic base for every part of the scenario.

`StrictModel` forbids unknown keys (a typo in a scenario file is an error, not a silent
default) and freezes instances so a loaded scenario cannot drift while it is being planned.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Base of every scenario section: unknown keys rejected, instances immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
