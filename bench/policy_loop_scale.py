"""Benchmark of the multi-year policy loop (issue 14): city-2014, 100 replications, per policy.

Prints, measured side by side in one run:
- the wall time of 100 replications (every replication re-plans 2014–2017: 4 plans) on 2 local
  worker processes, per policy (goal ≤ 30 s each);
- the time of one plan solve inside the loop (`optimize.rolling.year_plan`: the plan year and the
  next year, the model already imported and warm) against a cold `microplan plan city-2014
  --format json` process (imports, scenario, the full plan, diagnostics, JSON), and their ratio.

    .venv/bin/python bench/policy_loop_scale.py [--replications 100] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from optimize.rolling import year_plan
from scenarios.loading import load_scenario
from simulate.policy_loop import PolicyLoopParams, run_cycle
from simulate.service import run_simulation


def with_policy(scenario, policy: str):
    return scenario.model_copy(update={"policy": scenario.policy.model_copy(update={"name": policy})})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="cold CLI runs")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.2f}")
    city = load_scenario("city-2014")
    for policy in ("catch_up", "ratchet", "proportional"):
        scenario = with_policy(city, policy)
        started = time.perf_counter()
        result = run_simulation(scenario.simulation, "policy_loop", replications=args.replications, workers=args.workers,
                                scenario=scenario)
        seconds = time.perf_counter() - started
        s = result.metrics["cycle_new_clients"]
        print(f"{policy:>13}: {args.replications} replications on {args.workers} workers {seconds:6.1f} s (goal ≤ 30 s); "
              f"cycle new clients {s.mean:,.0f} (95% CI {s.ci95[0]:,.0f}–{s.ci95[1]:,.0f})")
    # one plan solve inside the loop: warm, in this process
    params = PolicyLoopParams.from_scenario(city)
    solves = []
    for i in range(5):
        records, _, _ = run_cycle(params, np.random.default_rng(i))
        solves += [r.solve_seconds for r in records]
    inside = []
    for _ in range(10):
        started = time.perf_counter()
        year_plan(city)
        inside.append(time.perf_counter() - started)
    cli = Path(sys.executable).with_name("microplan")
    command = [str(cli), "plan", "city-2014", "--format", "json"] if cli.exists() else \
        [sys.executable, "-m", "api.cli", "plan", "city-2014", "--format", "json"]
    cold = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        cold.append(time.perf_counter() - started)
    loop_solve, plan_call, cold_s = statistics.median(solves), statistics.median(inside), statistics.median(cold)
    print(f"staged solve inside the loop (2 phases): {loop_solve * 1000:6.1f} ms median over {len(solves)} yearly plans")
    print(f"year_plan() inside the loop (inputs + solve + λ): {plan_call * 1000:6.1f} ms median of 10")
    print(f"cold `microplan plan city-2014 --format json`: {cold_s * 1000:6.0f} ms median of {args.repeat}")
    print(f"ratio cold plan / plan inside the loop: {cold_s / plan_call:6.1f}×")


if __name__ == "__main__":
    main()
