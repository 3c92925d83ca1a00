"""Benchmark of `microplan compare`'s plans (issue 11): k variants, 2 local workers against sequential.

For the bundled bank (city-2014's 36 branches) and a synthetic 3,000-branch bank
(`scenarios.generate.synthetic_bank`, as `bench/plan_scale.py`), k distinct variants (policy, sharing
key and department buffer cycled) are compared plan-only (no simulation section): once with
`workers=1` (every plan in the calling process, one after the other) and once with `workers=2`
(the runner's local process pool). Each measurement runs in a fresh process and times
`compare_scenario` only — what the command pays after its imports, including starting the pool —
so a run never profits from a pool or fork server left by the one before. The two are interleaved
(same machine load), repeated `--runs` times; medians and the ratio parallel ÷ sequential (goal ≤ 0.6)
are printed with the load average before and after.

    .venv/bin/python bench/compare_scale.py                       # 36 branches × k 8, 3,000 × k 5, 3 runs
    .venv/bin/python bench/compare_scale.py --sizes 36 --k 4 8 16 --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

CHILD = """
import json, time
from scenarios.loading import bundled_path, read_document, scenario_from_dict
from scenarios.generate import synthetic_bank
from api.comparison import compare_scenario
n, k, workers = {n}, {k}, {workers}
if n == 36:
    raw = read_document(bundled_path("city-2014"))
    base_dir = bundled_path("city-2014").parent
else:
    raw, base_dir = synthetic_bank(n, 2014), None
raw.pop("simulation", None)
policies = ("catch_up", "ratchet", "proportional")
keys = ("spare_capacity", "outlets", "client_managers")
raw["variants"] = [{{"name": f"v{{i}}", "patch": {{"policy": {{"name": policies[i % 3], "sharing_key": keys[(i // 3) % 3]}},
                                              "targets": {{"buffer": 0.01 * (i + 1)}}}}}} for i in range(k)]
scenario = scenario_from_dict(raw, file="bench", base_dir=base_dir)
started = time.perf_counter()
comparison = compare_scenario(scenario, workers=workers)
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "plans": sum(o.plan_seconds for o in comparison.options),
                  "options": len(comparison.options)}}))
"""


def measure(n: int, k: int, workers: int) -> dict:
    """One comparison in a fresh process: wall seconds of `compare_scenario`, Σ plan seconds."""
    out = subprocess.run([sys.executable, "-c", CHILD.format(n=n, k=k, workers=workers)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[36, 3000], help="branches (36 = the bundled city-2014)")
    parser.add_argument("--k", type=int, nargs="+", default=None, help="variants (default: 8 for 36 branches, 5 above: 6 options, 3 per worker)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"load average {os.getloadavg()[0]:.2f}; medians of {args.runs} interleaved runs, each in a fresh process")
    print(f"{'branches':>8} {'k':>3} {'options':>7} {'sequential s':>12} {'2 workers s':>11} {'ratio':>6}  "
          f"{'Σ plan s (seq)':>14}  runs (seq / par)")
    for n in args.sizes:
        for k in args.k or ([8] if n <= 100 else [5]):
            pairs = [(measure(n, k, 1), measure(n, k, 2)) for _ in range(args.runs)]
            seq = statistics.median(s["seconds"] for s, _ in pairs)
            par = statistics.median(p["seconds"] for _, p in pairs)
            plans = statistics.median(s["plans"] for s, _ in pairs)
            runs = ", ".join(f"{s['seconds']:.2f}/{p['seconds']:.2f}" for s, p in pairs)
            print(f"{n:>8} {k:>3} {pairs[0][0]['options']:>7} {seq:>12.2f} {par:>11.2f} {par / seq:>6.2f}  "
                  f"{plans:>14.2f}  {runs}")
    print(f"load average at the end {os.getloadavg()[0]:.2f} (goal: 2 workers ≤ 0.6 × sequential)")


if __name__ == "__main__":
    main()
