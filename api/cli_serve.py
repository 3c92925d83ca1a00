"""`microplan serve [--host 127.0.0.1] [--port 8000] [--db URL]`: the HTTP API under uvicorn.

At start: the database is opened (created, or upgraded to this version's schema) and where the
data lives is printed; with no key in the database an admin key is created and printed once;
jobs left `running` by a previous server become `interrupted`; the job worker is started (it
stops with the server). Settings beyond the options come from `MICROPLAN_*` variables (README
"The HTTP API").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from api.cli_common import fail


def open_store(db: str | None, data: Path | None):
    """The API's settings and database for `serve` and `keys`: exit 2 with one line on a bad --db/--data."""
    from api.http.db import DatabaseTooNew, open_database
    from api.http.settings import ApiSettings

    try:
        settings = ApiSettings.from_environment(db_url=db, data_dir=data)
    except ValueError as exc:
        fail([str(exc)])
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        database = open_database(settings.db_url)
    except DatabaseTooNew as exc:
        fail([f"--db: {exc}"])
    except Exception as exc:  # noqa: BLE001 — a wrong URL, a server that does not answer: one line, exit 2
        fail([f"--db: cannot open the database {settings.db_url.split('@')[-1]} ({type(exc).__name__}: {str(exc).splitlines()[0]})"])
    return settings, database


def serve_command(
    host: Annotated[str, typer.Option("--host", help="address to listen on (127.0.0.1: this machine only)")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port")] = 8000,
    db: Annotated[Optional[str], typer.Option("--db", help="SQLAlchemy URL: sqlite:///path or postgresql://user@host/db "
                                                          "(default: $MICROPLAN_DB, else a SQLite file in the data folder)")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="data folder (default: $MICROPLAN_DATA, else ~/.local/share/microplan)")] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /schema/openapi.json, docs at /schema).

    Example: microplan serve --port 8000 --db sqlite:///./microplan.sqlite
    """
    import logging

    import uvicorn

    from api.http.app import create_app
    from api.http.jobs import make_queue, recover_jobs
    from api.http.keys import create_key, key_count

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings, database = open_store(db, data)
    say(f"microplan: data folder {settings.data_dir}")
    say(f"microplan: database {database.url}")
    say(f"microplan: job queue {settings.queue_url}")
    if key_count(database) == 0:
        key, _ = create_key(database, "admin", "first admin (created by serve)")
        say(f"microplan: no API key yet; created an admin key, shown this once: {key}")
    queue = make_queue(settings.queue_url)
    if interrupted := recover_jobs(database, queue):
        say(f"microplan: {interrupted} job(s) left unfinished by the last run are now `interrupted` (POST /jobs/{{id}}/resubmit)")
    worker = subprocess.Popen([sys.executable, "-m", "api.http.worker", "--queue", settings.queue_url,
                               "--workers", str(settings.job_workers), "--parent", str(os.getpid())], env=dict(os.environ))
    try:
        app = create_app(settings, database, queue)
        say(f"microplan: serving on http://{host}:{port} (docs at /schema)")
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            worker.kill()


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
