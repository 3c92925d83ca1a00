"""The API's store on a real SQLite file and a real PostgreSQL server: the versioned schema
(an older database is upgraded, a newer one refused), and API keys (only a salted hash kept)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from api.http.db import SCHEMA_VERSION, ApiKey, DatabaseTooNew, Job, SchemaVersion, StoredScenario, open_database
from api.http.keys import check_key, create_key, digest, role_allows, split_key
from api_support import BACKENDS, database_url, postgres  # noqa: F401


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return database_url(request.param, request, tmp_path)


def test_new_database_has_the_current_version(db_url: str) -> None:
    db = open_database(db_url)
    with db.session() as session:
        assert session.scalar(select(SchemaVersion.version)) == SCHEMA_VERSION
    db.engine.dispose()


def test_version_1_database_is_upgraded_keeping_its_rows(db_url: str) -> None:
    """A version-1 database (no `key_id` columns) opens: upgraded to the current version, rows intact."""
    db = open_database(db_url)
    with db.engine.begin() as connection:  # make it what version 1 wrote
        for table in ("scenarios", "jobs"):
            connection.execute(text(f"ALTER TABLE {table} DROP COLUMN key_id"))
        connection.execute(text("UPDATE schema_version SET version = 1"))
        connection.execute(text("INSERT INTO scenarios (id, name, plan_year, branch_count, source_kind, source, source_name, "
                                "table_name, validated, created_at) VALUES ('s1', 'old', 2013, 3, 'json', '{}', '', '', '{}', "
                                "CURRENT_TIMESTAMP)"))
        connection.execute(text("INSERT INTO jobs (id, kind, scenario_id, options, status, progress, created_at) "
                                "VALUES ('j1', 'simulation', 's1', '{}', 'succeeded', 1.0, CURRENT_TIMESTAMP)"))
    db.engine.dispose()
    db = open_database(db_url)
    with db.session() as session:
        assert session.scalar(select(SchemaVersion.version)) == SCHEMA_VERSION
        assert session.get(StoredScenario, "s1").name == "old"
        job = session.get(Job, "j1")
        assert job.status == "succeeded" and job.key_id == ""
    db.engine.dispose()


def test_newer_database_is_refused(db_url: str) -> None:
    """A database written by a newer microplan is not touched."""
    db = open_database(db_url)
    with db.engine.begin() as connection:
        connection.execute(text(f"UPDATE schema_version SET version = {SCHEMA_VERSION + 1}"))
    db.engine.dispose()
    with pytest.raises(DatabaseTooNew, match=f"version {SCHEMA_VERSION + 1}"):
        open_database(db_url)


def test_keys_store_only_a_salted_hash(db_url: str) -> None:
    """The key is not in the database; its hash is HMAC-SHA256 under a per-key salt; a changed secret fails."""
    db = open_database(db_url)
    key, holder = create_key(db, "planner", "erp")
    key_b, _ = create_key(db, "planner", "erp")
    key_id, secret = split_key(key)  # type: ignore[misc]
    with db.session() as session:
        rows = {row.id: row for row in session.scalars(select(ApiKey))}
    assert secret not in repr([(r.salt, r.digest, r.name) for r in rows.values()])
    row = rows[key_id]
    assert row.digest == digest(row.salt, secret)
    assert len({r.salt for r in rows.values()}) == 2  # salted per key
    assert check_key(db, key) == holder
    assert check_key(db, key_b) is not None
    assert check_key(db, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert check_key(db, f"mpk_{split_key(key_b)[0]}_{secret}") is None  # another key's id with this secret
    assert check_key(db, "mpk_nosuchid_" + secret) is None
    assert check_key(db, secret) is None
    db.engine.dispose()


@pytest.mark.parametrize("role, needed, allowed", [
    ("viewer", "viewer", True), ("viewer", "planner", False), ("viewer", "admin", False),
    ("planner", "viewer", True), ("planner", "planner", True), ("planner", "admin", False),
    ("admin", "viewer", True), ("admin", "planner", True), ("admin", "admin", True),
    ("root", "viewer", False),  # not a role at all
])
def test_roles_rank(role: str, needed: str, allowed: bool) -> None:
    assert role_allows(role, needed) is allowed  # type: ignore[arg-type]
