"""The card accounts' books: balances, limits, and interest by the 积数 method, accrued lazily.

积数 (balance-days) method: each day's interest is the end-of-day balance × annual rate ÷ day-count
basis. The book never ticks daily. An account remembers the day of its last balance change; when
its balance changes again on day `d`, it first adds `balance × (d − last_day)` to its 积数 — the
end-of-day balances of days `last_day … d − 1` — and then changes the balance. Consequences a
reader can check on paper:

- draw 100 on day 3 and repay on day 33 → 30 end-of-day balances of 100 → at 7.2 % / 360,
  100 × 30 × 0.0002 = 0.6 of interest;
- draw and repay on the same day → no end-of-day balance → no interest.

Interest is settled for the days *up to and including* a settlement date (the 20th): the
settlement runs at the start of the 21st, i.e. `settle_interest(day_of_the_21st)`. Settled
interest is paid by the client from the settlement account; it is not added to the loan balance.

Why not a SimPy `Container` per credit line: a drawdown here takes *what the available limit
allows* and records the rest as declined, while `Container.get` waits until the full amount is
there; and every `get` / `put` is a scheduled SimPy event. Measured (bench/sim_scale.py, 100,000
lines): 12.5 µs per draw-and-repay on a `Container` against 2.6 µs on a list entry. A `Container`
would add cost without adding behaviour, so the lines live in plain Python lists (faster than
numpy for the one-account-at-a-time access of an event-driven model) and full-book sweeps are
list comprehensions.

Repayments are *booked* events: `schedule_repayment` puts them in the book's own time-ordered
calendar (a heap) instead of the SimPy calendar, and every actor calls `post_repayments(now)`
before it reads or changes a balance, so they are applied in time order, each on its own day.
A repayment needs no decision by anyone, so it needs no SimPy process or event: booked, it cost
5.9 µs against 10.3 µs as a SimPy event (bench/README.md), and a replication has one per drawdown.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

#: Balances below this after a repayment are treated as repaid in full (万元; 0.00001 元).
MONEY_EPSILON = 1e-9


class CreditBook:
    """Every account's balance, limit and 积数; portfolio totals kept as running sums.

    Money in 万元, days are simulation days (int). All per-account state is indexed by account.
    """

    __slots__ = (
        "balance", "limit", "daily_rate", "last_day", "balance_days", "settled_balance_days",
        "is_open", "outstanding", "total_limit", "drawn", "repaid", "written_off",
        "interest_settled", "interest_written_off", "repayments_booked", "_due",
    )

    def __init__(self, limits: Sequence[float], daily_rates: Sequence[float]) -> None:
        if len(limits) != len(daily_rates):
            raise ValueError(f"limits and daily_rates differ in length (got {len(limits)} and {len(daily_rates)})")
        n = len(limits)
        self.balance = [0.0] * n                    # 万元 drawn and not repaid
        self.limit = [float(x) for x in limits]     # 万元 credit limit
        self.daily_rate = [float(r) for r in daily_rates]  # annual rate ÷ day-count basis
        self.last_day = [0] * n                     # day of the last accrual
        self.balance_days = [0.0] * n               # 积数 since opening, 万元·days
        self.settled_balance_days = [0.0] * n       # 积数 already settled or written off
        self.is_open = [True] * n                   # false once defaulted and written off
        self.outstanding = 0.0                      # Σ balance
        self.total_limit = sum(self.limit)          # Σ limit over open accounts
        self.drawn = 0.0                            # Σ amounts granted
        self.repaid = 0.0                           # Σ amounts repaid
        self.written_off = 0.0                      # Σ principal written off at default
        self.interest_settled = 0.0                 # Σ interest settled on settlement days
        self.interest_written_off = 0.0             # Σ unsettled interest lost at default
        self.repayments_booked = 0                  # repayments ever booked (events of the book's calendar)
        self._due: list[tuple[float, int, float]] = []  # (time, account, amount) repayments

    def __len__(self) -> int:
        return len(self.balance)

    # -- one account ------------------------------------------------------------------------

    def accrue(self, account: int, day: int) -> None:
        """积数 += balance × (day − last_day): end-of-day balances of the days since the last change."""
        self.balance_days[account] += self.balance[account] * (day - self.last_day[account])
        self.last_day[account] = day

    def draw(self, account: int, amount: float, day: int) -> float:
        """Draw up to `amount` on `day`; returns what the available limit allowed (balance ≤ limit)."""
        balance = self.balance[account]
        self.balance_days[account] += balance * (day - self.last_day[account])
        self.last_day[account] = day
        limit = self.limit[account]
        available = limit - balance
        if amount < available:
            granted = amount
            self.balance[account] = balance + amount
        elif available > 0.0:
            granted = available
            self.balance[account] = limit
        else:
            return 0.0
        self.outstanding += granted
        self.drawn += granted
        return granted

    def repay(self, account: int, amount: float, day: int) -> float:
        """Repay up to `amount` on `day`; returns what was repaid (never more than the balance)."""
        balance = self.balance[account]
        if balance <= 0.0:
            return 0.0
        self.balance_days[account] += balance * (day - self.last_day[account])
        self.last_day[account] = day
        if amount < balance - MONEY_EPSILON:
            paid = amount
            self.balance[account] = balance - amount
        else:
            paid = balance
            self.balance[account] = 0.0
        self.outstanding -= paid
        self.repaid += paid
        return paid

    def write_off(self, account: int, day: int) -> float:
        """Default on `day`: write off the balance and the unsettled interest, close the line; returns EAD."""
        self.accrue(account, day)
        ead = self.balance[account]
        unsettled = self.balance_days[account] - self.settled_balance_days[account]
        self.interest_written_off += unsettled * self.daily_rate[account]
        self.settled_balance_days[account] = self.balance_days[account]
        self.balance[account] = 0.0
        self.outstanding -= ead
        self.written_off += ead
        self.total_limit -= self.limit[account]
        self.is_open[account] = False
        return ead

    def set_limit(self, account: int, limit: float) -> None:
        """Change an open account's limit; never below its balance."""
        if limit < self.balance[account]:
            raise ValueError(f"limit below the balance of account {account} (got {limit} < {self.balance[account]})")
        self.total_limit += limit - self.limit[account]
        self.limit[account] = limit

    # -- the repayment calendar -------------------------------------------------------------

    def schedule_repayment(self, time: float, account: int, amount: float) -> None:
        """Book a repayment of `amount` at simulation time `time`."""
        heapq.heappush(self._due, (time, account, amount))
        self.repayments_booked += 1

    def post_repayments(self, until: float) -> None:
        """Apply, in time order, every booked repayment due strictly before `until`."""
        due = self._due
        repay = self.repay
        while due and due[0][0] < until:
            time, account, amount = heapq.heappop(due)
            repay(account, amount, int(time))

    @property
    def repayments_pending(self) -> int:
        """Booked repayments not yet applied."""
        return len(self._due)

    # -- the whole book ---------------------------------------------------------------------

    def accrue_all(self, day: int) -> None:
        """Bring every account's 积数 up to `day` (the end-of-day balances of the days before it)."""
        self.balance_days[:] = [
            bd + b * (day - last) for bd, b, last in zip(self.balance_days, self.balance, self.last_day)
        ]
        self.last_day[:] = [day] * len(self.last_day)

    def settle_interest(self, day: int) -> float:
        """Settle interest on every account for the days before `day`; returns the amount settled."""
        self.accrue_all(day)
        amount = sum(
            (bd - sbd) * r
            for bd, sbd, r in zip(self.balance_days, self.settled_balance_days, self.daily_rate)
        )
        self.settled_balance_days[:] = self.balance_days
        self.interest_settled += amount
        return amount

    def interest_accrued(self) -> float:
        """Interest accrued since opening, as of each account's last accrual (settled or not)."""
        return sum(bd * r for bd, r in zip(self.balance_days, self.daily_rate))

    def interest_unsettled(self) -> float:
        """Interest accrued and not yet settled or written off."""
        return sum(
            (bd - sbd) * r
            for bd, sbd, r in zip(self.balance_days, self.settled_balance_days, self.daily_rate)
        )
