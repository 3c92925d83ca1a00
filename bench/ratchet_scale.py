"""Benchmark of the ratchet coefficients (issue 14): λ for every branch of a big bank, per policy.

The plan is solved once (its time is printed for scale); λ is then read from the solved next-year
window (analytic) with a finite-difference re-solve only where the LP's shape does not give it.

    .venv/bin/python bench/ratchet_scale.py --branches 36 3000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from optimize.plan import make_plan
from optimize.ratchet import ratchet_coefficients
from scenarios.generate import synthetic_bank
from scenarios.loading import scenario_from_dict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--branches", type=int, nargs="+", default=[36, 3000])
    args = parser.parse_args()
    print(f"{'branches':>9} {'policy':>13} {'plan s':>7} {'λ s':>7} {'λ/plan':>7} {'re-solved':>9}  λ P0/P50/P100")
    for n in args.branches:
        scenario = scenario_from_dict(synthetic_bank(n, 2014))
        for policy in ("catch_up", "ratchet", "proportional"):
            started = time.perf_counter()
            plan = make_plan(scenario, policy)
            planned = time.perf_counter()
            lam = ratchet_coefficients(plan.inputs, plan.report.windows, plan.report.lp_x)
            done = time.perf_counter()
            q = np.percentile(lam.values, [0, 50, 100])
            print(f"{n:>9} {policy:>13} {planned - started:>7.2f} {done - planned:>7.3f} {(done - planned) / (planned - started):>7.3f} "
                  f"{int(lam.finite_difference.sum()):>9}  {q[0]:+.3f} / {q[1]:+.3f} / {q[2]:+.3f}")


if __name__ == "__main__":
    main()
