"""Issue 11, one test per case seen by a new user: each failed on the main branch before the
fix (a traceback, a silent wrong number, a leftover file) and passes now."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main

sys.path.insert(0, str(Path(__file__).parent))
import test_evaluate_fixtures as fx  # noqa: E402


def cli(capsys: pytest.CaptureFixture[str], *args: object) -> tuple[int, str, list[str]]:
    """Run ``harness ARGS`` in this process: (exit code, stdout, stderr lines)."""
    capsys.readouterr()
    try:
        main([str(a) for a in args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    cap = capsys.readouterr()
    return code, cap.out, cap.err.splitlines()


def one_line_error(result: tuple[int, str, list[str]], *needles: str) -> str:
    code, _, err = result
    assert code == 2, err
    assert len(err) == 1 and err[0].startswith("harness: error: "), err
    for needle in needles:
        assert needle in err[0], err[0]
    return err[0]


@pytest.fixture
def task_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    yield from fx.registered_tasks(tmp_path, monkeypatch)


@pytest.fixture(scope="module")
def gpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fx.make_checkpoint(tmp_path_factory.mktemp("ckpt") / "gpt", "gpt")


def _make_read_only(path: Path) -> bool:
    """Read-only for this user: chmod for ordinary users, the immutable flag for root."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return True
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    return done.returncode == 0


# ----- tracebacks instead of one line -------------------------------------------------

def test_read_only_store_is_refused_before_any_model_work(capsys, gpt, task_dir, tmp_path):
    from leaderboards.store import open_store

    db = tmp_path / "ro" / "harness.sqlite"
    with open_store(db):
        pass
    if not _make_read_only(db):
        pytest.skip("cannot make a file read-only here")
    try:
        res = cli(capsys, "eval", "--model", gpt, "--tasks", "fixture-topics", "--include",
                  task_dir, "--out", tmp_path / "out", "--db", db, "--no-baselines")
    finally:
        subprocess.run(["chattr", "-i", str(db)], capture_output=True)
        db.chmod(0o644)
    one_line_error(res, "not writable")
    assert not list((tmp_path / "out").rglob("predictions*")), "model work ran first"


def test_db_pointing_at_a_folder(capsys, gpt, task_dir, tmp_path):
    res = cli(capsys, "eval", "--model", gpt, "--tasks", "fixture-topics", "--include", task_dir,
              "--out", tmp_path / "out", "--db", tmp_path)
    one_line_error(res, "is a folder")


