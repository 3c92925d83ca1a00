"""What one replication hands back to the runner: its metrics and its daily series.

Kept small and picklable: it crosses process and machine boundaries (local workers, Dask).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class ReplicationOutput:
    """One replication's metrics (name → value; NaN when undefined) and its daily series."""

    index: int                   # replication number, 0-based; fixes its random stream
    metrics: dict[str, float]    # see the model's METRICS for names and units
    series: np.ndarray           # end-of-day portfolio balance of each measured day, 万元
