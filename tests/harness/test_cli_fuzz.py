"""A fuzz test over the CLI: well over 100 bad invocations, generated from every command's
options and from missing and damaged copies of every kind of file the CLI reads
(checkpoints, corpora, YAML tasks, JSONL, hypothesis/reference files, stores, hf:
folders). Each must end with exit code 2, exactly one line on stderr, and no file left
half-written. They run in this process (a few through a real subprocess too)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main

sys.path.insert(0, str(Path(__file__).parent))
import test_evaluate_fixtures as fx  # noqa: E402

COMMANDS = [["data", "list"], ["data", "build", "x"], ["data", "report", "x"], ["pretrain"],
            ["export"], ["config", "show"], ["tasks", "list"], ["tasks", "show", "x"],
            ["tasks", "validate", "x"], ["finetune"], ["eval"], ["score"],
            ["leaderboard", "show"], ["leaderboard", "compare", "a", "b"], ["quickstart"],
            ["watch", "x"], ["leaderboard", "copy"], ["leaderboard", "composite"]]
TEMP_MARKS = (".tmp", ".old", ".harness-probe")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Good and damaged inputs of every kind, written once."""
    root = tmp_path_factory.mktemp("fuzz")
    w: dict[str, Path] = {"root": root, "tasks": fx.write_tasks(root / "tasks")}
    w["ckpt"] = fx.make_checkpoint(root / "ckpt", "gpt")
    for name, damage in _CKPT_DAMAGE.items():
        w[f"ckpt-{name}"] = root / f"ckpt-{name}"
        shutil.copytree(w["ckpt"], w[f"ckpt-{name}"])
        damage(w[f"ckpt-{name}"])
    _files(root, w)
    _hf_folders(root, w)
    return w


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


_CKPT_DAMAGE = {
    "truncated": lambda d: _truncate(d / "model.safetensors"),
    "manifest": lambda d: (d / "MANIFEST.json").write_text("{not json"),
    "config": lambda d: (d / "config.json").write_text('{"model": '),
    "no-tokenizer": lambda d: (d / "tokenizer.json").unlink(),
    "no-weights": lambda d: (d / "model.safetensors").unlink(),
    "flipped": lambda d: (d / "model.safetensors").write_bytes(
        (d / "model.safetensors").read_bytes()[:-4] + b"\0\0\0\1"),
}


def _files(root: Path, w: dict[str, Path]) -> None:
    def put(name: str, data: str | bytes) -> None:
        w[name] = root / name
        if isinstance(data, bytes):
            w[name].write_bytes(data)
        else:
            w[name].write_text(data)

    put("hyp.txt", "the cat sat\non the mat\n")
    put("ref3.txt", "the cat sat\non the mat\nagain\n")
    put("binary.txt", bytes(range(256)) * 8)
    put("empty.txt", "")
    put("broken.jsonl", '{"text": "fine"}\n{"text": broken\n')
    put("nonobject.jsonl", '["a list"]\n')
    put("nofield.jsonl", '{"body": "no text field"}\n')
    put("lm-broken.jsonl", '{"token_logprobs": [-1.0], "n_bytes": 3}\n{oops\n')
    put("lm-keys.jsonl", '{"something": 1}\n')
    put("malformed.yaml", "name: [unclosed\nfamily: qa\n")
    put("latin1.yaml", "name: caf\xe9\n".encode("latin-1"))
    put("unknown-key.yaml", "name: x\nfamily: qa\nbogus: 1\n")
    put("not-a-store.sqlite", "this is not a database\n")
    put("truncated.sqlite", b"SQLite format 3\x00" + b"\x00" * 50)
    put("odd.suffix", "text\n")
    put("bad-metric.yaml", (w["tasks"] / "cls.yaml").read_text().replace(
        "metrics: [accuracy, macro_f1]", "metrics: [nosuch_metric]"))
    put("bad-option.yaml", (w["tasks"] / "cls.yaml").read_text().replace(
        "metrics: [accuracy, macro_f1]", "metrics: [{name: bleu, options: {tokenize: nope}}]"))
    w["yaml-folder"] = root / "yaml-folder"
    w["yaml-folder"].mkdir()
    (w["yaml-folder"] / "broken.yaml").write_text("name: [unclosed\n")
    w["dir"] = root / "a-folder"
    w["dir"].mkdir()