def test_non_utf8_task_yaml(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes("name: caf\xe9\nfamily: classification\n".encode("latin-1"))
    one_line_error(cli(capsys, "tasks", "validate", bad), "not UTF-8")


def test_baseline_that_cannot_fit_is_skipped_and_the_model_still_evaluated(gpt, tmp_path,
                                                                           monkeypatch):
    import harness
    from tasks import data, registry

    monkeypatch.setenv("HARNESS_DATA_HOME", str(tmp_path / "dh"))
    data.clear_memo()
    registry.reset()
    folder = tmp_path / "two"
    folder.mkdir()
    fx._write_jsonl(folder / "train.jsonl", [{"text": "alpha", "label": "a"},
                                            {"text": "beta", "label": "b"}])
    fx._write_jsonl(folder / "test.jsonl", [{"text": f"alpha {i}", "label": "ab"[i % 2]}
                                           for i in range(4)])
    (folder / "two.yaml").write_text(
        "name: two-examples\nfamily: classification\nsource: {jsonl: {train: train.jsonl, "
        "test: test.jsonl}}\nfields: {input: text, label: label}\nmetrics: [accuracy]\n"
        "finetune: {epochs: 1, batch_size: 2}\n")
    results = harness.evaluate([gpt], "two-examples", include=[folder], out=tmp_path / "r",
                               n_bootstrap=0)
    by_model = {r.data["model"]["id"]: r.data for r in results}
    tfidf = next(v for k, v in by_model.items() if "tfidf" in k)
    assert tfidf["status"] == "ok"  # min_df=2 left no term: sklearn raised, the run died
    model = next(v for k, v in by_model.items() if "baseline" not in k)
    assert model["status"] == "ok" and model["metrics"]["accuracy"]["score"] is not None
    data.clear_memo()
    registry.reset()


def test_baseline_that_cannot_fit_says_why():
    from tasks.baselines import BaselineSkipped, tfidf_logreg
    from tasks.example import Example

    one_label = [Example(id=str(i), input=f"text {i}", references=["a"], label="a")
                 for i in range(3)]
    with pytest.raises(BaselineSkipped, match="at least 2 labels"):
        tfidf_logreg(one_label, one_label)


@pytest.mark.parametrize("bad, needle", [("epochs=abc", "must be an integer"),
                                         ("epochs=-1", "must be at least 1"),
                                         ("lr=nan", "must be finite"),
                                         ("eda=100000", "between 0 and 64")])
def test_bad_fine_tuning_override(capsys, gpt, task_dir, tmp_path, bad, needle):
    res = cli(capsys, "eval", "--model", gpt, "--tasks", "fixture-topics", "--include", task_dir,
              "--out", tmp_path / "out", "--ft", bad)
    one_line_error(res, needle)
    assert not (tmp_path / "out").exists()


def test_finetune_limit_zero(capsys, gpt, task_dir, tmp_path):
    res = cli(capsys, "finetune", "--model", gpt, "--task", "fixture-topics", "--include",
              task_dir, "--out", tmp_path / "ft", "--limit", "0")
    one_line_error(res, "--limit")
    assert not (tmp_path / "ft").exists()


def test_lr_nan_is_refused_and_leaves_no_run_folder(capsys, tmp_path):
    one_line_error(cli(capsys, "pretrain", "--out", tmp_path / "run", "--set", "train.lr=nan"),
                   "train.lr=nan", "finite")
    assert not (tmp_path / "run").exists()


def test_run_that_fails_while_preparing_data_leaves_no_empty_folder(capsys, tmp_path):
    src = tmp_path / "tiny.jsonl"
    src.write_text('{"text": "alpha"}\n{"text": "beta"}\n')
    one_line_error(cli(capsys, "pretrain", "--out", tmp_path / "run", "--corpus", src),
                   "cleaning left 0")
    assert not (tmp_path / "run").exists()


def test_disk_full_is_one_line_and_leaves_nothing_half_written(tmp_path):
    """A 64 KiB tmpfs in a private mount namespace (skipped where namespaces are off)."""
    probe = subprocess.run(["unshare", "-Urm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("no user/mount namespaces here")
    src = tmp_path / "big.txt"
    src.write_text("\n\n".join(f"Paragraph {i}: the committee met again to discuss the budget "
                               f"and the new library, item {i}." for i in range(3000)))
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = (f"mount -t tmpfs -o size=64k tmpfs {mnt} && "
              f"{sys.executable} -m harness --quiet data build {src} --out {mnt}/corpus "
              "--no-exact-dedup --no-paragraph-dedup --no-near-dedup --no-langid --no-quality; "
              f"rc=$?; ls -A {mnt} >&2; exit $rc")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(["unshare", "-Urm", "sh", "-c", script], capture_output=True,
                          text=True, timeout=300, env=env)
    err = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(err) == 1 and "No space left on device" in err[0], done.stderr  # ls printed nothing


# ----- promised and broken ------------------------------------------------------------

def test_score_list_without_metric(capsys):
    code, out, err = cli(capsys, "score", "--list")
    assert code == 0 and "bleu" in out.split() and not err


def test_quiet_accepted_after_the_subcommand(capsys, monkeypatch):
    code, out, _ = cli(capsys, "score", "--list", "--quiet")
    assert code == 0 and os.environ.get("HARNESS_QUIET") == "1"
    monkeypatch.delenv("HARNESS_QUIET")
    code, out, _ = cli(capsys, "config", "show", "--quiet", "--json")
    assert code == 0 and json.loads(out)["model"]


def test_negative_bootstrap_rejected(capsys, tmp_path):
    (tmp_path / "h.txt").write_text("a b c\n")
    res = cli(capsys, "score", "--metric", "bleu", "--hyp", tmp_path / "h.txt", "--ref",
              tmp_path / "h.txt", "--n-bootstrap", "-5")
    one_line_error(res, "--n-bootstrap")


def test_validate_rejects_an_unknown_metric_option(capsys, tmp_path):
    fx.write_tasks(tmp_path)
    text = (tmp_path / "cls.yaml").read_text().replace(
        "metrics: [accuracy, macro_f1]", "metrics: [{name: accuracy, options: {nosuch: 1}}]")
    (tmp_path / "cls.yaml").write_text(text)
    code, out, err = cli(capsys, "tasks", "validate", tmp_path / "cls.yaml")
    assert code == 2 and "takes no option 'nosuch'" in out and len(err) == 1


# ----- data ---------------------------------------------------------------------------

def test_bbc_articles_read_without_mojibake(tmp_path, monkeypatch):
    from pretrain.data import sources
    from pretrain.data.textio import ReadStats

    art = tmp_path / "business" / "001.txt"
    art.parent.mkdir()
    art.write_text("Deal worth £13.8m\n\nThe firm paid £13.8m for the café chain.\n",
                   encoding="utf-8")
    monkeypatch.setattr(sources, "bbc_train_files", lambda: [art])
    stats = ReadStats()
    (doc,) = sources.iter_bbc(stats)
    assert "£13.8m" in doc["text"] and "Â" not in doc["text"]


def test_mojibake_is_repaired_and_counted():
    from pretrain.data.clean import build_steps, run_pipeline
    from pretrain.data.step import CleanConfig

    cfg = CleanConfig(exact_dedup=False, paragraph_dedup=False, langid=False, quality=False,
                      near_dedup=False)
    steps = build_steps(cfg)
    docs = [{"id": "a", "text": "It cost Â£13.8m at the cafÃ©."}, {"id": "b", "text": "Fine £5."}]
    out = list(run_pipeline(docs, steps))
    assert [d["text"] for d in out] == ["It cost £13.8m at the café.", "Fine £5."]
    fix = next(s for s in steps if s.name == "fix_mojibake").summary()
    assert fix["docs_fixed"] == 1 and fix["chars_fixed"] == 2


def test_killed_build_leaves_no_temporary_folder_for_good(tmp_path):
    from pretrain.data.corpus import build_corpus
    from pretrain.data.step import CleanConfig

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a PID that no longer runs: what a killed `data build` leaves behind
    stale = tmp_path / f".corpus.tmp{dead.pid}"
    (stale / "shards").mkdir(parents=True)
    src = tmp_path / "src.txt"
    src.write_text("\n\n".join(f"The committee met on day {i} to discuss the budget and the "
                               f"plans for the library, said the report number {i}."
                               for i in range(40)))
    build_corpus(str(src), tmp_path / "corpus", clean=CleanConfig(min_words=5, langid=False),
                 vocab_size=300)
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "src.txt"]


# ----- noise and friction -------------------------------------------------------------

def test_files_and_build_folders_get_the_users_umask(tmp_path):
    from harnesskit.fsutil import temp_sibling, write_text_atomic

    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "result.json", "{}")
        folder = temp_sibling(tmp_path / "corpus")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "result.json").stat().st_mode) == 0o644
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_progress_off_a_terminal_is_plain_lines(monkeypatch):
    from harnesskit.progress import bar

    monkeypatch.setenv("HARNESS_PROGRESS_INTERVAL", "0")
    sink = io.StringIO()
    for _ in bar(range(3), desc="work", file=sink):
        pass
    text = sink.getvalue()
    assert "\r" not in text and text.splitlines()[-1].startswith("work: 3/3 (100%)")
    quiet_sink = io.StringIO()
    monkeypatch.setenv("HARNESS_PROGRESS_INTERVAL", "30")
    for _ in bar(range(3), desc="short", file=quiet_sink):
        pass
    assert quiet_sink.getvalue() == ""  # shorter than one interval: nothing at all


