"""Comparisons through the API (a real server, SQLite): the job's HTML report is byte for byte the
page `microplan compare --report` writes for the same scenario, and the JSON has every option."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from api_support import ROOT, ApiServer, city_json


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("api-compare")
    started = ApiServer(folder, f"sqlite:///{folder / 'microplan.sqlite'}").start()
    yield started
    started.stop(graceful=False)


def quick_city() -> dict:
    """The city bank with two of its variants and a quick simulation section."""
    data = city_json()
    data["variants"] = data["variants"][:2]
    data["simulation"] = {"seed": 7, "replications": 2, "days": 30, "revolving_credit": {"accounts": 50}}
    return data


def test_report_is_the_cli_page(server: ApiServer, tmp_path: Path) -> None:
    """GET /comparisons/{id}/report?lang=en equals `microplan compare --report --lang en`; the JSON lists base + variants."""
    body = quick_city()
    with server.client("planner") as client:
        submitted = client.post("/comparisons?replications=2", json=body)
        assert submitted.status_code == 202, submitted.text
        job_id = submitted.json()["job_id"]
        early = client.get(f"/comparisons/{job_id}")
        job = server.wait_job(job_id)
        assert job["status"] == "succeeded", job
        assert job["result_url"] == f"/comparisons/{job_id}"
        result = client.get(job["result_url"]).json()
        page = client.get(f"{job['result_url']}/report", params={"lang": "en"})
        wrong_kind = client.get(f"/simulations/{job_id}")
    assert early.status_code in (200, 409)
    assert [o["name"] for o in result["options"]] == ["base", *[v["name"] for v in body["variants"]]]
    assert page.headers["content-type"].startswith("text/html")
    path = tmp_path / "city.json"
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    cli = subprocess.run([sys.executable, "-m", "api.cli", "compare", str(path), "--report", str(tmp_path / "page.html"),
                          "--lang", "en", "--replications", "2", "--workers", "1"], cwd=ROOT, capture_output=True, text=True)
    assert cli.returncode in (0, 1), cli.stderr
    assert page.text == (tmp_path / "page.html").read_text(encoding="utf-8")
    assert wrong_kind.status_code == 404


def test_bad_variant_is_refused_before_the_job(server: ApiServer) -> None:
    """A variant patch naming no scenario field is a 422 naming `variants.0.patch.…`, and no job is made."""
    body = quick_city()
    body["variants"] = [{"name": "typo", "patch": {"polcy": {"name": "ratchet"}}}]
    with server.client("planner") as client:
        answer = client.post("/comparisons", json=body)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "variants.0.patch.polcy"
