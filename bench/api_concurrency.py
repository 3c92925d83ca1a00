"""Benchmark of the HTTP API: the bundled city bank's 2014 plan requested by 50 clients at once (issue 12).

Starts `microplan serve` on a loopback port (a fresh SQLite database in a temporary folder), then,
from this process on the same machine:

1. single: `--single` plan requests one after another → the single-request latency (median);
2. concurrent: `--requests` plan requests, `--concurrency` in flight at a time (threads with one
   httpx client each) → throughput (plans per second), p50 / p95 latency, errors.

It prints both side by side and the ratios p50 / single and p95 / single (goal: p95 ≤ 3 × single,
zero errors). With P plan processes (MICROPLAN_PLAN_WORKERS, default 2) and S seconds per plan,
50 requests at once queue behind each other: p95 ≈ 50·S/P, so on 2 cores the goal is out of
reach by arithmetic, not by overhead; the line shows how far.

    .venv/bin/python bench/api_concurrency.py --requests 200 --concurrency 50
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(folder: Path, port: int, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """`microplan serve` and its first admin key (printed once at start)."""
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--data", str(folder)],
                               cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env},
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    key = None
    assert process.stderr is not None
    for line in process.stderr:
        if match := re.search(r"mpk_[0-9a-f]+_[A-Za-z0-9_-]+", line):
            key = match.group(0)
        if "serving on" in line:
            break
    threading.Thread(target=lambda: [None for _ in process.stderr], daemon=True).start()  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    if key is None:
        raise SystemExit("the server printed no admin key")
    return process, key


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="concurrent phase: plan requests in all")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight at a time")
    parser.add_argument("--single", type=int, default=10, help="sequential requests for the single-request latency")
    parser.add_argument("--plan-workers", type=int, default=2, help="the server's plan processes (MICROPLAN_PLAN_WORKERS)")
    args = parser.parse_args()

    from scenarios import load_scenario
    from scenarios.loading import scenario_to_dict

    body = json.dumps(scenario_to_dict(load_scenario("city-2014")), ensure_ascii=False).encode()
    env = {"MICROPLAN_PLAN_WORKERS": str(args.plan_workers), "MICROPLAN_RATE_PER_MINUTE": "1000000"}
    with tempfile.TemporaryDirectory(prefix="microplan-bench-") as folder:
        process, key = start_server(Path(folder), free_port(), env)
        url = f"http://127.0.0.1:{process.args[5]}"  # type: ignore[index]
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        try:
            def one(client: httpx.Client) -> tuple[float, int]:
                started = time.perf_counter()
                status = client.post(f"{url}/plans", content=body, headers=headers, timeout=600).status_code
                return time.perf_counter() - started, status

            with httpx.Client() as client:
                one(client)  # warm the plan processes (imports, first solve)
                single = [one(client) for _ in range(args.single)]
            local = threading.local()

            def concurrent_one(_: int) -> tuple[float, int]:
                if not hasattr(local, "client"):
                    local.client = httpx.Client()
                return one(local.client)

            started = time.perf_counter()
            with ThreadPoolExecutor(args.concurrency) as pool:
                results = list(pool.map(concurrent_one, range(args.requests)))
            wall = time.perf_counter() - started
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)

    single_median = statistics.median(t for t, _ in single)
    latencies = [t for t, status in results if status == 201]
    errors = sum(status != 201 for _, status in results)
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"plan processes {args.plan_workers}; city-2014 (36 branches)")
    print(f"single request (median of {args.single}): {single_median * 1000:.0f} ms; "
          f"single-stream throughput {1 / single_median:.2f} plans/s")
    print(f"concurrency {args.concurrency}, {args.requests} requests: throughput {len(latencies) / wall:.2f} plans/s, "
          f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, errors {errors}")
    print(f"ratios: p50/single {p50 / single_median:.1f}, p95/single {p95 / single_median:.1f} (goal ≤ 3), "
          f"throughput concurrent/single {len(latencies) / wall * single_median:.2f}")


if __name__ == "__main__":
    main()
