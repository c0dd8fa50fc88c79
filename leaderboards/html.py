"""The leaderboard as one self-contained HTML page (no network needed to open it).

An overview table (models by tasks, each task's primary metric), then per task
a sortable table with every metric and its CI, a bar chart of the primary
metric with 95% CI whiskers (inline SVG), and the signatures and library
versions behind the numbers in a ``<details>``; last, the training loss curves
of the pretraining runs. Everything (CSS, the few lines of sorting script, the
charts) is inline; the script sets ``data-ready`` on ``<body>`` once it has run,
which the headless-browser test checks.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import re
from collections.abc import Sequence
from typing import Any

from leaderboards.board import Row, TaskBoard
from leaderboards.tables import (
    arrow,
    fmt_metric,
    fmt_score,
    header,
    human,
    model_label,
    rank_cell,
    signature_lines,
)

CSS = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1200px;
color:#1d2330;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #d8dce4;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #d8dce4;padding:.25em .55em;text-align:right;white-space:nowrap}
th{background:#eef1f6;cursor:pointer;user-select:none}th.sorted-asc:after{content:" \\25B2"}
th.sorted-desc:after{content:" \\25BC"}td.l,th.l{text-align:left}tr.baseline td{color:#5a6275;
font-style:italic}tr.na td{color:#9aa1b1}.meta{color:#5a6275}details{margin:.5em 0}
code{font-size:.9em;background:#f3f5f9;padding:0 .2em}svg text{font:11px sans-serif;fill:#1d2330}
.curves{display:flex;flex-wrap:wrap;gap:1em}.scroll{overflow-x:auto}
"""

# Runs first: any script error marks <html data-js-error> (the browser test reads it).
SENTINEL = ("window.addEventListener('error',function(ev){document.documentElement"
            ".setAttribute('data-js-error',String(ev.message));});")

SCRIPT = """
(function(){
  function val(td){var v=td.getAttribute('data-v');return v===null?td.textContent.trim():v;}
  function cmp(a,b){var x=parseFloat(a),y=parseFloat(b);
    if(!isNaN(x)&&!isNaN(y))return x-y; return String(a).localeCompare(String(b));}
  document.querySelectorAll('table.sortable').forEach(function(table){
    table.querySelectorAll('th').forEach(function(th,col){
      th.addEventListener('click',function(){
        var asc=!th.classList.contains('sorted-asc');
        table.querySelectorAll('th').forEach(function(h){h.classList.remove('sorted-asc','sorted-desc');});
        th.classList.add(asc?'sorted-asc':'sorted-desc');
        var body=table.tBodies[0];var rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(r1,r2){var c=cmp(val(r1.cells[col]),val(r2.cells[col]));return asc?c:-c;});
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
  document.body.setAttribute('data-ready','1');
})();
"""


def e(text: Any) -> str:
    """HTML-escape anything."""
    return html.escape(str(text), quote=True)


def anchor(task: str) -> str:
    """A safe element id for a task section."""
    return "task-" + re.sub(r"[^A-Za-z0-9_-]", "-", task)


def render_html(boards: dict[str, TaskBoard], models: dict[str, dict[str, Any]] | None = None,
                *, title: str = "Harness leaderboard", extra: Sequence[str] = ()) -> str:
    """The whole page as a string; ``extra`` sections (HTML) go before the loss curves."""
    models = models or {}
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    n_models = len({r.model_hash for b in boards.values() for r in b.rows})
    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{e(title)}</title>",
             "<meta name=viewport content='width=device-width,initial-scale=1'>",
             f"<style>{CSS}</style><script>{SENTINEL}</script></head><body>",
             f"<h1>{e(title)}</h1><p class=meta>{len(boards)} tasks, {n_models} models "
             f"(baselines included); generated {now}. Scores are means over fine-tuning seeds "
             "with 95% bootstrap confidence intervals; click a column to sort.</p>"]
    parts.append(overview(boards))
    for name, board in boards.items():
        parts.append(task_section(name, board))
    parts.extend(extra)
    parts.append(curves_section(boards, models))
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts)


