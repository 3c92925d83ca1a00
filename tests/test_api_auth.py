"""Every protected route × every role, against a real server (SQLite and PostgreSQL): 401 without
a key or with a wrong one, 403 for a role below the route's, 2xx for the route's role and above.

Role ranks: viewer (read) < planner (submit and read) < admin (keys too)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from api_support import ApiServer, api_server, postgres, small_bank, small_simulation  # noqa: F401

ROLES = ("viewer", "planner", "admin")


@pytest.fixture(scope="module")
def world(api_server: ApiServer) -> dict[str, str]:
    """Objects the routes need: a plan, a finished simulation job, a submission (a small bank: quick)."""
    with api_server.client("planner") as client:
        plan = client.post("/plans", json=small_bank())
        assert plan.status_code == 201, plan.text
        sim = client.post("/simulations", json=small_bank())
        assert sim.status_code == 202, sim.text
        comparison = client.post("/comparisons", json=small_bank())
        assert comparison.status_code == 202, comparison.text
    job = api_server.wait_job(sim.json()["job_id"])
    assert job["status"] == "succeeded", job
    compared = api_server.wait_job(comparison.json()["job_id"])
    assert compared["status"] == "succeeded", compared
    return {"plan": plan.json()["id"], "job": job["id"], "scenario": job["scenario_id"], "comparison": compared["id"]}


def long_job(server: ApiServer) -> str:
    """A fresh simulation job that is still queued or running when it is cancelled (chunks of 25 short
    replications, so its worker sees the cancellation within seconds)."""
    answer = httpx.post(f"{server.url}/simulations?replications=1000", json=small_simulation(accounts=300, days=365),
                        headers=server.auth("planner"), timeout=60)
    assert answer.status_code == 202, answer.text
    return answer.json()["job_id"]


def throwaway_key(server: ApiServer) -> str:
    answer = httpx.post(f"{server.url}/keys", json={"role": "viewer", "name": "to revoke"}, headers=server.auth("admin"))
    return answer.json()["id"]


#: (route, the least role that may call it, how to call it) — every route but the open /health.
Call = Callable[[httpx.Client, ApiServer, dict], httpx.Response]
ROUTES: list[tuple[str, str, Call]] = [
    ("GET /scenarios", "viewer", lambda c, s, w: c.get("/scenarios")),
    ("GET /scenarios/{name}", "viewer", lambda c, s, w: c.get("/scenarios/city-2014")),
    ("GET /submissions/{id}", "viewer", lambda c, s, w: c.get(f"/submissions/{w['scenario']}")),
    ("GET /plans/{id}", "viewer", lambda c, s, w: c.get(f"/plans/{w['plan']}")),
    ("GET /plans/{id}/export", "viewer", lambda c, s, w: c.get(f"/plans/{w['plan']}/export?format=csv")),
    ("GET /plans/{id}/letters", "viewer", lambda c, s, w: c.get(f"/plans/{w['plan']}/letters")),
    ("GET /jobs/{id}", "viewer", lambda c, s, w: c.get(f"/jobs/{w['job']}")),
    ("GET /simulations/{id}", "viewer", lambda c, s, w: c.get(f"/simulations/{w['job']}")),
    ("GET /comparisons/{id}", "viewer", lambda c, s, w: c.get(f"/comparisons/{w['comparison']}")),
    ("GET /comparisons/{id}/report", "viewer", lambda c, s, w: c.get(f"/comparisons/{w['comparison']}/report")),
    ("POST /comparisons", "planner", lambda c, s, w: c.post("/comparisons", json=small_bank())),
    ("POST /plans", "planner", lambda c, s, w: c.post("/plans", json=small_bank())),
    ("POST /simulations", "planner", lambda c, s, w: c.post("/simulations", json=small_bank())),
    ("POST /jobs/{id}/resubmit", "planner", lambda c, s, w: c.post(f"/jobs/{w['job']}/resubmit")),
    ("DELETE /jobs/{id}", "planner", lambda c, s, w: c.delete(f"/jobs/{long_job(s)}")),
    ("POST /keys", "admin", lambda c, s, w: c.post("/keys", json={"role": "viewer", "name": "x"})),
    ("GET /keys", "admin", lambda c, s, w: c.get("/keys")),
    ("DELETE /keys/{id}", "admin", lambda c, s, w: c.delete(f"/keys/{throwaway_key(s)}")),
]


@pytest.mark.parametrize("route, least, call", ROUTES, ids=[r[0] for r in ROUTES])
@pytest.mark.parametrize("role", [None, "wrong", *ROLES])
def test_route_role(api_server: ApiServer, world: dict, route: str, least: str, call: Call, role: str | None) -> None:
    """401 with no key or a wrong one; 403 below the route's role; 2xx at or above it."""
    headers = {}
    if role == "wrong":  # a well-formed key whose secret is wrong: still 401
        key_id = api_server.keys["admin"].split("_")[1]
        headers = {"Authorization": f"Bearer mpk_{key_id}_{'x' * 43}"}
    elif role is not None:
        headers = api_server.auth(role)
    with httpx.Client(base_url=api_server.url, headers=headers, timeout=120) as client:
        answer = call(client, api_server, world)
    if role in (None, "wrong"):
        expected = 401
    elif ROLES.index(role) < ROLES.index(least):
        expected = 403
    else:
        expected = None
    if expected is None:
        assert 200 <= answer.status_code < 300, (route, role, answer.text)
    else:
        assert answer.status_code == expected, (route, role, answer.text)
        body = answer.json()
        assert body["status"] == expected and body["errors"] and "Traceback" not in answer.text


def test_health_is_open(api_server: ApiServer) -> None:
    assert httpx.get(f"{api_server.url}/health").json() == {"status": "ok"}


def test_revoked_key_is_refused(api_server: ApiServer) -> None:
    """A revoked key answers 401 from the next request on."""
    created = httpx.post(f"{api_server.url}/keys", json={"role": "viewer", "name": "short-lived"}, headers=api_server.auth("admin")).json()
    headers = {"Authorization": f"Bearer {created['key']}"}
    assert httpx.get(f"{api_server.url}/scenarios", headers=headers).status_code == 200
    assert httpx.delete(f"{api_server.url}/keys/{created['id']}", headers=api_server.auth("admin")).status_code == 200
    assert httpx.get(f"{api_server.url}/scenarios", headers=headers).status_code == 401


def test_keys_list_never_shows_a_key(api_server: ApiServer) -> None:
    """GET /keys lists ids, names and roles; no key and no hash."""
    text = httpx.get(f"{api_server.url}/keys", headers=api_server.auth("admin")).text
    for key in api_server.keys.values():
        assert key.split("_", 2)[2] not in text  # the secret may itself hold "_"
    assert "digest" not in text and "salt" not in text
