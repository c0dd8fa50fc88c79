"""Fixtures for the task tests: a private data home and a fresh registry per test."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The tiny fixture tasks live beside the tests (task_fixtures.py); importlib mode
# does not put this folder on sys.path by itself.
sys.path.insert(0, str(Path(__file__).parent))
from task_fixtures import make_checkpoint  # noqa: E402


@pytest.fixture(autouse=True)
def _task_state(tmp_path, monkeypatch):
    """Cache task data under tmp_path and start each test with an empty registry."""
    from tasks import data, registry

    monkeypatch.setenv("HARNESS_DATA_HOME", str(tmp_path / "data-home"))
    data.clear_memo()
    registry.reset()
    yield
    data.clear_memo()
    registry.reset()


@pytest.fixture(scope="session")
def tiny_gpt(tmp_path_factory) -> str:
    return str(make_checkpoint(tmp_path_factory.mktemp("ckpt") / "gpt", "gpt"))


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory) -> str:
    return str(make_checkpoint(tmp_path_factory.mktemp("ckpt") / "bert", "bert"))
