"""The OpenAPI document: pydantic models that forbid unknown keys say so (`additionalProperties: false`).

litestar's pydantic schema plugin leaves a model's `extra="forbid"` out of the document; the
scenario's models (`scenarios.base.StrictModel`) refuse unknown keys — a typo is an error — so the
document must say that, or clients (and schemathesis) would believe extra keys are accepted.
"""

from __future__ import annotations

from typing import Any

from litestar.openapi.spec import Schema
from litestar.plugins.pydantic import PydanticSchemaPlugin


class StrictModelSchemaPlugin(PydanticSchemaPlugin):
    """`PydanticSchemaPlugin` + `additionalProperties: false` for models with `extra="forbid"`."""

    @classmethod
    def for_pydantic_model(cls, field_definition: Any, schema_creator: Any) -> Schema:  # type: ignore[override]
        schema = super().for_pydantic_model(field_definition, schema_creator)
        config = getattr(field_definition.annotation, "model_config", {}) or {}
        if config.get("extra") == "forbid":
            schema.additional_properties = False
        return schema
