"""Geometry of the findings-per-day chart, drawn as inline SVG by the runs template.

Stacked bars: one bar per day, one segment per platform. Only numbers and names leave here;
the template escapes the names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

WIDTH = 720
HEIGHT = 240
MARGIN_LEFT = 40
MARGIN_BOTTOM = 28
MARGIN_TOP = 12
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str  # "<platform> <day>: <n>"


@dataclass(frozen=True)
class Tick:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    segments: tuple[Segment, ...]
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    legend: tuple[tuple[str, str], ...]  # (platform, colour)
    total: int


def stacked_bars(series: dict[str, dict[date, int]]) -> Chart:
    """Lay out ``platform -> day -> count`` as stacked daily bars."""
    days = sorted({d for counts in series.values() for d in counts})
    platforms = sorted(series)
    legend = tuple((p, PALETTE[i % len(PALETTE)]) for i, p in enumerate(platforms))
    if not days:
        return Chart(WIDTH, HEIGHT, (), (), (), legend, 0)
    span = [days[0] + timedelta(days=i) for i in range((days[-1] - days[0]).days + 1)]
    totals = {d: sum(series[p].get(d, 0) for p in platforms) for d in span}
    peak = max(max(totals.values()), 1)
    plot_w = WIDTH - MARGIN_LEFT - 8
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    slot = plot_w / len(span)
    bar = max(slot * 0.7, 1.0)
    colours = dict(legend)
    segments = []
    for i, day in enumerate(span):
        x = MARGIN_LEFT + i * slot + (slot - bar) / 2
        base = float(HEIGHT - MARGIN_BOTTOM)
        for platform in platforms:
            count = series[platform].get(day, 0)
            if not count:
                continue
            h = plot_h * count / peak
            base -= h
            label = f"{platform} {day.isoformat()}: {count}"
            segments.append(Segment(x, base, bar, h, colours[platform], label))
    step = max(1, len(span) // 6)
    x_ticks = tuple(
        Tick(MARGIN_LEFT + i * slot + slot / 2, HEIGHT - 10, d.strftime("%m-%d"))
        for i, d in enumerate(span)
        if i % step == 0
    )
    y_ticks = tuple(
        Tick(MARGIN_LEFT - 6, HEIGHT - MARGIN_BOTTOM - plot_h * v / peak + 4, str(v))
        for v in sorted({0, peak // 2, peak})
    )
    return Chart(WIDTH, HEIGHT, tuple(segments), x_ticks, y_ticks, legend, sum(totals.values()))
