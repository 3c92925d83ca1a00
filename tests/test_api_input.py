"""Bad requests against a real server (SQLite and PostgreSQL): the CLI's scenario mistakes, wrong
content types, truncated JSON, a 50 MB body, the server's limits — each a 4xx JSON answer that
names the field, never a traceback; and the ways a good scenario may arrive (JSON, YAML, files)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from api_support import ApiServer, api_server, city_json, postgres, shows_no_traceback, small_simulation  # noqa: F401

EXAMPLES = Path(__file__).resolve().parent.parent / "scenarios" / "examples"
JSON = {"Content-Type": "application/json"}


def changed(**edits: Any) -> bytes:
    """The city scenario as JSON with dotted-path edits (`branches.0.outlets=-2`); `None` deletes a key."""
    data = city_json()
    for dotted, value in edits.items():
        *parents, last = dotted.split("__")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        if value is None:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value
    return json.dumps(data, ensure_ascii=False).encode()


CITY = json.dumps(city_json(), ensure_ascii=False).encode()

#: (why it fails, path and query, headers, body, status, a field the answer must name)
BAD_REQUESTS = [
    # the CLI's scenario mistakes (tests of `microplan validate`)
    ("negative outlet count", "/plans", JSON, changed(branches__0__outlets=-2), 422, "branches.0.outlets"),
    ("misspelt key", "/plans", JSON, changed(plan_yaer=2014), 422, "plan_yaer"),
    ("missing plan year", "/plans", JSON, changed(plan_year=None), 422, "plan_year"),
    ("weights do not sum to 1", "/plans", JSON, changed(cycle__weights={"outlets": 0.9, "client_managers": 0.6}), 422, "cycle.weights"),
    ("micro managers above all managers", "/plans", JSON, changed(branches__3__micro_client_managers=10_000), 422, "branches.3"),
    ("a boolean where a count belongs", "/plans", JSON, changed(branches__1__outlets=True), 422, "branches.1.outlets"),
    ("branch table path in a JSON body", "/plans", JSON, changed(branches="city.csv"), 422, "branches"),
    # the body itself
    ("truncated JSON", "/plans", JSON, CITY[: len(CITY) // 2], 422, "line"),
    ("NaN is not JSON", "/plans", JSON, CITY.replace(b'"plan_year": 2014', b'"plan_year": NaN'), 422, ""),
    ("duplicate key", "/plans", JSON, b'{"name": "a", "name": "b"}', 422, ""),
    ("a list, not a mapping", "/plans", JSON, b"[1, 2]", 422, ""),
    ("empty body", "/plans", JSON, b"", 422, ""),
    ("not UTF-8", "/plans", JSON, b'{"name": "\xff\xfe\x00"}', 422, ""),
    ("wrong content type", "/plans", {"Content-Type": "text/plain"}, CITY, 415, ""),
    ("no content type", "/plans", {}, CITY, 415, ""),
    ("YAML that is not a scenario", "/plans", {"Content-Type": "application/yaml"}, b"- just\n- a list\n", 422, ""),
    # parameters
    ("unknown policy", "/plans?policy=bogus", JSON, CITY, 422, "policy"),
    ("unknown language", "/plans?lang=fr", JSON, CITY, 422, "lang"),
    ("unknown model", "/simulations?model=nope", JSON, CITY, 422, "model"),
    ("replications below 1", "/simulations?replications=0", JSON, CITY, 422, "replications"),
    ("replications not a number", "/simulations?replications=many", JSON, CITY, 422, "replications"),
    # the server's limits (TEST_LIMITS: 100 branches, 1000 replications, 3660 days)
    ("replications above the server's limit", "/simulations?replications=5000", JSON, CITY, 422, "replications"),
    ("scenario's replications above the limit", "/simulations", JSON, changed(simulation={"replications": 5000}), 422,
     "simulation.replications"),
    ("simulated days above the limit", "/simulations", JSON, changed(simulation={"days": 3000, "warmup_days": 1000}), 422,
     "simulation.days"),
]


@pytest.mark.parametrize("why, target, headers, body, status, field", BAD_REQUESTS, ids=[r[0] for r in BAD_REQUESTS])
def test_bad_request(api_server: ApiServer, why: str, target: str, headers: dict, body: bytes, status: int, field: str) -> None:
    """The documented status, a JSON body listing the problems (naming `field`), no traceback."""
    with api_server.client("planner") as client:
        answer = client.post(target, content=body, headers=headers)
    assert answer.status_code == status, answer.text
    errors = answer.json()["errors"]
    assert errors and all(e["message"] for e in errors)
    if field:
        assert any(e["field"].startswith(field) for e in errors), errors
    assert shows_no_traceback(answer.text)


def test_every_problem_in_one_answer(api_server: ApiServer) -> None:
    """Three mistakes → three entries, each with its field and the bad value."""
    data = city_json()
    data["branches"][0]["outlets"] = -2
    data["branches"][5]["npl_ratio"] = 7
    data["plan_yaer"] = 2014
    with api_server.client("planner") as client:
        errors = client.post("/plans", json=data).json()["errors"]
    fields = {e["field"] for e in errors}
    assert {"branches.0.outlets", "branches.5.npl_ratio", "plan_yaer"} <= fields
    assert next(e for e in errors if e["field"] == "branches.0.outlets")["got"] == "-2"


def test_branch_limit(api_server: ApiServer) -> None:
    """A bank above MICROPLAN_MAX_BRANCHES (100 here) is refused, naming `branches` and the count."""
    from scenarios.generate import synthetic_bank

    with api_server.client("planner") as client:
        answer = client.post("/plans", json=synthetic_bank(101, 1))
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"file": "<request>", "field": "branches", "got": "101",
                                        "message": "at most 100 branches per request on this server (MICROPLAN_MAX_BRANCHES)"}]


def test_fifty_megabyte_body(api_server: ApiServer) -> None:
    """A 50 MB body (limit 5 MB) gets 413 with a JSON answer, whether its length is announced or streamed."""
    big = b'{"name": "' + b"x" * (50 * 1024 * 1024) + b'"}'

    def chunks():
        for start in range(0, len(big), 1 << 20):
            yield big[start:start + (1 << 20)]

    with api_server.client("planner") as client:
        for content in (big, chunks()):
            answer = client.post("/plans", content=content, headers=JSON)
            assert answer.status_code == 413, answer.text[:200]
            assert answer.json()["status"] == 413 and shows_no_traceback(answer.text)


def test_upload_yaml_and_branch_table(api_server: ApiServer) -> None:
    """The planner's files (YAML + CSV, or + XLSX) make the same plan as the JSON body."""
    from api.template import template_files
    from scenarios import load_scenario

    yaml_bytes = (EXAMPLES / "city-2014.yaml").read_bytes()
    with api_server.client("planner") as client:
        by_json = client.post("/plans", json=city_json()).json()
        by_csv = client.post("/plans", files={"scenario": ("city-2014.yaml", yaml_bytes),
                                              "branches": ("city_branches_2014.csv", (EXAMPLES / "city_branches_2014.csv").read_bytes())})
        _, workbook = template_files(load_scenario("city-2014"), "city_branches.xlsx")
        by_xlsx = client.post("/plans", files={"scenario": ("city-2014.yaml", yaml_bytes), "branches": ("city_branches.xlsx", workbook)})
    assert by_csv.status_code == 201 and by_xlsx.status_code == 201, (by_csv.text[:300], by_xlsx.text[:300])
    for answer in (by_csv.json(), by_xlsx.json()):
        assert answer["totals"] == by_json["totals"]
        assert [b["target_clients"] for b in answer["branches"]] == [b["target_clients"] for b in by_json["branches"]]


