"""The job worker: a huey consumer whose worker processes run `api.http.jobs.run_job`.

`microplan serve` starts it as a child process (`python -m api.http.worker --queue … --workers N`)
and it dies with the server (Linux's parent-death signal), as do its worker processes, so a
killed server leaves no half-run job behind: what was running is found `interrupted` at the next
start. Each worker runs one job at a time; simulations inside a job run in that process (or on
the Dask scheduler of `MICROPLAN_DASK`).
"""

from __future__ import annotations

import argparse
import logging
import os

from api.http.jobs import die_with_parent, make_queue

#: Longest wait between two looks at an empty queue, seconds (huey backs off up to this).
MAX_POLL_SECONDS = 0.5


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api.http.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--queue", required=True, help="huey store: a SQLite file path or redis://…")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (jobs run at once)")
    parser.add_argument("--parent", type=int, default=None, help="the server's pid: exit if it is already gone")
    args = parser.parse_args(argv)
    die_with_parent(args.parent)
    forking: dict[str, int] = {}  # the pid of the process that forks, recorded just before (nested forks too)
    os.register_at_fork(before=lambda: forking.__setitem__("parent", os.getpid()),
                        after_in_child=lambda: die_with_parent(forking["parent"]))  # huey's worker and scheduler processes
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    queue = make_queue(args.queue)
    consumer = queue.huey.create_consumer(workers=args.workers, worker_type="process", initial_delay=0.05,
                                          backoff=1.5, max_delay=MAX_POLL_SECONDS, periodic=False)
    consumer.run()


if __name__ == "__main__":
    main()
