"""Small statistics helpers shared by the load generator and the report."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; NaN for no values.

    ``inf`` values are allowed (a sample that never arrived counts as infinitely late).
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = math.ceil(rank)
    if low == high or ordered[high] == ordered[low]:
        return float(ordered[low])
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of ``(x, y)`` points; 0 for fewer than two."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def ms(ns: float) -> float:
    """Nanoseconds to milliseconds, rounded for reports (inf and NaN kept)."""
    if math.isinf(ns) or math.isnan(ns):
        return ns
    return round(ns / 1e6, 2)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, min and max of the repetitions of one figure (NaNs ignored)."""
    clean = [v for v in values if v is not None and not math.isnan(v)]
    if not clean:
        return {"median": math.nan, "min": math.nan, "max": math.nan, "n": 0}
    return {
        "median": percentile(clean, 50),
        "min": min(clean),
        "max": max(clean),
        "n": len(clean),
    }
