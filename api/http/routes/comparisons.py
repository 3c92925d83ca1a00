"""Comparisons: `POST /comparisons` (always a job), `GET /comparisons/{id}` and its HTML report."""

from __future__ import annotations

from litestar import MediaType, Request, Response, get, post
from litestar.openapi.datastructures import ResponseSpec

from api.http.auth import holder, requires
from api.http.bodies import ComparisonBody, ErrorBody, JobAccepted
from api.http.intake import limit_problems
from api.http.jobs import submit_job
from api.http.routes.common import IdParam, LangParam, ScenarioBodyOperation, in_thread, read_submission, store_submission
from api.http.routes.plans import ERRORS
from api.http.routes.simulations import ReplicationsParam, load_result
from scenarios import ScenarioError


@post("/comparisons", operation_id="createComparison", guards=[requires("planner")], operation_class=ScenarioBodyOperation,
      status_code=202, tags=["comparisons"], summary="Compare the scenario's policy options (a job)",
      responses={413: ResponseSpec(ErrorBody, description="the body is larger than the limit"),
                 415: ResponseSpec(ErrorBody, description="not JSON, YAML or multipart/form-data"), **ERRORS})
async def create_comparison(request: Request, replications: ReplicationsParam = None) -> Response[JobAccepted]:
    """Queue `microplan compare` on the scenario in the body (the base and each of its `variants`, planned and,
    with a `simulation:` section, simulated); 202 with `{"job_id": …}` and `Location: /jobs/{id}`."""
    settings, db = request.app.state.settings, request.app.state.db
    submission = await read_submission(request)
    if problems := limit_problems(submission.scenario, settings, replications=replications, simulating=True):
        raise ScenarioError(problems)
    who = holder(request)
    scenario_id, _ = await in_thread(store_submission, db, submission, who.id)
    job = await in_thread(submit_job, db, request.app.state.queue, request.app.state.runner, "comparison", scenario_id,
                          {"replications": replications}, who.id)
    location = f"/jobs/{job.id}"
    return Response(JobAccepted(job_id=job.id, status="queued", location=location), status_code=202,
                    headers={"Location": location})


@get("/comparisons/{comparison_id:str}", operation_id="getComparison", guards=[requires("viewer")], tags=["comparisons"],
     sync_to_thread=True, summary="A comparison's result",
     responses={404: ResponseSpec(ErrorBody, description="no such comparison"),
                409: ResponseSpec(ErrorBody, description="the job has not succeeded (yet)"), **ERRORS})
def get_comparison(request: Request, comparison_id: IdParam) -> ComparisonBody:
    """The comparison JSON of `microplan compare` (the id is the job's)."""
    return ComparisonBody(**load_result(request.app.state.db, "comparison", comparison_id).body)


@get("/comparisons/{comparison_id:str}/report", operation_id="getComparisonReport", guards=[requires("viewer")],
     tags=["comparisons"], sync_to_thread=True, summary="A comparison's HTML report", media_type=MediaType.HTML,
     responses={404: ResponseSpec(ErrorBody, description="no such comparison"),
                409: ResponseSpec(ErrorBody, description="the job has not succeeded (yet)"), **ERRORS})
def get_comparison_report(request: Request, comparison_id: IdParam, lang: LangParam = "zh") -> Response[str]:
    """The page of `microplan compare --report` (self-contained HTML), in Chinese or English."""
    result = load_result(request.app.state.db, "comparison", comparison_id)
    return Response((result.reports or {})[lang], media_type=MediaType.HTML)


ROUTES = [create_comparison, get_comparison, get_comparison_report]
