"""Data pipeline benchmark: cleaning MB/s, tokenization tokens/s, peak memory, streaming.

    python bench/data.py            # Python docs throughput + Debian streaming demonstration
    python bench/data.py --quick    # the same on fewer Debian documents

1. Cleaning throughput on the Python documentation (reading + reST stripping,
   then every cleaning step), in MB of UTF-8 text per second, with each step's
   share of the time.
2. Tokenization throughput: a byte-level BPE is trained on those pages, then
   every page is encoded (tokens per second, batched as the shard writer does).
3. Streaming memory on the Debian descriptions: resident memory sampled while
   the documents flow through the pipeline, next to the text read so far and
   the size of the deduplication indexes; then the same stream with the
   deduplication steps off, where memory stays flat. Memory follows the
   indexes, not the text.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["HARNESS_QUIET"] = "1"  # a table, not progress bars

from pretrain.data.clean import CleanConfig, build_steps, run_pipeline  # noqa: E402
from pretrain.data.sources import ReadStats, open_source  # noqa: E402

MB = 1e6


def rss_mb() -> float:
    """Current resident set size in MB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / MB


def peak_rss_mb() -> float:
    """Peak resident memory of this process image (VmHWM; unlike ru_maxrss, not inherited
    from the parent across fork and exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / MB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB


def bench_cleaning(source: str) -> tuple[list[str], dict]:
    """Read and clean ``source``; returns the surviving texts and the timings."""
    stats = ReadStats()
    t0 = time.perf_counter()
    _, docs = open_source(source, stats)
    raw: list[dict] = list(docs)  # read (and strip reST) first, timed separately
    t_read = time.perf_counter() - t0
    in_bytes = sum(len(d["text"].encode("utf-8")) for d in raw)
    steps = build_steps(CleanConfig(min_alpha_words=0.6))
    t1 = time.perf_counter()
    kept = [d["text"] for d in run_pipeline(raw, steps)]
    t_clean = time.perf_counter() - t1
    return kept, {"files_mb": stats.bytes / MB, "text_mb": in_bytes / MB, "read_s": t_read,
                  "clean_s": t_clean, "docs_in": len(raw), "docs_out": len(kept),
                  "steps": [(s.name, s.seconds) for s in steps]}


def bench_tokenizer(texts: list[str], vocab: int) -> dict:
    from pretrain.data.tokenizer import train_tokenizer

    t0 = time.perf_counter()
    tok = train_tokenizer(texts, "gpt", vocab)
    t_train = time.perf_counter() - t0
    t1 = time.perf_counter()
    n = 0
    for i in range(0, len(texts), 256):
        n += sum(len(e.ids) for e in tok.encode_batch(texts[i:i + 256], add_special_tokens=False))
    t_enc = time.perf_counter() - t1
    t2 = time.perf_counter()
    for text in texts[:100]:
        tok.encode(text, add_special_tokens=False)
    one = sum(len(t) for t in texts[:100])
    t_one = time.perf_counter() - t2
    return {"train_s": t_train, "tokens": n, "encode_s": t_enc,
            "chars_per_s_single": one / max(t_one, 1e-9),
            "mb": sum(len(t.encode()) for t in texts) / MB}


def index_entries(steps: list) -> int:
    from pretrain.data.dedup import NearDedup

    n = 0
    for s in steps:
        if hasattr(s, "seen"):
            n += len(s.seen)
        if isinstance(s, NearDedup):  # not Decontaminate, whose .index.n is the n-gram length
            n += s.n  # documents in the LSH index
    return n


def stream_memory(source: str, limit: int | None, dedup: bool, every: int) -> list[tuple]:
    """(docs, text MB read, RSS MB, index entries) sampled along the stream."""
    cfg = CleanConfig(min_words=20, min_stop_words=1)
    if not dedup:
        cfg = dataclasses.replace(cfg, exact_dedup=False, paragraph_dedup=False, near_dedup=False)
    steps = build_steps(cfg)
    _, docs = open_source(source, ReadStats())
    rows, read, n = [], 0, 0
    for doc in docs:
        if limit and n >= limit:
            break
        read += len(doc["text"].encode("utf-8"))
        n += 1
        for _ in run_pipeline([doc], steps):
            pass
        if n % every == 0:
            rows.append((n, read / MB, rss_mb(), index_entries(steps)))
    rows.append((n, read / MB, rss_mb(), index_entries(steps)))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer Debian documents")
    ap.add_argument("--vocab", type=int, default=4096)
    ap.add_argument("--stream", choices=["on", "off"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stream:
        return stream_main(args.stream, args.quick)
    from pretrain.data.debian import lists_available
    from pretrain.data.sources import SOURCES

    if not SOURCES["pydocs"].available()[0]:
        print("pydocs not installed (apt install python3.11-doc); nothing to measure")
        return 0
    print(f"baseline RSS {rss_mb():.0f} MB")
    texts, c = bench_cleaning("pydocs")
    print("\n== cleaning the Python documentation")
    print(f"{'stage':<18}{'seconds':>9}{'MB/s':>9}")
    print(f"{'read + reST':<18}{c['read_s']:>9.2f}{c['files_mb'] / c['read_s']:>9.2f}")
    for name, secs in c["steps"]:
        print(f"{name:<18}{secs:>9.2f}{c['text_mb'] / max(secs, 1e-9):>9.2f}")
    print(f"{'all cleaning':<18}{c['clean_s']:>9.2f}{c['text_mb'] / c['clean_s']:>9.2f}")
    print(f"{c['docs_in']} pages, {c['text_mb']:.2f} MB of text in, {c['docs_out']} pages out")
    t = bench_tokenizer(texts, args.vocab)
    print("\n== tokenization (byte-level BPE)")
    print(f"train vocab {args.vocab}: {t['train_s']:.2f} s on {t['mb']:.2f} MB "
          f"({t['mb'] / t['train_s']:.2f} MB/s)")
    print(f"encode_batch: {t['tokens']:,} tokens in {t['encode_s']:.2f} s = "
          f"{t['tokens'] / t['encode_s']:,.0f} tokens/s ({t['mb'] / t['encode_s']:.2f} MB/s)")
    print(f"encode one at a time: {t['chars_per_s_single'] / MB:.2f} M chars/s")
    print(f"peak RSS: {peak_rss_mb():.0f} MB (holds all pages in memory to time the steps apart)")
    if not lists_available()[0]:
        print("\nDebian lists not fetched (make setup); streaming demonstration skipped")
        return 0
    for mode in ("on", "off"):
        # A fresh process each, so earlier allocations do not hide the growth.
        cmd = [sys.executable, __file__, "--stream", mode] + (["--quick"] if args.quick else [])
        subprocess.run(cmd, check=True)
    return 0


def stream_main(mode: str, quick: bool) -> int:
    limit = 20000 if quick else None
    every = 4000 if quick else 10000
    label = "with dedup indexes" if mode == "on" else "dedup steps off"
    print(f"\n== streaming the Debian descriptions, {label} (fresh process, "
          f"baseline RSS {rss_mb():.0f} MB)")
    print(f"{'docs':>8}{'text MB read':>14}{'RSS MB':>9}{'index entries':>15}")
    for n, mb, rss, idx in stream_memory("debian-descriptions", limit, mode == "on", every):
        print(f"{n:>8,}{mb:>14.1f}{rss:>9.0f}{idx:>15,}", flush=True)
    print(f"peak RSS: {peak_rss_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
