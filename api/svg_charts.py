"""Small inline SVG charts for the offline HTML page: text stays text (so Chinese renders with the
page's font), no script, no external reference. Every drawn datum has the class `mark` (what the
browser test counts); axes, grid and labels do not.

Each function returns an SVG element as a string; the caller places it in the page. Scales are
linear; ticks are "nice" steps (1, 2, 2.5, 5 × 10^k).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

#: Colour of each option, in option order (Okabe–Ito, readable by the colour-blind), then repeated.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#7F7F7F", "#000000")
#: Marker shapes of the options in the dot plot, so print in grey still tells them apart.
SHAPES = ("circle", "square", "diamond", "triangle", "circle", "square", "diamond", "triangle")
FONT_SIZE = 12


def colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values covering [low, high] (step 1, 2, 2.5 or 5 × 10^k)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 10))
    return ticks


def tick_text(value: float, step: float) -> str:
    """A tick label with as many decimals as the step needs (2.5 → 1, 0.25 → 2)."""
    decimals = f"{step:.6f}".rstrip("0").split(".")[1]
    return f"{value:,.{len(decimals)}f}"


class Scale:
    """Linear map from data [d0, d1] to pixels [p0, p1]."""

    def __init__(self, d0: float, d1: float, p0: float, p1: float) -> None:
        self.d0, self.d1, self.p0, self.p1 = d0, d1 if d1 != d0 else d0 + 1.0, p0, p1

    def __call__(self, value: float) -> float:
        return self.p0 + (value - self.d0) / (self.d1 - self.d0) * (self.p1 - self.p0)


def svg(width: float, height: float, body: Sequence[str], label: str) -> str:
    """An `<svg>` with a title for screen readers (the caption says the same in the page)."""
    return (f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
            f'role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>' + "".join(body) + "</svg>")


def text(x: float, y: float, content: str, *, anchor: str = "start", size: int = FONT_SIZE, cls: str = "",
         weight: str = "normal", rotate: float | None = None, fill: str = "#222") -> str:
    transform = f' transform="rotate({rotate:.0f} {x:.1f} {y:.1f})"' if rotate is not None else ""
    klass = f' class="{cls}"' if cls else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" '
            f'fill="{fill}"{klass}{transform}>{escape(content)}</text>')


def marker(shape: str, x: float, y: float, r: float, fill: str, label: str) -> str:
    """One datum: a circle, square, diamond or triangle with a tooltip."""
    tip = f"<title>{escape(label)}</title>"
    if shape == "square":
        return f'<rect class="mark" x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" fill="{fill}">{tip}</rect>'
    if shape == "diamond":
        d = r * 1.3
        return f'<path class="mark" d="M{x:.1f},{y - d:.1f}L{x + d:.1f},{y:.1f}L{x:.1f},{y + d:.1f}L{x - d:.1f},{y:.1f}Z" fill="{fill}">{tip}</path>'
    if shape == "triangle":
        d = r * 1.3
        return (f'<path class="mark" d="M{x:.1f},{y - d:.1f}L{x + d:.1f},{y + d * 0.8:.1f}L{x - d:.1f},{y + d * 0.8:.1f}Z" '
                f'fill="{fill}">{tip}</path>')
    return f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" fill="{fill}">{tip}</circle>'


def x_axis(scale: Scale, ticks: Sequence[float], top: float, bottom: float, label: str) -> list[str]:
    """Vertical grid lines with tick labels under the plot, and the axis label."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    parts = []
    for t in ticks:
        x = scale(t)
        parts.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="#e3e3e3"/>')
        parts.append(text(x, bottom + 14, tick_text(t, step), anchor="middle", size=11, fill="#555"))
    parts.append(text((scale.p0 + scale.p1) / 2, bottom + 30, label, anchor="middle", size=12, fill="#333"))
    return parts