def test_upload_mistakes_name_the_file_and_row(api_server: ApiServer) -> None:
    """A bad cell in an uploaded CSV names the uploaded file and its row, never the server's temporary path."""
    table = (EXAMPLES / "city_branches_2014.csv").read_text(encoding="utf-8-sig").splitlines()
    header, row = table[0].split(","), table[4].split(",")
    row[header.index("outlets") if "outlets" in header else 2] = "-3"
    table[4] = ",".join(row)
    files = {"scenario": ("mine.yaml", (EXAMPLES / "city-2014.yaml").read_bytes()),
             "branches": ("mine.csv", "\n".join(table).encode())}
    with api_server.client("planner") as client:
        answer = client.post("/plans", files=files)
        missing = client.post("/plans", files={"branches": ("mine.csv", b"id\n")})
    assert answer.status_code == 422
    assert any(e["file"] == "mine.csv row 5" and e["field"].startswith("branches.3.") for e in answer.json()["errors"]), answer.text
    assert "microplan-upload-" not in answer.text and "/tmp" not in answer.text
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "scenario"


def test_yaml_body(api_server: ApiServer) -> None:
    """A YAML body with the branch table inline plans like JSON."""
    import yaml

    text = yaml.safe_dump(city_json(), allow_unicode=True)
    with api_server.client("planner") as client:
        answer = client.post("/plans", content=text.encode(), headers={"Content-Type": "application/yaml"})
    assert answer.status_code == 201, answer.text[:300]


