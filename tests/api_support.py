"""Real servers for the API tests: `microplan serve` as a child process on a loopback port, over a
real SQLite file or a real PostgreSQL server (a temporary cluster started here from Debian's
binaries; the PostgreSQL cases are skipped only when those binaries are absent).

Test modules import the fixtures they use: `from api_support import api_server, postgres  # noqa: F401`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("sqlite", "postgresql")
#: Limits of the test servers (small enough to reach in a test, large enough for the city bank).
TEST_LIMITS = {
    "MICROPLAN_MAX_BRANCHES": "100",
    "MICROPLAN_MAX_REPLICATIONS": "1000",
    "MICROPLAN_MAX_DAYS": "3660",
    "MICROPLAN_RATE_PER_MINUTE": "100000",
    "MICROPLAN_SYNC_BRANCHES": "50",
    "MICROPLAN_PLAN_WORKERS": "2",
    "MICROPLAN_JOB_WORKERS": "2",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- PostgreSQL


def postgres_bin() -> Path | None:
    """Debian's PostgreSQL binaries (newest version), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parent.parent.name))
    return Path(found[-1]).parent if found else None


@dataclass
class PostgresCluster:
    bindir: Path
    data: Path
    port: int
    as_user: list[str]
    count: int = 0

    def new_database(self) -> str:
        """A fresh database on the cluster; its SQLAlchemy URL."""
        self.count += 1
        name = f"microplan_{os.getpid()}_{self.count}"
        subprocess.run([*self.as_user, str(self.bindir / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "microplan", name],
                       check=True, capture_output=True)
        return f"postgresql://microplan@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A temporary PostgreSQL cluster on a free loopback port (as the `postgres` user when run as root)."""
    bindir = postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL binaries not installed (apt-get install postgresql)")
    base = Path(tempfile.mkdtemp(prefix="microplan-pg-"))  # not under pytest's 0700 folder: the postgres user must reach it
    data, sockets = base / "data", base / "sock"
    sockets.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root
        user = pwd.getpwnam("postgres")
        for path in (base, sockets):
            os.chown(path, user.pw_uid, user.pw_gid)
        os.chmod(base, 0o755)
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "microplan", "--auth=trust", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True)
    port = free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"],
                   check=True, capture_output=True)
    try:
        yield PostgresCluster(bindir, data, port, as_user)
    finally:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def database_url(backend: str, request: pytest.FixtureRequest, folder: Path) -> str:
    """A fresh database of `backend`: a SQLite file in `folder`, or a new database on the test cluster."""
    if backend == "sqlite":
        return f"sqlite:///{folder / 'microplan.sqlite'}"
    return request.getfixturevalue("postgres").new_database()


# ---------------------------------------------------------------- the server


@dataclass
class ApiServer:
    """`microplan serve` in a child process; keys for every role once started."""

    data: Path
    db_url: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen | None = None
    log: list[str] = field(default_factory=list)
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> "ApiServer":
        self.port = free_port()
        env = {**os.environ, **TEST_LIMITS, **self.env, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(self.port), "--db", self.db_url, "--data", str(self.data)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        threading.Thread(target=self._read_log, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server stopped:\n" + "\n".join(self.log))
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("the server did not answer /health:\n" + "\n".join(self.log))
        admin = next((m.group(0) for line in self.log if (m := re.search(r"mpk_[0-9a-f]+_[A-Za-z0-9_-]+", line))), None)
        if admin is not None:
            self.keys["admin"] = admin
        for role in ("planner", "viewer"):
            if role not in self.keys:
                answer = httpx.post(f"{self.url}/keys", json={"role": role, "name": f"test {role}"}, headers=self.auth("admin"))
                answer.raise_for_status()
                self.keys[role] = answer.json()["key"]
        return self

    def _read_log(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line.rstrip())

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def client(self, role: str | None = "planner", timeout: float = 120) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.auth(role) if role else {}, timeout=timeout)

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, graceful: bool = True) -> None:
        """SIGTERM and wait (graceful), or kill -9 (its workers die with it: Linux's parent-death signal)."""
        if not graceful:
            self.kill()
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_job(self, job_id: str, until: tuple[str, ...] = ("succeeded", "failed", "cancelled", "interrupted"),
                 timeout: float = 300) -> dict:
        """Poll GET /jobs/{id} until its status is one of `until`."""
        deadline = time.monotonic() + timeout
        with self.client("viewer") as client:
            while time.monotonic() < deadline:
                job = client.get(f"/jobs/{job_id}").json()
                if job["status"] in until:
                    return job
                time.sleep(0.2)
        raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s")


@pytest.fixture(scope="module", params=BACKENDS)
def api_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    """One server per test module and backend (SQLite file, PostgreSQL server)."""
    folder = tmp_path_factory.mktemp(f"api-{request.param}")
    server = ApiServer(folder, database_url(request.param, request, folder)).start()
    try:
        yield server
    finally:
        server.stop(graceful=False)  # quick; a graceful stop is exercised by the rate-limit test


def city_json() -> dict:
    """The bundled city bank's 2014 scenario as a request body (branch table inline)."""
    from scenarios import load_scenario
    from scenarios.loading import scenario_to_dict

    return scenario_to_dict(load_scenario("city-2014"))


def small_simulation(replications: int = 2, accounts: int = 50, days: int = 30) -> dict:
    """The city scenario with a small, quick simulation section."""
    data = city_json()
    data["simulation"] = {"seed": 7, "replications": replications, "days": days,
                          "revolving_credit": {"accounts": accounts}}
    return data


def small_bank(branches: int = 4) -> dict:
    """A synthetic bank of a few branches with a quick simulation: plans, letters and simulations in a blink."""
    from scenarios.generate import synthetic_bank

    data = synthetic_bank(branches, 1)
    data["simulation"] = {"seed": 7, "replications": 2, "days": 30, "revolving_credit": {"accounts": 50}}
    return data


def shows_no_traceback(text: str) -> bool:
    """No Python traceback text in an answer."""
    return "Traceback" not in text and 'File "' not in text and ".py\", line" not in text
