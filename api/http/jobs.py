"""Jobs: rows in the database (state committed at every transition) run by huey workers.

huey is the queue (`make_queue`: its SQLite storage in the data directory by default, Redis with
`MICROPLAN_QUEUE=redis://…`); the `jobs` table is the record people read. Transitions:

    queued ──▶ running ──▶ succeeded | failed
       │          │
       └──────────┴──▶ cancelled (DELETE /jobs/{id})     running at start-up ──▶ interrupted

- a submission is committed (`queued`, with its huey task id) before it is enqueued and before
  the `202` is sent, so an accepted job is never lost: one enqueued but never started is still
  in huey's store after a crash, and one whose enqueue did not happen is found by `recover_jobs`;
- a worker commits `running` before it starts, progress while it runs, and the result together
  with `succeeded` in one transaction;
- `recover_jobs` (at start-up) marks `running` jobs — their worker died with the server — and
  `queued` jobs huey no longer holds as `interrupted`; `resubmit_job` runs one again, with the
  scenario and options it was submitted with;
- cancelling a queued job revokes its task; a running one sees `cancelled` at its next progress
  report and stops, and a finished result is kept only when the job is still `running`.
"""

from __future__ import annotations

import ctypes
import functools
import os
import logging
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from huey import RedisHuey, SqliteHuey
from huey.api import Huey
from sqlalchemy import select

from api.http.db import Database, Job, StoredPlan, StoredResult, StoredScenario, new_id, now, open_database
from api.http.errors import Conflict, NotFound
from scenarios import ScenarioError

log = logging.getLogger("microplan.jobs")

STATUSES = ("queued", "running", "succeeded", "failed", "interrupted", "cancelled")
#: States a job never leaves (except by resubmission, which makes a new job).
FINISHED = frozenset({"succeeded", "failed", "interrupted", "cancelled"})
#: Progress is committed when it moved by this much, or after `PROGRESS_SECONDS`.
PROGRESS_STEP, PROGRESS_SECONDS = 0.02, 1.0


class JobCancelled(Exception):
    """The job was cancelled while it ran."""


# ---------------------------------------------------------------- the queue


@dataclass(frozen=True)
class JobQueue:
    """huey and its one task, `run_job`."""

    huey: Huey
    run_job: Any  # huey's TaskWrapper around `run_job`


def make_queue(queue_url: str) -> JobQueue:
    """huey with its SQLite storage at `queue_url` (a file path), or Redis for `redis://…`; `run_job` registered."""
    if queue_url.startswith(("redis://", "rediss://", "unix://")):
        huey: Huey = RedisHuey("microplan", url=queue_url, results=False)
    else:
        huey = SqliteHuey("microplan", filename=queue_url, results=False, timeout=30)
    wrapper = huey.task(name="run_job", retries=0)(run_job)
    return JobQueue(huey, wrapper)


def die_with_parent(parent: int | None = None) -> None:
    """Linux: SIGKILL this process when its parent dies, so a killed server leaves no worker running.

    `parent`: the pid the parent had; if it died before this call (the signal is only armed for a
    living parent) this process is already an orphan and exits at once.
    """
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        return
    if parent is not None and os.getppid() != parent:
        os._exit(0)


# ---------------------------------------------------------------- submitting


def submit_job(db: Database, queue: JobQueue, runner: dict[str, Any], kind: str, scenario_id: str, options: dict[str, Any],
               key_id: str, resubmitted_from: str | None = None) -> Job:
    """Commit a `queued` job with its task id, then enqueue the task; the job as committed.

    `runner`: the worker's settings (`db_url`, `dask_address`, `workers`) passed with the task.
    """
    job_id = new_id()
    task = queue.run_job.s(job_id, runner)
    job = Job(id=job_id, kind=kind, scenario_id=scenario_id, options=options, status="queued", progress=0.0,
              created_at=now(), task_id=task.id, key_id=key_id, resubmitted_from=resubmitted_from)
    with db.session.begin() as session:
        session.add(job)
    try:
        queue.huey.enqueue(task)
    except Exception:
        finish(db, job_id, "failed", error=[{"field": "", "message": "the job could not be queued; resubmit it"}],
               only_from=("queued",))
        raise
    return job


def get_job(db: Database, job_id: str) -> Job:
    with db.session() as session:
        job = session.get(Job, job_id)
    if job is None:
        raise NotFound("job", job_id)
    return job


def cancel_job(db: Database, queue: JobQueue, job_id: str) -> Job:
    """Cancel a queued or running job (409 for a finished one)."""
    with db.session.begin() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound("job", job_id)
        if job.status in FINISHED:
            raise Conflict(f"the job is already {job.status}", "status")
        job.status, job.finished_at = "cancelled", now()
    if job.task_id:
        queue.huey.revoke_by_id(job.task_id)
    return job


