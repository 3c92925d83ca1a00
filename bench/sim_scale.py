"""Scale benchmark of the revolving-credit simulation (issue 5). A measurement, not a test.

Prints, as medians of `--runs` runs:

1. bare SimPy's event rate with N live processes (each a loop of exponential timeouts);
2. the model's event rate at N accounts — SimPy events plus the online drawdowns and repayments
   posted from the book's own calendar, per second — and its ratio to (1); goal ≥ 60 %. Each cash
   need, counter-visit step and repayment counts once whichever calendar holds it, so the count
   means what it meant when online drawdowns were SimPy events;
3. seconds per replication at N accounts × D days (default 100,000 × 365); goal ≤ 30 s;
4. throughput (replications per second) of 2 local worker processes against 1; goal ≥ 1.8×;
5. the design choices the model's docstrings cite: a counter visit as a process vs as callbacks
   on the `Resource`; a repayment as a SimPy event vs booked in the book's calendar; a credit
   line as a SimPy `Container` vs a list entry.

usage: .venv/bin/python bench/sim_scale.py [--accounts 100000] [--days 365] [--runs 3]
       [--worker-accounts 10000] [--worker-replications 4]
"""

from __future__ import annotations

import argparse
import heapq
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simpy  # noqa: E402

from scenarios.simulation import SimulationSettings  # noqa: E402
from simulate import revolving_credit  # noqa: E402
from simulate.revolving_credit import EventCountingEnvironment, RevolvingCreditParams, simulate_portfolio  # noqa: E402
from simulate.runner import run_replications  # noqa: E402

#: Events measured in the bare-SimPy run.
BARE_EVENTS = 1_000_000
#: Operations measured in each design-choice micro-benchmark.
MICRO_OPERATIONS = 200_000


def bare_simpy_rate(processes: int) -> float:
    """Events per second of SimPy alone: `processes` live generators, each yielding exponential timeouts."""
    env = EventCountingEnvironment()  # counts through SimPy's public `schedule`, as the model run does
    rng = random.Random(1)
    mean_gap = 15.0  # days, about a card's time between cash needs

    def live(env: simpy.Environment):
        while True:
            yield env.timeout(rng.expovariate(1 / mean_gap))

    for _ in range(processes):
        env.process(live(env))
    env.run(until=1e-9)  # start them all (their initialisation events are not counted)
    first = env.scheduled
    horizon = BARE_EVENTS * mean_gap / processes
    start = time.perf_counter()
    env.run(until=1e-9 + horizon)
    elapsed = time.perf_counter() - start
    return (env.scheduled - first) / elapsed


def model_run(accounts: int, days: int) -> tuple[float, float]:
    """(seconds, events per second) of one replication of the bundled defaults at `accounts`."""
    settings = SimulationSettings.model_validate({"days": days, "revolving_credit": {"accounts": accounts}})
    params = RevolvingCreditParams.from_settings(settings)
    start = time.perf_counter()
    run = simulate_portfolio(params, 2014, count_events=True)
    elapsed = time.perf_counter() - start
    events = run.simpy_events + run.booked_events_posted
    return elapsed, events / elapsed


def worker_throughput(workers: int, accounts: int, replications: int) -> float:
    """Replications per second with `workers` local processes (1: in-process)."""
    settings = SimulationSettings.model_validate({"days": 365, "revolving_credit": {"accounts": accounts}})
    params = RevolvingCreditParams.from_settings(settings)
    start = time.perf_counter()
    run_replications(revolving_credit.run_replication, params, replications=replications, seed=1,
                     days=365, workers=workers)
    return replications / (time.perf_counter() - start)


# -- design choices -----------------------------------------------------------------------------

def counter_visit_cost(as_process: bool) -> float:
    """µs per counter visit (Poisson arrivals, 20 outlets × 2 tellers, 45 % busy) on top of the arrival."""
    env = simpy.Environment()
    rng = random.Random(1)
    tellers = [simpy.Resource(env, 2) for _ in range(20)]
    service_mean = 0.0167
    arrival_rate = 0.9 * 40 / service_mean / 2

    def visit_process(env: simpy.Environment, teller: simpy.Resource):
        with teller.request() as turn:
            yield turn
            yield env.timeout(rng.expovariate(1 / service_mean))

    class VisitCallbacks:
        __slots__ = ("teller", "turn")

        def __init__(self, teller: simpy.Resource) -> None:
            self.teller, self.turn = teller, teller.request()
            self.turn.callbacks.append(self.served)

        def served(self, _event: simpy.Event) -> None:
            env.timeout(rng.expovariate(1 / service_mean)).callbacks.append(self.leave)

        def leave(self, _event: simpy.Event) -> None:
            self.teller.release(self.turn)

    def arrivals(env: simpy.Environment, visit):
        for _ in range(MICRO_OPERATIONS):
            yield env.timeout(rng.expovariate(arrival_rate))
            if visit is not None:
                visit(tellers[rng.randrange(20)])

    def timed(visit) -> float:
        env.process(arrivals(env, visit))
        start = time.perf_counter()
        env.run()
        return time.perf_counter() - start

    baseline = timed(None)
    env = simpy.Environment()
    tellers = [simpy.Resource(env, 2) for _ in range(20)]
    visit = (lambda teller: env.process(visit_process(env, teller))) if as_process else VisitCallbacks
    return (timed(visit) - baseline) / MICRO_OPERATIONS * 1e6


