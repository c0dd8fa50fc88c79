"""The hub probe sets the offline variables only when the hub is unreachable."""

from __future__ import annotations

import os

import pytest

from harnesskit import hub


@pytest.fixture
def no_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    hub.hub_reachable.cache_clear()
    yield
    hub.hub_reachable.cache_clear()


def test_unreachable_hub_turns_offline(no_flags, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub, "HUB_HOST", "hub.invalid")  # RFC 2606: never resolves
    assert hub.go_offline_if_unreachable() is True
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["HF_DATASETS_OFFLINE"] == "1"


def test_user_flag_is_respected_without_probing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(hub, "hub_reachable", lambda: pytest.fail("probed"))
    assert hub.go_offline_if_unreachable() is False
