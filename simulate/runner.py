"""The Monte Carlo runner: replications in-process, in local processes, or on a Dask cluster.

Reproducibility: replication `i` draws only from `SeedSequence(seed, spawn_key=(i,))` — the
`i`-th child of `SeedSequence(seed).spawn(n)` — so its result depends on `(params, seed, i)`
and on nothing else: not the executor, the number of workers, nor the order results come
back in. Results are folded into the summary in replication order (a small reorder buffer
holds early arrivals), so even floating-point sums are identical whatever the executor.

Streaming: replications go out in chunks, at most a few chunks per worker in flight; each
chunk's results are folded in as soon as its turn comes and then dropped. What is kept is one
number per metric per replication (for exact percentiles), the running sum of the daily series
and the daily series of the first `BAND_REPLICATIONS` replications (for the P5/P95 band).
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from simulate.records import ReplicationOutput
from simulate.stats import MetricSummary, summarise

#: Replications whose daily series are kept for the P5/P95 band (the mean uses all of them).
BAND_REPLICATIONS = 1_000
#: Chunks per worker a run is cut into (more: smoother progress; fewer: less overhead).
CHUNKS_PER_WORKER = 4
#: Largest number of replications in one chunk.
MAX_CHUNK = 25
#: Chunks in flight per worker.
IN_FLIGHT_PER_WORKER = 2
#: Seconds to wait for a Dask scheduler to answer.
DASK_CONNECT_TIMEOUT = "10s"


class Replicate(Protocol):
    """A model's replication function: importable at module level, so workers can unpickle it."""

    def __call__(self, params: Any, seed: np.random.SeedSequence, index: int) -> ReplicationOutput: ...


