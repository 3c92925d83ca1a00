"""Benchmark of the annual plan at city, provincial and national scale (issue 4).

Each (size, engine) runs in a fresh subprocess (clean peak memory), `--repeat` times; medians are
printed. Columns: inputs (floors, long-term targets, policy data), solve (the phases, models built inside),
HiGHS (HiGHS's own run time),
read (targets, floors, diagnostics), total, overhead/HiGHS = (total − HiGHS) / HiGHS, peak RSS.
Also the whole `microplan plan city-2014` process against `python -c "import pyomo.environ, highspy"`.

    .venv/bin/python bench/plan_scale.py --sizes 36 300 3000 --repeat 3 --pyomo-up-to 300
"""

from __future__ import annotations

import argparse
import json
import platform
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
plan = make_plan(scenario, engine="{engine}")
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{**plan.seconds, "peak_mb": peak, "status": plan.status, "objectives": plan.report.objectives}}))
"""
COLUMNS = ("inputs", "solve", "highs", "read", "total", "peak_mb")


def run_size(n: int, engine: str, timeout: float) -> dict | None:
    """One plan in a fresh process; None if it did not finish within `timeout` seconds."""
    try:
        out = subprocess.run([sys.executable, "-c", CHILD.format(n=n, engine=engine)], capture_output=True,
                             text=True, check=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    except subprocess.CalledProcessError as exc:
        return {"error": exc.stderr.strip().splitlines()[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def wall(cmd: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[36, 300, 3000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pyomo-up-to", type=int, default=300, help="run the Pyomo reference up to this size")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per run before giving up")
    parser.add_argument("--skip-cli", action="store_true")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}; "
          f"medians of {args.repeat} runs")
    if not args.skip_cli:
        cli = Path(sys.executable).with_name("microplan")
        plan_cmd = [str(cli), "plan", "city-2014", "--format", "json"]
        import_cmd = [sys.executable, "-c", "import pyomo.environ, highspy"]
        pairs = [(wall(plan_cmd), wall(import_cmd)) for _ in range(args.repeat)]  # interleaved: same load
        plan_s = statistics.median(p for p, _ in pairs)
        import_s = statistics.median(i for _, i in pairs)
        print(f"microplan plan city-2014: {plan_s:.2f} s; import pyomo+highspy: {import_s:.2f} s; "
              f"ratio {plan_s / import_s:.2f} (goal ≤ 1.5)")
    print(f"{'branches':>9} {'engine':>7} {'inputs s':>8} {'solve s':>8} {'HiGHS s':>8} {'read s':>7} {'total s':>8} "
          f"{'overhead/HiGHS':>15} {'peak MB':>8} status / stage optima")
    for n in args.sizes:
        for engine in ("matrix", "pyomo"):
            if engine == "pyomo" and n > args.pyomo_up_to:
                continue
            runs = [run_size(n, engine, args.timeout) for _ in range(args.repeat)]
            if any(r is None or "error" in r for r in runs):
                bad = next(r for r in runs if r is None or "error" in r)
                print(f"{n:>9} {engine:>7} " + (f"did not finish in {args.timeout:.0f} s" if bad is None else bad["error"]))
                continue
            med = {k: statistics.median(r[k] for r in runs) for k in COLUMNS}
            overhead = (med["total"] - med["highs"]) / med["highs"] if med["highs"] else float("nan")
            optima = " ".join(f"{v:.9g}" for v in runs[0]["objectives"].values())
            print(f"{n:>9} {engine:>7} {med['inputs']:>8.2f} {med['solve']:>8.2f} {med['highs']:>8.2f} {med['read']:>7.2f} "
                  f"{med['total']:>8.2f} {overhead:>15.2f} {med['peak_mb']:>8.0f} {runs[0]['status']} / {optima}")


if __name__ == "__main__":
    main()
