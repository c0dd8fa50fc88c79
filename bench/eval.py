"""Scoring speed of ``tasks.lm_api`` against lm-evaluation-harness's ``hf`` model, same model
and data, in one run: multiple-choice log-likelihoods and rolling log-likelihood.

The model is a GPT-2-layout ``hf:`` folder with random weights (no causal LM with
weights installs offline; speed does not depend on the weights): ``--layers`` x
``--width``, a byte-level BPE of ``--vocab`` tokens trained on the Python
documentation, saved with ``save_pretrained``. Questions are WordNet definitions
with four candidate words (the ``wordnet-gloss`` prompt); documents are pages of
the Python documentation (DATA.md). Both sides run in float32 with the same batch
size, on the same requests, in the same process (same torch threads); the
disjoint-window convention is used for rolling so both do the same work. Each side
is warmed up on a few requests first, then the two are timed in turn ``--repeat``
times (alternating which goes first), so that a change in machine load hits both;
tokens/s counts the request tokens (context + continuation per choice; document
tokens for rolling) divided by the best wall time. The load average before and
after is printed: on a shared machine compare the ratios, not the absolute
figures. The numbers of the two sides are compared too (max |difference| of
log-likelihoods; ours runs GPT-2's tanh GELU as torch's fused kernel, see
``tasks.hf_causal``, so they differ by float rounding).

    python bench/eval.py [--questions 200] [--docs 30] [--batch-size 16] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HARNESS_QUIET", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

PYDOCS = Path("/usr/share/doc/python3.11/html/_sources")


def pydocs_pages(n: int, max_chars: int) -> list[str]:
    """``n`` pages of the Python documentation (reST sources), each cut to ``max_chars``."""
    if not PYDOCS.is_dir():
        raise SystemExit(f"{PYDOCS} missing: apt install python3.11-doc (make setup)")
    files = sorted(PYDOCS.rglob("*.rst.txt"))
    random.Random(0).shuffle(files)
    pages = []
    for f in files:
        text = f.read_text(encoding="utf-8", errors="replace").strip()
        if len(text) > 2000:
            pages.append(text[:max_chars])
        if len(pages) == n:
            break
    return pages


def make_model(out: Path, layers: int, width: int, vocab: int, context: int) -> Path:
    """A random GPT-2-layout causal LM with a BPE trained on the Python docs."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    from pretrain.data.tokenizer import train_tokenizer

    tok = train_tokenizer(pydocs_pages(300, 20_000), "gpt", vocab)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>",
                                   bos_token="<|endoftext|>", pad_token="<|endoftext|>")
    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=len(fast), n_embd=width, n_layer=layers, n_head=width // 64,
                     n_positions=context, bos_token_id=0, eos_token_id=0)
    GPT2LMHeadModel(cfg).save_pretrained(out)
    fast.save_pretrained(out)
    return out


def questions(n: int) -> list[tuple[str, list[str]]]:
    """(prompt, [" word", ...]) of the wordnet-gloss task's test split."""
    from tasks import get_task

    task = get_task("wordnet-gloss")
    ok, why = task.available()
    if not ok:
        raise SystemExit(f"wordnet-gloss unavailable: {why}")
    exs = task.examples("test")[:n]
    return [(task.prompt(e), [task.target_delimiter + c for c in task.choices(e)]) for e in exs]


