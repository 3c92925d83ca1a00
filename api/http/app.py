"""`create_app(settings)`: the litestar application (README "The HTTP API").

The app holds, in `app.state`: the settings, the database (`api.http.db`), the job queue
(`api.http.jobs`), the worker settings passed with each job, and a process pool for the plans it
answers at once and the exports — CPU-heavy work never runs on the event loop. Limits: the
request body (`request_max_body_size` → 413) and requests per key per minute (litestar's rate
limit, counted by key → 429); the scenario limits are checked by `api.http.intake`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

from litestar import Litestar
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.pydantic import PydanticPlugin

from api.http.db import Database, open_database
from api.http.errors import EXCEPTION_HANDLERS
from api.http.openapi import StrictModelSchemaPlugin
from api.http.jobs import JobQueue, die_with_parent, make_queue
from api.http.routes import comparisons, jobs, keys, meta, plans, simulations
from api.http.settings import ApiSettings


def route_handlers() -> list:
    """Every route, by resource."""
    return [*meta.ROUTES, *plans.ROUTES, *jobs.ROUTES, *simulations.ROUTES, *comparisons.ROUTES, *keys.ROUTES]


def openapi_config() -> OpenAPIConfig:
    """OpenAPI 3.1 at /schema/openapi.json; interactive docs at /schema (Swagger UI) and /schema/scalar."""
    from api.reports import microplan_version

    return OpenAPIConfig(
        title="microplan", version=microplan_version(),
        description="The small-enterprise finance department's planning engine: annual plans, simulations, jobs. "
                    "Send `Authorization: Bearer <key>` (create one with `microplan keys create`).",
        path="/schema",
        render_plugins=[SwaggerRenderPlugin(path="/"), ScalarRenderPlugin(path="/scalar")],
        components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        security=[{"bearer": []}],
        use_handler_docstrings=True,
    )


def create_app(settings: ApiSettings, db: Database | None = None, queue: JobQueue | None = None) -> Litestar:
    """The application for `settings`; `db` and `queue` are opened from the settings when not given."""
    settings = settings.resolved()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = db or open_database(settings.db_url)
    queue = queue or make_queue(settings.queue_url)

    def start_pool(app: Litestar) -> None:
        app.state.new_pool = lambda: plan_pool(settings.plan_workers)
        app.state.pool = app.state.new_pool()

    def stop_pool(app: Litestar) -> None:
        app.state.pool.shutdown(wait=False, cancel_futures=True)
        db.engine.dispose()

    rate_limit = RateLimitConfig(rate_limit=("minute", settings.rate_per_minute), exclude=["/health", "/schema"],
                                 identifier_for_request=_rate_identity)
    app = Litestar(
        route_handlers=route_handlers(),
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
        middleware=[rate_limit.middleware],
        openapi_config=openapi_config(),
        plugins=[StrictModelSchemaPlugin(prefer_alias=True), PydanticPlugin(prefer_alias=True)],
        request_max_body_size=settings.max_body_bytes,
        on_startup=[start_pool],
        on_shutdown=[stop_pool],
        debug=False,
        logging_config=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.queue = queue
    app.state.runner = {"db_url": settings.db_url, "dask_address": settings.dask_address, "workers": 1}
    logging.getLogger("microplan.api").setLevel(logging.INFO)
    return app


def plan_pool(workers: int) -> ProcessPoolExecutor:
    """The processes that make the plans answered at once and the exports (spawned: no fork of a process
    that runs an event loop and threads; each dies with the server)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=die_with_parent,
                               initargs=(os.getpid(),))


def _rate_identity(request) -> str:  # type: ignore[no-untyped-def]
    from api.http.auth import rate_identity

    return rate_identity(request)
