"""Support per party as a small horizontal bar chart, drawn on the server as inline SVG (no JavaScript; the
drawing scales with its `viewBox` to a 360 px screen; presentation attributes only, as the CSP forbids
inline styles). `bars()` computes the geometry (pure, tests count the bars); `render_bars()` writes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from coopol.core.charts import PALETTE

WIDTH, ROW, LEFT, RIGHT = 320, 24, 118, 260


@dataclass(frozen=True)
class Bar:
    label: str
    support: int
    votes: int
    y: int
    width: float  # of the support share, out of RIGHT - LEFT
    color: str

    @property
    def share(self) -> int:
        return round(100 * self.support / self.votes) if self.votes else 0


def bars(parties: Sequence[tuple[str, int, int]]) -> list[Bar]:
    """One bar per (party name, supports, votes), in the given order."""
    span = RIGHT - LEFT
    return [Bar(name, support, votes, 4 + i * ROW, round(span * support / votes, 1) if votes else 0.0,
                PALETTE[i % len(PALETTE)])
            for i, (name, support, votes) in enumerate(parties)]


def _short(name: str, limit: int = 18) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def render_bars(shown: list[Bar], title: str, value_text) -> Markup:
    """`value_text(bar)` writes a bar's figure ("75 % of 8"), in the reader's language."""
    height = 8 + ROW * len(shown)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart bridging-chart" viewBox="0 0 {WIDTH} {height}"'
             f' width="100%" role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>',
             f'<line x1="{LEFT}" y1="0" x2="{LEFT}" y2="{height - 4}" stroke="#999"/>',
             f'<line x1="{(LEFT + RIGHT) / 2}" y1="0" x2="{(LEFT + RIGHT) / 2}" y2="{height - 4}" stroke="#ddd"/>']
    for bar in shown:
        middle, figure = bar.y + 11, escape(value_text(bar))
        parts.append(f'<text x="{LEFT - 6}" y="{middle + 4}" text-anchor="end" font-size="11">'
                     f'{escape(_short(bar.label))}</text>'
                     f'<rect class="bar" x="{LEFT}" y="{bar.y + 3}" width="{bar.width}" height="16" fill="{bar.color}">'
                     f'<title>{escape(bar.label)}: {figure}</title></rect>'
                     f'<text x="{LEFT + bar.width + 4}" y="{middle + 4}" font-size="10">{figure}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
