"""The one place that maps what went wrong to an HTTP answer (README "The HTTP API": errors).

| exception | status | body |
|---|---|---|
| `scenarios.ScenarioError` (a scenario problem or a limit) | 422 | every problem: file, field, message, got |
| `api.errors.BadInput` | 422 | one entry per line |
| `NotFound` | 404 | what was not found |
| `Conflict` (a result not ready, a job that cannot be resubmitted) | 409 | why |
| litestar's `HTTPException` (401, 403, 400 bad parameter, 413 body too large, 415, 429 …) | its own | its detail, the parameter as `field` |
| anything else | 500 | an `error_id`; the traceback goes to the server's log only |

Every body is JSON: `{"status": 422, "title": "…", "errors": [{"field": "…", "message": "…"}]}`.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from api.errors import BadInput
from scenarios import ScenarioError

log = logging.getLogger("microplan.api")


class NotFound(Exception):
    """No stored object of this kind and id."""

    def __init__(self, kind: str, object_id: str) -> None:
        super().__init__(f"no {kind} with id {object_id!r}")
        self.kind, self.object_id = kind, object_id


class Conflict(Exception):
    """The request is well-formed but the object's state does not allow it (yet)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def error_body(status: int, title: str, errors: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """The JSON every error answer carries."""
    return {"status": status, "title": title, "errors": errors, **extra}


def answer(status: int, title: str, errors: list[dict[str, Any]], headers: dict[str, str] | None = None,
           **extra: Any) -> Response[dict[str, Any]]:
    return Response(error_body(status, title, errors, **extra), status_code=status, media_type=MediaType.JSON,
                    headers=headers)


def scenario_error(_: Request, exc: ScenarioError) -> Response:
    """422: every problem of the scenario, found in one pass (`scenarios.errors.Problem.to_json`)."""
    return answer(422, "the scenario has problems", [p.to_json() for p in exc.problems])


def bad_input(_: Request, exc: BadInput) -> Response:
    """422: one entry per problem line."""
    return answer(422, "bad input", [{"field": "", "message": line} for line in exc.lines])


def not_found(_: Request, exc: NotFound) -> Response:
    return answer(404, "not found", [{"field": "id", "message": str(exc), "got": exc.object_id}])


def conflict(_: Request, exc: Conflict) -> Response:
    return answer(409, "conflict", [{"field": exc.field, "message": str(exc)}])


def http_exception(_: Request, exc: HTTPException) -> Response:
    """litestar's own answers (401, 403, 404, 405, 413, 415, 429, a bad query parameter …) in our JSON."""
    status = exc.status_code
    if isinstance(exc, ValidationException) and isinstance(exc.extra, list) and exc.extra:
        errors = [{"field": str(e.get("key", "")), "message": _parameter_message(e)} for e in exc.extra if isinstance(e, dict)]
        if status == 400:
            status = 422 if all(e["field"] for e in errors) else 400
    else:
        errors = [{"field": "", "message": _detail(exc)}]
    headers = dict(exc.headers or {})
    return answer(status, _detail(exc) if status != 422 else "bad parameters", errors, headers=headers)


def _parameter_message(error: dict[str, Any]) -> str:
    source = getattr(error.get("source"), "value", error.get("source"))
    message = str(error.get("message", "invalid value"))
    return f"{message} (in the {source})" if source else message


def _detail(exc: HTTPException) -> str:
    if exc.status_code == 413:
        return "the request body is too large (see the limit MICROPLAN_MAX_BODY_BYTES)"
    if exc.status_code == 429:
        return "too many requests for this key; wait a minute (limit MICROPLAN_RATE_PER_MINUTE)"
    return str(exc.detail)


def internal_error(request: Request, exc: Exception) -> Response:
    """500: an error id in the answer; the traceback in the server's log under the same id."""
    error_id = secrets.token_hex(8)
    log.error("internal error %s on %s %s", error_id, request.method, request.url.path, exc_info=exc)
    return answer(500, "internal error", [{"field": "", "message": f"internal error; the server's log has the details under {error_id}"}],
                  error_id=error_id)


EXCEPTION_HANDLERS = {
    ScenarioError: scenario_error,
    BadInput: bad_input,
    NotFound: not_found,
    Conflict: conflict,
    HTTPException: http_exception,
    Exception: internal_error,
}
