"""Scale benchmark of the joint-marketing simulation (issue 13). A measurement, not a test.

Prints, measured side by side in one run (medians of `--runs` runs where it says so):

1. the model's event rate on the bundled city (SimPy events scheduled per second of one
   replication) and bare SimPy's rate at the same number of live processes — the time-average
   number of the model's live processes (client managers, borrowers with a loan, applications
   under review) — each a loop of exponential timeouts, and the ratio of the two (as
   bench/sim_scale.py does for the revolving-credit model);
2. seconds for `--replications` replications (default 100) of the bundled city through the
   runner with 1 worker (in-process) and with 2 local worker processes, the throughput ratio,
   and the goal: 100 replications ≤ 60 s on 2 cores.

usage: .venv/bin/python bench/joint_marketing_scale.py [--scenario city-2014] [--replications 100] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simpy  # noqa: E402

from scenarios.loading import load_scenario  # noqa: E402
from simulate import joint_marketing  # noqa: E402
from simulate.joint_marketing import CountingEnvironment, JointMarketingParams, loan_frame, simulate_marketing  # noqa: E402
from simulate.runner import run_replications  # noqa: E402

#: Events measured in the bare-SimPy run.
BARE_EVENTS = 300_000


def bare_simpy_rate(processes: int, mean_gap: float) -> float:
    """Events per second of SimPy alone: `processes` live generators yielding exponential timeouts."""
    env = CountingEnvironment()
    rng = random.Random(1)

    def live(env: simpy.Environment):
        while True:
            yield env.timeout(rng.expovariate(1 / mean_gap))

    for _ in range(processes):
        env.process(live(env))
    env.run(until=1e-9)
    first = env.scheduled
    start = time.perf_counter()
    env.run(until=1e-9 + BARE_EVENTS * mean_gap / processes)
    return (env.scheduled - first) / (time.perf_counter() - start)


def model_rate(params: JointMarketingParams, seed: int) -> tuple[float, float, int, float]:
    """(seconds, events per second, events, time-average live processes) of one replication."""
    start = time.perf_counter()
    run = simulate_marketing(params, seed, count_events=True)
    elapsed = time.perf_counter() - start
    f = loan_frame(run.world)
    review = params.jm.funnel.review_days + joint_marketing.WEEK_DAYS / 2
    pending = run.world.tally.applications.sum() * review / params.days
    live = len(params.managers) + f["days"].sum() / params.days + pending
    return elapsed, run.simpy_events / elapsed, run.simpy_events, live


def runner_seconds(params: JointMarketingParams, replications: int, workers: int) -> float:
    start = time.perf_counter()
    run_replications(joint_marketing.run_replication, params, replications=replications, seed=2014,
                     days=params.days, workers=workers)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="city-2014")
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    params = JointMarketingParams.from_scenario(scenario.simulation, scenario.plan_year, scenario)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, SimPy {simpy.__version__}, load average {os.getloadavg()[0]:.2f}")
    print(f"{args.scenario}: {len(params.markets)} markets, {len(params.groups)} groups, {len(params.managers)} client managers\n")

    runs = [model_rate(params, seed) for seed in range(args.runs)]
    seconds, rate, events, live = (statistics.median(r[i] for r in runs) for i in range(4))
    mean_gap = params.days * live / events            # the model's mean time between a process's events
    bare = statistics.median(bare_simpy_rate(round(live), mean_gap) for _ in range(args.runs))
    print(f"one replication (median of {args.runs}): {seconds:.3f} s, {events:,.0f} SimPy events")
    print(f"model                                 : {rate:12,.0f} events/s")
    print(f"bare SimPy, {round(live):,} live processes    : {bare:12,.0f} events/s  (time-average live processes of the model)")
    print(f"  ratio model / bare                  : {rate / bare:12.0%}\n")

    one = runner_seconds(params, args.replications, 1)
    two = runner_seconds(params, args.replications, 2)
    print(f"{args.replications} replications through the runner:")
    print(f"  1 worker (in-process)  : {one:7.1f} s")
    print(f"  2 local workers        : {two:7.1f} s   goal ≤ 60 s for 100 on 2 cores")
    print(f"  throughput ratio 2 / 1 : {one / two:7.2f}×")
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
