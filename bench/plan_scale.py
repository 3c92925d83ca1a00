"""Benchmark of the annual plan at city, provincial and national scale (issue 4).

Each size runs in a fresh subprocess (clean peak memory), `--repeat` times; medians are printed.
Columns: build (inputs + Pyomo model), solve (the five staged HiGHS runs with translation and
loading), HiGHS (HiGHS's own run time), total, overhead/HiGHS = (total − HiGHS) / HiGHS, peak RSS.
Also the whole `microplan plan city-2014` process against `python -c "import pyomo.environ, highspy"`.

    .venv/bin/python bench/plan_scale.py --sizes 36 300 3000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from scenarios.generate import synthetic_bank
from scenarios.loading import scenario_from_dict
from optimize.plan import make_plan
scenario = scenario_from_dict(synthetic_bank({n}, 2014))
plan = make_plan(scenario)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{**plan.seconds, "peak_mb": peak, "status": plan.status}}))
"""


def run_size(n: int) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD.format(n=n)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def wall(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[36, 300, 3000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {platform.python_version()}, "
          f"{resource.getpagesize()} B pages; medians of {args.repeat} runs")
    cli = Path(sys.executable).with_name("microplan")
    plan_cmd = [str(cli), "plan", "city-2014", "--format", "json"]
    import_cmd = [sys.executable, "-c", "import pyomo.environ, highspy"]
    plan_s = statistics.median(wall(plan_cmd) for _ in range(args.repeat))
    import_s = statistics.median(wall(import_cmd) for _ in range(args.repeat))
    print(f"microplan plan city-2014: {plan_s:.2f} s; import pyomo+highspy: {import_s:.2f} s; ratio {plan_s / import_s:.2f} (goal ≤ 1.5)")
    print(f"{'branches':>9} {'build s':>8} {'solve s':>8} {'HiGHS s':>8} {'total s':>8} {'overhead/HiGHS':>15} {'peak MB':>8} status")
    for n in args.sizes:
        runs = [run_size(n) for _ in range(args.repeat)]
        med = {k: statistics.median(r[k] for r in runs) for k in ("build", "solve", "highs", "total", "peak_mb")}
        overhead = (med["total"] - med["highs"]) / med["highs"] if med["highs"] else float("nan")
        print(f"{n:>9} {med['build']:>8.2f} {med['solve']:>8.2f} {med['highs']:>8.2f} {med['total']:>8.2f} "
              f"{overhead:>15.2f} {med['peak_mb']:>8.0f} {runs[0]['status']}")


if __name__ == "__main__":
    main()
