"""Simulations: `POST /simulations` (always a job) and `GET /simulations/{id}`."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Parameter

from api.http.auth import holder, requires
from api.http.bodies import ErrorBody, JobAccepted, SimulationBody
from api.http.db import Database, Job, StoredResult
from api.http.errors import Conflict, NotFound
from api.http.intake import REQUEST, limit_problems
from api.http.jobs import submit_job
from api.http.routes.common import IdParam, ScenarioBodyOperation, in_thread, read_submission, store_submission
from api.http.routes.plans import ERRORS
from scenarios import Problem, ScenarioError

ModelParam = Annotated[str, Parameter(query="model", description="the model to run (`simulate.service.MODELS`), e.g. revolving_credit",
                                      max_length=64, examples=[Example(value="revolving_credit")])]
ReplicationsParam = Annotated[int | None, Parameter(query="replications", ge=1, le=100_000,
                                                    description="Monte Carlo replications (default: the scenario's simulation.replications)",
                                                    examples=[Example(value=20)])]
SeedParam = Annotated[int | None, Parameter(query="seed", ge=0, le=2**63 - 1, description="root random seed (default: the scenario's)",
                                            examples=[Example(value=2014)])]


def model_problems(model: str) -> list[Problem]:
    from simulate.service import MODELS

    return [] if model in MODELS else [Problem(REQUEST, "model", f"unknown model; allowed: {', '.join(MODELS)}", model, True)]


@post("/simulations", operation_id="createSimulation", guards=[requires("planner")], operation_class=ScenarioBodyOperation,
      status_code=202, tags=["simulations"], summary="Run a Monte Carlo simulation (a job)",
      responses={413: ResponseSpec(ErrorBody, description="the body is larger than the limit"),
                 415: ResponseSpec(ErrorBody, description="not JSON, YAML or multipart/form-data"), **ERRORS})
async def create_simulation(request: Request, model: ModelParam = "revolving_credit", replications: ReplicationsParam = None,
                            seed: SeedParam = None) -> Response[JobAccepted]:
    """Queue `microplan simulate` on the scenario in the body; 202 with `{"job_id": …}` and `Location: /jobs/{id}`."""
    settings, db = request.app.state.settings, request.app.state.db
    submission = await read_submission(request)
    problems = model_problems(model) + limit_problems(submission.scenario, settings, replications=replications, simulating=True)
    if problems:
        raise ScenarioError(problems)
    who = holder(request)
    scenario_id, _ = await in_thread(store_submission, db, submission, who.id)
    job = await in_thread(submit_job, db, request.app.state.queue, request.app.state.runner, "simulation", scenario_id,
                          {"model": model, "replications": replications, "seed": seed}, who.id)
    location = f"/jobs/{job.id}"
    return Response(JobAccepted(job_id=job.id, status="queued", location=location), status_code=202,
                    headers={"Location": location})


def load_result(db: Database, kind: str, result_id: str) -> StoredResult:
    """A finished job's result; 404 for no such job, 409 while it has not succeeded."""
    with db.session() as session:
        result = session.get(StoredResult, result_id)
        if result is not None and result.kind == kind:
            return result
        job = session.get(Job, result_id)
    if job is None or job.kind != kind:
        raise NotFound(kind, result_id)
    raise Conflict(f"the job is {job.status}; see /jobs/{job.id}", "status")


@get("/simulations/{simulation_id:str}", operation_id="getSimulation", guards=[requires("viewer")], tags=["simulations"],
     sync_to_thread=True, summary="A simulation's result",
     responses={404: ResponseSpec(ErrorBody, description="no such simulation"),
                409: ResponseSpec(ErrorBody, description="the job has not succeeded (yet)"), **ERRORS})
def get_simulation(request: Request, simulation_id: IdParam) -> SimulationBody:
    """The JSON of `microplan simulate --format json` (the id is the job's)."""
    return SimulationBody(**load_result(request.app.state.db, "simulation", simulation_id).body)


ROUTES = [create_simulation, get_simulation]
