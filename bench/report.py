"""Printing benchmark figures: small aligned tables, percentiles, ratios."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: float) -> float:
    """The `pct` percentile (0-100) by linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def ratio(numerator: float, denominator: float) -> str:
    if not denominator or math.isnan(numerator) or math.isnan(denominator):
        return "–"
    return f"{numerator / denominator:.2f}×"


def ms(seconds: float) -> str:
    if math.isnan(seconds):
        return "–"
    value = seconds * 1000
    return (
        f"{value:,.0f} ms"
        if value >= 100
        else f"{value:.2f} ms"
        if value < 10
        else f"{value:.1f} ms"
    )


def us(seconds: float) -> str:
    return "–" if math.isnan(seconds) else f"{seconds * 1e6:,.0f} µs"


def rate(value: float, unit: str = "/s") -> str:
    return "–" if math.isnan(value) else f"{value:,.0f}{unit}"


def verdict(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "MISSED")


def table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown-compatible table, so the output can be pasted into docs/benchmarks.md."""
    cells = [[str(c) for c in header], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    out = [f"\n### {title}\n", line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in cells[1:]]
    return "\n".join(out)


def show(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print(table(title, header, rows), flush=True)


def note(text: str) -> None:
    print(text, flush=True)
