"""What the API stores, with SQLAlchemy 2: one SQLite file by default, a PostgreSQL URL unchanged.

Tables: `api_keys` (salted hashes only), `scenarios` (as submitted, and as validated), `plans`,
`jobs` (status, progress, timestamps, error), `results` (simulation and comparison JSON) and
`schema_version`. The schema is versioned: `open_database` creates a new database at
`SCHEMA_VERSION`, and upgrades an older one step by step (`UPGRADES`), so a newer microplan opens
a database an older one wrote; a database newer than this code is refused rather than damaged.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON, Connection, DateTime, Float, ForeignKey, Integer, LargeBinary, String, Text, create_engine, event, inspect,
    TypeDecorator, select, text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

#: The schema this code writes. Raise it with a new entry in `UPGRADES`.
SCHEMA_VERSION = 2


class DatabaseTooNew(Exception):
    """The database was written by a newer microplan (its schema version is above ours)."""


def new_id() -> str:
    """A random id for a stored row (UUID4 hex, 32 characters)."""
    return uuid.uuid4().hex


def now() -> dt.datetime:
    """The current time, UTC, timezone-aware (stored as such on PostgreSQL, naive UTC on SQLite)."""
    return dt.datetime.now(dt.timezone.utc)


class UtcDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone: it is put back on reading)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc) if value is not None else None

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    type_annotation_map = {dt.datetime: UtcDateTime}


class SchemaVersion(Base):
    __tablename__ = "schema_version"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)


class ApiKey(Base):
    """An API key: only its salt and salted hash are kept (`api.http.keys`)."""

    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)        # the public part of the key
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))                        # viewer | planner | admin
    salt: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=now)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)


class StoredScenario(Base):
    """A scenario as it was submitted (`source`, and the uploaded branch table) and as validated."""

    __tablename__ = "scenarios"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    plan_year: Mapped[int] = mapped_column(Integer)
    branch_count: Mapped[int] = mapped_column(Integer)
    source_kind: Mapped[str] = mapped_column(String(16))                 # json | upload
    source: Mapped[str] = mapped_column(Text)                            # the JSON or YAML text as given
    source_name: Mapped[str] = mapped_column(String(300), default="")    # uploaded scenario file name
    table_name: Mapped[str] = mapped_column(String(300), default="")     # uploaded branch table file name
    table_bytes: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    validated: Mapped[dict] = mapped_column(JSON)                        # Scenario.model_dump (engine units)
    key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=now)


class StoredPlan(Base):
    """A plan made from a stored scenario: its JSON (the CLI's `plan --format json`)."""

    __tablename__ = "plans"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    scenario_id: Mapped[str] = mapped_column(ForeignKey("scenarios.id"))
    policy: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lang: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16))                      # optimal | relaxed
    body: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=now)


class Job(Base):
    """Long work: its state is committed at every transition (`api.http.jobs`)."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(16))                        # plan | simulation | comparison
    scenario_id: Mapped[str] = mapped_column(ForeignKey("scenarios.id"))
    options: Mapped[dict] = mapped_column(JSON, default=dict)            # policy, lang, model, replications, seed
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=now)
    started_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime, nullable=True)
    error: Mapped[list | None] = mapped_column(JSON, nullable=True)      # problems, or the error id of a bug
    result_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    task_id: Mapped[str | None] = mapped_column(String(64), nullable=True)   # huey's task id
    resubmitted_from: Mapped[str | None] = mapped_column(String(32), nullable=True)
    key_id: Mapped[str] = mapped_column(String(32))


class StoredResult(Base):
    """A simulation's or comparison's result JSON (and a comparison's HTML reports), by job id."""

    __tablename__ = "results"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)        # the job's id
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[dict] = mapped_column(JSON)
    reports: Mapped[dict | None] = mapped_column(JSON, nullable=True)   # a comparison's HTML page by language
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime, default=now)


# ---------------------------------------------------------------- versions


def upgrade_1_to_2(connection: Connection) -> None:
    """Version 2 stores who submitted what: `key_id` on scenarios and jobs ('' for older rows)."""
    for table in ("scenarios", "jobs"):
        connection.execute(text(f"ALTER TABLE {table} ADD COLUMN key_id VARCHAR(32) NOT NULL DEFAULT ''"))


#: version n → the step that makes a version-n database version n + 1.
UPGRADES: dict[int, Callable[[Connection], None]] = {1: upgrade_1_to_2}


def stored_version(connection: Connection) -> int | None:
    """The schema version a database holds; None for an empty database."""
    if not inspect(connection).has_table("schema_version"):
        return None
    return connection.execute(select(SchemaVersion.version)).scalar_one_or_none()


def upgrade(connection: Connection) -> int:
    """Create the tables of a new database, or run every upgrade step from its version; the version after."""
    version = stored_version(connection)
    if version is None:
        Base.metadata.create_all(connection)
        connection.execute(SchemaVersion.__table__.insert().values(version=SCHEMA_VERSION))
        return SCHEMA_VERSION
    if version > SCHEMA_VERSION:
        raise DatabaseTooNew(f"the database has schema version {version}, this microplan knows up to {SCHEMA_VERSION}; "
                             "upgrade microplan")
    while version < SCHEMA_VERSION:
        UPGRADES[version](connection)
        version += 1
        connection.execute(SchemaVersion.__table__.update().values(version=version))
    return version


# ---------------------------------------------------------------- engine


@dataclass(frozen=True)
class Database:
    """An engine and its session factory."""

    engine: Engine
    session: sessionmaker[Session]

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite in WAL mode with a busy timeout, as workers write job state beside the server."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def open_database(url: str) -> Database:
    """Connect, create or upgrade the schema (`upgrade`), and return the database."""
    engine = make_engine(url)
    with engine.begin() as connection:
        upgrade(connection)
    return Database(engine, sessionmaker(engine, expire_on_commit=False))