def y_axis(scale: Scale, ticks: Sequence[float], left: float, right: float, label: str, label_x: float) -> list[str]:
    """Horizontal grid lines with tick labels left of the plot, and the rotated axis label."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    parts = []
    for t in ticks:
        y = scale(t)
        parts.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        parts.append(text(left - 6, y + 4, tick_text(t, step), anchor="end", size=11, fill="#555"))
    mid = (scale.p0 + scale.p1) / 2
    parts.append(text(label_x, mid, label, anchor="middle", size=12, fill="#333", rotate=-90))
    return parts


# ---------------------------------------------------------------- charts


def dot_plot(rows: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], x_label: str,
             label: str, width: int = 900) -> str:
    """One line per row (branch), one marker per series (option) at its value: who gets what under each option."""
    left, right, top, row_h = 150, 20, 10, 18
    height = top + row_h * len(rows) + 46
    values = [v for _, vs in series for v in vs if v is not None]
    ticks = nice_ticks(min(0.0, min(values, default=0.0)), max(values, default=1.0))
    scale = Scale(ticks[0], ticks[-1], left, width - right)
    bottom = top + row_h * len(rows)
    body = x_axis(scale, ticks, top, bottom, x_label)
    for i, name in enumerate(rows):
        y = top + row_h * (i + 0.5)
        if i % 2 == 0:
            body.append(f'<rect x="{left}" y="{y - row_h / 2:.1f}" width="{width - left - right}" height="{row_h}" fill="#f6f8fa"/>')
        body.append(text(left - 8, y + 4, name, anchor="end", size=11))
        present = [(k, vs[i]) for k, (_, vs) in enumerate(series) if vs[i] is not None]
        if present:
            lo, hi = min(v for _, v in present), max(v for _, v in present)
            body.append(f'<line x1="{scale(lo):.1f}" y1="{y:.1f}" x2="{scale(hi):.1f}" y2="{y:.1f}" stroke="#bbb" stroke-width="2"/>')
        for k, v in present:
            body.append(marker(SHAPES[k % len(SHAPES)], scale(v), y, 4.5, colour(k), f"{name} · {series[k][0]}: {v:,.0f}"))
    return svg(width, height, body, label)


def scatter_panels(panels: Sequence[tuple[str, Sequence[tuple[float, float, str, str]]]], x_label: str, y_label: str,
                   diagonal_label: str, colours: dict[str, str], label: str, per_row: int = 3, size: int = 290) -> str:
    """Small multiples, one panel per option: points (x, y, group, tooltip) and the diagonal y = x."""
    values = [v for _, points in panels for x, y, _, _ in points for v in (x, y)]
    ticks = nice_ticks(0.0, max(values, default=1.0), 4)
    pad_l, pad_b, pad_t, gap = 46, 44, 24, 18
    rows = math.ceil(len(panels) / per_row)
    width = per_row * (size + gap)
    height = rows * (size + pad_t + pad_b)
    body: list[str] = []
    for n, (title, points) in enumerate(panels):
        ox = (n % per_row) * (size + gap) + pad_l
        oy = (n // per_row) * (size + pad_t + pad_b) + pad_t
        inner = size - pad_l + 10
        sx = Scale(ticks[0], ticks[-1], ox, ox + inner)
        sy = Scale(ticks[0], ticks[-1], oy + inner, oy)
        body.append(text(ox + inner / 2, oy - 8, title, anchor="middle", size=12, weight="bold"))
        body += x_axis(sx, ticks, oy, oy + inner, x_label)
        body += y_axis(sy, ticks, ox, ox + inner, y_label, ox - 36)
        body.append(f'<line x1="{sx(ticks[0]):.1f}" y1="{sy(ticks[0]):.1f}" x2="{sx(ticks[-1]):.1f}" y2="{sy(ticks[-1]):.1f}" '
                    f'stroke="#888" stroke-dasharray="4 3"/>')
        body.append(text(sx(ticks[-1]) - 4, sy(ticks[-1]) + 14, diagonal_label, anchor="end", size=10, fill="#666"))
        for x, y, group, tip in points:
            body.append(f'<circle class="mark" cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3.5" fill="{colours.get(group, "#555")}" '
                        f'fill-opacity="0.8"><title>{escape(tip)}</title></circle>')
    return svg(width, height, body, label)


def error_bar_panels(panels: Sequence[tuple[str, Sequence[tuple[str, float | None, float | None, float | None]]]],
                     label: str, per_row: int = 3, panel_w: int = 330, panel_h: int = 210) -> str:
    """One panel per metric: each option's mean (a dot) with its 95 % interval (a bar), options down the side."""
    width = per_row * panel_w
    rows = math.ceil(len(panels) / per_row)
    height = rows * panel_h
    body: list[str] = []
    for n, (title, items) in enumerate(panels):
        ox, oy = (n % per_row) * panel_w, (n // per_row) * panel_h
        left, right, top, bottom = ox + 140, ox + panel_w - 16, oy + 26, oy + panel_h - 34
        values = [v for _, m, lo, hi in items for v in (m, lo, hi) if v is not None]
        lo_v, hi_v = (min(values), max(values)) if values else (0.0, 1.0)
        margin = (hi_v - lo_v) * 0.1 or abs(hi_v) * 0.05 or 1.0
        ticks = nice_ticks(lo_v - margin, hi_v + margin, 3)
        scale = Scale(ticks[0], ticks[-1], left, right)
        body.append(text(ox + 8, oy + 16, title, size=12, weight="bold"))
        body += x_axis(scale, ticks, top, bottom, "")
        row_h = (bottom - top) / max(1, len(items))
        for k, (name, mean, low, high) in enumerate(items):
            y = top + row_h * (k + 0.5)
            body.append(text(left - 6, y + 4, name, anchor="end", size=10))
            if mean is None:
                body.append(text(left + 4, y + 4, "—", size=10, fill="#888"))
                continue
            if low is not None and high is not None:
                x0, x1 = scale(low), scale(high)
                body.append(f'<line class="mark" x1="{x0:.1f}" y1="{y:.1f}" x2="{max(x1, x0 + 1):.1f}" y2="{y:.1f}" '
                            f'stroke="{colour(k)}" stroke-width="2"/>')
                for xe in (x0, x1):
                    body.append(f'<line x1="{xe:.1f}" y1="{y - 5:.1f}" x2="{xe:.1f}" y2="{y + 5:.1f}" stroke="{colour(k)}" stroke-width="1.5"/>')
            tip = f"{name}: {mean:,.2f}" + (f" [{low:,.2f}, {high:,.2f}]" if low is not None and high is not None else "")
            body.append(marker("circle", scale(mean), y, 4, colour(k), tip))
    return svg(width, height, body, label)


def band_chart(series: Sequence[tuple[str, str, Sequence[int], Sequence[float], Sequence[float], Sequence[float]]],
               x_label: str, y_label: str, month_ticks: Sequence[tuple[int, str]], label: str,
               width: int = 900, height: int = 340) -> str:
    """Daily mean lines with their P5–P95 bands: (name, colour, day, mean, p5, p95) per series."""
    left, right, top, bottom = 80, 20, 14, height - 48
    days = [d for _, _, ds, _, _, _ in series for d in ds]
    values = [v for _, _, _, m, lo, hi in series for v in (*m, *lo, *hi)]
    ticks = nice_ticks(min(values, default=0.0), max(values, default=1.0), 5)
    sx = Scale(min(days, default=0), max(days, default=1), left, width - right)
    sy = Scale(ticks[0], ticks[-1], bottom, top)
    body = y_axis(sy, ticks, left, width - right, y_label, 18)
    for day, name in month_ticks:
        x = sx(day)
        body.append(f'<line x1="{x:.1f}" y1="{bottom:.1f}" x2="{x:.1f}" y2="{bottom + 5:.1f}" stroke="#888"/>')
        body.append(text(x, bottom + 18, name, anchor="middle", size=11, fill="#555"))
    body.append(text((left + width - right) / 2, bottom + 38, x_label, anchor="middle", size=12, fill="#333"))
    for name, fill, ds, mean, p5, p95 in series:
        upper = " ".join(f"{sx(d):.1f},{sy(v):.1f}" for d, v in zip(ds, p95))
        lower = " ".join(f"{sx(d):.1f},{sy(v):.1f}" for d, v in reversed(list(zip(ds, p5))))
        body.append(f'<polygon class="mark" points="{upper} {lower}" fill="{fill}" fill-opacity="0.12" stroke="none"/>')
    for name, fill, ds, mean, p5, p95 in series:
        line = " ".join(f"{sx(d):.1f},{sy(v):.1f}" for d, v in zip(ds, mean))
        body.append(f'<polyline class="mark" points="{line}" fill="none" stroke="{fill}" stroke-width="1.6">'
                    f'<title>{escape(name)}</title></polyline>')
    return svg(width, height, body, label)
