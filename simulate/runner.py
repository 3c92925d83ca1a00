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

Stopping: local workers ignore SIGINT (a terminal's Ctrl-C reaches the whole process group;
only this process decides), and when the run is interrupted — Ctrl-C, or SIGTERM / SIGHUP which
the CLI turns into an exception — the pool's pending chunks are cancelled and its worker
processes terminated (killed if they do not stop within `STOP_GRACE_SECONDS`), so the run ends
within seconds and leaves no process behind.

Other independent work (e.g. the plans of a comparison's variants) goes through the same
executors with `run_tasks(function, tasks, …)`: one call per task, results in task order.

Dask: the address is checked (`dask_address_problem`: scheme tcp / tls / inproc / ucx, a host,
a numeric port) and, for tcp, the scheduler is probed first (`probe_dask_scheduler`): something
that is not a Dask scheduler (an HTTP or SSH server) is refused before Dask's client reads its
answer as a frame length.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import socket
import struct
from urllib.parse import urlsplit
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
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
DASK_CONNECT_TIMEOUT_SECONDS = 10
DASK_CONNECT_TIMEOUT = f"{DASK_CONNECT_TIMEOUT_SECONDS}s"
#: Address schemes of a Dask scheduler.
DASK_SCHEMES = ("tcp", "tls", "inproc", "ucx")
#: Largest first message a Dask scheduler's handshake can announce, bytes (it is a few hundred).
MAX_HANDSHAKE_BYTES = 1 << 24
#: Most local worker processes (`--workers`).
MAX_WORKERS = 256
#: Seconds interrupted workers get to stop before they are killed.
STOP_GRACE_SECONDS = 2.0


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
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be 1–{MAX_WORKERS} (got {workers})")
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
    with local_pool(replicate, min(workers, math.ceil(replications / size))) as pool:
        _stream(pool, _chunk_calls(replicate, params, seed, replications, size), workers * IN_FLIGHT_PER_WORKER, fold)
    return accumulator


def run_tasks(
    function: Callable[[Any], Any],
    tasks: Sequence[Any],
    *,
    workers: int | None = None,
    dask_address: str | None = None,
    progress: Callable[[float], None] | None = None,
) -> list[Any]:
    """`[function(task) for task in tasks]` on the runner's executors, results in task order.

    For independent pieces of work that are not replications (a comparison's plans, one per
    variant). `function` must be importable at module level (workers unpickle it by name).
    `workers`, `dask_address` and `progress` as in `run_replications`; one task per call.
    """
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be 1–{MAX_WORKERS} (got {workers})")
    results: dict[int, Any] = {}

    def fold(pairs: list[tuple[int, Any]]) -> None:
        results.update(pairs)
        if progress is not None:
            progress(len(results) / len(tasks))

    calls = ((_indexed_call, (function, i, task)) for i, task in enumerate(tasks))
    if dask_address is not None:
        with dask_executor(dask_address) as (executor, threads):
            _stream(executor, calls, threads * IN_FLIGHT_PER_WORKER, fold)
    elif len(tasks) <= 1 or (workers or os.cpu_count() or 1) == 1:
        for call, args in calls:
            fold(call(*args))
    else:
        workers = workers or os.cpu_count() or 1
        with local_pool(function, min(workers, len(tasks))) as pool:
            _stream(pool, calls, workers * IN_FLIGHT_PER_WORKER, fold)
    return [results[i] for i in range(len(tasks))]


def _indexed_call(function: Callable[[Any], Any], index: int, task: Any) -> list[tuple[int, Any]]:
    """One task's result with its index (what a worker sends back for `run_tasks`)."""
    return [(index, function(task))]


@contextmanager
def local_pool(function: Callable[..., Any], size: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of `size` local worker processes with `function`'s module preloaded; on any
    exception (Ctrl-C, SIGTERM turned into one) its work is cancelled and its processes stopped."""
    others = set(multiprocessing.active_children())
    pool = ProcessPoolExecutor(max_workers=size, mp_context=_process_context(function),
                               initializer=ignore_interrupts)
    try:
        yield pool
    except BaseException:
        stop_workers(pool, others)
        raise
    pool.shutdown(wait=True)


def ignore_interrupts() -> None:
    """Worker initializer: SIGINT is the parent's to handle (it stops the workers itself)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_workers(pool: ProcessPoolExecutor, others: set[multiprocessing.process.BaseProcess]) -> None:
    """Cancel what is pending and terminate the pool's processes (those not in `others`), killing stragglers."""
    pool.shutdown(wait=False, cancel_futures=True)
    workers = [p for p in multiprocessing.active_children() if p not in others]
    for process in workers:
        process.terminate()
    for process in workers:
        process.join(STOP_GRACE_SECONDS)
        if process.is_alive():
            process.kill()
            process.join(STOP_GRACE_SECONDS)


def _process_context(replicate: Callable[..., Any]) -> multiprocessing.context.BaseContext:
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


def _chunk_calls(replicate: Replicate, params: Any, seed: int, replications: int,
                 size: int) -> Iterator[tuple[Callable[..., Any], tuple]]:
    """The worker calls of a run: one `run_chunk` per chunk of replications."""
    for first, count in _chunks(replications, size):
        yield run_chunk, (replicate, params, seed, first, count)


def _stream(executor: Executor, calls: Iterator[tuple[Callable[..., Any], tuple]], window: int,
            fold: Callable[[list], None]) -> None:
    """Keep at most `window` calls in flight; fold each result (a list) as it completes."""
    pending: set[Future] = set()
    try:
        for call, args in calls:
            pending.add(executor.submit(call, *args))
            if len(pending) >= window:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                fold(future.result())
                following = next(calls, None)
                if following is not None:
                    pending.add(executor.submit(following[0], *following[1]))
    finally:
        for future in pending:
            future.cancel()


def _run_on_dask(address: str, replicate: Replicate, params: Any, seed: int, replications: int,
                 fold: Callable[[list[ReplicationOutput]], None]) -> None:
    """Stream the chunks through a Dask cluster's scheduler at `address`."""
    with dask_executor(address) as (executor, threads):
        size = chunk_size(replications, threads)
        _stream(executor, _chunk_calls(replicate, params, seed, replications, size),
                threads * IN_FLIGHT_PER_WORKER, fold)


@contextmanager
def dask_executor(address: str) -> Iterator[tuple[Executor, int]]:
    """An executor on the Dask scheduler at `address` (checked and probed first) and the cluster's thread count."""
    problem = dask_address_problem(address)
    if problem:
        raise ValueError(f"{problem} (got {address})")
    backend = dask_backend_problem(address)
    if backend:
        raise ConnectionError(backend)
    probe_dask_scheduler(address)
    from distributed import Client  # imported here: Dask is only needed when asked for

    try:
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError):
        raise
    except Exception as exc:  # noqa: BLE001 — distributed raises TypeError / ValueError for unusable comms
        raise ConnectionError(f"{type(exc).__name__}: {exc}") from None
    with client:
        yield client.get_executor(pure=False), max(1, sum(client.nthreads().values()))


def dask_address_problem(address: str) -> str | None:
    """Why `address` is not `scheme://host:port` with a Dask scheme and a numeric port (None if it is)."""
    if "://" not in address:
        return "a scheduler address like tcp://host:8786"
    scheme, rest = address.split("://", 1)
    if scheme not in DASK_SCHEMES:
        return f"unknown scheme {scheme!r}; allowed: {', '.join(DASK_SCHEMES)} (e.g. tcp://host:8786)"
    if scheme == "inproc":
        parts = rest.split("/")
        if len(parts) != 3 or not all(parts) or not (parts[1].isdigit() and parts[2].isdigit()):
            return "an inproc address is inproc://HOST/PID/N, inside this process (another process: tcp://host:8786)"
        return None
    parts = urlsplit(address)
    if parts.username or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment:
        return "only scheme://host:port, nothing else (e.g. tcp://host:8786)"
    host = parts.hostname or ""
    if not host:
        return "the address has no host (e.g. tcp://host:8786)"
    if not all(c.isalnum() or c in ".-_:" for c in host):
        return "the host is not a host name or IP address"
    try:
        port = parts.port
    except ValueError:
        return "the port must be a number 1–65535"
    if port is None:
        return "the address has no port (the scheduler's is usually 8786)"
    if not 1 <= port <= 65535:
        return "the port must be a number 1–65535"
    return None


def probe_dask_scheduler(address: str, timeout: float = DASK_CONNECT_TIMEOUT_SECONDS) -> None:
    """For tcp://: connect and read the 8-byte length a Dask scheduler sends first; refuse anything else.

    A scheduler greets a new connection at once with its handshake, a message of a few hundred
    bytes announced by its length. An HTTP server says nothing (timeout); an SSH server's
    banner read as a length is absurd. Raises `ConnectionError` with the reason, `OSError` when
    nothing listens.
    """
    parts = urlsplit(address)
    if parts.scheme != "tcp":
        return
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        prelude = b""
        try:
            while len(prelude) < 8:
                chunk = sock.recv(8 - len(prelude))
                if not chunk:
                    break
                prelude += chunk
        except TimeoutError:
            raise ConnectionError(f"no Dask scheduler answered at {address} within {timeout:g} s") from None
    if len(prelude) < 8:
        raise ConnectionError(f"{address} closed the connection: not a Dask scheduler")
    (announced,) = struct.unpack("<Q", prelude)
    if not 0 < announced <= MAX_HANDSHAKE_BYTES:
        raise ConnectionError(f"{address} is not a Dask scheduler (its first message is not a Dask handshake)")


def dask_backend_problem(address: str) -> str | None:
    """Why this process cannot use the address's scheme (None if it can): TLS without Dask TLS
    settings, UCX without its package, an inproc address of another process."""
    import importlib.util

    scheme = address.split("://", 1)[0]
    if scheme == "tls":
        from distributed.security import Security

        if Security().get_connection_args("client").get("ssl_context") is None:
            return ("tls:// needs Dask's TLS settings (distributed.comm.tls.ca-file, .client.cert, .client.key "
                    "in the Dask configuration); none are set")
    if scheme == "ucx" and not any(importlib.util.find_spec(m) for m in ("ucp", "ucxx", "distributed_ucxx")):
        return "ucx:// needs UCX support (the ucx-py package), which is not installed"
    if scheme == "inproc" and address.split("/")[-2] != str(os.getpid()):
        return "an inproc:// address names a scheduler inside one process; reach another process over tcp://"
    return None