def _hf_folders(root: Path, w: dict[str, Path]) -> None:
    from hf_fixtures import tiny_hf_encoder

    good = tiny_hf_encoder(root / "hf-good")
    damages = {
        "config": lambda d: (d / "config.json").write_text("{nope"),
        "truncated": lambda d: _truncate(d / "model.safetensors"),
        "pickle": lambda d: (d / "model.safetensors").rename(d / "pytorch_model.bin"),
        "no-tokenizer": lambda d: [p.unlink() for p in d.iterdir()
                                   if p.name not in ("config.json", "model.safetensors")],
        "no-weights": lambda d: (d / "model.safetensors").unlink(),
    }
    for name, damage in damages.items():
        w[f"hf-{name}"] = root / f"hf-{name}"
        shutil.copytree(good, w[f"hf-{name}"])
        damage(w[f"hf-{name}"])


def invocations(w: dict[str, Path]) -> list[list[str]]:
    """Every bad invocation, as argument lists (paths as strings)."""
    t, out, ck = str(w["tasks"]), str(w["root"] / "out"), str(w["ckpt"])
    ev = ["eval", "--tasks", "fixture-topics", "--include", t, "--out", out]
    cases: list[list[str]] = []
    # unknown options and bad option values, on every command
    cases += [[*c, "--no-such-option"] for c in COMMANDS]
    cases += [[*c, "--quiet", "--bogus=1"] for c in COMMANDS]
    cases += [["nosuchcommand"], ["tasks", "nosuch"], ["data", "nosuch"], ["leaderboard", "x"]]
    cases += [[*ev, "--model", ck, *bad] for bad in (
        ["--limit", "0"], ["--limit", "-3"], ["--limit", "abc"], ["--seeds", "a,b"],
        ["--mode", "bogus"], ["--precision", "fp8"], ["--bootstrap", "-1"],
        ["--batch-size", "0"], ["--ft", "epochs=abc"], ["--ft", "epochs=-1"], ["--ft", "lr=nan"],
        ["--ft", "lr=-1"], ["--ft", "nokey=1"], ["--ft", "novalue"], ["--ft", "max_len=0"],
        ["--ft", "batch_size=1.5"], ["--tasks", "nosuch-task"], ["--tasks", ","],
        ["--include", str(w["yaml-folder"])], ["--db", "mysql://x/y"], ["--db", str(w["dir"])],
        ["--db", str(w["not-a-store.sqlite"])], ["--db", str(w["truncated.sqlite"])])]
    fin = ["finetune", "--task", "fixture-topics", "--include", t, "--out", str(w["root"] / "ft")]
    cases += [[*fin, "--model", ck, *bad] for bad in (
        ["--limit", "0"], ["--epochs", "0"], ["--lr", "abc"], ["--lr", "nan"], ["--beams", "0"],
        ["--precision", "fp16"], ["--task", "nosuch"])]
    pre = ["pretrain", "--out", str(w["root"] / "run")]
    cases += [[*pre, "--set", s] for s in (
        "train.lr=nan", "train.lr=inf", "train.lr=-1", "nosuch.key=1", "model.n_layer=0",
        "model.n_head=3", "train.max_steps=abc", "train.precision=fp8", "model.dropout=2",
        "train.batch_size=0", "novalue")]
    cases += [[*pre, "--preset", "huge"], [*pre, "--arch", "rnn"], [*pre, "--resume"],
              [*pre, "--teacher", str(w["root"] / "missing")],
              [*pre, "--corpus", str(w["root"] / "missing.txt")],
              [*pre, "--corpus", str(w["broken.jsonl"])], [*pre, "--corpus", "nosuch-source"]]
    cases += [["config", "show", "--preset", "huge"], ["config", "show", "--set", "train.lr=x"]]
    # missing and damaged checkpoints, wherever a model is read
    models = [str(w["root"] / "missing-ckpt"), str(w["dir"]), str(w["hyp.txt"]),
              *(str(w[k]) for k in w if k.startswith(("ckpt-", "hf-")))]
    for model in models:
        cases += [[*ev, "--model", model], [*fin, "--model", model],
                  ["export", "--model", model, "--out", str(w["root"] / "exp")]]
    # corpora
    for src in ("binary.txt", "broken.jsonl", "nonobject.jsonl", "nofield.jsonl", "empty.txt",
                "odd.suffix"):
        cases += [["data", "build", str(w[src]), "--out", str(w["root"] / "corpus")],
                  ["data", "report", str(w[src])]]
    cases += [["data", "build", "nosuch-source", "--out", str(w["root"] / "corpus")],
              ["data", "build", "task:nosuch", "--out", str(w["root"] / "corpus")],
              ["data", "build", str(w["hyp.txt"]), "--out", str(w["root"] / "corpus"),
               "--set", "min_words=abc"],
              ["data", "build", str(w["hyp.txt"]), "--out", str(w["root"] / "corpus"),
               "--max-docs", "0"],
              ["data", "report", str(w["root"] / "missing")]]
    # YAML tasks
    for y in ("malformed.yaml", "latin1.yaml", "unknown-key.yaml", "bad-metric.yaml",
              "bad-option.yaml", "dir", "hyp.txt"):
        cases += [["tasks", "validate", str(w[y])]]
    cases += [["tasks", "validate", str(w["root"] / "missing.yaml")],
              ["tasks", "list", "--include", str(w["yaml-folder"])],
              ["tasks", "show", "nosuch-task"], ["tasks", "show", "fixture-topics", "--examples", "-1"]]
    # hypothesis / reference files and LM JSONL for score
    sc = ["score", "--metric"]
    cases += [[*sc, "bleu", "--hyp", str(w["hyp.txt"]), "--ref", str(w[r])]
              for r in ("ref3.txt", "binary.txt", "dir", "empty.txt")]
    cases += [[*sc, "bleu", "--hyp", str(w[h]), "--ref", str(w["hyp.txt"])]
              for h in ("binary.txt", "dir", "ref3.txt")]
    cases += [[*sc, "bleu", "--hyp", str(w["root"] / "missing.txt"), "--ref", str(w["hyp.txt"])],
              [*sc, "bleu", "--hyp", str(w["hyp.txt"])], ["score", "--hyp", str(w["hyp.txt"])],
              [*sc, "nosuch", "--hyp", str(w["hyp.txt"])],
              [*sc, "bleu", "--hyp", str(w["hyp.txt"]), "--ref", str(w["hyp.txt"]), "--opt", "x"],
              [*sc, "bleu", "--hyp", str(w["hyp.txt"]), "--ref", str(w["hyp.txt"]), "--opt",
               "nokey=1"],
              [*sc, "bleu", "--hyp", str(w["hyp.txt"]), "--ref", str(w["hyp.txt"]), "--opt",
               "tokenize=nope"],
              [*sc, "bleu", "--hyp", str(w["hyp.txt"]), "--ref", str(w["hyp.txt"]),
               "--n-bootstrap", "-5"],
              [*sc, "meteor", "--hyp", str(w["hyp.txt"]), "--ref", str(w["hyp.txt"]), "--opt",
               "alpha=2"]]
    cases += [[*sc, "perplexity", "--hyp", str(w[j])]
              for j in ("lm-broken.jsonl", "lm-keys.jsonl", "hyp.txt", "nonobject.jsonl",
                        "empty.txt")]
    # stores
    for db in (str(w["root"] / "missing.sqlite"), str(w["dir"]), str(w["not-a-store.sqlite"]),
               str(w["truncated.sqlite"]), "postgres+nosuch://x", "mysql://x/y"):
        cases += [["leaderboard", "show", "--db", db],
                  ["leaderboard", "compare", "a", "b", "--db", db]]
    cases += [["leaderboard", "show", "--format", "pdf"]]
    # the commands and options of this round: sweeps, executors, watch, copy, composite, views
    cases += [[*ev, "--model", ck, *bad] for bad in (
        ["--checkpoints", "last:0"], ["--checkpoints", "every:"], ["--checkpoints", "step-x"],
        ["--checkpoints", ",,"], ["--executor", "mpi"], ["--jobs", "0"],
        ["--executor", "slurm"], ["--num-fewshot", "-1"], ["--device", "cuda:x"],
        ["--device", "banana"], ["--dtype", "float8"])]
    run_dir = str(w["ckpt"])  # a checkpoint folder is not a run
    cases += [["watch", run_dir, "--tasks", "fixture-topics"],
              ["watch", str(w["hyp.txt"]), "--tasks", "fixture-topics"],
              ["watch", str(w["root"]), "--tasks", "fixture-topics"],
              ["watch", str(w["root"] / "not-yet"), "--tasks", "nosuch-task"],
              ["watch", str(w["root"] / "not-yet"), "--tasks", "fixture-topics",
               "--interval", "0"]]
    for db in (str(w["root"] / "missing.sqlite"), str(w["not-a-store.sqlite"]), "mysql://x/y"):
        cases += [["leaderboard", "copy", "--from", db, "--to", str(w["root"] / "copy.sqlite")],
                  ["leaderboard", "composite", "--db", db],
                  ["leaderboard", "show", "--db", db, "--format", "parquet", "--out",
                   str(w["root"] / "lb.parquet")],
                  ["leaderboard", "show", "--db", db, "--run", run_dir]]
    cases += [["leaderboard", "show", "--format", "parquet"],
              ["leaderboard", "compare", "run@step-abc", "b", "--db", str(w["dir"])]]
    return cases