def race(fns: list[Callable[[], object]], repeat: int) -> list[tuple[float, object]]:
    """(best wall time, last result) of each function, timed in turn ``repeat`` times with
    the order alternating, so that a change in machine load hits every side alike."""
    times: list[list[float]] = [[] for _ in fns]
    outs: list[object] = [None] * len(fns)
    for r in range(repeat):
        order = list(range(len(fns)))
        for k in order if r % 2 == 0 else order[::-1]:
            t0 = time.perf_counter()
            outs[k] = fns[k]()
            times[k].append(time.perf_counter() - t0)
    return [(min(t), o) for t, o in zip(times, outs)]


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--docs", type=int, default=30)
    ap.add_argument("--doc-chars", type=int, default=6000)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--vocab", type=int, default=16384)
    ap.add_argument("--context", type=int, default=512)
    args = ap.parse_args()
    try:
        from lm_eval.api.instance import Instance
        from lm_eval.models.huggingface import HFLM
    except ImportError:
        raise SystemExit("lm-evaluation-harness is not installed here: "
                         "pip install 'lm-eval==0.4.13' to compare (nothing measured)") from None
    import lm_eval
    import torch

    from tasks.lm_api import load_lm

    with tempfile.TemporaryDirectory() as tmp:
        path = make_model(Path(tmp) / "gpt2-bench", args.layers, args.width, args.vocab,
                          args.context)
        ours = load_lm(f"hf:{path}", device="cpu")
        theirs = HFLM(pretrained=str(path), device="cpu", batch_size=args.batch_size,
                      dtype="float32")
        qs = questions(args.questions)
        pairs = [(p, c) for p, cs in qs for c in cs]
        docs = pydocs_pages(args.docs, args.doc_chars)
        mc_tokens = sum(sum(len(x) for x in ours.encode_pair(p, c)) for p, c in pairs)
        doc_tokens = sum(len(ours.tok_encode(d)) for d in docs)

        def inst(kind: str, a: list[tuple]) -> list:
            return [Instance(request_type=kind, doc={}, arguments=x, idx=i)
                    for i, x in enumerate(a)]

        bs = args.batch_size

        def mc(ours_side: bool, n: int | None = None) -> Callable[[], object]:
            if ours_side:
                return lambda: ours.loglikelihood(pairs[:n], batch_size=bs)
            return lambda: theirs.loglikelihood(inst("loglikelihood", pairs[:n]),
                                                disable_tqdm=True)

        def rolling(ours_side: bool, n: int | None = None) -> Callable[[], object]:
            if ours_side:
                return lambda: ours.loglikelihood_rolling(docs[:n], window="disjoint",
                                                          batch_size=bs)
            return lambda: theirs.loglikelihood_rolling(
                inst("loglikelihood_rolling", [(d,) for d in docs[:n]]), disable_tqdm=True)

        rows = []
        load_before = load()
        for name, n_tok, make, n_warm, get in [
            ("multiple choice (loglikelihood)", mc_tokens, mc, 4 * bs, lambda r: [x[0] for x in r]),
            ("rolling loglikelihood", doc_tokens, rolling, 2,
             lambda r: [sum(d["token_logprobs"]) if isinstance(d, dict) else d for d in r]),
        ]:
            for side in (True, False):  # warm-up (allocator, kernels) on both sides
                make(side, n_warm)()
            (t_ours, r_ours), (t_theirs, r_theirs) = race([make(True), make(False)], args.repeat)
            diff = max(abs(a - b) for a, b in zip(get(r_ours), get(r_theirs)))
            rows.append((name, n_tok / t_ours, n_tok / t_theirs, t_theirs / t_ours, diff))
    print(f"load average (1/5/15 min): {load_before} before, {load()} after, "
          f"on {os.cpu_count()} CPUs")
    print(f"model: GPT-2 layout, {args.layers} layers x {args.width}, vocab {args.vocab}, "
          f"context {args.context}, float32, batch {bs}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; lm-eval {lm_eval.__version__}")
    print(f"data: {len(qs)} wordnet-gloss questions ({len(pairs)} choices, {mc_tokens} tokens); "
          f"{len(docs)} Python-docs pages ({doc_tokens} tokens)")
    print(f"{'scoring':34} {'ours tok/s':>11} {'lm-eval tok/s':>14} {'ratio':>6} {'max |dlogp|':>12}")
    for name, a, b, ratio, diff in rows:
        print(f"{name:34} {a:11.0f} {b:14.0f} {ratio:5.2f}x {diff:12.2e}")


if __name__ == "__main__":
    main()
