"""A series as a line of block characters, for ``gitexp show --series``."""

from __future__ import annotations

import math
from collections.abc import Sequence

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 20) -> str:
    """``values`` squeezed into at most ``width`` bars, lowest ▁ to highest █.

    Each bar is the mean of its share of the points; a flat series is a row of ▄, and
    non-finite values (NaN, inf) are left out of the scale and drawn as spaces.

    >>> sparkline([1, 2, 3, 4])
    '▁▃▆█'
    """
    if not values or width < 1:
        return ""
    buckets = _buckets(values, width)
    finite = [v for v in buckets if math.isfinite(v)]
    if not finite:
        return " " * len(buckets)
    low, high = min(finite), max(finite)
    span = high - low
    out = []
    for value in buckets:
        if not math.isfinite(value):
            out.append(" ")
        elif span == 0:
            out.append(BARS[3])
        else:
            out.append(BARS[min(len(BARS) - 1, int((value - low) / span * len(BARS)))])
    return "".join(out)


def _buckets(values: Sequence[float], width: int) -> list[float]:
    if len(values) <= width:
        return [float(v) for v in values]
    out = []
    for number in range(width):
        start = number * len(values) // width
        end = max(start + 1, (number + 1) * len(values) // width)
        chunk = [float(v) for v in values[start:end] if math.isfinite(v)]
        out.append(sum(chunk) / len(chunk) if chunk else math.nan)
    return out
