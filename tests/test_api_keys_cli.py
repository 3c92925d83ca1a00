"""`microplan keys create`: a key printed once, only its salted hash stored; a bad --db exits 2 in one line."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def test_keys_create_prints_the_key_once_and_stores_only_a_hash(cli, tmp_path: Path) -> None:
    db = tmp_path / "api.sqlite"
    result = cli("keys", "create", "--role", "planner", "--name", "erp", "--db", f"sqlite:///{db}", "--data", str(tmp_path))
    assert result.code == 0, result.err
    key = result.out.strip()
    assert key.startswith("mpk_") and len(key) > 30
    assert "shown this once" in result.err and key not in result.err
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert key not in dump and key.split("_")[-1] not in dump  # the secret is nowhere in the database
    assert "planner" in dump and "erp" in dump


def test_keys_create_with_an_unreachable_database_exits_2_in_one_line(cli, tmp_path: Path) -> None:
    result = cli("keys", "create", "--role", "viewer", "--name", "x", "--db", "postgresql://nobody@127.0.0.1:1/x",
                 "--data", str(tmp_path))
    assert result.code == 2
    lines = [line for line in result.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("--db: cannot open the database") and "Traceback" not in result.err
