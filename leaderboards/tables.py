"""Text views of a leaderboard: terminal table, Markdown, CSV and JSON.

Every view shows, per task, each metric as ``mean [lo, hi]`` (95% bootstrap CI;
``± sd`` across seeds when there are several), the model's parameters,
pretraining tokens and estimated FLOPs. ``signatures=True`` adds each metric's
signature and the library versions (the JSON and CSV views always carry them).
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from leaderboards.board import Row, TaskBoard


def human(n: float | int | None) -> str:
    """1234567 -> '1.23M'; None -> '-'."""
    if n is None:
        return "-"
    n = float(n)
    for unit, scale in (("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.3g}"


def fmt_score(v: float | None) -> str:
    """Scores to two decimals; large perplexities to four significant digits."""
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return f"{v:.4g}"
    return f"{v:.2f}"


def fmt_metric(m: dict[str, Any] | None) -> str:
    """``mean [lo, hi]`` with ``± sd`` when several seeds were run; the tokenizer of a
    per-token score and the share of empty outputs of distinct-n beside it."""
    if m is None:
        return "-"
    if m["mean"] is None:
        return "error (see --signatures)"
    text = fmt_score(m["mean"])
    if m.get("n", 1) > 1:
        text += f" ±{fmt_score(m['std'])}"
    if m.get("ci"):
        text += f" [{fmt_score(m['ci'][0])}, {fmt_score(m['ci'][1])}]"
    if m.get("unit"):
        text += f" ({unit_label(m['unit'])})"
    if m.get("empty_share"):
        text += f" ({m['empty_share']:.0f}% empty)"
    return text


def unit_label(unit: str) -> str:
    """``tokens of tokenizer 1a2b3c4d5e6f7a8b`` -> ``tok 1a2b3c4d``."""
    prefix = "tokens of tokenizer "
    if unit.startswith(prefix):
        return f"tok {unit[len(prefix):][:8]}"
    return unit.removeprefix("tokens of ")


def model_label(r: Row) -> str:
    """The model as shown (short hash where its id is not unique), marked when a baseline."""
    label = r.label or r.model_id
    return f"{label} (baseline)" if r.baseline else label


def arrow(board: TaskBoard, metric: str | None) -> str:
    """Which way is better for a metric, as its results say: ``↓`` when lower, else ``↑``."""
    return "↓" if board.lower_is_better(metric) else "↑"


def header(board: TaskBoard) -> list[str]:
    """Column names of one task's table."""
    arrows = [f"{m} {arrow(board, m)}" for m in board.metrics]
    return ["#", "model", "kind", "mode", "setting", "seeds", "n", *arrows, "params", "tokens",
            "FLOPs", "note"]


def rank_cell(r: Row) -> str:
    """The rank within the row's comparable group ("-": not ranked)."""
    return "-" if r.rank is None else str(r.rank)


def cells(board: TaskBoard, r: Row) -> list[str]:
    """One row's cells; a row that was not scored says why in its last (note) column."""
    lead = [rank_cell(r), model_label(r), r.kind, r.mode, r.setting or "default",
            ",".join(map(str, r.seeds)), str(r.n_examples) if r.n_examples else "-"]
    note = ""
    if r.status != "ok":
        label = "not applicable" if r.status == "not_applicable" else r.status
        scores, note = ["n/a"] * len(board.metrics), f"{label}: {r.reason}"
    else:
        scores = [fmt_metric(r.metrics.get(m)) for m in board.metrics]
    if r.group and r.status == "ok":
        note = f"ranked among: {r.group}" + (f"; {note}" if note else "")
    return [*lead, *scores, human(r.params), human(r.tokens), human(r.flops), note]