def resubmit_job(db: Database, queue: JobQueue, runner: dict[str, Any], job_id: str, key_id: str) -> Job:
    """Run a finished job again as a new job (same scenario and options); 409 while it is queued or running."""
    job = get_job(db, job_id)
    if job.status not in FINISHED:
        raise Conflict(f"the job is {job.status}; cancel it first or wait until it has finished", "status")
    return submit_job(db, queue, runner, job.kind, job.scenario_id, dict(job.options), key_id, resubmitted_from=job.id)


def recover_jobs(db: Database, queue: JobQueue) -> int:
    """At start-up: `running` jobs, and `queued` ones huey does not hold, become `interrupted`; how many."""
    pending = {task.id for task in queue.huey.pending()}
    message = "the server stopped before the job finished; run it again with POST /jobs/{id}/resubmit"
    count = 0
    with db.session.begin() as session:
        for job in session.scalars(select(Job).where(Job.status.in_(("queued", "running")))):
            if job.status == "running" or job.task_id not in pending:
                job.status, job.finished_at = "interrupted", now()
                job.error = [{"field": "", "message": message.replace("{id}", job.id)}]
                count += 1
    return count


def finish(db: Database, job_id: str, status: str, *, error: list | None = None, result_id: str | None = None,
           only_from: tuple[str, ...] = ("running",), extra: Callable[[Any], None] | None = None) -> bool:
    """Commit a job's end (and, through `extra`, its result rows) if it is still in `only_from`."""
    with db.session.begin() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.status not in only_from:
            return False
        if extra is not None:
            extra(session)
        job.status, job.finished_at, job.error, job.result_id = status, now(), error, result_id
        if status == "succeeded":
            job.progress = 1.0
    return True


# ---------------------------------------------------------------- running (in a worker process)


@functools.cache
def worker_database(url: str) -> Database:
    """One database connection pool per worker process."""
    return open_database(url)


def run_job(job_id: str, runner: dict[str, Any]) -> None:
    """The huey task: run one job and commit every transition (see the module docstring)."""
    from api.http import work

    db = worker_database(runner["db_url"])
    with db.session.begin() as session:
        job = session.get(Job, job_id, with_for_update=True)
        if job is None or job.status != "queued":
            return  # cancelled (or already handled) before a worker took it
        job.status, job.started_at, job.progress = "running", now(), 0.0
        kind, options, scenario_id = job.kind, dict(job.options), job.scenario_id
        validated = session.get(StoredScenario, scenario_id).validated  # type: ignore[union-attr]
    progress = progress_reporter(db, job_id)
    try:
        if kind == "plan":
            body = work.plan_body(validated, options.get("policy"), options.get("lang") or "zh")
            plan_id = new_id()
            finish(db, job_id, "succeeded", result_id=plan_id, extra=lambda s: s.add(StoredPlan(
                id=plan_id, scenario_id=scenario_id, policy=options.get("policy"), lang=options.get("lang") or "zh",
                status=body["status"], body=body)))
        elif kind == "simulation":
            body = work.simulation_body(validated, options, workers=runner.get("workers") or 1,
                                        dask_address=runner.get("dask_address"), progress=progress)
            finish(db, job_id, "succeeded", result_id=job_id,
                   extra=lambda s: s.add(StoredResult(id=job_id, kind=kind, body=body)))
        elif kind == "comparison":
            body, reports = work.comparison_body(validated, options, workers=runner.get("workers") or 1,
                                                 dask_address=runner.get("dask_address"), progress=progress)
            finish(db, job_id, "succeeded", result_id=job_id,
                   extra=lambda s: s.add(StoredResult(id=job_id, kind=kind, body=body, reports=reports)))
        else:
            raise ValueError(f"unknown job kind {kind!r}")
    except JobCancelled:
        return
    except ScenarioError as exc:
        finish(db, job_id, "failed", error=[p.to_json() for p in exc.problems])
    except Exception as exc:  # noqa: BLE001 — a bug: logged with its traceback, the job says only its id
        error_id = secrets.token_hex(8)
        log.error("internal error %s in job %s", error_id, job_id, exc_info=exc)
        finish(db, job_id, "failed", error=[{"field": "", "message": "internal error; the server's log has the details",
                                             "error_id": error_id}])


def progress_reporter(db: Database, job_id: str) -> Callable[[float], None]:
    """A progress callback: commits the fraction done (throttled), and stops a cancelled job."""
    last = {"value": 0.0, "at": time.monotonic()}

    def report(done: float) -> None:
        if done - last["value"] < PROGRESS_STEP and time.monotonic() - last["at"] < PROGRESS_SECONDS:
            return
        last.update(value=done, at=time.monotonic())
        with db.session.begin() as session:
            job = session.get(Job, job_id)
            if job is None or job.status != "running":
                raise JobCancelled(job_id)
            job.progress = min(1.0, max(0.0, float(done)))

    return report
