"""The server's settings and limits: defaults here, `MICROPLAN_*` environment variables, then the
command line (`microplan serve`). One frozen object, passed to the app factory and the workers."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

#: Environment variable → settings field (README "The HTTP API", "Limits of the API").
ENVIRONMENT: dict[str, str] = {
    "MICROPLAN_DB": "db_url",
    "MICROPLAN_DATA": "data_dir",
    "MICROPLAN_QUEUE": "queue_url",
    "MICROPLAN_DASK": "dask_address",
    "MICROPLAN_MAX_BODY_BYTES": "max_body_bytes",
    "MICROPLAN_MAX_BRANCHES": "max_branches",
    "MICROPLAN_MAX_REPLICATIONS": "max_replications",
    "MICROPLAN_MAX_DAYS": "max_days",
    "MICROPLAN_RATE_PER_MINUTE": "rate_per_minute",
    "MICROPLAN_SYNC_BRANCHES": "sync_branches",
    "MICROPLAN_PLAN_WORKERS": "plan_workers",
    "MICROPLAN_JOB_WORKERS": "job_workers",
}


def default_data_dir() -> Path:
    """`$XDG_DATA_HOME/microplan`, else `~/.local/share/microplan`: where the SQLite files live."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "microplan"


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Where things are stored and how much one request may ask for."""

    data_dir: Path = Path()                 # SQLite database and queue files; set by `resolved()`
    db_url: str = ""                        # SQLAlchemy URL; "" → sqlite file in data_dir
    queue_url: str = ""                     # huey store: "" → SQLite file in data_dir; redis://… → Redis
    dask_address: str | None = None         # simulations on this Dask scheduler instead of local processes
    max_body_bytes: int = 5 * 1024 * 1024   # request body (→ 413)
    max_branches: int = 5_000               # branches per scenario (→ 422 `branches`)
    max_replications: int = 10_000          # Monte Carlo replications (→ 422 `replications`)
    max_days: int = 3_660                   # simulated days, warm-up included (→ 422 `simulation.days`)
    rate_per_minute: int = 600              # requests per key per minute (→ 429)
    sync_branches: int = 500                # POST /plans answers 201 up to this many branches, else 202 + job
    plan_workers: int = 2                   # processes that make plans answered at once (201) and exports
    job_workers: int = 2                    # huey worker processes (queued plans, simulations, comparisons)

    def resolved(self) -> "ApiSettings":
        """Fill the data directory and the default SQLite URLs."""
        data_dir = Path(self.data_dir) if str(self.data_dir) not in ("", ".") else default_data_dir()
        db_url = self.db_url or f"sqlite:///{data_dir / 'microplan.sqlite'}"
        queue_url = self.queue_url or str(data_dir / "queue.sqlite")
        return replace(self, data_dir=data_dir, db_url=db_url, queue_url=queue_url)

    @classmethod
    def from_environment(cls, **overrides: object) -> "ApiSettings":
        """Defaults, then `MICROPLAN_*` variables, then `overrides` that are not None; resolved."""
        values: dict[str, object] = {}
        types = {name: type(getattr(cls(), name)) for name in ENVIRONMENT.values()}
        for variable, name in ENVIRONMENT.items():
            text = os.environ.get(variable)
            if text:
                values[name] = _typed(variable, text, types[name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data_dir" in values:
            values["data_dir"] = Path(str(values["data_dir"]))
        return cls(**values).resolved()  # type: ignore[arg-type]


def _typed(variable: str, text: str, kind: type) -> object:
    """An environment value as its field's type; a positive whole number where a limit is meant."""
    if kind is int:
        if not text.strip().isdigit() or int(text) < 1:
            raise ValueError(f"{variable}: must be a whole number ≥ 1 (got {text!r})")
        return int(text)
    return text
