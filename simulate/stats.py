"""Summaries over replications: mean, standard deviation, 95 % confidence interval, P5/P50/P95.

The confidence interval is the Student-t interval of the mean, `mean ± t(0.975, n − 1) · s / √n`;
percentiles are numpy's linear interpolation. Undefined values (NaN, e.g. the CCF of a
replication without defaults) are left out; a summary of nothing is all NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Two-sided 95 % quantiles t(0.975, df) of Student's t for small df (standard tables).
T_975_TABLE: dict[int, float] = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
    10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
    18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060,
    26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042,
}
#: The standard normal 97.5 % quantile.
Z_975 = 1.959963984540054


def t_quantile_975(df: int) -> float:
    """t(0.975, df): the table up to 30, then the Cornish–Fisher expansion (error < 1e-4)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be ≥ 1 (got {df})")
    if df in T_975_TABLE:
        return T_975_TABLE[df]
    z = Z_975
    return (
        z
        + (z**3 + z) / (4 * df)
        + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
        + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3)
    )


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """One metric over the replications where it is defined."""

    mean: float
    std: float                    # sample standard deviation (n − 1)
    ci95: tuple[float, float]     # 95 % confidence interval of the mean
    p5: float
    p50: float
    p95: float
    n: int                        # replications where the metric is defined

    def scaled(self, factor: float) -> "MetricSummary":
        """The same summary with every value multiplied by `factor` (> 0), e.g. a unit change."""
        return MetricSummary(
            self.mean * factor, self.std * factor, (self.ci95[0] * factor, self.ci95[1] * factor),
            self.p5 * factor, self.p50 * factor, self.p95 * factor, self.n,
        )


def summarise(values: Sequence[float] | np.ndarray) -> MetricSummary:
    """Mean, std, 95 % CI and P5/P50/P95 of the finite values."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        nan = math.nan
        return MetricSummary(nan, nan, (nan, nan), nan, nan, nan, 0)
    mean = float(x.mean())
    if n > 1:
        std = float(x.std(ddof=1))
        half = t_quantile_975(n - 1) * std / math.sqrt(n)
        ci = (mean - half, mean + half)
    else:
        std, ci = math.nan, (math.nan, math.nan)
    p5, p50, p95 = (float(v) for v in np.percentile(x, [5, 50, 95]))
    return MetricSummary(mean, std, ci, p5, p50, p95, n)