def _state(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


def _half_written(paths: set[Path]) -> list[Path]:
    return [p for p in paths if any(m in p.name for m in TEMP_MARKS)]


def test_fuzz_bad_invocations_exit_2_with_one_line(world, capsys, monkeypatch):
    from tasks import data, registry

    monkeypatch.setenv("HARNESS_DATA_HOME", str(world["root"] / "data-home"))
    monkeypatch.setenv("HARNESS_QUIET", "1")
    cases = invocations(world)
    assert len(cases) >= 100, len(cases)
    failures = []
    for args in cases:
        registry.reset()
        data.clear_memo()
        before = _state(world["root"])
        capsys.readouterr()
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # a traceback: what this test exists to catch
            code = f"{type(exc).__name__}: {exc}"
        err = capsys.readouterr().err.splitlines()
        new = _state(world["root"]) - before
        if code != 2 or len(err) != 1 or _half_written(new):
            failures.append(f"{' '.join(args)} -> {code}, stderr {err[:3]}, "
                            f"left {sorted(map(str, _half_written(new)))}")
    registry.reset()
    assert not failures, f"{len(failures)} of {len(cases)} failed:\n" + "\n".join(failures)


@pytest.mark.parametrize("case", [0, 1, 2])
def test_fuzz_through_a_real_process(world, case):
    """The console entry point behaves the same as the in-process runs."""
    args = [["tasks", "validate", str(world["latin1.yaml"])],
            ["leaderboard", "show", "--db", str(world["truncated.sqlite"])],
            ["score", "--metric", "bleu", "--hyp", str(world["hyp.txt"]), "--ref",
             str(world["ref3.txt"]), "--quiet"]][case]
    env = {**os.environ, "HARNESS_DATA_HOME": str(world["root"] / "data-home"),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
