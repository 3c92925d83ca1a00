"""The README's catch-up-vs-ratchet table: city-2014, policy_loop, 100 replications, seed 2014.

For each behaviour (strategic, mixed, myopic) the loop runs under catch-up and under the ratchet on
the same random numbers; the difference of cycle new clients is paired replication by replication.

    .venv/bin/python bench/policy_loop_table.py
"""

from __future__ import annotations

import numpy as np

from scenarios.loading import load_scenario
from simulate.service import run_simulation


def main() -> None:
    base = load_scenario("city-2014")
    print("behaviour | catch-up | ratchet | difference (95 % CI) | holding back catch-up / ratchet")
    for behaviour in ("strategic", "mixed", "myopic"):
        runs = {}
        for policy in ("catch_up", "ratchet"):
            scenario = base.model_copy(update={
                "policy": base.policy.model_copy(update={"name": policy}),
                "incentives": base.incentives.model_copy(update={"behaviour": behaviour})})
            runs[policy] = run_simulation(scenario.simulation, "policy_loop", replications=100, seed=2014,
                                          workers=1, scenario=scenario)
        a = np.asarray(runs["catch_up"].values["cycle_new_clients"], dtype=float)
        b = np.asarray(runs["ratchet"].values["cycle_new_clients"], dtype=float)
        d = a - b
        half = 1.96 * d.std(ddof=1) / np.sqrt(len(d))
        held = [runs[p].metrics["holding_back_share"].mean for p in ("catch_up", "ratchet")]
        print(f"{behaviour} | {a.mean():,.0f} | {b.mean():,.0f} | {d.mean():+,.0f} ({d.mean() - half:+,.0f} to "
              f"{d.mean() + half:+,.0f}), {d.mean() / b.mean():+.0%} | {held[0]:.1%} / {held[1]:.1%}")


if __name__ == "__main__":
    main()