def replication_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The random stream of replication `index`: the `index`-th child of `SeedSequence(seed)`."""
    return np.random.SeedSequence(seed, spawn_key=(index,))


def run_chunk(replicate: Replicate, params: Any, seed: int, first: int, count: int) -> list[ReplicationOutput]:
    """Replications `first … first + count − 1` (what one worker task does)."""
    return [replicate(params, replication_seed(seed, i), i) for i in range(first, first + count)]


@dataclass(frozen=True, slots=True)
class SeriesSummary:
    """Daily portfolio balance across replications."""

    day: np.ndarray       # measured day, 0 = 1 January of the start year
    mean: np.ndarray      # mean over all replications
    p5: np.ndarray        # 5th percentile over the first BAND_REPLICATIONS replications
    p95: np.ndarray       # 95th percentile, likewise


class Accumulator:
    """Folds replication outputs in replication order, whatever order they arrive in."""

    def __init__(self, days: int, band_limit: int = BAND_REPLICATIONS) -> None:
        self.days = days
        self.band_limit = band_limit
        self.count = 0                                  # replications folded in
        self.values: dict[str, list[float]] = {}        # metric → one value per replication
        self.series_sum = np.zeros(days)
        self.band: list[np.ndarray] = []
        self._waiting: dict[int, ReplicationOutput] = {}

    def add(self, output: ReplicationOutput) -> None:
        """Accept one output; fold it and any waiting successors once its turn has come."""
        self._waiting[output.index] = output
        while self.count in self._waiting:
            self._fold(self._waiting.pop(self.count))

    def _fold(self, output: ReplicationOutput) -> None:
        if len(output.series) != self.days:
            raise ValueError(f"replication {output.index} returned {len(output.series)} days (expected {self.days})")
        for name, value in output.metrics.items():
            self.values.setdefault(name, []).append(value)
        self.series_sum += output.series
        if len(self.band) < self.band_limit:
            self.band.append(np.asarray(output.series, dtype=float))
        self.count += 1

    def metrics(self) -> dict[str, MetricSummary]:
        return {name: summarise(values) for name, values in self.values.items()}

    def series(self) -> SeriesSummary:
        if self.count == 0:
            raise ValueError("no replication has been folded in")
        band = np.vstack(self.band)
        return SeriesSummary(
            day=np.arange(self.days),
            mean=self.series_sum / self.count,
            p5=np.percentile(band, 5, axis=0),
            p95=np.percentile(band, 95, axis=0),
        )


def chunk_size(replications: int, workers: int) -> int:
    """Replications per task: about CHUNKS_PER_WORKER tasks per worker, at most MAX_CHUNK each."""
    return max(1, min(MAX_CHUNK, math.ceil(replications / (workers * CHUNKS_PER_WORKER))))


def run_replications(
    replicate: Replicate,
    params: Any,
    *,
    replications: int,
    seed: int,
    days: int,
    workers: int | None = None,
    dask_address: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> Accumulator:
    """Run `replications` replications and fold them; see the module docstring for the executors.

    `workers`: local processes (default: all cores; 1 → in this process). `dask_address`: a Dask
    scheduler (`tcp://host:8786`); then `workers` is ignored and the cluster's threads are used.
    `progress` is called in this process with the fraction done after each chunk.
    """
    if replications < 1:
        raise ValueError(f"replications must be ≥ 1 (got {replications})")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be ≥ 1 (got {workers})")
    accumulator = Accumulator(days)

    def fold(outputs: list[ReplicationOutput]) -> None:
        for output in outputs:
            accumulator.add(output)
        if progress is not None:
            progress(min(1.0, (accumulator.count + len(accumulator._waiting)) / replications))

    if dask_address is not None:
        _run_on_dask(dask_address, replicate, params, seed, replications, fold)
        return accumulator
    workers = workers or os.cpu_count() or 1
    if workers == 1 or replications == 1:
        size = chunk_size(replications, 1)
        for first, count in _chunks(replications, size):
            fold(run_chunk(replicate, params, seed, first, count))
        return accumulator
    size = chunk_size(replications, workers)
    pool_size = min(workers, math.ceil(replications / size))
    with ProcessPoolExecutor(max_workers=pool_size, mp_context=_process_context(replicate)) as pool:
        _stream(pool, replicate, params, seed, replications, size, workers * IN_FLIGHT_PER_WORKER, fold)
    return accumulator


def _process_context(replicate: Replicate) -> multiprocessing.context.BaseContext:
    """Fork server where there is one (workers forked from a clean process with the model imported:
    safe in a threaded server, and the caller's `__main__` is not re-imported), spawn elsewhere."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__, replicate.__module__])
    return context


def _chunks(replications: int, size: int) -> Iterator[tuple[int, int]]:
    for first in range(0, replications, size):
        yield first, min(size, replications - first)


def _stream(executor: Executor, replicate: Replicate, params: Any, seed: int, replications: int,
            size: int, window: int, fold: Callable[[list[ReplicationOutput]], None]) -> None:
    """Keep at most `window` chunks in flight; fold each as it completes."""
    chunks = _chunks(replications, size)
    pending: set[Future] = set()
    try:
        for first, count in chunks:
            pending.add(executor.submit(run_chunk, replicate, params, seed, first, count))
            if len(pending) >= window:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                fold(future.result())
                following = next(chunks, None)
                if following is not None:
                    pending.add(executor.submit(run_chunk, replicate, params, seed, *following))
    finally:
        for future in pending:
            future.cancel()


def _run_on_dask(address: str, replicate: Replicate, params: Any, seed: int, replications: int,
                 fold: Callable[[list[ReplicationOutput]], None]) -> None:
    """Stream the chunks through a Dask cluster's scheduler at `address`."""
    from distributed import Client  # imported here: Dask is only needed when asked for

    with Client(address, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False) as client:
        threads = max(1, sum(client.nthreads().values()))
        size = chunk_size(replications, threads)
        executor = client.get_executor(pure=False)
        _stream(executor, replicate, params, seed, replications, size, threads * IN_FLIGHT_PER_WORKER, fold)
