"""The pydantic models of the API's answers (one schema library with the scenario, `scenarios.schema`).

The plan answer is the CLI's plan JSON (`microplan plan --format json`, README "The plan's
outputs") plus its `id`; the simulation answer is `microplan simulate --format json`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.http.keys import Role

JobStatus = Literal["queued", "running", "succeeded", "failed", "interrupted", "cancelled"]
JobKind = Literal["plan", "simulation", "comparison"]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class ErrorItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    field: str = Field(description="the bad field's dotted path ('' for the whole request)")
    message: str = Field(description="what is wrong and what is allowed")
    got: str | None = Field(None, description="the offending value, shortened")
    file: str | None = Field(None, description="the file (or <request>) the problem is in")


class ErrorBody(BaseModel):
    status: int
    title: str
    errors: list[ErrorItem]
    error_id: str | None = Field(None, description="a 500's id; the server's log has the traceback under it")


class PlanBody(BaseModel):
    """The plan JSON of `microplan plan --format json`, with the stored plan's id."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"example": {
        "id": "5f0c…", "scenario": "城商行 2014 年度小微计划", "plan_year": 2014, "policy": "catch_up", "status": "optimal",
        "floors": {"micro_loan_increment": {"value": 356000.0, "binding_rule": "growth_rate"}},
        "totals": {"target_clients": 3086, "target_loan_increment": 356000.0},
        "branches": [{"id": "B01", "target_clients": 121, "target_loan_increment": 9000.0}],
        "violations": [], "warnings": []}})

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

    model_config = ConfigDict(json_schema_extra={"example": {
        "id": "9a1e…", "kind": "simulation", "status": "running", "progress": 0.4, "scenario_id": "77c2…",
        "created_at": "2026-11-30T12:00:00Z", "started_at": "2026-11-30T12:00:01Z", "finished_at": None,
        "error": None, "result_url": None, "resubmitted_from": None, "options": {"model": "revolving_credit"}}})

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


class JobAccepted(BaseModel):
    """202: the job was stored and queued; follow `Location` (`/jobs/{job_id}`)."""

    model_config = ConfigDict(json_schema_extra={"example": {"job_id": "9a1e…", "status": "queued", "location": "/jobs/9a1e…"}})

    job_id: str
    status: JobStatus
    location: str


class SimulationBody(BaseModel):
    """The JSON of `microplan simulate --format json`."""

    model_config = ConfigDict(extra="allow")
    model: str
    replications: int
    seed: int
    days: int
    metrics: dict[str, Any]
    series: dict[str, Any]


class ComparisonBody(BaseModel):
    """The comparison JSON of `microplan compare` (README "Comparing options")."""

    model_config = ConfigDict(extra="allow")
    schema_version: int
    scenario: str
    plan_year: int
    money_unit: str
    options: list[dict[str, Any]]
    branches: list[dict[str, Any]]
    simulation: dict[str, Any]
    highlights: list[dict[str, Any]]


class ScenarioName(BaseModel):
    name: str
    plan_year: int
    preset: str
    branches: int
    title: str


class KeyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"role": "planner", "name": "ERP 接口"}})
    role: Role
    name: str = Field(min_length=1, max_length=200)


class KeyCreated(BaseModel):
    """A new key: `key` is shown this once and never stored."""

    id: str
    name: str
    role: Role
    key: str


class KeyInfo(BaseModel):
    id: str
    name: str
    role: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None