def test_tokenizer_training_writes_nothing_to_stdout(capfd):
    from pretrain.data.tokenizer import train_tokenizer

    train_tokenizer(["the cat sat on the mat"] * 50, "gpt", 300, min_frequency=1)
    assert capfd.readouterr().out == ""


def test_tasks_list_on_a_fresh_data_home_builds_nothing(capsys, tmp_path, monkeypatch):
    from tasks import data, registry

    home = tmp_path / "fresh"
    monkeypatch.setenv("HARNESS_DATA_HOME", str(home))
    data.clear_memo()
    registry.reset()
    code, out, _ = cli(capsys, "tasks", "list", "--json")
    rows = json.loads(out)
    assert code == 0 and rows and not any(r["built"] for r in rows)
    assert not (home / "tasks").exists()
    registry.reset()


def test_resuming_a_finished_run_reports_its_last_validation(tmp_path):
    from pretrain.engine.trainer import last_validation

    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text(
        '{"step": 10, "loss": 3.1, "val_loss": 3.0, "val_bpb": 2.5}\n'
        '{"step": 20, "loss": 2.9, "val_loss": 2.75, "val_bpb": 2.3}\n{"step": 25, "loss": 2.8}\n')
    assert last_validation(run) == (2.75, 2.3)
    assert last_validation(tmp_path / "nothing") == (None, None)


# ----- MFU ----------------------------------------------------------------------------

@pytest.mark.parametrize("arch", ["gpt", "bert"])
def test_flops_per_token_matches_torch_flop_counter(arch):
    """The 6N + 12LCT estimate against torch's own count of the matmuls of a training step
    (bf16 autocast, whose attention is explicit matmuls that the counter sees)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from pretrain.engine.model import build_model, flops_per_token
    from pretrain.engine.presets import ModelConfig

    cfg = ModelConfig(arch=arch, n_layer=2, n_head=4, n_embd=64, block_size=64, vocab_size=512)
    model = build_model(cfg)
    idx = torch.randint(5, 512, (2, 64))
    with FlopCounterMode(display=False) as counter, torch.autocast("cpu", dtype=torch.bfloat16):
        _, loss = model(idx, idx)
        loss.backward()
    counted = counter.get_total_flops() / idx.numel()
    assert flops_per_token(cfg, model.num_params(True)) == pytest.approx(counted, rel=0.03)


def test_mfu_divides_by_the_fastest_precision_of_the_hardware(monkeypatch):
    from pretrain.engine import logging as runlog

    monkeypatch.delenv("HARNESS_PEAK_FLOPS", raising=False)
    rates = {"fp32": 8e9, "bf16": 4e8}  # this CPU: bf16 matmuls are emulated, 20x slower
    monkeypatch.setattr(runlog, "measure_peak_flops", lambda p, device="cpu", seconds=0.3: rates[p])
    assert runlog.hardware_peak_flops() == 8e9
    tokens_per_s, flops_per_token = 100.0, 7.2e6
    meter = runlog.Meter(flops_per_token, runlog.hardware_peak_flops())
    meter.tokens, meter.seconds = tokens_per_s, 1.0
    assert meter.report()[1] == pytest.approx(0.09)  # 1.8 (180%) against the bf16 rate
