"""Pretraining throughput: tokens/s, MFU and peak memory of the engine against a plain loop.

For the ``tiny`` and ``small`` presets (GPT, their default sizes and micro
batch) this times optimizer steps in fp32 eager, bf16 eager (what precision
``auto`` picks where the hardware has native bf16) and bf16 compiled, plus a
plain fp32 PyTorch loop of the same model written the way users write it today
(nanoGPT style: nn.Linear layers, SDPA, default AdamW, no autocast). MFU uses
the training FLOPs per token of :func:`pretrain.engine.model.flops_per_token`
and this machine's matmul peak in fp32 and bf16, measured in the same run. Each configuration runs in its own process
so that its peak RSS is its own.

    python bench/pretrain.py                      # everything (several minutes on 2 cores)
    python bench/pretrain.py --presets tiny --steps 4 --modes bf16,plain
    python bench/pretrain.py --archs gpt,llama --budget 150   # quality at equal time

``--archs`` trains each architecture's ``tiny`` preset on Shakespeare for the same
time budget: a few timed steps measure each one's speed, then each gets as many
steps (with its full warmup + cosine schedule) as fit in ``--budget`` seconds,
and the table reports the validation bits per byte it reached. Time is the
process's CPU time, not wall-clock, so that a shared machine's changing load does
not favour whichever ran on a quiet minute (on an idle machine, wall = CPU / threads).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # same as `harness pretrain`
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODES = ("fp32", "bf16", "bf16-compiled", "plain")


def plain_gpt(cfg):  # type: ignore[no-untyped-def]
    """The same GPT, as a user would write it: modules, SDPA, no tricks."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c = cfg.n_embd
            self.ln1, self.ln2 = nn.LayerNorm(c), nn.LayerNorm(c)
            self.qkv, self.proj = nn.Linear(c, 3 * c), nn.Linear(c, c)
            self.fc, self.out = nn.Linear(c, 4 * c), nn.Linear(4 * c, c)

        def forward(self, x):  # type: ignore[no-untyped-def]
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
            q, k, v = (z.view(b, t, cfg.n_head, -1).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
            return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
            self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
            self.blocks = nn.Sequential(*[Block() for _ in range(cfg.n_layer)])
            self.ln_f = nn.LayerNorm(cfg.n_embd)

        def forward(self, idx, targets):  # type: ignore[no-untyped-def]
            x = self.wte(idx) + self.wpe(torch.arange(idx.size(1)))
            logits = self.ln_f(self.blocks(x)) @ self.wte.weight.t()
            return F.cross_entropy(logits.flatten(0, 1), targets.flatten())

    return GPT()


def worker(preset: str, mode: str, steps: int) -> dict:
    """Time ``steps`` optimizer steps of one configuration in this process."""
    import torch

    from pretrain.engine.model import build_model, flops_per_token
    from pretrain.engine.objectives import Objective
    from pretrain.engine.optim import build_optimizer
    from pretrain.engine.presets import preset as make_preset

    cfg = make_preset(preset, "gpt")
    m, t = cfg.model, cfg.train
    torch.manual_seed(0)
    batch = torch.randint(0, m.vocab_size, (t.micro_batch_size, m.block_size + 1))
    x, y = batch[:, :-1], batch[:, 1:]
    model = build_model(m)
    fpt = flops_per_token(m, model.num_params(True))
    if mode == "plain":
        model = plain_gpt(m)
        opt = torch.optim.AdamW(model.parameters(), lr=t.lr)

        def step() -> None:
            model(x, y).backward()
            opt.step()
            opt.zero_grad()
    else:
        fn = Objective(model)
        if mode == "bf16-compiled":
            fn = torch.compile(fn)
        opt = build_optimizer(model, cfg)

        def step() -> None:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode != "fp32"):
                loss, _ = fn(x, y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), t.grad_clip, foreach=True)
            opt.step()
            opt.zero_grad(set_to_none=True)

    t0 = time.perf_counter()
    step()  # warm-up (and compilation)
    step()
    warm = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    dt = (time.perf_counter() - t0) / steps
    tps = t.micro_batch_size * m.block_size / dt
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB on Linux
    # The peaks are measured right after the timed steps, in the same process, so that a
    # shared machine's changing load affects both sides of the MFU ratio alike.
    from pretrain.engine.logging import measure_peak_flops

    peaks = {p: measure_peak_flops(p, seconds=1.5, sizes=(512, 1024, 2048))
             for p in ("fp32", "bf16")}
    return {"preset": preset, "mode": mode, "step_s": dt, "tokens_per_s": tps, "peaks": peaks,
            "flops_per_token": fpt, "rss_mb": rss, "warmup_s": warm,
            "params": model.num_params() if hasattr(model, "num_params") else None}


