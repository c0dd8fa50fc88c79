"""Run logs: ``metrics.jsonl`` (one JSON object per log step), ``loss.png``, TensorBoard.

Only rank 0 creates a :class:`RunLog`. On resume the metrics file is cut back
to the resumed step, so a resumed run's file reads like an uninterrupted one.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any

from harnesskit.errors import HarnessError
from harnesskit.fsutil import write_text_atomic


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class RunLog:
    """Appends metrics to ``RUN/metrics.jsonl``, draws ``RUN/loss.png``, mirrors to TensorBoard."""

    def __init__(self, run_dir: Path, resume_step: int | None, tensorboard: bool) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / "metrics.jsonl"
        self.rows: list[dict] = []
        if resume_step is not None and self.path.exists():
            self.rows = [r for r in read_metrics(self.path) if r["step"] <= resume_step]
            write_text_atomic(self.path, "".join(json.dumps(r) + "\n" for r in self.rows))
        elif self.path.exists():
            self.path.unlink()
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._tb = _tensorboard(self.run_dir) if tensorboard else None

    def write(self, row: dict) -> None:
        """Append one row and flush, so a killed run keeps every line it logged."""
        row = {k: _clean(v) for k, v in row.items()}
        self.rows.append(row)
        self._fh.write(json.dumps(row) + "\n")
        self._fh.flush()
        if self._tb is not None:
            for key, value in row.items():
                if key != "step" and isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, row["step"])

    def plot(self) -> None:
        """Redraw ``loss.png``: training loss and validation loss against tokens."""
        plot_losses(self.rows, self.run_dir / "loss.png")

    def close(self) -> None:
        """Flush and close the files."""
        self._fh.close()
        if self._tb is not None:
            self._tb.close()


def read_metrics(path: Path) -> list[dict]:
    """The rows of a metrics.jsonl file (a torn last line from a kill is skipped)."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def plot_losses(rows: list[dict], out: Path) -> None:
    """Training and validation loss curves, written atomically as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = [(r["tokens"], r["loss"]) for r in rows if r.get("loss") is not None]
    val = [(r["tokens"], r["val_loss"]) for r in rows if r.get("val_loss") is not None]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=100)
    if train:
        ax.plot(*zip(*train), label="train loss", lw=1.2)
    if val:
        ax.plot(*zip(*val), "o-", label="val loss", lw=1.5)
    ax.set_xlabel("tokens")
    ax.set_ylabel("loss (nats/token)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}.png")
    fig.savefig(tmp)
    plt.close(fig)
    os.replace(tmp, out)


def _tensorboard(run_dir: Path) -> Any:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise HarnessError("train.tensorboard=true needs the tensorboard package",
                           hint="pip install tensorboard, or drop the setting") from None
    return SummaryWriter(str(run_dir / "tensorboard"))


def progress_bar(**kwargs: Any) -> Any:
    """A tqdm bar with rate and ETA; silent under --quiet and on ranks other than 0."""
    from harnesskit.progress import bar

    return bar(unit="step", **kwargs)


class Meter:
    """Tokens per second and MFU over the steps since the last report (eval time excluded)."""

    def __init__(self, flops_per_token: float, peak_flops: float) -> None:
        self.flops_per_token = flops_per_token
        self.peak = peak_flops
        self.tokens = 0
        self.seconds = 0.0
        self._t0 = time.perf_counter()

    def start(self) -> None:
        """Start timing a step."""
        self._t0 = time.perf_counter()

    def stop(self, tokens: int) -> None:
        """Stop timing a step that processed ``tokens``."""
        self.seconds += time.perf_counter() - self._t0
        self.tokens += tokens

    def report(self) -> tuple[float, float]:
        """(tokens/s, MFU) since the last report, then reset."""
        tps = self.tokens / self.seconds if self.seconds > 0 else 0.0
        mfu = tps * self.flops_per_token / self.peak if self.peak > 0 else 0.0
        self.tokens, self.seconds = 0, 0.0
        return tps, mfu


def measure_peak_flops(precision: str, device: str = "cpu", seconds: float = 0.3,
                       sizes: tuple[int, ...] = (256, 512, 1024), trials: int = 3) -> float:
    """This machine's matmul rate (FLOP/s) in ``precision``, measured now on square matmuls.

    The best of ``trials`` short timings per size: on a shared machine a slow trial is
    other people's load, not the hardware. A size whose single matmul would take longer
    than the budget (bf16 emulated on a CPU without native bf16) is not tried.
    ``HARNESS_PEAK_FLOPS`` overrides it (e.g. a datasheet number for a GPU).
    """
    import torch

    env = os.environ.get("HARNESS_PEAK_FLOPS")
    if env:
        return float(env)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    budget = seconds / (len(sizes) * trials)
    best = 0.0
    for n in sorted(sizes):
        if best > 0 and 2 * n ** 3 / best > budget:
            break  # one matmul of this size would overrun the budget
        a = torch.randn(n, n, dtype=dtype, device=device)
        b = torch.randn(n, n, dtype=dtype, device=device)
        a @ b  # warm up kernels and caches
        for _ in range(trials):
            reps, t0 = 0, time.perf_counter()
            while reps == 0 or time.perf_counter() - t0 < budget:
                a @ b
                reps += 1
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            best = max(best, 2 * n ** 3 * reps / (time.perf_counter() - t0))
    return best


def hardware_peak_flops(device: str = "cpu", seconds: float = 0.6) -> float:
    """The denominator of MFU: the fastest matmul rate of this hardware in fp32 or bf16.

    MFU compares the model's FLOP rate with what the hardware can do, whatever
    precision the run chose: dividing by the rate of the run's own precision made a
    bf16 run on a CPU without native bf16 (emulated, ~20x slower matmuls) report a
    flattering "73.7%" MFU for a tiny BERT.
    """
    env = os.environ.get("HARNESS_PEAK_FLOPS")
    if env:
        return float(env)
    return max(measure_peak_flops(p, device, seconds / 2) for p in ("fp32", "bf16"))
