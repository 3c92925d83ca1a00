"""Bearer keys → who is asking, and litestar guards for each role (401 without a valid key, 403 for
a role that may not), plus the identity the rate limit counts by."""

from __future__ import annotations

import hashlib
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from api.http.keys import KeyHolder, Role, check_key, role_allows

BEARER = "bearer "


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The key of `Authorization: Bearer <key>`, else None."""
    header = connection.headers.get("authorization", "")
    return header[len(BEARER):].strip() if header.lower().startswith(BEARER) else None


def holder(connection: ASGIConnection[Any, Any, Any, Any]) -> KeyHolder:
    """The key holder of a request; 401 when there is no valid key (looked up once per request)."""
    found = connection.scope.get("state", {}).get("key_holder")
    if found is not None:
        return found
    token = bearer_token(connection)
    if not token:
        raise NotAuthorizedException("no API key: send `Authorization: Bearer <key>` (create one with `microplan keys create`)",
                                     headers={"WWW-Authenticate": "Bearer"})
    found = check_key(connection.app.state.db, token)
    if found is None:
        raise NotAuthorizedException("the API key is not valid (unknown, mistyped or revoked)",
                                     headers={"WWW-Authenticate": "Bearer"})
    connection.scope.setdefault("state", {})["key_holder"] = found
    return found


def requires(role: Role):  # type: ignore[no-untyped-def]
    """A guard: the key's role must allow `role` (viewer < planner < admin)."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        who = holder(connection)
        if not role_allows(who.role, role):
            raise PermissionDeniedException(f"the key {who.id!r} has the role {who.role!r}; this needs {role!r} or above")

    guard.__name__ = f"requires_{role}"
    return guard


def rate_identity(request: Any) -> str:
    """The rate limit counts per key: a hash of the bearer token (per client address without one)."""
    token = bearer_token(request)
    if token:
        return "key:" + hashlib.sha256(token.encode()).hexdigest()[:24]
    return "addr:" + (request.client.host if request.client else "unknown")
