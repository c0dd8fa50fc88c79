"""A small inline-SVG line chart with CI bands, for the self-contained HTML page.

One function, :func:`line_chart`: several series (a colour, points with an
optional 95% interval each), linear or log x axis, tick labels, hover titles.
No library and no network: the page must open anywhere.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field

W, H = 400, 240
LEFT, RIGHT, TOP, BOTTOM = 58, 26, 24, 40


@dataclass
class Series:
    """One line: label, colour and points ``(x, y, lo, hi, tooltip)`` (lo/hi may be None)."""

    label: str
    color: str
    points: list[tuple[float, float, float | None, float | None, str]] = field(default_factory=list)
    dash: str = ""
    markers_only: bool = False


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def tick_label(v: float) -> str:
    """Compact tick text: 1.2k, 3M, 0.25."""
    a = abs(v)
    for unit, scale in (("E", 1e18), ("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if a >= scale:
            return f"{v / scale:.3g}{unit}"
    return f"{v:.3g}"


def _bounds(series: list[Series], log_x: bool) -> tuple[float, float, float, float]:
    xs = [p[0] for s in series for p in s.points if not log_x or p[0] > 0]
    ys = [v for s in series for p in s.points for v in (p[1], p[2], p[3]) if v is not None]
    x0, x1 = min(xs), max(xs)
    if log_x:
        x0, x1 = math.log10(x0), math.log10(x1)
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    y0, y1 = min(ys), max(ys)
    pad = (y1 - y0) * 0.08 or abs(y1) * 0.1 or 1.0
    return x0, x1, y0 - pad, y1 + pad


def line_chart(series: list[Series], *, title: str, xlabel: str, ylabel: str, css: str = "chart",
               log_x: bool = False, data: dict[str, str] | None = None) -> str:
    """An ``<svg>`` with every series as a polyline (or markers), CI bands and axes."""
    e = html.escape
    series = [s for s in series if any(not log_x or p[0] > 0 for p in s.points)]
    attrs = "".join(f" data-{k}='{e(str(v))}'" for k, v in (data or {}).items())
    head = f"<svg class='{e(css)}' role=img width={W} height={H}{attrs} aria-label='{e(title)}'>"
    if not series:
        return f"{head}<text x={LEFT} y=16>{e(title)}: nothing to draw</text></svg>"
    x0, x1, y0, y1 = _bounds(series, log_x)

    def sx(x: float) -> float:
        v = math.log10(x) if log_x else x
        return LEFT + (v - x0) / (x1 - x0) * (W - LEFT - RIGHT)

    def sy(y: float) -> float:
        return TOP + (y1 - y) / (y1 - y0) * (H - TOP - BOTTOM)

    out = [head, f"<text x={LEFT} y=14 style='font-weight:600'>{e(title)}</text>"]
    out += _axes(x0, x1, y0, y1, sx, sy, log_x, xlabel, ylabel)
    for s in series:
        pts = sorted(p for p in s.points if not log_x or p[0] > 0)
        band = [p for p in pts if p[2] is not None and p[3] is not None]
        if len(band) > 1:
            ring = [(sx(p[0]), sy(p[3])) for p in band] + [(sx(p[0]), sy(p[2])) for p in band[::-1]]
            out.append(f"<polygon class=band points='{_pts(ring)}' fill='{s.color}' "
                       "fill-opacity=0.18 stroke=none />")
        if not s.markers_only and len(pts) > 1:
            dash = f" stroke-dasharray='{s.dash}'" if s.dash else ""
            out.append(f"<polyline points='{_pts([(sx(p[0]), sy(p[1])) for p in pts])}' fill=none "
                       f"stroke='{s.color}' stroke-width=1.6{dash}><title>{e(s.label)}</title>"
                       "</polyline>")
        if s.markers_only or len(pts) <= 40:
            out += [_marker(p, s.color, sx, sy) for p in pts]
    out.append("</svg>")
    return "".join(out)


def _marker(p: tuple, color: str, sx, sy) -> str:  # type: ignore[no-untyped-def]
    x, y, lo, hi, tip = p
    text = f"{tip}: {y:.4g}" + (f" [{lo:.4g}, {hi:.4g}]" if lo is not None and hi is not None else "")
    whisker = (f"<line x1={sx(x):.1f} x2={sx(x):.1f} y1={sy(lo):.1f} y2={sy(hi):.1f} "
               f"stroke='{color}' />" if lo is not None and hi is not None else "")
    return (f"{whisker}<circle class=pt cx={sx(x):.1f} cy={sy(y):.1f} r=3 fill='{color}'>"
            f"<title>{html.escape(text)}</title></circle>")


def _axes(x0, x1, y0, y1, sx, sy, log_x, xlabel, ylabel) -> list[str]:  # type: ignore[no-untyped-def]
    e = html.escape
    base, right = H - BOTTOM, W - RIGHT
    out = [f"<line x1={LEFT} x2={right} y1={base} y2={base} stroke='#9aa1b1' />",
           f"<line x1={LEFT} x2={LEFT} y1={TOP} y2={base} stroke='#9aa1b1' />"]
    for t in nice_ticks(y0, y1):
        out.append(f"<line x1={LEFT - 3} x2={right} y1={sy(t):.1f} y2={sy(t):.1f} "
                   "stroke='#eef1f6' />")
        out.append(f"<text x={LEFT - 5} y={sy(t) + 4:.1f} text-anchor=end>{tick_label(t)}</text>")
    if log_x:
        xt = [10.0 ** k for k in range(math.ceil(x0), math.floor(x1) + 1)] or [10 ** x0, 10 ** x1]
    else:
        xt = nice_ticks(x0, x1)
    for t in xt:
        out.append(f"<text x={sx(t):.1f} y={base + 14} text-anchor=middle>{tick_label(t)}</text>")
    out.append(f"<text x={(LEFT + right) / 2:.0f} y={H - 8} text-anchor=middle>"
               f"{e(xlabel)}{' (log)' if log_x else ''}</text>")
    out.append(f"<text x=12 y={(TOP + base) / 2:.0f} text-anchor=middle "
               f"transform='rotate(-90 12 {(TOP + base) / 2:.0f})'>{e(ylabel)}</text>")
    return out


def _pts(xy: list[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
