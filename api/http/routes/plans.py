"""Plans: `POST /plans` (201 with the plan, or 202 with a job for a bank above the size threshold),
`GET /plans/{id}`, `GET /plans/{id}/export`, `GET /plans/{id}/letters`."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Request, Response, get, post
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Parameter

from api.http import work
from api.http.auth import holder, requires
from api.http.bodies import ErrorBody, JobAccepted, PlanBody
from api.http.db import Database, StoredPlan, StoredScenario, new_id
from api.http.errors import NotFound
from api.http.intake import limit_problems
from api.http.jobs import submit_job
from api.http.routes.common import IdParam, LangParam, PolicyParam, ScenarioBodyOperation, in_process, in_thread, read_submission, store_submission
from scenarios import ScenarioError

ExportFormat = Literal["xlsx", "csv", "json"]
FormatParam = Annotated[ExportFormat, Parameter(
    query="format", description="xlsx (the CLI's workbook), csv (UTF-8 with a BOM, for Excel) or json",
    examples=[Example(value="xlsx")])]

ERRORS = {
    400: ResponseSpec(ErrorBody, description="a malformed request (e.g. a body that is not the expected JSON)"),
    401: ResponseSpec(ErrorBody, description="no valid API key"),
    403: ResponseSpec(ErrorBody, description="the key's role may not do this"),
    422: ResponseSpec(ErrorBody, description="the scenario has problems or is beyond a limit: every bad field named"),
    429: ResponseSpec(ErrorBody, description="too many requests for this key this minute"),
}


def save_plan(db: Database, scenario_id: str, policy: str | None, lang: str, body: dict) -> str:
    plan_id = new_id()
    with db.session.begin() as session:
        session.add(StoredPlan(id=plan_id, scenario_id=scenario_id, policy=policy, lang=lang, status=body["status"], body=body))
    return plan_id


def load_plan(db: Database, plan_id: str) -> tuple[StoredPlan, dict]:
    """The stored plan and its scenario's validated mapping; 404 when there is none."""
    with db.session() as session:
        plan = session.get(StoredPlan, plan_id)
        if plan is None:
            raise NotFound("plan", plan_id)
        scenario = session.get(StoredScenario, plan.scenario_id)
        return plan, scenario.validated  # type: ignore[union-attr]


@post("/plans", operation_id="createPlan", guards=[requires("planner")], operation_class=ScenarioBodyOperation,
      status_code=201, tags=["plans"], summary="Make the annual plan of a scenario",
      responses={202: ResponseSpec(JobAccepted, description="a bank above the size threshold: the plan is made by a job"),
                 413: ResponseSpec(ErrorBody, description="the body is larger than the limit"),
                 415: ResponseSpec(ErrorBody, description="not JSON, YAML or multipart/form-data"), **ERRORS},
      response_headers=[ResponseHeader(name="Location", description="/plans/{id}, or /jobs/{id} for a 202", documentation_only=True)])
async def create_plan(request: Request, policy: PolicyParam = None, lang: LangParam = "zh") -> Response[PlanBody]:
    """The annual plan of the scenario in the body: the JSON of `microplan plan --format json` plus its `id` (201).

    A bank with more branches than `MICROPLAN_SYNC_BRANCHES` (default 500) is planned by a job
    instead: 202 with `{"job_id": …}` and `Location: /jobs/{id}`. The scenario is stored as sent.
    """
    settings, db = request.app.state.settings, request.app.state.db
    submission = await read_submission(request)
    if problems := limit_problems(submission.scenario, settings):
        raise ScenarioError(problems)
    who = holder(request)
    scenario_id, validated = await in_thread(store_submission, db, submission, who.id)
    if len(submission.scenario.branches) > settings.sync_branches:
        job = await in_thread(submit_job, db, request.app.state.queue, request.app.state.runner, "plan", scenario_id,
                              {"policy": policy, "lang": lang}, who.id)
        location = f"/jobs/{job.id}"
        return Response(JobAccepted(job_id=job.id, status="queued", location=location), status_code=202,  # type: ignore[arg-type]
                        headers={"Location": location})
    body = await in_process(request, work.plan_body, validated, policy, lang)
    plan_id = await in_thread(save_plan, db, scenario_id, policy, lang, body)
    return Response(PlanBody(id=plan_id, **body), status_code=201, headers={"Location": f"/plans/{plan_id}"})


@get("/plans/{plan_id:str}", operation_id="getPlan", guards=[requires("viewer")], tags=["plans"], sync_to_thread=True,
     summary="A stored plan", responses={404: ResponseSpec(ErrorBody, description="no such plan"), **ERRORS})
def get_plan(request: Request, plan_id: IdParam) -> PlanBody:
    """A plan made earlier (by `POST /plans` or a plan job), as it was answered."""
    plan, _ = load_plan(request.app.state.db, plan_id)
    return PlanBody(id=plan.id, **plan.body)


@get("/plans/{plan_id:str}/export", operation_id="exportPlan", guards=[requires("viewer")], tags=["plans"],
     summary="A stored plan as a file", media_type="application/octet-stream",
     responses={404: ResponseSpec(ErrorBody, description="no such plan"), **ERRORS})
async def export_plan(request: Request, plan_id: IdParam, format: FormatParam = "xlsx", lang: LangParam = "zh") -> Response[bytes]:
    """The plan as the CLI writes it (`microplan plan --out plan.xlsx|.csv|.json`), by the same writers."""
    plan, validated = await in_thread(load_plan, request.app.state.db, plan_id)
    data = await in_process(request, work.export_bytes, validated, plan.policy, lang, format)
    media, suffix = work.EXPORT_TYPES[format]
    name = f"plan-{plan.body.get('plan_year', '')}-{plan.id[:8]}.{suffix}"
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@get("/plans/{plan_id:str}/letters", operation_id="exportPlanLetters", guards=[requires("viewer")], tags=["plans"],
     summary="The branches' target letters, zipped", media_type="application/zip",
     responses={404: ResponseSpec(ErrorBody, description="no such plan"), **ERRORS})
async def plan_letters(request: Request, plan_id: IdParam, lang: LangParam = "zh") -> Response[bytes]:
    """One Word target letter (目标任务书) per managing branch, as `microplan letters` writes them, in a zip."""
    plan, validated = await in_thread(load_plan, request.app.state.db, plan_id)
    data = await in_process(request, work.letters_zip, validated, plan.policy, lang)
    name = f"letters-{plan.body.get('plan_year', '')}-{plan.id[:8]}.zip"
    return Response(data, media_type="application/zip", headers={"Content-Disposition": f'attachment; filename="{name}"'})


ROUTES = [create_plan, get_plan, export_plan, plan_letters]
