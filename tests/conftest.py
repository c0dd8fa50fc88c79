"""Test-wide guards: offline hubs, and nothing written outside ``tmp_path``."""

from __future__ import annotations

import os

# Spinning OpenMP threads starve everything else on a shared 2-core machine (measured 2-30x
# slower steps); passive waits cost little. Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

REPO = Path(__file__).resolve().parents[1]
HARNESS = [sys.executable, "-m", "harness"]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Point HOME and every cache at a temporary folder so tests never touch the user's."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.setenv("MPLCONFIGDIR", str(home / "mpl"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.delenv("HARNESS_QUIET", raising=False)
    yield


def _pg_binary(name: str) -> str | None:
    """A PostgreSQL server program on PATH or in Debian's versioned folder."""
    import glob
    import shutil

    found = shutil.which(name)
    if found:
        return found
    versions = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return versions[-1] if versions else None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL cluster for the session: a temporary data folder on a free local
    port, trust authentication for user ``harness``, stopped and removed at the end.

    The server refuses to run as root, so as root it runs as user ``postgres``.
    """
    import shutil
    import subprocess
    import tempfile

    initdb, pg_ctl = _pg_binary("initdb"), _pg_binary("pg_ctl")
    if not (initdb and pg_ctl):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found; `make setup` "
                    "installs Debian's postgresql package")
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="harness-pg-"))
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres")
    data, port = root / "data", _free_port()
    try:
        subprocess.run([*as_user, initdb, "-D", str(data), "-U", "harness", "--auth=trust",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(root / "server.log"), "-w",
                        "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                              "-c max_connections=60", "start"], check=True, capture_output=True)
        yield f"postgresql://harness@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str, request: pytest.FixtureRequest) -> str:
    """The URL of a fresh, empty database of the session's PostgreSQL server."""
    import re

    import psycopg

    name = "t_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50]
    with psycopg.connect(f"{pg_server}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{pg_server}/{name}"


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray instance for the whole session (it takes 10-40 s to start here): 2 CPUs,
    a small object store and memory budget, no dashboard; shut down at the end."""
    ray = pytest.importorskip("ray")
    from harness.executors import start_ray

    start_ray(cpus=2, object_store_mb=100, memory_mb=2048)
    yield ray
    ray.shutdown()