def test_large_bank_becomes_a_job(api_server: ApiServer) -> None:
    """Above MICROPLAN_SYNC_BRANCHES (50 here) POST /plans answers 202 and a job makes the plan."""
    from scenarios.generate import synthetic_bank

    with api_server.client("planner") as client:
        answer = client.post("/plans?lang=en", json=synthetic_bank(60, 3))
        assert answer.status_code == 202, answer.text[:300]
        assert answer.headers["Location"] == f"/jobs/{answer.json()['job_id']}"
        job = api_server.wait_job(answer.json()["job_id"])
        assert job["status"] == "succeeded", job
        plan = client.get(job["result_url"]).json()
    assert len(plan["branches"]) == 60 and plan["lang"] == "en"


def test_exports_are_the_cli_files(api_server: ApiServer, tmp_path: Path) -> None:
    """GET /plans/{id}/export gives the bytes `microplan plan --out` writes (same writer); JSON is the plan answer."""
    import subprocess
    import sys

    import openpyxl

    with api_server.client("planner") as client:
        plan = client.post("/plans?policy=ratchet", json=city_json()).json()
        csv_bytes = client.get(f"/plans/{plan['id']}/export", params={"format": "csv", "lang": "en"}).content
        xlsx = client.get(f"/plans/{plan['id']}/export", params={"format": "xlsx"})
        as_json = client.get(f"/plans/{plan['id']}/export", params={"format": "json"}).json()
        missing = client.get("/plans/0123456789abcdef0123456789abcdef/export")
    out = tmp_path / "plan.csv"
    subprocess.run([sys.executable, "-m", "api.cli", "plan", "city-2014", "--policy", "ratchet", "--lang", "en", "--out", str(out)],
                   cwd=Path(__file__).resolve().parent.parent, capture_output=True)
    assert csv_bytes == out.read_bytes()
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    (tmp_path / "api.xlsx").write_bytes(xlsx.content)
    sheets = openpyxl.load_workbook(tmp_path / "api.xlsx").sheetnames
    assert len(sheets) >= 2
    assert as_json["totals"] == plan["totals"] and as_json["policy"] == "ratchet"
    assert missing.status_code == 404 and missing.json()["errors"][0]["field"] == "id"


def test_submission_is_stored_as_given(api_server: ApiServer) -> None:
    """The text a planner sent is stored byte for byte, and the scenario it validated to comes back in the file's unit."""
    text = json.dumps(city_json(), ensure_ascii=False, indent=3)
    with api_server.client("planner") as client:
        job = client.post("/simulations", content=text.encode(), headers=JSON).json()
        scenario_id = client.get(f"/jobs/{job['job_id']}").json()["scenario_id"]
        stored = client.get(f"/submissions/{scenario_id}").json()
        client.delete(f"/jobs/{job['job_id']}")
    assert stored["source"] == text
    assert stored["scenario"]["bank"] == city_json()["bank"]