def overview(boards: dict[str, TaskBoard]) -> str:
    """Models by tasks, each cell the task's primary metric."""
    if not boards:
        return "<p>The leaderboard is empty: run <code>harness eval</code> first.</p>"
    rows: dict[str, dict[str, Any]] = {}
    for name, board in boards.items():
        for r in board.rows:
            key = f"{r.label or r.model_id} {r.setting}".strip()
            entry = rows.setdefault(key, {"row": r, "cells": {}})
            entry["cells"][name] = (board.primary, r)
    head = "".join(f"<th><a href='#{anchor(n)}'>{e(n)}</a><br><small>{e(b.primary or '')} "
                   f"{arrow(b, b.primary)}</small></th>"
                   for n, b in boards.items())
    body = []
    for _model_id, entry in sorted(rows.items()):
        r0: Row = entry["row"]
        tds = []
        for name in boards:
            metric, r = entry["cells"].get(name, (None, None))
            if r is None:
                tds.append("<td data-v=''>·</td>")
            elif r.status != "ok" or r.value(metric) is None:
                tds.append(f"<td data-v='' title='{e(r.reason or '')}'>n/a</td>")
            else:
                v = r.metrics[metric]["mean"]
                tds.append(f"<td data-v='{v!r}'>{e(fmt_score(v))}</td>")
        cls = " class=baseline" if r0.baseline else ""
        shown = f"{model_label(r0)} ({r0.setting})" if r0.setting else model_label(r0)
        body.append(f"<tr{cls}><td class=l>{e(shown)}</td><td class=l>{e(r0.kind)}</td>"
                    f"<td data-v='{r0.params or ''}'>{e(human(r0.params))}</td>{''.join(tds)}</tr>")
    return ("<h2 id=overview>Overview</h2><div class=scroll><table class=sortable "
            "id=overview-table><thead><tr><th class=l>model</th><th class=l>kind</th>"
            f"<th>params</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>")


def task_section(name: str, board: TaskBoard) -> str:
    """The sortable table, the bar chart and the signatures of one task."""
    head = header(board)[:-1]  # the text table's columns; the note goes in the metric cells
    ths = "".join(f"<th class=l>{e(h)}</th>" if h in ("model", "kind", "mode", "setting")
                  else f"<th>{e(h)}</th>" for h in head)
    trs = []
    for r in board.rows:
        cls = "na" if r.status != "ok" else ("baseline" if r.baseline else "")
        tds = [f"<td data-v='{r.rank if r.rank is not None else 1e9}' title='{e(r.group)}'>"
               f"{e(rank_cell(r))}</td>",
               f"<td class=l data-model='{e(r.model_id)}'>{e(model_label(r))}</td>",
               f"<td class=l>{e(r.kind)}</td><td class=l>{e(r.mode)}</td>",
               f"<td class=l>{e(r.setting or 'default')}</td>",
               f"<td>{e(','.join(map(str, r.seeds)))}</td>",
               f"<td data-v='{r.n_examples or ''}'>{e(r.n_examples or '-')}</td>"]
        if r.status != "ok":
            label = "not applicable" if r.status == "not_applicable" else r.status
            tds.append(f"<td class=l colspan={len(board.metrics)}>{e(label)}: {e(r.reason)}</td>")
        else:
            for m in board.metrics:
                v = r.metrics.get(m)
                if v and v["mean"] is not None:
                    tds.append(f"<td data-v='{v['mean']!r}' title='{e(v.get('signature', ''))}'>"
                               f"{e(fmt_metric(v))}</td>")
                else:
                    tds.append(f"<td data-v='' title='{e((v or {}).get('error', ''))}'>"
                               f"{'error' if v else '-'}</td>")
        tds += [f"<td data-v='{x or ''}'>{e(human(x))}</td>" for x in (r.params, r.tokens, r.flops)]
        trs.append(f"<tr class='{cls}'>{''.join(tds)}</tr>")
    sigs = "".join(f"<li><code>{e(line)}</code></li>" for line in signature_lines(board))
    configs = "".join(f"<li>{e(r.model_id)}: <code>{e(json.dumps(r.config, sort_keys=True))}</code>"
                      "</li>" for r in board.rows if r.config)
    return (f"<section id='{anchor(name)}' data-task='{e(name)}'><h2>{e(name)}</h2>"
            f"<p class=meta>{e(board.family)}, version {e(board.version)}, data hash "
            f"<code>{e(board.data_hash)}</code></p>"
            + "".join(f"<p class=meta>Note: {e(n)}</p>" for n in board.notes) +
            f"<div class=scroll><table class=sortable><thead><tr>{ths}</tr></thead>"
            f"<tbody>{''.join(trs)}</tbody></table></div>{bar_chart(board)}<details><summary>Signatures and versions</summary>"
            f"<ul>{sigs}</ul><ul>{configs}</ul></details></section>")


