"""Which checkpoints a sweep sees and selects (complete ones only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.sweep import expand_models, list_checkpoints, select
from harnesskit.errors import HarnessError


def fake_run(root: Path, steps: list[int]) -> Path:
    for s in steps:
        d = root / "checkpoints" / f"step-{s:07d}"
        d.mkdir(parents=True)
        (d / "MANIFEST.json").write_text("{}")
    (root / "checkpoints" / ".tmp-step-0000999-123").mkdir()     # a writer at work
    (root / "checkpoints" / "step-0000950").mkdir()               # no manifest: not complete
    (root / "latest").write_text(f"checkpoints/step-{steps[-1]:07d}\n")
    return root


def test_listing_and_selection(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "run", [100, 200, 300, 400, 600])
    ckpts = list_checkpoints(run)
    assert [c.step for c in ckpts] == [100, 200, 300, 400, 600]
    steps = lambda spec: [c.step for c in select(ckpts, spec, run=run)]  # noqa: E731
    assert steps("all") == [100, 200, 300, 400, 600]
    assert steps("last:2") == [400, 600] and steps("last:9") == steps("all")
    assert steps("every:200") == [200, 400, 600]
    assert steps("step-0000300, 100,step-0000300") == [100, 300]
    for bad, msg in (("last:0", "positive number"), ("every:x", "positive number"),
                     ("500", "no checkpoint at step 500"), ("latest", "cannot read"),
                     (",", "names no checkpoint")):
        with pytest.raises(HarnessError, match=msg):
            select(ckpts, bad, run=run)
    assert list_checkpoints(tmp_path / "nothing") == []


def test_expand_models(tmp_path: Path) -> None:
    run = fake_run(tmp_path / "run", [10, 20])
    assert expand_models([str(run)], None) == [str(run)]
    assert expand_models([str(run)], "last:1") == [str(run / "checkpoints" / "step-0000020")]
    with pytest.raises(HarnessError, match="needs run directories"):
        expand_models([str(run / "checkpoints" / "step-0000020")], "all")
    with pytest.raises(HarnessError, match="needs run directories"):
        expand_models(["hf:/x"], "all")


def test_watch_refuses_what_is_not_a_run(tmp_path: Path) -> None:
    from harness.watch import WatchConfig
    from harnesskit.errors import HarnessError

    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("x")
    (tmp_path / "f.txt").write_text("x")
    for bad in (tmp_path / "notes", tmp_path / "f.txt"):
        with pytest.raises(HarnessError, match="is not a run folder"):
            WatchConfig(run=bad, tasks="bbc-news")
    WatchConfig(run=tmp_path / "not-yet", tasks="bbc-news")  # a run about to start: allowed


def test_read_curve_thins_and_rereads_only_when_the_log_changes(tmp_path: Path) -> None:
    import json

    from harness.curves import read_curve

    log = tmp_path / "metrics.jsonl"
    rows = [{"step": s, "loss": 5.0 - s / 1000} for s in range(1000)]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 10')  # torn line
    first = read_curve(log)
    assert first is read_curve(log)  # same file, same stamp: not read again
    assert 200 <= len(first["step"]) <= 202 and first["step"][-1] == 999
    log.write_text(json.dumps({"step": 1, "val_loss": 2.0}) + "\n")
    assert read_curve(log) == {"step": [1], "loss": [None], "val_loss": [2.0]}
    assert read_curve(tmp_path / "absent.jsonl") is None
