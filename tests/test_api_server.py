"""The server as a whole, each test with its own real server process: a kill -9 loses nothing that
was accepted, cancelling, the simulation answer is the CLI's, 50 concurrent plans, the rate limit."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from api_support import BACKENDS, ROOT, ApiServer, database_url, free_port, postgres, small_bank, small_simulation  # noqa: F401


@pytest.fixture(params=BACKENDS)
def fresh_server(request: pytest.FixtureRequest, tmp_path: Path):
    """A server of its own (the test may kill and restart it), on SQLite or PostgreSQL."""
    server = ApiServer(tmp_path, database_url(request.param, request, tmp_path))
    yield server.start()
    server.stop(graceful=False)


def process_tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def test_kill_minus_nine_then_restart(fresh_server: ApiServer) -> None:
    """Running jobs become `interrupted`, queued ones still run, the scenario is intact, resubmission works.

    Two job workers: jobs A and B run, C waits in huey's store. After kill -9 of the server its
    workers die too (no orphan keeps writing); on restart A and B are `interrupted`, C is run.
    """
    server = fresh_server
    long_body = json.dumps(small_simulation(replications=8, accounts=1000, days=365), ensure_ascii=False, indent=1)
    with server.client("planner") as client:
        ids = [client.post("/simulations", content=long_body.encode(), headers={"Content-Type": "application/json"}).json()["job_id"]
               for _ in range(3)]
    running = [server.wait_job(i, until=("running",)) for i in ids[:2]]
    assert all(j["status"] == "running" for j in running)
    assert server.wait_job(ids[2], until=("queued",))["status"] == "queued"
    tree = process_tree(server.process.pid)  # type: ignore[union-attr]
    assert len(tree) >= 4  # server, huey consumer, its workers
    server.kill()
    gone, alive = psutil.wait_procs(tree, timeout=10)
    assert not alive, [p.cmdline() for p in alive]

    server.start()
    with server.client("planner") as client:
        jobs = [client.get(f"/jobs/{i}").json() for i in ids]
        assert [j["status"] for j in jobs[:2]] == ["interrupted", "interrupted"]
        assert "resubmit" in jobs[0]["error"][0]["message"]
        assert jobs[2]["status"] in ("queued", "running", "succeeded")  # accepted before the crash: not lost
        stored = client.get(f"/submissions/{jobs[0]['scenario_id']}").json()
        assert stored["source"] == long_body
        again = client.post(f"/jobs/{ids[0]}/resubmit")
        assert again.status_code == 202
        client.delete(f"/jobs/{ids[1]}")  # finished: 409, nothing changes
    done = server.wait_job(again.json()["job_id"])
    assert done["status"] == "succeeded" and done["resubmitted_from"] == ids[0]
    assert done["scenario_id"] == jobs[0]["scenario_id"] and done["options"] == jobs[0]["options"]
    with server.client("viewer") as client:
        result = client.get(done["result_url"]).json()
    assert result["replications"] == 8 and result["seed"] == 7


def test_server_killed_while_starting_leaves_no_process(tmp_path: Path) -> None:
    """kill -9 of `serve` as soon as its job worker exists (still importing): the worker and whatever it
    started exit too — a parent that died before the worker armed its parent-death signal is noticed."""
    import os
    import signal

    serve = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(free_port()), "--data", str(tmp_path)],
                             cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    children: list[psutil.Process] = []
    while time.monotonic() < deadline and not children:
        children = [p for p in psutil.Process(serve.pid).children(recursive=True) if "api.http.worker" in " ".join(p.cmdline())]
        time.sleep(0.01)
    assert children, "serve started no job worker"
    os.kill(serve.pid, signal.SIGKILL)
    serve.wait()
    time.sleep(8)  # long enough for the worker to finish importing and fork huey's processes, were it alive
    survivors = [p for p in psutil.process_iter(["cmdline"]) if str(tmp_path) in " ".join(p.info["cmdline"] or [])]
    for p in survivors:
        p.kill()
    assert not survivors, [p.info["cmdline"] for p in survivors]


def test_cancel(fresh_server: ApiServer) -> None:
    """DELETE /jobs/{id}: a running job stops and keeps no result; cancelling again is 409."""
    server = fresh_server
    with server.client("planner") as client:
        job_id = client.post("/simulations?replications=400", json=small_simulation(accounts=300, days=365)).json()["job_id"]
        server.wait_job(job_id, until=("running",))
        while client.get(f"/jobs/{job_id}").json()["progress"] == 0:  # chunks of 25 replications are coming in
            time.sleep(0.1)
        cancelled = client.delete(f"/jobs/{job_id}")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        time.sleep(6)  # a few chunks' time: a worker that did not stop would have reported progress
        after = client.get(f"/jobs/{job_id}").json()
        assert after["status"] == "cancelled" and after["progress"] == cancelled.json()["progress"]
        assert client.get(f"/simulations/{job_id}").status_code == 409
        assert client.delete(f"/jobs/{job_id}").status_code == 409
        assert client.post(f"/jobs/{job_id}/resubmit").status_code == 202


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("api-server")
    server = ApiServer(folder, f"sqlite:///{folder / 'microplan.sqlite'}").start()
    yield server
    server.stop(graceful=False)


def test_simulation_is_the_cli_json(sqlite_server: ApiServer, tmp_path: Path) -> None:
    """GET /simulations/{id} is what `microplan simulate --format json` prints for the same scenario and seed."""
    body = small_simulation(replications=3, accounts=200, days=60)
    with sqlite_server.client("planner") as client:
        job_id = client.post("/simulations", json=body).json()["job_id"]
        assert sqlite_server.wait_job(job_id)["status"] == "succeeded"
        answer = client.get(f"/simulations/{job_id}").json()
    path = tmp_path / "s.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    cli = subprocess.run([sys.executable, "-m", "api.cli", "simulate", str(path), "--format", "json", "--workers", "1"],
                         cwd=ROOT, capture_output=True, text=True)
    assert json.loads(cli.stdout) == answer


def test_internal_error_has_an_id_and_no_traceback(sqlite_server: ApiServer) -> None:
    """A plan row this version cannot read (written by hand into the server's real database) → 500
    with an error id and no traceback; the server's log has the traceback under that id."""
    from api.http.db import StoredPlan, StoredScenario, open_database

    db = open_database(sqlite_server.db_url)
    with db.session.begin() as session:
        session.add(StoredScenario(id="s" * 32, name="x", plan_year=2014, branch_count=1, source_kind="json", source="{}",
                                   validated={}, key_id=""))
        session.flush()
        session.add(StoredPlan(id="p" * 32, scenario_id="s" * 32, policy=None, lang="zh", status="optimal", body={"broken": 1}))
    db.engine.dispose()
    with sqlite_server.client("viewer") as client:
        answer = client.get(f"/plans/{'p' * 32}")
    assert answer.status_code == 500
    body = answer.json()
    assert body["error_id"] and body["error_id"] in body["errors"][0]["message"]
    assert "Traceback" not in answer.text and "PlanBody" not in answer.text and "pydantic" not in answer.text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(body["error_id"] in line for line in sqlite_server.log):
        time.sleep(0.1)
    logged = "\n".join(sqlite_server.log)
    assert body["error_id"] in logged and "Traceback" in logged


def test_a_killed_plan_process_is_replaced(sqlite_server: ApiServer) -> None:
    """kill -9 of the plan processes: the next plan request still gets 201 (the pool is replaced, the work resubmitted)."""
    with sqlite_server.client("planner") as client:
        assert client.post("/plans", json=small_bank()).status_code == 201  # the pool is up
        workers = [p for p in process_tree(sqlite_server.process.pid)  # type: ignore[union-attr]
                   if "spawn_main" in " ".join(p.cmdline())]
        assert workers
        for worker in workers:
            worker.kill()
        psutil.wait_procs(workers, timeout=10)
        answers = [client.post("/plans", json=small_bank()).status_code for _ in range(3)]
    assert answers == [201, 201, 201]


def server_memory(server: ApiServer) -> int:
    """Resident memory of the server and every process it started, bytes."""
    total = 0
    for process in process_tree(server.process.pid):  # type: ignore[union-attr]
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def test_fifty_concurrent_plans(sqlite_server: ApiServer) -> None:
    """50 plan requests at once (a 12-branch bank: quick) all get 201 with the same plan; a second wave
    does not grow the server's memory.

    The plans run in a fixed pool of processes (MICROPLAN_PLAN_WORKERS), so memory is bounded by
    the pool, not by the number of requests in flight: after a first wave of 50 the server tree's
    resident memory may grow by at most 25 % + 64 MiB over a second wave of 50.
    """
    body = json.dumps(small_bank(12), ensure_ascii=False).encode()

    def one(_: int) -> httpx.Response:
        return httpx.post(f"{sqlite_server.url}/plans", content=body, timeout=300,
                          headers={**sqlite_server.auth("planner"), "Content-Type": "application/json"})

    waves = []
    for _ in range(2):
        with ThreadPoolExecutor(50) as pool:
            answers = list(pool.map(one, range(50)))
        assert [a.status_code for a in answers] == [201] * 50, [a.text[:200] for a in answers if a.status_code != 201][:3]
        totals = {json.dumps(a.json()["totals"]) for a in answers}
        assert len(totals) == 1
        assert len({a.json()["id"] for a in answers}) == 50
        waves.append(server_memory(sqlite_server))
    assert waves[1] <= waves[0] * 1.25 + 64 * 2**20, waves


def test_rate_limit(tmp_path: Path) -> None:
    """MICROPLAN_RATE_PER_MINUTE=5: the sixth request of a key in a minute is 429; another key is not held back."""
    server = ApiServer(tmp_path, f"sqlite:///{tmp_path / 'm.sqlite'}", env={"MICROPLAN_RATE_PER_MINUTE": "5"})
    server.keys = {}
    server.start()  # its start-up used 2 of the admin key's 5 requests (creating the other keys)
    try:
        with server.client("viewer") as viewer, server.client("planner") as planner:
            codes = [viewer.get("/scenarios").status_code for _ in range(6)]
            limited = viewer.get("/scenarios")
            other = planner.get("/scenarios")
        assert codes == [200] * 5 + [429]
        assert limited.status_code == 429 and limited.json()["status"] == 429 and "Traceback" not in limited.text
        assert other.status_code == 200
    finally:
        server.stop()
