"""Views over training: each task's metric against step, tokens and FLOPs, run by run.

Built on :func:`leaderboards.frame.results_frame`: the scored rows of checkpoints
that know their run and step (sweeps, the watcher, evaluation inside the loop).
``points`` gives one row per (run, task, mode, step) with the primary metric's
mean over seeds and its 95% CI; ``text_table`` prints a run's checkpoints with
its losses and every task's metric (terminal or Markdown); ``html_section`` draws,
for the HTML page, one chart per task with every run overlaid and CI bands
(x switchable between step, tokens and FLOPs) beside the runs' loss curves, and
a scaling view: each run's final metric against its training FLOPs (log axis).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from leaderboards.frame import newest_setting
from leaderboards.svgplot import Series, line_chart
from leaderboards.tables import fmt_score, human

XS = (("step", "step"), ("tokens", "tokens"), ("flops", "training FLOPs"))
ARROW = {"higher": "↑", "lower": "↓"}
COLORS = ("#3b6fd6", "#d6573b", "#2a9d5c", "#8e44ad", "#c28f00", "#1b9aaa", "#7f8c8d")


def points(frame: pd.DataFrame, run: str | Path | None = None) -> pd.DataFrame:
    """Per (run, task, mode, step): score, ci_lo, ci_hi (means over seeds), tokens, flops;
    each curve in the one setting its newest result used."""
    rows = newest_setting(frame)
    rows = rows[~rows["baseline"].astype(bool) & rows["step"].notna() & rows["run"].notna()]
    if run is not None:
        rows = rows[match_run(rows["run"], run)]
    if not rows.empty:
        # One setting per curve: the run's newest on that task (a checkpoint scored with
        # --limit 3 and the next on the full test set are not points of one line).
        keys = ["run", "task", "mode"]
        latest = rows.loc[rows.groupby(keys)["created"].idxmax(), [*keys, "setting"]]
        rows = rows.merge(latest, on=[*keys, "setting"])
    if rows.empty:
        return pd.DataFrame(columns=["run", "task", "mode", "step", "score", "ci_lo", "ci_hi",
                                     "tokens", "flops", "metric", "direction", "model_id",
                                     "model_hash"])
    return rows.groupby(["run", "task", "mode", "step"], as_index=False).agg(
        score=("score", "mean"), ci_lo=("ci_lo", "mean"), ci_hi=("ci_hi", "mean"),
        tokens=("tokens", "max"), flops=("flops", "max"), metric=("primary_metric", "last"),
        direction=("direction", "last"),
        model_id=("model_id", "last"), model_hash=("model_hash", "last"))


def match_run(stored: pd.Series, run: str | Path) -> pd.Series:
    """Rows whose run is ``run``: the same folder, or (recorded elsewhere) the same name."""
    want = Path(run).expanduser().resolve()
    same = stored.map(lambda r: Path(r).expanduser().resolve() == want)
    return same if same.any() else stored.map(lambda r: Path(r).name == want.name)


def run_label(run: str) -> str:
    """A run's short name: its folder name."""
    return Path(run).name or str(run)


def losses_at(curve: dict[str, list] | None, step: int) -> tuple[float | None, float | None]:
    """(training loss, validation loss) logged at or last before ``step``."""
    train = val = None
    for s, lo, va in zip((curve or {}).get("step", []), (curve or {}).get("loss", []),
                         (curve or {}).get("val_loss", [])):
        if s > step:
            break
        train = lo if lo is not None else train
        val = va if va is not None else val
    return train, val


def run_curve(pts: pd.DataFrame, models: dict[str, dict[str, Any]]) -> dict[str, list] | None:
    """The loss curve recorded with a run's newest evaluated checkpoint."""
    newest = pts.sort_values("step").iloc[-1]
    return (models.get(newest["model_hash"]) or {}).get("curve")


