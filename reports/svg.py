"""Small hand-written SVG plots for the report: line charts of evidence curves and margin histograms.

Hand-written rather than matplotlib: a report of a thorough run holds a hundred figures, which this module draws in
milliseconds each, a few kilobytes apiece, with text as real ``<text>`` (searchable, styled by the page's CSS). Every
string that reaches the SVG (axis labels, series labels) goes through :func:`html.escape`, so a label such as
``</svg><script>`` stays text. Values arrive from JSON: numbers, the strings ``"nan"``/``"inf"`` that the results
writer uses for non-finite floats, or anything else; whatever is not a finite number (or not positive on a log axis)
is left out and counted in the caption.
"""
from __future__ import annotations

import math
from html import escape
from typing import Any, Sequence

# Okabe-Ito colours (distinguishable with common colour-vision deficiencies), with dash patterns for greyscale.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("", "6 3", "2 3", "8 3 2 3", "4 2 1 2", "1 2", "10 4")
HELD_FILL, VIOLATED_FILL, INCONCLUSIVE_FILL = "#2da44e", "#cf222e", "#e16f24"

WIDTH, PLOT_HEIGHT, HIST_HEIGHT = 560, 250, 170
LEFT, RIGHT, TOP, BOTTOM = 66, 18, 14, 46
LEGEND_ROW = 17
MAX_LABEL = 72  # characters of an axis or legend label (the full text is in a <title> tooltip)


def number(x: Any) -> float | None:
    """A finite or non-finite float from a JSON value (``"nan"``, ``"inf"``, ``"-inf"`` included); None otherwise."""
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str) and x.strip().lower() in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity"):
        return float(x.strip().lower())
    return None


def _finite(x: Any) -> float | None:
    v = number(x)
    return v if v is not None and math.isfinite(v) else None


def _nice_step(span: float, target: int) -> float:
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * mag >= raw:
            return m * mag
    return 10 * mag


def _linear_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    step = _nice_step(hi - lo, target)
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + step * 1e-9:
        ticks.append(0.0 if abs(k * step) < step * 1e-9 else k * step)
        k += 1
    return ticks


def _label(v: float, exponent_only: bool = False) -> str:
    """Tick label as SVG text content: ``0.25``, ``1200``, or ``3×10<sup>-5</sup>`` with a raised tspan."""
    if v == 0:
        return "0"
    a = abs(v)
    if 1e-3 <= a < 1e5 and not exponent_only:
        return escape(f"{v:.4g}")
    e = math.floor(math.log10(a) + 1e-12)
    m = v / 10**e
    sup = f'10<tspan dy="-0.45em" font-size="0.8em">{e}</tspan>'
    if exponent_only or abs(m - round(m)) < 1e-9 and round(m) == 1:
        return ("-" if v < 0 else "") + sup
    return f"{m:.3g}×{sup}"


