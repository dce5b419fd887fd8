"""Small, dependency-free SVG charts for the HTML report: axes, ticks, lines, points, bars.

Each function returns one ``<svg>`` element as a string, sized by its ``viewBox`` so that
it scales with the page. Text is escaped; nothing is fetched.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 560, 340
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 34, 48


@dataclass(frozen=True)
class Axis:
    """One axis: its data range, whether it is logarithmic, and its label."""

    lo: float
    hi: float
    log: bool
    label: str

    def unit(self, value: float) -> float:
        """``value`` mapped to 0..1 along the axis."""
        if self.log:
            lo, hi, value = math.log10(self.lo), math.log10(self.hi), math.log10(value)
        else:
            lo, hi = self.lo, self.hi
        return 0.5 if hi == lo else (value - lo) / (hi - lo)

    def ticks(self) -> list[float]:
        """Tick positions: powers of ten on a log axis, 1-2-5 steps on a linear one."""
        if self.log:
            first = math.floor(math.log10(self.lo))
            last = math.ceil(math.log10(self.hi))
            return [10.0**e for e in range(first, last + 1) if self.lo <= 10.0**e <= self.hi]
        span = self.hi - self.lo
        if span <= 0:
            return [self.lo]
        raw = span / 5
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
        start = math.ceil(self.lo / step) * step
        return [start + i * step for i in range(int((self.hi - start) / step + 1e-9) + 1)]


def axis(values: Sequence[float], label: str, *, log: bool = False, zero: bool = False) -> Axis:
    """An axis spanning ``values`` (positive ones only on a log axis)."""
    data = [v for v in values if (v > 0 if log else math.isfinite(v))]
    if not data:
        return Axis(1.0, 10.0, log, label) if log else Axis(0.0, 1.0, log, label)
    lo, hi = min(data), max(data)
    if zero and not log:
        lo = min(lo, 0.0)
    if lo == hi:
        lo, hi = (lo / 2, hi * 2) if log else (lo - 1, hi + 1)
    return Axis(lo, hi, log, label)


def _fmt(value: float) -> str:
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-")
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:g}"


def _x(a: Axis, v: float) -> float:
    return LEFT + a.unit(v) * (WIDTH - LEFT - RIGHT)


def _y(a: Axis, v: float) -> float:
    return HEIGHT - BOTTOM - a.unit(v) * (HEIGHT - TOP - BOTTOM)


def _frame(
    title: str,
    x: Axis,
    y: Axis,
    body: list[str],
    chart_id: str,
    legend: str = "",
    *,
    x_ticks: bool = True,
) -> str:
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text class="title" x="{WIDTH / 2}" y="20" text-anchor="middle">{escape(title)}</text>',
    ]
    for t in x.ticks() if x_ticks else []:
        px = _x(x, t)
        parts.append(
            f'<line class="grid" x1="{px:.1f}" x2="{px:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>'
            f'<text class="tick" x="{px:.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{_fmt(t)}</text>'
        )
    for t in y.ticks():
        py = _y(y, t)
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{py:.1f}" y2="{py:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end">{_fmt(t)}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" '
        f'y2="{HEIGHT - BOTTOM}"/>'
        f'<line class="axis" x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>'
        f'<text class="label" x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 10}" '
        f'text-anchor="middle">{escape(x.label)}</text>'
        f'<text class="label" transform="translate(16 {(TOP + HEIGHT - BOTTOM) / 2}) '
        f'rotate(-90)" text-anchor="middle">{escape(y.label)}</text>'
    )
    parts.extend(body)
    parts.append(legend)
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    chart_id: str, title: str, xs: Sequence[float], ys: Sequence[float], x: Axis, y: Axis
) -> str:
    """A polyline through ``(xs[i], ys[i])``."""
    points = " ".join(f"{_x(x, a):.1f},{_y(y, b):.1f}" for a, b in zip(xs, ys, strict=True))
    return _frame(title, x, y, [f'<polyline class="series" points="{points}"/>'], chart_id)


def scatter(
    chart_id: str,
    title: str,
    points: Sequence[tuple[float, float, str, str]],
    x: Axis,
    y: Axis,
    classes: Sequence[tuple[str, str]] = (),
) -> str:
    """Points ``(x, y, css class, tooltip)``; ``classes`` lists ``(css class, legend text)``."""
    body = [
        f'<circle class="{escape(c)}" cx="{_x(x, a):.1f}" cy="{_y(y, b):.1f}" r="2.5">'
        f"<title>{escape(tip)}</title></circle>"
        for a, b, c, tip in points
    ]
    legend = "".join(
        f'<circle class="{escape(c)}" cx="{LEFT + 12}" cy="{TOP + 10 + 16 * i}" r="4"/>'
        f'<text class="tick" x="{LEFT + 22}" y="{TOP + 14 + 16 * i}">{escape(text)}</text>'
        for i, (c, text) in enumerate(classes)
    )
    return _frame(title, x, y, body, chart_id, legend)


def bar_chart(
    chart_id: str, title: str, labels: Sequence[str], values: Sequence[float], y: Axis, xlabel: str
) -> str:
    """Vertical bars, one per label."""
    n = max(len(labels), 1)
    slot = (WIDTH - LEFT - RIGHT) / n
    base = _y(y, y.lo)
    body = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        top = _y(y, value)
        px = LEFT + i * slot
        body.append(
            f'<rect class="bar" x="{px + slot * 0.15:.1f}" y="{top:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{max(base - top, 0):.1f}">'
            f"<title>{escape(label)}: {_fmt(value)}</title></rect>"
            f'<text class="tick" x="{px + slot / 2:.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    # the bars carry their own labels
    return _frame(title, Axis(0.0, 1.0, False, xlabel), y, body, chart_id, x_ticks=False)
