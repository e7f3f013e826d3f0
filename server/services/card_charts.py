"""Inline SVG line charts for the model card: printable, standalone, no script and no external asset."""

from __future__ import annotations

import math
from html import escape
from typing import Any

WIDTH, HEIGHT = 520, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 16, 48
COLOURS = ("#2456c7", "#d9822b", "#2e8b57", "#b3261e", "#7b4fb5", "#555555")

Series = dict[str, list[tuple[float, float]]]


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def history_series(history: list[dict[str, Any]], keys: list[str]) -> Series:
    """{key: [(epoch, value)]} of the KEYS the history logs (non-numeric and missing values left out)."""
    series: Series = {}
    for key in keys:
        points = [
            (float(h["epoch"]), float(h[key])) for h in history if _finite(h.get(key)) and _finite(h.get("epoch"))
        ]
        if points:
            series[key] = points
    return series


def _scale(lo: float, hi: float, start: float, span: float) -> Any:
    width = (hi - lo) or 1.0
    return lambda v: start + (v - lo) / width * span


def _ticks(lo: float, hi: float) -> list[float]:
    return [lo] if hi == lo else [lo + (hi - lo) * i / 4 for i in range(5)]


def _axes(xs: tuple[float, float], ys: tuple[float, float], sx: Any, sy: Any, x_label: str) -> list[str]:
    """The frame, the y ticks with their values and the x axis' label."""
    parts = [
        f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" height="{HEIGHT - TOP - BOTTOM}" '
        'fill="none" stroke="#999"/>'
    ]
    for v in _ticks(*ys):
        y = sy(v)
        parts.append(f'<line x1="{LEFT - 4}" x2="{LEFT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#999"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10">{v:.4g}</text>')
    for v in _ticks(*xs):
        x = sx(v)
        parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" font-size="10">{v:.4g}</text>')
    parts.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - BOTTOM + 28}" text-anchor="middle" '
        f'font-size="11">{escape(x_label)}</text>'
    )
    return parts


def line_chart(title: str, series: Series, x_label: str = "epoch", mark_x: float | None = None) -> str:
    """An SVG line chart of SERIES (one coloured line and legend entry each), a dashed line at MARK_X."""
    points = [p for line in series.values() for p in line]
    if not points:
        return ""
    xs = (min(p[0] for p in points), max(p[0] for p in points))
    ys = (min(p[1] for p in points), max(p[1] for p in points))
    sx = _scale(*xs, LEFT, WIDTH - LEFT - RIGHT)
    sy = _scale(*ys, HEIGHT - BOTTOM, -(HEIGHT - TOP - BOTTOM))
    parts = _axes(xs, ys, sx, sy, x_label)
    if mark_x is not None and xs[0] <= mark_x <= xs[1]:
        x = sx(mark_x)
        parts.append(
            f'<line class="best" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}" '
            'stroke="#b3261e" stroke-dasharray="4 3"/>'
        )
    for i, (name, line) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in line)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        parts.extend(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.5" fill="{colour}"/>' for x, y in line)
        legend_x = LEFT + 8 + i * 150
        parts.append(f'<rect x="{legend_x}" y="{HEIGHT - 14}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 14}" y="{HEIGHT - 5}" font-size="11">{escape(name)}</text>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        + "".join(parts)
        + "</svg>"
    )


def roc_chart(curves: list[dict[str, Any]]) -> str:
    """The evaluation's ROC curves (false positive rate → true positive rate) as an SVG chart."""
    series = {f"{c['label']} (AUC {c['auc']:.3f})": list(zip(c["fpr"], c["tpr"], strict=False)) for c in curves}
    return line_chart("ROC curve", series, x_label="false positive rate") if series else ""
