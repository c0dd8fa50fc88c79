"""Metric speed: seconds per 10,000 segments, and the harness's overhead over the
reference library called directly (target: under 5%).

Segments are real English sentences from Debian's ``trans-de-en`` dictionary
(DATA.md); each hypothesis is its reference deterministically damaged (a word
dropped, two swapped), like a weak system's output. Each measurement is the
best of ``--repeat`` runs in CPU seconds of this process (wall time on a shared
machine varies by tens of percent), harness and library interleaved, without the
bootstrap (reported separately as the cost of the 95% CI). "1st run" is the
first harness call, which also loads resources (WordNet for METEOR) and fills
caches (NLTK caches WordNet lookups, so repeated METEOR runs on the same words
are much faster). BERTScore runs on fewer segments (``--bert-segments``),
with the model loaded before timing.

    python bench/metrics.py [--segments 10000] [--repeat 3] [--only bleu,chrf]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HARNESS_QUIET", "1")  # no progress bars inside timed calls
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness.metrics import load_metric  # noqa: E402

TRANS = Path("/usr/share/trans/de-en")
# The direct METEOR call splits on whitespace; compare like with like.
OPTIONS = {"meteor": {"tokenize": "whitespace"}}


def sentences(limit: int) -> list[str]:
    """English example sentences of trans-de-en (4+ words, ending in . ? !)."""
    out: list[str] = []
    seen: set[str] = set()
    if not TRANS.exists():
        raise SystemExit(f"{TRANS} missing: apt install trans-de-en (make setup)")
    with TRANS.open(encoding="utf-8") as fh:
        for line in fh:
            if " :: " not in line or line.startswith("#"):
                continue
            for en in line.rstrip("\n").split(" :: ", 1)[1].split(" | "):
                en = re.sub(r"\s+", " ", en).strip()
                if len(en.split()) >= 4 and en[-1] in ".?!" and en not in seen:
                    seen.add(en)
                    out.append(en)
                    if len(out) >= limit:
                        return out
    return out


def damage(text: str, rng: random.Random) -> str:
    """Drop one word and swap two neighbours: a plausible weak hypothesis."""
    words = text.split()
    del words[rng.randrange(len(words))]
    if len(words) > 2:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def _timed(fn: Callable[[], object]) -> float:
    # CPU time of this process, not wall time: on a shared machine other processes'
    # load changes wall time by tens of percent, which would drown a 5% overhead.
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def paired_best(ours: Callable[[], object], lib: Callable[[], object] | None,
                repeat: int) -> tuple[float, float, float]:
    """Fastest times of the harness and the library, and the median ratio of the
    pairs: calls are interleaved so that load from other processes hits both alike."""
    t_ours, t_lib = [], []
    for _ in range(repeat):
        if lib is not None:
            t_lib.append(_timed(lib))
        t_ours.append(_timed(ours))
    if not t_lib:
        return min(t_ours), float("nan"), float("nan")
    ratio = statistics.median(a / b for a, b in zip(t_ours, t_lib))
    return min(t_ours), min(t_lib), ratio


def direct_fns(hyps: list[str], refs: list[str]) -> dict[str, Callable[[], object]]:
    """The reference libraries called directly, the way a user would."""
    import sacrebleu
    from nltk.corpus import wordnet
    from nltk.translate.meteor_score import meteor_score
    from rouge_score import rouge_scorer
    from sklearn.metrics import accuracy_score, f1_score

    # Library objects are built once, as the harness builds its metric once: sacrebleu's
    # tokenizers cache per object, so a fresh object per call would be slower.
    bleu, chrf, ter = sacrebleu.metrics.BLEU(), sacrebleu.metrics.CHRF(), sacrebleu.metrics.TER()

    def rouge(kind: str) -> Callable[[], object]:
        scorer = rouge_scorer.RougeScorer([kind])
        return lambda: sum(scorer.score(r, h)[kind].fmeasure for h, r in zip(hyps, refs))

    gold = [r.split()[0].lower() for r in refs]
    pred = [h.split()[0].lower() for h in hyps]
    return {
        "bleu": lambda: bleu.corpus_score(hyps, [refs]),
        "chrf": lambda: chrf.corpus_score(hyps, [refs]),
        "ter": lambda: ter.corpus_score(hyps, [refs]),
        "rouge1": rouge("rouge1"), "rouge2": rouge("rouge2"), "rougeL": rouge("rougeL"),
        "rougeLsum": rouge("rougeLsum"),
        "meteor": lambda: sum(meteor_score([r.split()], h.split(), wordnet=wordnet)
                              for h, r in zip(hyps, refs)),
        "accuracy": lambda: accuracy_score(gold, pred),
        "macro_f1": lambda: f1_score(gold, pred, average="macro", zero_division=0.0),
        "micro_f1": lambda: f1_score(gold, pred, average="micro", zero_division=0.0),
    }


def inputs(name: str, hyps: list[str], refs: list[str]) -> tuple[list, list | None]:
    """The harness's inputs for one metric."""
    if name in ("accuracy", "macro_f1", "micro_f1"):
        return [h.split()[0].lower() for h in hyps], [[r.split()[0].lower()] for r in refs]
    if name in ("distinct_1", "distinct_2"):
        return hyps, None
    if name in ("perplexity", "bits_per_byte", "cross_entropy", "token_accuracy"):
        rng = random.Random(0)
        docs = [{"token_logprobs": [-rng.expovariate(0.5) for _ in h.split()],
                 "token_correct": [rng.random() < 0.4 for _ in h.split()],
                 "n_bytes": len(h.encode()), "n_words": len(h.split())} for h in hyps]
        return docs, None
    return hyps, [[r] for r in refs]