def repayment_cost(booked: bool) -> float:
    """µs per repayment with ~130,000 pending: a SimPy timeout with a callback, or a heap entry."""
    rng = random.Random(1)
    pending = 130_000
    env = simpy.Environment()
    heap: list[tuple[float, int, float]] = []
    done = [0]

    def repaid(_event: simpy.Event) -> None:
        done[0] += 1

    def book(now: float) -> None:
        if booked:
            heapq.heappush(heap, (now + rng.expovariate(1 / 20), 1, 1.0))
        else:
            env.timeout(rng.expovariate(1 / 20)).callbacks.append(repaid)

    for _ in range(pending):
        book(0.0)
    start = time.perf_counter()
    if booked:
        for _ in range(MICRO_OPERATIONS):
            time_due, _, _ = heapq.heappop(heap)
            done[0] += 1
            book(time_due)
    else:
        for _ in range(MICRO_OPERATIONS):
            env.step()
            book(env.now)
    return (time.perf_counter() - start) / MICRO_OPERATIONS * 1e6


def credit_line_cost(container: bool) -> float:
    """µs per draw-and-repay on one of 100,000 lines: SimPy `Container` get/put vs a list entry."""
    env = simpy.Environment()
    rng = random.Random(1)
    lines = 100_000
    picks = [rng.randrange(lines) for _ in range(MICRO_OPERATIONS)]
    if container:
        accounts = [simpy.Container(env, capacity=30.0, init=30.0) for _ in range(lines)]
        start = time.perf_counter()
        for account in picks:
            line = accounts[account]
            take = min(1.0, line.level)
            if take > 0:
                line.get(take)
                line.put(take)
            env.run()
    else:
        balance, limit = [0.0] * lines, [30.0] * lines
        start = time.perf_counter()
        for account in picks:
            take = min(1.0, limit[account] - balance[account])
            balance[account] += take
            balance[account] -= take
            env.run()
    return (time.perf_counter() - start) / MICRO_OPERATIONS * 1e6


# -- report -------------------------------------------------------------------------------------

def median_of(runs: int, measure, *args):
    values = [measure(*args) for _ in range(runs)]
    if isinstance(values[0], tuple):
        return tuple(statistics.median(v) for v in zip(*values))
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--worker-accounts", type=int, default=10_000)
    parser.add_argument("--worker-replications", type=int, default=4)
    parser.add_argument("--parts", default="rate,workers,design", help="comma-separated: rate, workers, design")
    args = parser.parse_args()
    parts = set(args.parts.split(","))

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, SimPy {simpy.__version__}, load average {os.getloadavg()[0]:.2f}")
    print(f"medians of {args.runs} runs\n")

    if "rate" in parts:
        report_rates(args)
    if "workers" in parts:
        report_workers(args)
    if "design" in parts:
        report_design(args)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


def report_rates(args: argparse.Namespace) -> None:
    bare = median_of(args.runs, bare_simpy_rate, args.accounts)
    seconds, rate = median_of(args.runs, model_run, args.accounts, args.days)
    print(f"bare SimPy, {args.accounts:,} live processes : {bare:12,.0f} events/s")
    print(f"model, {args.accounts:,} accounts             : {rate:12,.0f} events/s "
          f"(SimPy events + booked drawdowns and repayments)")
    print(f"  ratio model / bare                   : {rate / bare:12.0%}   goal ≥ 60 %")
    print(f"seconds per replication, {args.accounts:,} × {args.days} days : {seconds:6.1f} s   goal ≤ 30 s\n")


def report_workers(args: argparse.Namespace) -> None:
    one = median_of(args.runs, worker_throughput, 1, args.worker_accounts, args.worker_replications)
    two = median_of(args.runs, worker_throughput, 2, args.worker_accounts, args.worker_replications)
    print(f"{args.worker_replications} replications of {args.worker_accounts:,} accounts × 365 days:")
    print(f"  1 worker  : {one:8.3f} replications/s")
    print(f"  2 workers : {two:8.3f} replications/s")
    print(f"  ratio 2 / 1                          : {two / one:12.2f}×   goal ≥ 1.8×\n")


def report_design(args: argparse.Namespace) -> None:
    print("design choices (µs per operation, median):")
    print(f"  counter visit as a process           : {median_of(args.runs, counter_visit_cost, True):8.1f}")
    print(f"  counter visit as Resource callbacks  : {median_of(args.runs, counter_visit_cost, False):8.1f}")
    print(f"  repayment as a SimPy event           : {median_of(args.runs, repayment_cost, False):8.1f}")
    print(f"  repayment booked in the book's heap  : {median_of(args.runs, repayment_cost, True):8.1f}")
    print(f"  draw+repay on a SimPy Container      : {median_of(args.runs, credit_line_cost, True):8.1f}")
    print(f"  draw+repay on a list entry           : {median_of(args.runs, credit_line_cost, False):8.1f}\n")


if __name__ == "__main__":
    main()
