"""Small line charts drawn on the server as inline SVG: no JavaScript, no library, readable on a 360 px
screen (the drawing scales with its `viewBox`; labels are thinned, never the last one).

`line_chart()` computes the geometry (pure, so tests can count points and labels); `render_svg()` writes
the markup with presentation attributes only, as the Content-Security-Policy forbids inline styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#b3123c", "#1b7f3b", "#1f4e9a", "#8a5a00", "#6b3fa0")


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[int]
    color: str = ""


@dataclass(frozen=True)
class Line:
    label: str
    color: str
    points: list[tuple[float, float, int, str]]  # x, y, value, its x label

    @property
    def polyline(self) -> str:
        return " ".join(f"{x},{y}" for x, y, _value, _label in self.points)


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    peak: int
    labels: list[tuple[float, str]]  # the x labels shown (every one when they fit, always the last)
    lines: list[Line]
    ticks: list[tuple[float, int]]  # y, value


def _nice_peak(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^n at or above `value`, so the top tick is a round number."""
    peak = 1
    while True:
        for factor in (1, 2, 5):
            if peak * factor >= value:
                return peak * factor
        peak *= 10


def line_chart(labels: Sequence[str], series: Sequence[Series], *, width: int = 320, height: int = 160,
               max_labels: int = 6) -> LineChart:
    """Geometry of a line chart: one point per label in each series, on a shared y scale from 0."""
    for one in series:
        if len(one.values) != len(labels):
            raise ValueError(f"Series {one.label!r} has {len(one.values)} values for {len(labels)} labels.")
    left, right, top, bottom = 34, width - 18, 10, height - 22  # room for the y ticks and the last label
    peak = _nice_peak(max([1, *(v for one in series for v in one.values)]))
    count = len(labels)
    step = (right - left) / (count - 1) if count > 1 else 0.0

    def x(i: int) -> float:
        return round(left + i * step if count > 1 else (left + right) / 2, 1)

    def y(value: int) -> float:
        return round(bottom - (bottom - top) * value / peak, 1)

    every = max(1, -(-count // max_labels))  # ceil: at most `max_labels` labels
    shown = [(x(i), labels[i]) for i in range(count) if (count - 1 - i) % every == 0]
    lines = [Line(one.label, one.color or PALETTE[n % len(PALETTE)],
                  [(x(i), y(value), value, labels[i]) for i, value in enumerate(one.values)])
             for n, one in enumerate(series)]
    ticks = [(y(value), value) for value in sorted({0, peak // 2, peak})]
    return LineChart(width, height, left, right, top, bottom, peak, shown, lines, ticks)


def render_svg(chart: LineChart, title: str) -> Markup:
    """The chart as an accessible inline `<svg>` (its title read out; each point has a tooltip)."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {chart.width} {chart.height}"'
             f' width="100%" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="{chart.left}" y1="{chart.bottom}" x2="{chart.right}" y2="{chart.bottom}" stroke="#999"/>']
    for y, value in chart.ticks:
        parts.append(f'<line x1="{chart.left}" y1="{y}" x2="{chart.right}" y2="{y}" stroke="#ddd"/>'
                     f'<text x="{chart.left - 4}" y="{y + 3}" text-anchor="end" font-size="10">{value}</text>')
    for x, text in chart.labels:
        parts.append(f'<text class="x-label" x="{x}" y="{chart.bottom + 14}" text-anchor="middle"'
                     f' font-size="10">{escape(text)}</text>')
    for line in chart.lines:
        parts.append(f'<polyline points="{line.polyline}" fill="none" stroke="{line.color}" stroke-width="2"/>')
        for x, y, value, label in line.points:
            parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{line.color}">'
                         f'<title>{escape(line.label)}, {escape(label)}: {value}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))