def signature_lines(board: TaskBoard) -> list[str]:
    """One line per metric signature and the library versions of the newest row."""
    sigs: dict[str, str] = {}
    for r in board.rows:
        for m, v in r.metrics.items():
            sigs.setdefault(m, v.get("signature", ""))
    for r in board.rows:
        for m, v in r.metrics.items():
            if v.get("error"):
                sigs[m] = f"ERROR for {r.model_id}: {v['error']}"
    lines = [f"{m}: {s}" for m, s in sigs.items()]
    versions = next((r.versions for r in board.rows if r.versions), {})
    if versions:
        lines.append("versions: " + " ".join(f"{k}={v}" for k, v in sorted(versions.items())))
    return lines


def terminal(boards: dict[str, TaskBoard], *, signatures: bool = False) -> str:
    """Aligned plain-text tables, one per task."""
    out = []
    for name, board in boards.items():
        out.append(f"== {name} ({board.family}, v{board.version}, data {board.data_hash[:8]}) ==")
        table = [header(board)] + [cells(board, r) for r in board.rows]
        widths = [max(len(row[c]) for row in table) for c in range(len(table[0]))]
        for row in table:
            out.append("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        out.extend(f"  note: {n}" for n in board.notes)
        if signatures:
            out.extend("  " + line for line in signature_lines(board))
        out.append("")
    return "\n".join(out) if out else "(the leaderboard is empty)\n"


def markdown(boards: dict[str, TaskBoard], *, signatures: bool = False) -> str:
    """GitHub-flavoured Markdown tables, one section per task."""
    out = ["# Leaderboard", ""]
    for name, board in boards.items():
        out += [f"## {name}", "",
                f"{board.family}, version {board.version}, data hash `{board.data_hash}`. "
                "Scores: mean [95% bootstrap CI], ± sd across seeds; n = test examples.", ""]
        head = header(board)
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "|".join("---" for _ in head) + "|")
        for r in board.rows:
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells(board, r)) + " |")
        out += ["", *(f"> {n}" for n in board.notes)] if board.notes else []
        if signatures:
            out += ["", *(f"- `{line}`" for line in signature_lines(board))]
        out.append("")
    return "\n".join(out)


CSV_FIELDS = ["task", "family", "task_version", "data_hash", "rank", "rank_group", "model",
              "model_hash", "kind", "baseline", "mode", "setting", "status", "reason", "seeds", "n", "metric", "mean", "std",
              "ci_lo", "ci_hi", "params", "tokens", "flops", "signature"]


def to_csv(boards: dict[str, TaskBoard]) -> str:
    """Long-format CSV: one line per (task, model, metric); not-applicable rows once."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=CSV_FIELDS, lineterminator="\n")
    w.writeheader()
    for name, board in boards.items():
        for r in board.rows:
            base = {"task": name, "family": board.family, "task_version": board.version,
                    "data_hash": board.data_hash, "rank": "" if r.rank is None else r.rank,
                    "rank_group": r.group, "model": r.model_id, "model_hash": r.model_hash,
                    "kind": r.kind, "baseline": int(r.baseline), "mode": r.mode,
                    "setting": r.setting, "status": r.status,
                    "reason": r.reason or "", "seeds": " ".join(map(str, r.seeds)),
                    "n": r.n_examples or "",
                    "params": r.params or "", "tokens": r.tokens or "", "flops": r.flops or ""}
            if not r.metrics:
                w.writerow(base)
            for m, v in r.metrics.items():
                ci = v.get("ci") or ["", ""]
                num = (lambda x: "" if x is None else repr(x))  # noqa: E731
                w.writerow({**base, "metric": m, "mean": num(v["mean"]), "std": num(v["std"]),
                            "ci_lo": ci[0], "ci_hi": ci[1], "signature": v.get("signature", "")})
    return buf.getvalue()


def to_json(boards: dict[str, TaskBoard]) -> str:
    """Everything, as JSON: per task its metrics and ranked rows."""
    doc = {name: {"family": b.family, "version": b.version, "data_hash": b.data_hash,
                  "metrics": b.metrics, "primary": b.primary, "directions": b.directions,
                  "notes": b.notes,
                  "rows": [r.to_dict() for r in b.rows]}
           for name, b in boards.items()}
    return json.dumps({"tasks": doc}, indent=2, sort_keys=True, default=str) + "\n"