def run_one(preset: str, mode: str, steps: int, timeout: int) -> dict:
    """One configuration in a fresh process; returns its JSON line (or the error)."""
    cmd = [sys.executable, __file__, "--worker", preset, mode, str(steps)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"preset": preset, "mode": mode, "error": f"timed out after {timeout}s"}
    if done.returncode != 0:
        return {"preset": preset, "mode": mode, "error": done.stderr.strip().splitlines()[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(rows: list[dict]) -> None:
    """Print one line per configuration: speed, MFU against its own precision's peak and
    against the bf16 peak (both measured in that configuration's process), speedup over
    the plain fp32 loop, peak RSS."""
    print(f"{os.cpu_count()} CPUs, load average now {os.getloadavg()[0]:.1f}")
    print(f"{'preset':6} {'mode':14} {'tok/s':>8} {'s/step':>7} {'MFU':>6} {'vs bf16 pk':>10} "
          f"{'vs plain':>8} {'RSS MB':>7} {'fp32/bf16 peak GFLOP/s':>23}")
    plain = {r["preset"]: r.get("tokens_per_s") for r in rows if r["mode"] == "plain"}
    for r in rows:
        if "error" in r:
            print(f"{r['preset']:6} {r['mode']:14} error: {r['error']}")
            continue
        flops = r["tokens_per_s"] * r["flops_per_token"]
        peaks = r["peaks"]
        own = peaks["fp32" if r["mode"] in ("fp32", "plain") else "bf16"]
        speed = r["tokens_per_s"] / plain[r["preset"]] if plain.get(r["preset"]) else float("nan")
        print(f"{r['preset']:6} {r['mode']:14} {r['tokens_per_s']:8,.0f} {r['step_s']:7.2f} "
              f"{flops / own:6.1%} {flops / peaks['bf16']:10.1%} {speed:7.2f}x "
              f"{r['rss_mb']:7.0f} {peaks['fp32'] / 1e9:11.0f} / {peaks['bf16'] / 1e9:.0f}")


def arch_worker(arch: str, budget: float, out: Path) -> dict:
    """Train ``arch``'s tiny preset on Shakespeare for about ``budget`` seconds."""
    import math

    import torch

    from harnesskit.config import apply_overrides
    from pretrain.engine.model import build_model
    from pretrain.engine.optim import build_optimizer
    from pretrain.engine.precision import resolve_precision
    from pretrain.engine.presets import preset as make_preset
    from pretrain.engine.trainer import pretrain

    cfg = make_preset("tiny", arch)
    # the probe times steps in the precision the run will use (``auto``: fp32 on a CPU that
    # emulates bf16), or the step budget would be off by the bf16/fp32 speed ratio
    bf16 = resolve_precision(cfg.train.precision) == "bf16"
    m, t = cfg.model, cfg.train
    model = build_model(m)
    opt = build_optimizer(model, cfg)
    x = torch.randint(0, m.vocab_size, (t.batch_size, m.block_size + 1))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            _, loss = model(x[:, :-1], x[:, 1:])
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    step()
    t0 = time.process_time()  # CPU seconds: fair on a shared, oversubscribed machine
    for _ in range(4):
        step()
    steps = max(20, math.floor(budget / ((time.process_time() - t0) / 4)))
    cfg = apply_overrides(cfg, [f"train.max_steps={steps}", f"train.eval_every={steps}",
                                f"train.ckpt_every={steps}",
                                f"train.warmup_steps={min(t.warmup_steps, steps // 10)}"])
    c0 = time.process_time()
    res = pretrain(cfg, corpus="shakespeare", out=out / arch)
    return {"arch": arch, "precision": "bf16" if bf16 else "fp32", "steps": steps, "params": res.n_params, "elapsed_s": res.elapsed_s,
            "cpu_s": time.process_time() - c0,
            "tokens": res.tokens, "val_loss": res.val_loss, "val_bpb": res.val_bpb}


def compare_archs(archs: list[str], budget: float, timeout: int) -> list[dict]:
    """Each architecture in its own process, one after the other; prints the table."""
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for arch in archs:
            cmd = [sys.executable, __file__, "--arch-worker", arch, str(budget), tmp]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                      env={**os.environ, "HARNESS_QUIET": "1"})
            except subprocess.TimeoutExpired:
                rows.append({"arch": arch, "error": f"timed out after {timeout}s"})
                continue
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]) if done.returncode == 0
                        else {"arch": arch, "error": (done.stderr.strip().splitlines() or ["?"])[-1]})
    print(f"tiny presets on Shakespeare, {budget:.0f} CPU-s of training steps each "
          f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f})")
    print(f"| {'arch':6} | {'prec':4} | {'params':>9} | {'steps':>5} | {'tokens':>9} | {'wall s':>7} | "
          f"{'CPU s':>7} | {'val loss':>8} | {'val bpb':>7} |")
    print("|--------|------|-----------|-------|-----------|---------|---------|----------|---------|")
    for r in rows:
        if "error" in r:
            print(f"| {r['arch']:6} | error: {r['error']} |")
            continue
        print(f"| {r['arch']:6} | {r['precision']:4} | {r['params']:9,} | {r['steps']:5} | {r['tokens']:9,} | "
              f"{r['elapsed_s']:7.0f} | {r['cpu_s']:7.0f} | {r['val_loss']:8.4f} | "
              f"{r['val_bpb']:7.4f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", default="tiny,small")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--steps", type=int, default=6, help="timed steps per configuration")
    ap.add_argument("--timeout", type=int, help="wall seconds per configuration "
                    "(default 900; with --archs, 4 x the budget plus 300 for a loaded machine)")
    ap.add_argument("--json", type=Path, help="also write the rows and peaks here")
    ap.add_argument("--archs", help="compare these architectures at equal wall-clock instead")
    ap.add_argument("--budget", type=float, default=150.0, help="--archs: CPU seconds per arch")
    ap.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    ap.add_argument("--arch-worker", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.arch_worker:
        arch, budget, out = args.arch_worker
        print(json.dumps(arch_worker(arch, float(budget), Path(out))))
        return
    if args.archs:
        rows = compare_archs(args.archs.split(","), args.budget,
                             args.timeout or int(4 * args.budget + 300))
        if args.json:
            args.json.write_text(json.dumps({"archs": rows}, indent=2))
        return
    if args.worker:
        preset, mode, steps = args.worker
        print(json.dumps(worker(preset, mode, int(steps))))
        return
    rows = [run_one(p, m, args.steps, args.timeout or 900)
            for p in args.presets.split(",") for m in args.modes.split(",")]
    report(rows)
    if args.json:
        args.json.write_text(json.dumps({"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
