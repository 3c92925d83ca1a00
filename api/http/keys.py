"""API keys: `mpk_<id>_<secret>`, shown once; only a salt and the salted hash of the secret are stored.

The secret is 32 random bytes (256 bits), so a fast salted hash is enough — nobody can guess
through the hash space (a slow password hash protects low-entropy passwords, which these are
not) — and every request can afford the check. The digest is compared in constant time
(`hmac.compare_digest`). Roles, each including the ones before it: `viewer` reads, `planner`
also submits, `admin` also manages keys.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select

from api.http.db import ApiKey, Database, now

Role = Literal["viewer", "planner", "admin"]
#: Roles in order of what they may do; a role may do what every role before it may.
ROLES: tuple[Role, ...] = ("viewer", "planner", "admin")
KEY_PREFIX = "mpk"


def role_allows(role: str, needed: Role) -> bool:
    """rank(role) ≥ rank(needed): an admin may plan, a planner may read."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)  # type: ignore[arg-type]


def digest(salt: str, secret: str) -> str:
    """HMAC-SHA256(salt, secret) in hex: the only form of a secret that is stored."""
    return hmac.new(bytes.fromhex(salt), secret.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class KeyHolder:
    """Who a valid key belongs to."""

    id: str
    name: str
    role: str


def create_key(db: Database, role: Role, name: str) -> tuple[str, KeyHolder]:
    """Store a new key's salted hash; return the key itself (shown once, never stored) and its holder."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)} (got {role!r})")
    key_id, secret, salt = secrets.token_hex(8), secrets.token_urlsafe(32), secrets.token_hex(16)
    with db.session.begin() as session:
        session.add(ApiKey(id=key_id, name=name, role=role, salt=salt, digest=digest(salt, secret)))
    return f"{KEY_PREFIX}_{key_id}_{secret}", KeyHolder(key_id, name, role)


def split_key(key: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed key, else None."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


#: Salt used to spend the same work on an unknown key id as on a known one.
_DUMMY_SALT = secrets.token_hex(16)


def check_key(db: Database, key: str) -> KeyHolder | None:
    """The holder of `key` if it is valid and not revoked; the digest comparison is constant-time."""
    parts = split_key(key)
    if parts is None:
        return None
    key_id, secret = parts
    with db.session() as session:
        row = session.get(ApiKey, key_id)
    salt, stored = (row.salt, row.digest) if row is not None else (_DUMMY_SALT, "0" * 64)
    matches = hmac.compare_digest(digest(salt, secret), stored)
    if row is None or not matches or row.revoked_at is not None:
        return None
    return KeyHolder(row.id, row.name, row.role)


def key_count(db: Database) -> int:
    """How many keys (revoked ones included) the database holds."""
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(ApiKey)) or 0


def list_keys(db: Database) -> list[ApiKey]:
    """Every key's public part (id, name, role, dates), oldest first."""
    with db.session() as session:
        return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke_key(db: Database, key_id: str) -> bool:
    """Mark a key revoked; False when there is no such key."""
    with db.session.begin() as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            return False
        row.revoked_at = row.revoked_at or now()
        return True
