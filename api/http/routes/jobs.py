"""Jobs: `GET /jobs/{id}`, `DELETE /jobs/{id}` (cancel), `POST /jobs/{id}/resubmit`."""

from __future__ import annotations

from litestar import Request, Response, delete, get, post
from litestar.openapi.datastructures import ResponseSpec

from api.http.auth import holder, requires
from api.http.bodies import ErrorBody, JobAccepted, JobBody
from api.http.db import Job
from api.http.jobs import cancel_job, get_job, resubmit_job
from api.http.routes.common import IdParam, in_thread
from api.http.routes.plans import ERRORS

#: Where a succeeded job's result is, by kind.
RESULT_PATHS = {"plan": "/plans/{id}", "simulation": "/simulations/{id}", "comparison": "/comparisons/{id}"}


def job_body(job: Job) -> JobBody:
    result = RESULT_PATHS[job.kind].format(id=job.result_id) if job.status == "succeeded" and job.result_id else None
    return JobBody(id=job.id, kind=job.kind, status=job.status, progress=job.progress, scenario_id=job.scenario_id,  # type: ignore[arg-type]
                   created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at, error=job.error,
                   result_url=result, resubmitted_from=job.resubmitted_from, options=dict(job.options or {}))


@get("/jobs/{job_id:str}", operation_id="getJob", guards=[requires("viewer")], tags=["jobs"], sync_to_thread=True,
     summary="A job's status and progress", responses={404: ResponseSpec(ErrorBody, description="no such job"), **ERRORS})
def read_job(request: Request, job_id: IdParam) -> JobBody:
    """Status (queued, running, succeeded, failed, interrupted, cancelled), progress 0–1, and `result_url` once succeeded."""
    return job_body(get_job(request.app.state.db, job_id))


@delete("/jobs/{job_id:str}", operation_id="cancelJob", guards=[requires("planner")], tags=["jobs"], status_code=200,
        summary="Cancel a job", responses={404: ResponseSpec(ErrorBody, description="no such job"),
                                           409: ResponseSpec(ErrorBody, description="the job has already finished"), **ERRORS})
async def remove_job(request: Request, job_id: IdParam) -> JobBody:
    """Cancel a queued job (it never starts) or a running one (it stops at its next progress report)."""
    job = await in_thread(cancel_job, request.app.state.db, request.app.state.queue, job_id)
    return job_body(job)


@post("/jobs/{job_id:str}/resubmit", operation_id="resubmitJob", guards=[requires("planner")], tags=["jobs"],
      status_code=202, summary="Run a finished job again",
      responses={404: ResponseSpec(ErrorBody, description="no such job"),
                 409: ResponseSpec(ErrorBody, description="the job is still queued or running"), **ERRORS})
async def resubmit(request: Request, job_id: IdParam) -> Response[JobAccepted]:
    """A new job with the same stored scenario and options (e.g. one `interrupted` by a restart); 202 as a submission."""
    job = await in_thread(resubmit_job, request.app.state.db, request.app.state.queue, request.app.state.runner, job_id,
                          holder(request).id)
    location = f"/jobs/{job.id}"
    return Response(JobAccepted(job_id=job.id, status="queued", location=location), status_code=202,
                    headers={"Location": location})


ROUTES = [read_job, remove_job, resubmit]
