"""The simulation calendar: simulation days ↔ dates, months, interest settlement days.

Simulation time is measured in days as a float; day `d` is the half-open interval `[d, d + 1)`
and an event at time `t` happens on day `int(t)`. The measured period starts on 1 January of
`start_year` at simulation day `warmup_days`; the warm-up runs on the calendar days before it,
so with a 90-day warm-up the simulation starts on 2 October of the previous year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

#: Interest is settled on this day of the month (PBoC: 结息日 the 20th).
SETTLEMENT_DAY_OF_MONTH = 20

#: Months whose 20th is a settlement day under quarterly settlement (quarter-end months).
QUARTER_END_MONTHS = (3, 6, 9, 12)


@dataclass(frozen=True, slots=True)
class SimulationCalendar:
    """Maps simulation days to dates for one run of `warmup_days + days` days."""

    start_year: int     # calendar year of the measured period's 1 January
    warmup_days: int    # days simulated before the measured period
    days: int           # measured days

    @property
    def horizon(self) -> int:
        """Simulated days in total, warm-up included."""
        return self.warmup_days + self.days

    @property
    def first_date(self) -> dt.date:
        """The date of simulation day 0."""
        return dt.date(self.start_year, 1, 1) - dt.timedelta(days=self.warmup_days)

    def date_of(self, day: int) -> dt.date:
        """The date of simulation day `day`."""
        return self.first_date + dt.timedelta(days=day)

    def month_of_each_day(self) -> list[int]:
        """Month (1–12) of every simulated day, index = simulation day."""
        first = self.first_date
        return [(first + dt.timedelta(days=d)).month for d in range(self.horizon)]

    def month_starts(self) -> list[int]:
        """Simulation days on which a month begins after day 0, then the horizon itself."""
        first = self.first_date
        starts = [d for d in range(1, self.horizon) if (first + dt.timedelta(days=d)).day == 1]
        return [*starts, self.horizon]

    def settlement_days(self, frequency: Literal["monthly", "quarterly"]) -> list[int]:
        """Simulation days that are settlement days (the 20th of a month or quarter-end month)."""
        first = self.first_date
        out = []
        for d in range(self.horizon):
            date = first + dt.timedelta(days=d)
            if date.day == SETTLEMENT_DAY_OF_MONTH and (
                frequency == "monthly" or date.month in QUARTER_END_MONTHS
            ):
                out.append(d)
        return out