class _Axis:
    """Maps data values to pixels on a linear, log or symmetric-log scale and proposes ticks."""

    def __init__(self, lo: float, hi: float, p0: float, p1: float, scale: str = "linear", pad: float = 0.04,
                 integer: bool = False):
        self.scale, self.p0, self.p1, self.integer = scale, p0, p1, integer
        tlo, thi = self.t(lo), self.t(hi)
        if thi - tlo <= 0:
            half = max(abs(tlo) * 0.1, 1e-12 if scale == "linear" else 0.05, 1e-300)
            tlo, thi = tlo - half, thi + half
        span = thi - tlo
        self.tlo, self.thi = tlo - pad * span, thi + pad * span
        if scale != "linear":  # keep 10**t a finite float (values near 1e300 would overflow in ticks and inv)
            self.tlo, self.thi = max(self.tlo, -307.0), min(self.thi, 307.0)

    def t(self, v: float) -> float:
        if self.scale == "log":
            return min(max(math.log10(v), -307.0), 307.0)
        if self.scale == "symlog":
            return math.copysign(min(math.log10(1 + abs(v)), 307.0), v)
        return v

    def inv(self, t: float) -> float:
        if self.scale == "log":
            return 10**t
        if self.scale == "symlog":
            return math.copysign(10 ** abs(t) - 1, t)
        return t

    def px(self, v: float) -> float:
        return self.p0 + (self.t(v) - self.tlo) / (self.thi - self.tlo) * (self.p1 - self.p0)

    def ticks(self) -> list[tuple[float, str]]:
        lo, hi = self.inv(self.tlo), self.inv(self.thi)
        if self.scale == "log":
            d0, d1 = math.ceil(self.tlo - 1e-9), math.floor(self.thi + 1e-9)
            if d1 - d0 >= 2:  # three or more decades in view: label the powers of ten
                stride = max(1, math.ceil((d1 - d0 + 1) / 7))
                return [(10.0**d, _label(10.0**d, exponent_only=True)) for d in range(d0, d1 + 1, stride)]
            for mantissas in ((1, 2, 5), range(1, 10)):  # a narrow range: 1-2-5 steps, or every digit if too few
                vals = [m * 10.0**k for k in range(math.floor(self.tlo) - 1, math.ceil(self.thi) + 1) for m in mantissas]
                vals = [v for v in vals if self.tlo - 1e-9 <= math.log10(v) <= self.thi + 1e-9]
                if len(vals) >= 3:
                    break
            return [(v, _label(v)) for v in vals]
        if self.scale == "symlog":
            top = max(abs(self.tlo), abs(self.thi))
            decades = [10.0**d for d in range(0, int(math.floor(top)) + 1)]
            stride = max(1, math.ceil(len(decades) / 4))
            vals = [0.0] + [s * d for d in decades[::stride] for s in (1, -1)]
            return [(v, _label(v)) for v in sorted(vals) if self.tlo <= self.t(v) <= self.thi]
        ticks = _linear_ticks(lo, hi)
        if self.integer:  # counts: whole numbers only
            ticks = [v for v in ticks if float(v).is_integer()] or [0.0]
        return [(v, _label(v)) for v in ticks]


def _svg_open(height: float, aria: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" viewBox="0 0 {WIDTH} {height:.0f}" '
        f'width="{WIDTH}" height="{height:.0f}" role="img" aria-label="{escape(aria)}">'
    )


def _frame(xa: _Axis, ya: _Axis, xlabel: str, ylabel: str) -> list[str]:
    x0, x1, y0, y1 = LEFT, WIDTH - RIGHT, round(ya.p0), TOP
    out = [f'<rect x="{x0}" y="{y1}" width="{x1 - x0}" height="{y0 - y1}" class="frame"/>']
    for v, lab in xa.ticks():
        x = xa.px(v)
        out.append(f'<line x1="{x:.1f}" y1="{y1}" x2="{x:.1f}" y2="{y0}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{y0 + 15}" text-anchor="middle" class="tick">{lab}</text>')
    for v, lab in ya.ticks():
        y = ya.px(v)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x1}" y2="{y:.1f}" class="grid"/>')
        out.append(f'<text x="{x0 - 5}" y="{y + 4:.1f}" text-anchor="end" class="tick">{lab}</text>')
    out.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{y0 + 36}" text-anchor="middle" class="axis-label">'
               f"{escape(_short(xlabel))}<title>{escape(xlabel)}</title></text>")
    cy = (y0 + y1) / 2
    out.append(f'<text x="14" y="{cy:.1f}" text-anchor="middle" transform="rotate(-90 14 {cy:.1f})" '
               f'class="axis-label">{escape(_short(ylabel, 40))}<title>{escape(ylabel)}</title></text>')
    return out


