"""The encoder objectives on real text (DATA.md), end to end through the trainer.

SimCSE: an MLM encoder pretrained on WordNet 3.0 definitions and examples, then
continued with SimCSE (``train.init_from``); nearest-neighbour retrieval of 1,000
held-out (word, definition) pairs, the same encoder before and after. ELECTRA:
its loss falls on the Ding dictionary's sentences (trans-de-en) and the
discriminator tells replaced from original tokens in held-out text. Both
encoders fine-tune on ``bbc-news`` through the evaluator, above its majority
baseline.
"""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path

import pytest
import torch

from harnesskit.config import apply_overrides
from pretrain.engine.checkpoint import load_checkpoint
from pretrain.engine.contrastive import sentence_vectors
from pretrain.engine.presets import preset
from pretrain.engine.trainer import pretrain
from tasks.builtin.choice import POS_FILES, WORDNET
from tasks.builtin.ding import DING, ding_pairs

needs_wordnet = pytest.mark.skipif(not (WORDNET / "data.noun").is_file(),
                                   reason="needs apt package wordnet-base")
needs_ding = pytest.mark.skipif(not DING.is_file(), reason="needs apt package trans-de-en")

SIZES = ["model.n_layer=2", "model.n_head=2", "model.n_embd=64", "model.block_size=64",
         "tokenizer.vocab_size=2000", "train.batch_size=32", "train.eval_batches=4",
         "train.log_every=10", "train.warmup_steps=10", "train.precision=fp32"]
N_PAIRS = 1000
SIMCSE_STEPS = 100
QUOTED = re.compile(r'"([^"]+)"')


def read_synsets() -> list[tuple[str, str, list[str]]]:
    """(first lemma, definition, quoted examples) of every WordNet synset."""
    out = []
    for name in POS_FILES.values():
        for line in (WORDNET / name).read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith(" ") or "|" not in line:
                continue  # the licence header
            head, gloss = line.split("|", 1)
            lemma = re.sub(r"\(.*\)$", "", head.split()[4]).replace("_", " ")
            definition, *rest = (p.strip() for p in gloss.split(";"))
            out.append((lemma, definition, [q for p in rest for q in QUOTED.findall(p)]))
    return out


