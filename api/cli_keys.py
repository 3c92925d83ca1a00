"""`microplan keys create --role viewer|planner|admin --name NAME`: an API key, printed once.

Only a salt and the salted hash of the key are stored (`api.http.keys`); a lost key cannot be
shown again — create a new one. Uses the same database as `serve` (`--db`, `$MICROPLAN_DB`,
else the SQLite file in the data folder).
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from api.cli_common import fail, write_output

keys_app = typer.Typer(help="API keys for the HTTP API (`microplan serve`).", no_args_is_help=True, pretty_exceptions_enable=False)


class RoleOption(str, Enum):
    viewer = "viewer"
    planner = "planner"
    admin = "admin"


@keys_app.command("create")
def keys_create(
    role: Annotated[RoleOption, typer.Option("--role", help="viewer (read), planner (submit and read) or admin (keys too)")],
    name: Annotated[str, typer.Option("--name", help="who or what uses the key, e.g. 'ERP 接口'")],
    db: Annotated[Optional[str], typer.Option("--db", help="SQLAlchemy URL (default: $MICROPLAN_DB, else the data folder's SQLite file)")] = None,
    data: Annotated[Optional[Path], typer.Option("--data", help="data folder (default: $MICROPLAN_DATA, else ~/.local/share/microplan)")] = None,
) -> None:
    """Create an API key and print it once (stdout); the server keeps only its salted hash.

    Example: microplan keys create --role planner --name erp
    """
    from api.cli_serve import open_store
    from api.http.keys import create_key

    if not name.strip() or len(name) > 200:
        fail([f"--name: must be 1–200 characters (got {name!r})"])
    _, database = open_store(db, data)
    key, who = create_key(database, role.value, name)
    write_output(key + "\n", None)
    print(f"created {who.role} key {who.id} for {name!r}; it is shown this once", file=sys.stderr)
