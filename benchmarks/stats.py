"""Small statistics for reports: Student-t 95 % intervals and bsuite-style normalised scores."""

from __future__ import annotations

import math
from collections.abc import Iterable

# two-sided 95 % critical values t_{0.975, df}, df = 1..30; beyond that the normal 1.960 is
# within 0.04 (df 30: 2.042; df 60: 2.000; df 120: 1.980)
_T975 = (
    12.706,
    4.303,
    3.182,
    2.776,
    2.571,
    2.447,
    2.365,
    2.306,
    2.262,
    2.228,
    2.201,
    2.179,
    2.160,
    2.145,
    2.131,
    2.120,
    2.110,
    2.101,
    2.093,
    2.086,
    2.080,
    2.074,
    2.069,
    2.064,
    2.060,
    2.056,
    2.052,
    2.048,
    2.045,
    2.042,
)


def t975(df: int) -> float:
    if df < 1:
        return math.nan
    if df <= 30:
        return _T975[df - 1]
    if df <= 60:
        return 2.042 + (2.000 - 2.042) * (df - 30) / 30
    if df <= 120:
        return 2.000 + (1.980 - 2.000) * (df - 60) / 60
    return 1.960


def mean_ci(values: Iterable[float]) -> tuple[float, float, float, int]:
    """(mean, low, high, n) with a two-sided 95 % Student-t interval over the values (NaNs
    dropped); with one value the interval is NaN."""
    xs = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    n = len(xs)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = sum(xs) / n
    if n == 1:
        return mean, math.nan, math.nan, 1
    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = t975(n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half, n


def normalised(x: float, random: float) -> float:
    """bsuite style: (x - random) / (1 - random), clipped to [0, 1]."""
    if math.isnan(x) or math.isnan(random):
        return math.nan
    if random >= 1.0:
        return 1.0
    return min(1.0, max(0.0, (x - random) / (1.0 - random)))