def _short(s: Any, n: int = MAX_LABEL) -> str:
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def _points(xs: Any, ys: Any, logx: bool, logy: bool) -> tuple[list[tuple[float, float]], int]:
    """Plottable (x, y) pairs and how many were dropped (non-finite, non-positive on a log axis, unpaired)."""
    xs = list(xs) if isinstance(xs, (list, tuple)) else []
    ys = list(ys) if isinstance(ys, (list, tuple)) else []
    pts, dropped = [], abs(len(xs) - len(ys))
    for x, y in zip(xs, ys):
        fx, fy = _finite(x), _finite(y)
        if fx is None or fy is None or (logx and fx <= 0) or (logy and fy <= 0):
            dropped += 1
        else:
            pts.append((fx, fy))
    return pts, dropped


def line_chart(fig: Any) -> tuple[str, str]:
    """SVG of one ``theorems.core.curve(...)`` dict and a caption (what was left out); ("", reason) if nothing to plot."""
    if not isinstance(fig, dict) or not isinstance(fig.get("series"), dict):
        return "", "the figure record is not a curve (no series)"
    logx, logy = bool(fig.get("logx")), bool(fig.get("logy"))
    series, dropped = [], 0
    for label, s in fig["series"].items():
        s = s if isinstance(s, dict) else {}
        pts, d = _points(s.get("x"), s.get("y"), logx, logy)
        dropped += d
        series.append((str(label), pts))
    allpts = [p for _, pts in series for p in pts]
    if not allpts:
        return "", "no plottable points (all non-finite, or non-positive on a log axis)"
    xs, ys = [p[0] for p in allpts], [p[1] for p in allpts]
    xa = _Axis(min(xs), max(xs), LEFT, WIDTH - RIGHT, "log" if logx else "linear")
    ya = _Axis(min(ys), max(ys), TOP + PLOT_HEIGHT, TOP, "log" if logy else "linear")
    height = TOP + PLOT_HEIGHT + BOTTOM + LEGEND_ROW * len(series) + 4
    xlabel, ylabel = str(fig.get("xlabel", "")), str(fig.get("ylabel", ""))
    out = [_svg_open(height, f"{ylabel} against {xlabel}")]
    out += _frame(xa, ya, xlabel, ylabel)
    for i, (label, pts) in enumerate(series):
        color, dash = PALETTE[i % len(PALETTE)], DASHES[i % len(DASHES)]
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        coords = " ".join(f"{xa.px(x):.1f},{ya.px(y):.1f}" for x, y in pts)
        if len(pts) > 1:
            out.append(f'<polyline points="{coords}" fill="none" stroke="{color}" stroke-width="1.8"{dash_attr}>'
                       f"<title>{escape(label)}</title></polyline>")
        if len(pts) <= 60:
            out += [f'<circle cx="{xa.px(x):.1f}" cy="{ya.px(y):.1f}" r="2.6" fill="{color}"/>' for x, y in pts]
        ly = TOP + PLOT_HEIGHT + BOTTOM + LEGEND_ROW * i + 8
        out.append(f'<line x1="{LEFT}" y1="{ly}" x2="{LEFT + 26}" y2="{ly}" stroke="{color}" stroke-width="2.2"'
                   f"{dash_attr}/>")
        out.append(f'<text x="{LEFT + 32}" y="{ly + 4}" class="legend">{escape(_short(label))}'
                   f"<title>{escape(label)}</title></text>")
    out.append("</svg>")
    caption = f"{dropped} point(s) not shown (non-finite, unpaired, or non-positive on a log axis)" if dropped else ""
    return "\n".join(out), caption