def write_corpus(root: Path, docs: list[str], n_val: int = 400) -> Path:
    root.mkdir(parents=True)
    for split, part in (("train", docs[:-n_val]), ("val", docs[-n_val:])):
        with open(root / f"{split}.jsonl", "w", encoding="utf-8") as fh:
            for i, text in enumerate(part):
                fh.write(json.dumps({"id": f"{split}-{i}", "text": text, "source": "test"}) + "\n")
    return root


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    """A data home of the module's own (the bbc-news task is built there) and quiet runs."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HARNESS_DATA_HOME", str(tmp_path_factory.mktemp("data-home")))
        mp.setenv("HARNESS_QUIET", "1")
        yield tmp_path_factory.mktemp("runs")


def train(runs: Path, corpus: Path, name: str, objective: str, steps: int, *extra: str,
          seed: int = 0) -> Path:
    cfg = apply_overrides(preset("tiny", "bert"), [
        *SIZES, f"train.max_steps={steps}", f"train.ckpt_every={steps}",
        f"train.eval_every={steps}", f"train.objective={objective}", f"train.seed={seed}", *extra])
    return pretrain(cfg, corpus=str(corpus), out=runs / name).run_dir


def losses(run: Path) -> list[float]:
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    return [r["loss"] for r in rows if "loss" in r]


@pytest.fixture(scope="module")
def wordnet(env: Path) -> dict:
    """WordNet definitions and examples as a corpus (one synset a document), and 1,000
    (word, definition) pairs of other synsets held out: no pair is shown to the model."""
    synsets = read_synsets()
    random.Random(0).shuffle(synsets)
    held, rest = synsets[:N_PAIRS], synsets[N_PAIRS:21_000]
    docs = ["; ".join([d, *ex]) for _, d, ex in rest]
    return {"corpus": write_corpus(env / "wordnet", docs), "runs": env,
            "pairs": [(w, d) for w, d, _ in held]}


def simcse_pair(wordnet: dict, seed: int) -> tuple[Path, Path]:
    """(the MLM encoder, the same encoder after SIMCSE_STEPS of SimCSE)."""
    base = train(wordnet["runs"], wordnet["corpus"], f"mlm-{seed}", "mlm", 100, seed=seed)
    simcse = train(wordnet["runs"], wordnet["corpus"], f"simcse-{seed}", "simcse", SIMCSE_STEPS,
                   f"train.init_from={base}", "model.dropout=0.1", "train.lr=1e-3",
                   "objective.sentence_tokens=24", seed=seed)
    return base, simcse


@pytest.fixture(scope="module")
def simcse_runs(wordnet: dict) -> tuple[Path, Path]:
    return simcse_pair(wordnet, 0)


@torch.no_grad()
def nn_accuracy(run: Path, pairs: list[tuple[str, str]], pooling: str = "mean") -> float:
    """Share of words whose nearest definition (cosine of sentence vectors) is their own,
    and of definitions whose nearest word is theirs, averaged (chance: 1 / len(pairs))."""
    loaded = load_checkpoint(run)
    block = loaded.config.model.block_size

    def vectors(texts: list[str]) -> torch.Tensor:
        encs = [e.ids[:block] for e in loaded.tokenizer.encode_batch(texts)]
        width = max(map(len, encs))
        ids = torch.tensor([e + [0] * (width - len(e)) for e in encs])
        mask = torch.tensor([[1] * len(e) + [0] * (width - len(e)) for e in encs])
        return torch.nn.functional.normalize(sentence_vectors(loaded.model, ids, mask, pooling))

    words, definitions = vectors([p[0] for p in pairs]), vectors([p[1] for p in pairs])
    sim = words @ definitions.T  # (N, N)
    gold = torch.arange(len(pairs))
    return float(((sim.argmax(1) == gold).float().mean()
                  + (sim.argmax(0) == gold).float().mean()) / 2)


def check_simcse_gain(wordnet: dict, base: Path, simcse: Path) -> tuple[float, float]:
    ls = losses(simcse)
    assert ls[-1] < ls[0] / 3, ls  # the contrastive loss falls
    before, after = nn_accuracy(base, wordnet["pairs"]), nn_accuracy(simcse, wordnet["pairs"])
    print(f"word->definition nearest-neighbour accuracy, {N_PAIRS} held-out WordNet pairs: "
          f"mlm {before:.4f}, mlm+simcse {after:.4f} (chance {1 / N_PAIRS:.4f})")
    # Seen (seeds 0, 1, 2): 0.0190 -> 0.0645, 0.0210 -> 0.0645, 0.0170 -> 0.0660.
    # Binomial sd of an accuracy near 0.05 over these 2,000 queries: 0.005.
    assert after > before + 0.025 and after > 1.8 * before, (before, after)
    return before, after


@needs_wordnet
def test_simcse_improves_word_definition_retrieval(wordnet: dict, simcse_runs) -> None:
    check_simcse_gain(wordnet, *simcse_runs)


@needs_wordnet
@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
def test_simcse_gain_holds_for_other_seeds(wordnet: dict, seed: int) -> None:
    check_simcse_gain(wordnet, *simcse_pair(wordnet, seed))


@needs_wordnet
@pytest.mark.slow
def test_the_gain_is_not_from_more_training(wordnet: dict, simcse_runs) -> None:
    """The control: as many steps of MLM instead of SimCSE, same lr and dropout."""
    base, simcse = simcse_runs
    more = train(wordnet["runs"], wordnet["corpus"], "mlm-more-0", "mlm", SIMCSE_STEPS,
                 f"train.init_from={base}", "model.dropout=0.1", "train.lr=1e-3")
    before, mlm, contrastive = (nn_accuracy(r, wordnet["pairs"]) for r in (base, more, simcse))
    print(f"word->definition accuracy: mlm {before:.4f}; then {SIMCSE_STEPS} steps of mlm "
          f"{mlm:.4f}, of simcse {contrastive:.4f}")
    assert contrastive > mlm + 0.025, (before, mlm, contrastive)


@pytest.fixture(scope="module")
def electra_run(env: Path) -> dict:
    """ELECTRA from scratch on Ding's English and German example sentences (each its own
    document), with 400 sentences of other entries held out."""
    pairs = ding_pairs(DING.read_text(encoding="utf-8").splitlines())
    random.Random(0).shuffle(pairs)
    docs = [s for _, en, de in pairs[:8000] for s in (en, de)]
    random.Random(1).shuffle(docs)
    corpus = write_corpus(env / "ding", docs)
    held = [s for _, en, de in pairs[8000:8200] for s in (en, de)]
    return {"run": train(env, corpus, "electra", "electra", 80, "train.log_every=1"),
            "held": held}


@torch.no_grad()
def detection_auc(run: Path, texts: list[str]) -> tuple[float, float]:
    """(ROC AUC of the discriminator's replaced-token logits, share replaced) on ``texts``,
    masked and corrupted the way the trainer does (generator samples)."""
    from sklearn.metrics import roc_auc_score

    from pretrain.data.tokenizer import special_ids
    from pretrain.engine.checkpoint import load_objective_weights, resolve_checkpoint
    from pretrain.engine.electra import Electra
    from pretrain.engine.plugins import ObjectiveContext

    loaded = load_checkpoint(run)
    obj = Electra(loaded.model, ObjectiveContext(cfg=loaded.config,
                                                 special=special_ids(loaded.tokenizer)))
    load_objective_weights(obj, resolve_checkpoint(run))
    obj.eval()
    stream = [i for e in loaded.tokenizer.encode_batch(texts) for i in e.ids]
    t = loaded.config.model.block_size + 1
    windows = torch.tensor(stream[: len(stream) // t * t]).view(-1, t)  # (N, T + 1)
    batch = obj.inputs(windows, torch.Generator().manual_seed(0))
    _, corrupted, replaced = obj.corrupt(**batch, generator=torch.Generator().manual_seed(0))
    logits = obj.detection_logits(corrupted)
    return (float(roc_auc_score(replaced.flatten().numpy(), logits.flatten().numpy())),
            float(replaced.mean()))


@needs_ding
def test_electra_loss_falls_and_it_detects_replacements(electra_run: dict) -> None:
    """The loss falls, and the discriminator beats the best constant guess on held-out text:
    validation detection loss below the entropy of the replaced share, AUC well above 0.5."""
    run = electra_run["run"]
    ls = losses(run)
    assert sum(ls[-5:]) / 5 < 0.7 * ls[0], ls
    val_loss = [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines())
                if r.get("val_loss") is not None][-1]["val_loss"]
    assert (run / "checkpoints" / "step-0000080" / "objective.safetensors").is_file()
    auc, share = detection_auc(run, electra_run["held"])
    constant = -(share * math.log(share) + (1 - share) * math.log(1 - share))
    print(f"electra loss {ls[0]:.2f} -> {ls[-1]:.2f}; validation detection loss {val_loss:.3f} "
          f"(constant guess {constant:.3f}); held-out detection AUC {auc:.3f} "
          f"({share:.3f} of tokens replaced)")
    assert 0.02 < share < 0.2
    assert val_loss < constant - 0.02, (val_loss, constant)
    assert auc > 0.65, auc  # 0.5 = no better than guessing


@needs_wordnet
@needs_ding
@pytest.mark.slow
def test_simcse_and_electra_encoders_finetune_on_bbc(env: Path, simcse_runs,
                                                     electra_run: dict) -> None:
    """Both encoders through the evaluator's fine-tuning path: accuracy above the majority
    baseline of the same (limited) test split."""
    from harness.evaluator import evaluate
    from tasks import get_task

    ok, why = get_task("bbc-news").available()
    if not ok:
        pytest.skip(why)
    results = evaluate([simcse_runs[1], electra_run["run"]], "bbc-news", limit=300,
                       out=env / "results", n_bootstrap=20, precision="fp32",
                       overrides={"epochs": 8, "max_len": 64, "lr": 1e-3})
    acc = {r.model_id: r.score("accuracy") for r in results if r.status == "ok"}
    print("bbc-news accuracy (%):", acc)
    majority = acc.pop("baseline-majority")
    models = {k: v for k, v in acc.items() if not k.startswith("baseline-")}
    assert len(models) == 2, acc
    for name, score in models.items():  # seen: simcse 70.4, electra 61.3, majority 23.3
        assert score > majority + 10, (name, score, majority)
