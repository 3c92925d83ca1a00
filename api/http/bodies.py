"""The pydantic models of the API's answers (one schema library with the scenario, `scenarios.schema`).

The plan answer is the CLI's plan JSON (`microplan plan --format json`, README "The plan's
outputs") plus its `id`; the simulation answer is `microplan simulate --format json`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.http.keys import Role

def with_example(example: dict[str, Any] | list[Any], **config: Any) -> ConfigDict:
    """A model config carrying `example` where pydantic's JSON schema and litestar's OpenAPI both read it."""
    return ConfigDict(**config, json_schema_extra={"example": example}, example=example)  # type: ignore[typeddict-unknown-key]


JobStatus = Literal["queued", "running", "succeeded", "failed", "interrupted", "cancelled"]
JobKind = Literal["plan", "simulation", "comparison"]


class Health(BaseModel):
    model_config = with_example({"status": "ok"})
    status: Literal["ok"] = "ok"


class ErrorItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    field: str = Field(description="the bad field's dotted path ('' for the whole request)")
    message: str = Field(description="what is wrong and what is allowed")
    got: str | None = Field(None, description="the offending value, shortened")
    file: str | None = Field(None, description="the file (or <request>) the problem is in")


class ErrorBody(BaseModel):
    model_config = with_example({"status": 422, "title": "the scenario has problems", "errors": [
        {"file": "<request>", "field": "branches.0.outlets", "message": "Input should be greater than or equal to 0", "got": "-2"}]})
    status: int
    title: str
    errors: list[ErrorItem]
    error_id: str | None = Field(None, description="a 500's id; the server's log has the traceback under it")


class PlanBody(BaseModel):
    """The plan JSON of `microplan plan --format json`, with the stored plan's id."""

    model_config = with_example({
        "id": "5f0c…", "scenario": "城商行 2014 年度小微计划", "plan_year": 2014, "policy": "catch_up", "status": "optimal",
        "floors": {"micro_loan_increment": {"value": 356000.0, "binding_rule": "growth_rate"}},
        "totals": {"target_clients": 3086, "target_loan_increment": 356000.0},
        "branches": [{"id": "B01", "target_clients": 121, "target_loan_increment": 9000.0}],
        "violations": [], "warnings": []}, extra="allow")

    id: str
    scenario: str
    plan_year: int
    policy: str
    status: Literal["optimal", "relaxed"]
    floors: dict[str, Any]
    totals: dict[str, Any]
    branches: list[dict[str, Any]]
    violations: list[dict[str, Any]]
    warnings: list[dict[str, Any]]


class JobBody(BaseModel):
    """A job: what it is, where it stands, and where its result is once it succeeded."""

    model_config = with_example({
        "id": "9a1e…", "kind": "simulation", "status": "running", "progress": 0.4, "scenario_id": "77c2…",
        "created_at": "2026-11-30T12:00:00Z", "started_at": "2026-11-30T12:00:01Z", "finished_at": None,
        "error": None, "result_url": None, "resubmitted_from": None, "options": {"model": "revolving_credit"}})

    id: str
    kind: JobKind
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    scenario_id: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error: list[dict[str, Any]] | None
    result_url: str | None
    resubmitted_from: str | None
    options: dict[str, Any]


class KeyRevoked(BaseModel):
    model_config = with_example({"id": "dda44b3efffe87cf", "revoked": True})
    id: str
    revoked: bool


class JobAccepted(BaseModel):
    """202: the job was stored and queued; follow `Location` (`/jobs/{job_id}`)."""

    model_config = with_example({"job_id": "9a1e…", "status": "queued", "location": "/jobs/9a1e…"})

    job_id: str
    status: JobStatus
    location: str


class SimulationBody(BaseModel):
    """The JSON of `microplan simulate --format json`."""

    model_config = with_example({
        "model": "revolving_credit", "replications": 100, "seed": 2014, "days": 365, "money_unit": "万元",
        "metrics": {"mean_outstanding": {"mean": 61000.0, "std": 900.0, "ci95": [60800.0, 61200.0], "p5": 59500.0, "p50": 61000.0, "p95": 62500.0}},
        "series": {"day": [1, 2], "outstanding_mean": [60000.0, 60100.0], "outstanding_p5": [59000.0, 59100.0],
                   "outstanding_p95": [61000.0, 61100.0]}}, extra="allow")
    model: str
    replications: int
    seed: int
    days: int
    metrics: dict[str, Any]
    series: dict[str, Any]


class ComparisonBody(BaseModel):
    """The comparison JSON of `microplan compare` (README "Comparing options")."""

    model_config = with_example({
        "schema_version": 1, "scenario": "城商行 2014 年度小微计划", "plan_year": 2014, "money_unit": "万元",
        "options": [{"name": "base", "status": "optimal"}, {"name": "ratchet", "status": "optimal"}],
        "branches": [{"id": "B01", "target_clients": [134, 140]}], "simulation": {"metrics": []},
        "highlights": []}, extra="allow")
    schema_version: int
    scenario: str
    plan_year: int
    money_unit: str
    options: list[dict[str, Any]]
    branches: list[dict[str, Any]]
    simulation: dict[str, Any]
    highlights: list[dict[str, Any]]


class ScenarioName(BaseModel):
    model_config = with_example({"name": "city-2014", "plan_year": 2014, "preset": "two_not_lower", "branches": 36,
                                 "title": "城商行 2014 年度小微计划"})
    name: str
    plan_year: int
    preset: str
    branches: int
    title: str


class KeyRequest(BaseModel):
    model_config = with_example({"role": "planner", "name": "ERP 接口"}, extra="forbid")
    role: Role
    name: str = Field(min_length=1, max_length=200)


class KeyCreated(BaseModel):
    """A new key: `key` is shown this once and never stored."""

    model_config = with_example({"id": "dda44b3efffe87cf", "name": "ERP 接口", "role": "planner",
                                 "key": "mpk_dda44b3efffe87cf_1pDSIV4wr98deCBsgdgP-DwVsMOKQGgbAo3aj5KxQSg"})

    id: str
    name: str
    role: Role
    key: str


class KeyInfo(BaseModel):
    model_config = with_example({"id": "dda44b3efffe87cf", "name": "ERP 接口", "role": "planner",
                                 "created_at": "2026-11-30T12:00:00Z", "revoked_at": None})
    id: str
    name: str
    role: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