def bar_chart(board: TaskBoard) -> str:
    """Horizontal bars of the primary metric with 95% CI whiskers, as inline SVG."""
    m = board.primary
    rows = [r for r in board.rows
            if r.status == "ok" and m in r.metrics and r.metrics[m]["mean"] is not None]
    if not rows:
        return ""
    vals = [(r, r.metrics[m]["mean"], r.metrics[m].get("ci") or [r.metrics[m]["mean"]] * 2)
            for r in rows]
    hi = max(max(v, c[1]) for _, v, c in vals)
    lo = min(0.0, min(min(v, c[0]) for _, v, c in vals))
    span = (hi - lo) or 1.0
    left, width, bar_h = 190, 420, 18
    height = bar_h * len(vals) + 30
    x = lambda v: left + (v - lo) / span * width  # noqa: E731
    out = [f"<svg class=chart role=img width={left + width + 80} height={height} "
           f"aria-label='{e(m)} by model'>"]
    for i, (r, v, c) in enumerate(vals):
        y = 5 + i * bar_h
        color = "#9aa1b1" if r.baseline else "#3b6fd6"
        out.append(f"<text x={left - 6} y={y + 12} text-anchor=end>{e(model_label(r)[:28])}</text>")
        out.append(f"<rect x={x(min(0, v)):.1f} y={y + 2} width={abs(x(v) - x(0)):.1f} "
                   f"height={bar_h - 5} fill='{color}'><title>{e(r.model_id)}: "
                   f"{e(fmt_metric(r.metrics[m]))}</title></rect>")
        cy = y + bar_h / 2
        out.append(f"<path d='M{x(c[0]):.1f} {cy:.1f}H{x(c[1]):.1f}M{x(c[0]):.1f} {cy - 4:.1f}"
                   f"V{cy + 4:.1f}M{x(c[1]):.1f} {cy - 4:.1f}V{cy + 4:.1f}' stroke='#1d2330' "
                   "fill=none />")
        out.append(f"<text x={x(max(v, c[1])) + 4:.1f} y={y + 12}>{e(fmt_score(v))}</text>")
    axis_y = height - 18
    out.append(f"<line x1={left} x2={left + width} y1={axis_y} y2={axis_y} stroke='#9aa1b1'/>")
    out.append(f"<text x={left} y={axis_y + 13}>{e(fmt_score(lo))}</text>"
               f"<text x={left + width} y={axis_y + 13} text-anchor=end>{e(fmt_score(hi))} "
               f"({e(m)})</text></svg>")
    return "".join(out)


def curves_section(boards: dict[str, TaskBoard], models: dict[str, dict[str, Any]]) -> str:
    """Loss curves of every model whose pretraining run left a metrics.jsonl."""
    ids = {r.model_hash: r.model_id for b in boards.values() for r in b.rows}
    # One curve per run: the checkpoints of a sweep share it; the newest one has all of it.
    newest: dict[str, tuple[int, str]] = {}
    for h, info in models.items():
        key = str(info.get("run") or h)
        if info.get("curve") and (info.get("step") or 0) >= newest.get(key, (-1, ""))[0]:
            newest[key] = (info.get("step") or 0, h)
    keep = {h for _, h in newest.values()}
    svgs = [loss_curve(ids.get(h, info.get("id", h)), info["curve"])
            for h, info in sorted(models.items(), key=lambda kv: ids.get(kv[0], kv[0]))
            if h in keep]
    if not svgs:
        return "<h2 id=curves>Pretraining loss curves</h2><p class=meta>No run logs recorded.</p>"
    return f"<h2 id=curves>Pretraining loss curves</h2><div class=curves>{''.join(svgs)}</div>"


def loss_curve(name: str, curve: dict[str, list[float]]) -> str:
    """One run's training (and validation) loss against step, as inline SVG."""
    series = [(k, list(zip(curve["step"], curve[k]))) for k in ("loss", "val_loss")
              if curve.get(k)]
    pts = [(s, v) for _, xs in series for s, v in xs if v is not None]
    if not pts:
        return ""
    w, h, pad = 360, 200, 36
    s0, s1 = min(p[0] for p in pts), max(p[0] for p in pts)
    v0, v1 = min(p[1] for p in pts), max(p[1] for p in pts)
    sx = lambda s: pad + (s - s0) / ((s1 - s0) or 1) * (w - pad - 10)  # noqa: E731
    sy = lambda v: 10 + (v1 - v) / ((v1 - v0) or 1) * (h - pad - 10)  # noqa: E731
    out = [f"<svg class=curve width={w} height={h} role=img aria-label='loss of {e(name)}'>",
           f"<text x={pad} y=10>{e(name)}</text>"]
    for key, color in (("loss", "#3b6fd6"), ("val_loss", "#d6573b")):
        xs = [(s, v) for k, xy in series if k == key for s, v in xy if v is not None]
        if xs:
            d = " ".join(f"{sx(s):.1f},{sy(v):.1f}" for s, v in xs)
            out.append(f"<polyline points='{d}' fill=none stroke='{color}' stroke-width=1.5>"
                       f"<title>{e(key)}</title></polyline>")
    out.append(f"<text x=2 y={sy(v1) + 4:.1f}>{v1:.3g}</text><text x=2 y={sy(v0):.1f}>{v0:.3g}"
               f"</text><text x={pad} y={h - 8}>step {s0:g}</text><text x={w - 10} y={h - 8} "
               f"text-anchor=end>{s1:g}</text><text x={w - 10} y=22 text-anchor=end "
               f"style='fill:#3b6fd6'>train</text><text x={w - 10} y=34 text-anchor=end "
               "style='fill:#d6573b'>val</text></svg>")
    return "".join(out)
