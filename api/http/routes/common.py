"""What the handlers share: reading a submitted scenario, storing it, the documented parameters,
and the OpenAPI description of a scenario request body (JSON, YAML or uploaded files)."""

from __future__ import annotations

import asyncio
from concurrent.futures.process import BrokenProcessPool
import functools
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import anyio
from litestar import Request
from litestar.datastructures import UploadFile
from litestar.exceptions import HTTPException
from litestar.openapi.spec import Example, OpenAPIMediaType, Operation, Reference, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import Parameter

from api.http.db import Database, StoredScenario, new_id
from api.http.intake import JSON_TYPES, MULTIPART, REQUEST, YAML_TYPES, Submission, from_text_body, from_upload, is_json, media_type
from scenarios import Problem, ScenarioError

T = TypeVar("T")

Lang = Literal["zh", "en"]
PolicyName = Literal["catch_up", "ratchet", "proportional"]

LangParam = Annotated[Lang, Parameter(
    query="lang", description="language of every text in the answer: zh (default) or en", examples=[Example(value="zh")])]
PolicyParam = Annotated[PolicyName | None, Parameter(
    query="policy", description="override the scenario's policy: catch_up | ratchet | proportional", examples=[Example(value="catch_up")])]
IdParam = Annotated[str, Parameter(description="the id the API returned (32 hex digits)", max_length=64,
                                   examples=[Example(value="0123456789abcdef0123456789abcdef")])]


async def in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run blocking I/O (the database) in a worker thread, off the event loop."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))


async def in_process(request: Request, function: Any, *args: Any) -> Any:
    """Run CPU-heavy work (a plan, an export) in the app's process pool, off the event loop.

    A pool whose process died (killed, out of memory) is broken for good: it is replaced and the
    work submitted once more, so one lost process does not fail every later request.
    """
    state = request.app.state
    for attempt in (1, 2):
        pool = state.pool
        try:
            return await asyncio.wrap_future(pool.submit(function, *args))
        except BrokenProcessPool:
            if attempt == 2:
                raise
            if state.pool is pool:
                state.pool = state.new_pool()
                pool.shutdown(wait=False, cancel_futures=True)
    raise AssertionError("unreachable")


async def read_submission(request: Request) -> Submission:
    """The scenario of a request: JSON or YAML body, or multipart parts `scenario` and `branches` (415 otherwise)."""
    kind = media_type(request.headers.get("content-type", ""))
    if is_json(kind) or kind in YAML_TYPES:
        body = await request.body()
        return await in_thread(from_text_body, body, kind)
    if kind == MULTIPART:
        form = await request.form()
        scenario, branches = form.get("scenario"), form.get("branches")
        if not isinstance(scenario, UploadFile):
            raise ScenarioError([Problem(REQUEST, "scenario", "the multipart part `scenario` (a YAML or JSON file) is missing")])
        if branches is not None and not isinstance(branches, UploadFile):
            raise ScenarioError([Problem(REQUEST, "branches", "the multipart part `branches` must be a file (CSV or XLSX)")])
        scenario_bytes = await scenario.read()
        table = (branches.filename, await branches.read()) if isinstance(branches, UploadFile) else (None, None)
        return await in_thread(from_upload, scenario.filename, scenario_bytes, *table)
    allowed = ", ".join((*JSON_TYPES, *YAML_TYPES, MULTIPART))
    raise HTTPException(status_code=415, detail=f"Content-Type: {kind or 'none'} is not accepted; send one of {allowed}")


def store_submission(db: Database, submission: Submission, key_id: str) -> tuple[str, dict[str, Any]]:
    """Commit the scenario as submitted and as validated; its id and the validated mapping."""
    scenario = submission.scenario
    validated = json.loads(scenario.model_dump_json(exclude_unset=True))  # keeps which sections were given (compare reads it)
    row = StoredScenario(id=new_id(), name=scenario.name, plan_year=scenario.plan_year, branch_count=len(scenario.branches),
                         source_kind=submission.kind, source=submission.source, source_name=submission.source_name,
                         table_name=submission.table_name, table_bytes=submission.table_bytes, validated=validated,
                         key_id=key_id)
    with db.session.begin() as session:
        session.add(row)
    return row.id, validated


def scenario_example() -> dict[str, Any]:
    """The bundled city bank's 2014 scenario, as a request body example."""
    from scenarios import load_scenario
    from scenarios.loading import scenario_to_dict

    return scenario_to_dict(load_scenario("city-2014"))


@functools.cache
def _example() -> dict[str, Any]:
    return scenario_example()


@dataclass
class ScenarioBodyOperation(Operation):
    """The OpenAPI operation of a route that takes a scenario: JSON (the `Scenario` schema), YAML text,
    or uploaded files (`scenario` YAML / JSON plus an optional `branches` CSV / XLSX)."""

    def __post_init__(self) -> None:
        upload = Schema(type=OpenAPIType.OBJECT, required=["scenario"], properties={
            "scenario": Schema(type=OpenAPIType.STRING, format="binary", description="the scenario file, YAML or JSON"),  # type: ignore[arg-type]
            "branches": Schema(type=OpenAPIType.STRING, format="binary",  # type: ignore[arg-type]
                               description="the branch table, CSV or XLSX (Chinese or English headers); replaces the file's branches"),
        })
        self.request_body = RequestBody(required=True, description="the scenario (README 'The scenario file')", content={
            "application/json": OpenAPIMediaType(schema=Reference("#/components/schemas/Scenario"), example=_example()),
            "application/yaml": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING, description="the scenario as YAML, branch table inline")),
            "multipart/form-data": OpenAPIMediaType(schema=upload),
        })
