"""The HTTP API (README "The HTTP API"): a litestar app over the same engine and writers as the CLI.

Modules, each named for what it holds:

- `settings`  — the server's settings and limits (command line and `MICROPLAN_*` environment);
- `db`        — SQLAlchemy tables, the schema version and its upgrade steps;
- `keys`      — API keys: creation, salted hashes, constant-time checks, roles;
- `auth`      — the guards that turn a bearer key into 401 / 403, the rate-limit identity;
- `errors`    — the one mapping of the project's exceptions to HTTP answers;
- `intake`    — request bodies (JSON scenario or uploaded files) → a validated scenario, limits;
- `work`      — what runs outside the event loop: plans, exports, simulations, comparisons;
- `jobs`      — job rows (every transition committed) and the huey queue that runs them;
- `worker`    — the huey consumer `microplan serve` starts (it dies with the server);
- `bodies`    — the pydantic models of the responses;
- `openapi`   — the OpenAPI document's schema plugin (unknown keys refused);
- `routes/`   — thin handlers, one module per resource;
- `app`       — `create_app(settings)`, the factory.
"""