def bench_bertscore(hyps: list[str], refs: list[str], repeat: int) -> dict[str, float]:
    """BERTScore (MiniLM, offline) on a few segments, model warm for both sides."""
    m = load_metric("bertscore")
    m.compute(hyps[:4], [[r] for r in refs[:4]], ci=False)  # loads the model
    from harness.metrics.bertscore import _SCORERS

    scorer = next(iter(_SCORERS.values()))
    ours, lib, ratio = paired_best(lambda: m.compute(hyps, [[r] for r in refs], ci=False),
                                   lambda: scorer.score(hyps, refs, batch_size=64), repeat)
    return {"harness_s": ours, "library_s": lib, "ratio": ratio}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=10_000)
    ap.add_argument("--bert-segments", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated metric names")
    args = ap.parse_args(argv)

    refs = sentences(args.segments)
    rng = random.Random(0)
    hyps = [damage(r, rng) for r in refs]
    n = len(refs)
    per10k = 10_000 / n
    direct = direct_fns(hyps, refs)
    names = [x for x in (args.only.split(",") if args.only else [
        "bleu", "chrf", "ter", "rouge1", "rouge2", "rougeL", "rougeLsum", "meteor", "accuracy",
        "macro_f1", "micro_f1", "exact_match", "token_f1", "distinct_1", "distinct_2",
        "perplexity", "bits_per_byte", "bertscore"]) if x]
    print(f"{n} segments of trans-de-en; best of {args.repeat}; CPU seconds per 10,000 segments",
          flush=True)
    print("overhead: median over interleaved runs of harness/library CPU time, minus 1")
    print(f"{'metric':<14}{'harness':>10}{'library':>10}{'overhead':>10}{'+CI(1000)':>11}"
          f"{'1st run':>10}")
    rows = {}
    for name in names:
        if name == "bertscore":
            k = min(args.bert_segments, n)
            r = bench_bertscore(hyps[:k], refs[:k], args.repeat)
            scale = 10_000 / k
            ours, lib, ci_cost = r["harness_s"] * scale, r["library_s"] * scale, float("nan")
            ratio = r["ratio"]
            cold = float("nan")
            note = f" ({k} segments)"
        else:
            m = load_metric(name, **OPTIONS.get(name, {}))
            preds, gold = inputs(name, hyps, refs)
            def run(m=m, p=preds, g=gold) -> object:
                return m.compute(p, g, ci=False)

            cold = _timed(run) * per10k
            ours, lib, ratio = paired_best(run, direct.get(name), args.repeat)
            ours, lib = ours * per10k, lib * per10k
            with_ci = _timed(lambda m=m, p=preds, g=gold: m.compute(p, g)) * per10k
            ci_cost, note = with_ci - ours, ""
        over = (ratio - 1) * 100
        rows[name] = {"harness_s_per_10k": ours, "library_s_per_10k": lib,
                      "overhead_pct": over, "ci_s_per_10k": ci_cost, "first_run_s_per_10k": cold}
        over_s = f"{over:+.1f}%" if over == over else "n/a"
        lib_s = f"{lib:.3f}" if lib == lib else "n/a"
        ci_s = f"{ci_cost:.3f}" if ci_cost == ci_cost else "n/a"
        cold_s = f"{cold:.3f}" if cold == cold else "n/a"
        print(f"{name:<14}{ours:>10.3f}{lib_s:>10}{over_s:>10}{ci_s:>11}{cold_s:>10}{note}",
              flush=True)
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