def margin_histogram(points: Sequence[tuple[float, bool | str]], worst: float | None = None) -> tuple[str, str]:
    """Histogram of relative margins with the violation line at 0 and the worst example marked.

    Each point is (value, held): held is True (held), False (violated) or the example's status as a string ("held",
    "violated", "inconclusive"); the three are stacked in their own colours.

    The x range always includes 0, so the picture shows how far the examples are from failing. When margins span more
    than a factor 10 the axis is symmetric-logarithmic (linear near 0, logarithmic beyond +-1).
    """
    def cat(h: bool | str) -> int:  # 0 held, 1 inconclusive, 2 violated
        if isinstance(h, str):
            return {"held": 0, "inconclusive": 1}.get(h, 2)
        return 0 if h else 2

    vals = [(float(v), cat(h)) for v, h in points if math.isfinite(v)]
    not_finite = len(points) - len(vals)
    if not vals:
        return "", (f"{not_finite} example(s) with a non-finite margin" if not_finite else "no margins to plot")
    lo, hi = min(0.0, *(v for v, _ in vals)), max(0.0, *(v for v, _ in vals))
    if lo == hi:  # every margin is exactly 0 (e.g. an exact count against a bound of 0): show them against [0, 1]
        hi = 1.0
    scale = "symlog" if max(abs(lo), abs(hi)) > 10 else "linear"
    xa = _Axis(lo, hi, LEFT, WIDTH - RIGHT, scale, pad=0.0)
    # Bins of equal width in the axis's own coordinate, aligned so that 0 (the bound) is always a bin edge.
    span = xa.thi - xa.tlo
    width = _nice_step(span, min(30, max(6, 2 * math.isqrt(len(vals)))))
    k0, k1 = math.floor(xa.tlo / width), math.ceil(xa.thi / width)
    k1 = max(k1, k0 + 1)
    counts = [[0, 0, 0] for _ in range(k1 - k0)]  # [held, inconclusive, violated] per bin
    for v, c in vals:
        k = min(max(math.floor(xa.t(v) / width), k0), k1 - 1) - k0
        counts[k][c] += 1
    xa = _Axis(xa.inv(k0 * width), xa.inv(k1 * width), LEFT, WIDTH - RIGHT, scale, pad=0.02)
    ya = _Axis(0, max(sum(c) for c in counts) * 1.08, TOP + HIST_HEIGHT, TOP, pad=0.0, integer=True)
    height = TOP + HIST_HEIGHT + BOTTOM + 4
    out = [_svg_open(height, "distribution of relative margins")]
    out += _frame(xa, ya, "relative margin = margin / |bound|  (below 0: not held)", "examples")
    base, per_example = ya.px(0), ya.px(0) - ya.px(1)
    for i, (h, u, v) in enumerate(counts):
        x0, x1 = xa.px(xa.inv((k0 + i) * width)), xa.px(xa.inv((k0 + i + 1) * width))
        top = base
        for n, fill, what in ((h, HELD_FILL, "held"), (u, INCONCLUSIVE_FILL, "inconclusive"),
                              (v, VIOLATED_FILL, "violated")):
            if n:
                h_px = n * per_example
                out.append(f'<rect x="{x0 + 0.5:.1f}" y="{top - h_px:.1f}" width="{max(x1 - x0 - 1, 1):.1f}" '
                           f'height="{h_px:.1f}" fill="{fill}" class="bar"><title>{n} {what}</title></rect>')
                top -= h_px
    zx = xa.px(0)
    out.append(f'<line x1="{zx:.1f}" y1="{TOP}" x2="{zx:.1f}" y2="{TOP + HIST_HEIGHT}" class="zero"/>')
    out.append(f'<text x="{zx + 4:.1f}" y="{TOP + 12}" class="zero-label">bound</text>')
    if worst is not None and math.isfinite(worst):
        wx = xa.px(worst)
        out.append(f'<path d="M{wx:.1f},{base - 1:.1f} l-5,-9 h10 z" class="worst"><title>worst example: '
                   f"{escape(f'{worst:.4g}')}</title></path>")
    out.append("</svg>")
    caption = f"{not_finite} example(s) with a non-finite margin are not shown" if not_finite else ""
    return "\n".join(out), caption


def fmt(v: Any, digits: int = 4) -> str:
    """A number for tables and messages: ``0.9583``, ``1200``, ``5.107e-15``, ``1e-06``; non-numbers as their text."""
    x = number(v)
    if x is None:
        return "—" if v is None else str(v)
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    return f"{x:.{digits}g}"