def column_names(pts: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(task, mode, header) per metric column; the mode is named only where a task has two."""
    pairs = sorted({(t, m) for t, m in zip(pts["task"], pts["mode"])})
    modes: dict[str, int] = {}
    for t, _ in pairs:
        modes[t] = modes.get(t, 0) + 1
    out = []
    for t, m in pairs:
        last = pts[(pts["task"] == t) & (pts["mode"] == m)].iloc[-1]
        label = f"{t}{f' ({m})' if modes[t] > 1 else ''} {last['metric']} {ARROW[last['direction']]}"
        out.append((t, m, label))
    return out


def text_table(frame: pd.DataFrame, run: str | Path, models: dict[str, dict[str, Any]], *,
               fmt: str = "terminal") -> str:
    """A run's checkpoints: step, tokens, FLOPs, losses and each task's metric [95% CI]."""
    pts = points(frame, run)
    if pts.empty:
        return f"(no evaluated checkpoints of run {run}: sweep it with `harness eval --model " \
               f"{run} --checkpoints all` or `harness watch {run}`)\n"
    out = []
    for name, rpts in pts.groupby("run"):
        cols = column_names(rpts)
        curve = run_curve(rpts, models)
        head = ["step", "tokens", "FLOPs", "loss", "val loss", *(c[2] for c in cols)]
        body = []
        for step, srows in rpts.groupby("step"):
            first = srows.iloc[0]
            loss, val = losses_at(curve, int(step))
            cells = [str(int(step)), human(first["tokens"]), human(first["flops"]),
                     fmt_score(loss), fmt_score(val)]
            for t, m, _ in cols:
                hit = srows[(srows["task"] == t) & (srows["mode"] == m)]
                cells.append(_cell(hit.iloc[0]) if len(hit) else "-")
            body.append(cells)
        out.append(grid(f"run {run_label(str(name))} ({name})", head, body, fmt=fmt))
    return "\n".join(out)


def grid(title: str, head: list[str], body: list[list[str]], *, fmt: str = "terminal") -> str:
    """An aligned plain-text table, or a Markdown one, under a title."""
    if fmt == "markdown":
        lines = [f"## {title}", "", "| " + " | ".join(head) + " |",
                 "|" + "|".join("---" for _ in head) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines) + "\n"
    table = [head, *body]
    widths = [max(len(row[c]) for row in table) for c in range(len(head))]
    lines = [f"== {title} =="]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in table]
    return "\n".join(lines) + "\n"


def _cell(row: pd.Series) -> str:
    text = fmt_score(row["score"])
    if not (pd.isna(row["ci_lo"]) or pd.isna(row["ci_hi"])):
        text += f" [{fmt_score(row['ci_lo'])}, {fmt_score(row['ci_hi'])}]"
    return text


def html_section(frame: pd.DataFrame, models: dict[str, dict[str, Any]]) -> str:
    """The page's "Over training" section ('' when no run has evaluated checkpoints)."""
    from html import escape as e

    pts = points(frame)
    if pts.empty:
        return ""
    runs = sorted(pts["run"].unique(), key=str)
    color = {r: COLORS[i % len(COLORS)] for i, r in enumerate(runs)}
    charts = [_task_chart(t, m, g, color) for (t, m), g in pts.groupby(["task", "mode"])]
    loss = _loss_chart(pts, models, color)
    buttons = "".join(f"<button type=button data-x='{k}'>{e(label)}</button>" for k, label in XS)
    legend = "".join(f"<span class=key style='color:{color[r]}'>&#9632; {e(run_label(r))}</span>"
                     for r in runs)
    scaling = "".join(_scaling_chart(t, m, g, color) for (t, m), g in pts.groupby(["task", "mode"]))
    return (f"<section id=over-training class=overtraining data-x=step><h2>Over training</h2>"
            f"<p class=meta>Each task's main metric at every evaluated checkpoint, mean with its "
            f"95% bootstrap CI band; runs overlaid. x axis: {buttons}</p><p>{legend}</p>"
            f"<div class=curves>{loss}{''.join(charts)}</div>"
            f"<h3>Scaling</h3><p class=meta>Each run's latest evaluated checkpoint: main metric "
            f"against training FLOPs (6 &middot; params &middot; tokens), log axis.</p>"
            f"<div class=curves>{scaling}</div></section><style>{CSS}</style><script>{SCRIPT}</script>")


def _task_chart(task: str, mode: str, pts: pd.DataFrame, color: dict[str, str]) -> str:
    metric = f"{pts['metric'].iloc[-1]} {ARROW[pts['direction'].iloc[-1]]}"
    svgs = []
    for key, label in XS:
        series = []
        for run, g in pts.sort_values("step").groupby("run"):
            xy = [(float(x), float(y), _num(lo), _num(hi), f"{run_label(str(run))} step {int(s)}")
                  for x, y, lo, hi, s in zip(g[key], g["score"], g["ci_lo"], g["ci_hi"], g["step"])
                  if not pd.isna(x)]
            series.append(Series(run_label(str(run)), color[run], xy))
        svgs.append(line_chart(series, title=f"{task} ({mode})", ylabel=metric,
                               xlabel=label, css=f"chart-over xv xv-{key}",
                               log_x=key == "flops", data={"task": task, "x": key}))
    return "".join(svgs)


def _loss_chart(pts: pd.DataFrame, models: dict[str, dict[str, Any]],
                color: dict[str, str]) -> str:
    """Validation (and training) loss of every run against the same x axes."""
    per_run = {}
    for run, g in pts.groupby("run"):
        curve = run_curve(g, models)
        last = g.sort_values("step").iloc[-1]
        if curve and last["step"]:
            tokens, flops = _num(last["tokens"]), _num(last["flops"])
            per_run[run] = (curve, {"step": 1.0,  # x per step: batches are the same size
                                    "tokens": tokens / float(last["step"]) if tokens else None,
                                    "flops": flops / float(last["step"]) if flops else None})
    if not per_run:
        return ""
    svgs = []
    for key, label in XS:
        series = []
        for run, (curve, scale) in per_run.items():
            if scale[key] is None:
                continue
            for which, dash in (("val_loss", ""), ("loss", "4 3")):
                xy = [(s * scale[key], float(v), None, None, f"{run_label(str(run))} {which}")
                      for s, v in zip(curve["step"], curve.get(which) or []) if v is not None and s]
                if xy:
                    series.append(Series(f"{run_label(str(run))} {which}", color[run], xy, dash))
        svgs.append(line_chart(series, title="pretraining loss (val solid, train dashed)",
                               ylabel="loss (nats/token)", xlabel=label,
                               css=f"chart-loss xv xv-{key}", log_x=key == "flops",
                               data={"x": key}))
    return "".join(svgs)


def _scaling_chart(task: str, mode: str, pts: pd.DataFrame, color: dict[str, str]) -> str:
    metric = f"{pts['metric'].iloc[-1]} {ARROW[pts['direction'].iloc[-1]]}"
    series = []
    for run, g in pts.groupby("run"):
        last = g.sort_values("step").iloc[-1]
        if not pd.isna(last["flops"]) and last["flops"] > 0:
            series.append(Series(run_label(str(run)), color[run],
                                 [(float(last["flops"]), float(last["score"]), _num(last["ci_lo"]),
                                   _num(last["ci_hi"]), f"{run_label(str(run))} step "
                                   f"{int(last['step'])}")], markers_only=True))
    if not series:
        return ""
    return line_chart(series, title=f"{task} ({mode}): final {metric}", xlabel="training FLOPs",
                      ylabel=metric, css="chart-scaling", log_x=True,
                      data={"task": task})


def _num(x: Any) -> float | None:
    return None if x is None or pd.isna(x) or not math.isfinite(float(x)) else float(x)


CSS = (".overtraining .xv{display:none}.overtraining[data-x=step] .xv-step,"
       ".overtraining[data-x=tokens] .xv-tokens,.overtraining[data-x=flops] .xv-flops"
       "{display:inline}.overtraining button{margin:0 .2em;cursor:pointer}"
       ".overtraining .key{margin-right:1em;font-weight:600}")

SCRIPT = """
(function(){
  var sec=document.getElementById('over-training');
  sec.querySelectorAll('button[data-x]').forEach(function(b){
    b.addEventListener('click',function(){sec.setAttribute('data-x',b.getAttribute('data-x'));});
  });
})();
"""
