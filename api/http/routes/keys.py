"""API keys (admin): `POST /keys`, `GET /keys`, `DELETE /keys/{id}`."""

from __future__ import annotations

from litestar import Request, delete, get, post
from litestar.openapi.datastructures import ResponseSpec

from api.http.auth import requires
from api.http.bodies import ErrorBody, KeyCreated, KeyInfo, KeyRequest, KeyRevoked
from api.http.errors import NotFound
from api.http.keys import create_key, list_keys, revoke_key
from api.http.routes.common import IdParam
from api.http.routes.plans import ERRORS


@post("/keys", operation_id="createKey", guards=[requires("admin")], tags=["keys"], status_code=201, sync_to_thread=True,
      summary="Create an API key", responses=ERRORS)
def new_key(request: Request, data: KeyRequest) -> KeyCreated:
    """A new key for a role; the key is in this answer only — the server keeps a salted hash."""
    key, who = create_key(request.app.state.db, data.role, data.name)
    return KeyCreated(id=who.id, name=who.name, role=data.role, key=key)


@get("/keys", operation_id="listKeys", guards=[requires("admin")], tags=["keys"], sync_to_thread=True,
     summary="The API keys (never the keys themselves)", responses=ERRORS)
def all_keys(request: Request) -> list[KeyInfo]:
    """Id, name, role and dates of every key."""
    return [KeyInfo(id=k.id, name=k.name, role=k.role, created_at=k.created_at, revoked_at=k.revoked_at)
            for k in list_keys(request.app.state.db)]


@delete("/keys/{key_id:str}", operation_id="revokeKey", guards=[requires("admin")], tags=["keys"], sync_to_thread=True,
        status_code=200, summary="Revoke an API key", responses={404: ResponseSpec(ErrorBody, description="no such key"), **ERRORS})
def remove_key(request: Request, key_id: IdParam) -> KeyRevoked:
    """The key stops working at once; its record stays."""
    if not revoke_key(request.app.state.db, key_id):
        raise NotFound("key", key_id)
    return KeyRevoked(id=key_id, revoked=True)


ROUTES = [new_key, all_keys, remove_key]
