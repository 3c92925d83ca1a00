"""The `simulation:` section of a scenario (CONTRACT.md): Monte Carlo settings and model parameters.

Money fields are in the scenario's money unit in the file and in 万元 once loaded; every such
field is listed in `MONEY_FIELDS` (dotted paths below `simulation`) so the loader converts them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from scenarios.base import StrictModel

#: Dotted paths (below `simulation`) of every money field, converted to 万元 on load.
MONEY_FIELDS: tuple[str, ...] = (
    "revolving_credit.limit.median",
    "revolving_credit.limit.max",
    "revolving_credit.draw_amount.mean",
)


class LimitDistribution(StrictModel):
    """Credit limits per account: lognormal with the given median and log-sd, capped."""

    median: float = Field(30.0, gt=0, description="median limit, money unit (万元 by default)")
    sigma: float = Field(0.6, ge=0, le=3, description="log-standard deviation of the limit")
    max: float = Field(500.0, gt=0, description="cap on a single limit, money unit")


class DrawAmount(StrictModel):
    """Size of one drawdown: lognormal with the given mean and log-sd."""

    mean: float = Field(5.0, gt=0, description="mean drawdown, money unit (万元 by default)")
    sigma: float = Field(0.8, ge=0, le=3, description="log-standard deviation of a drawdown")


class DefaultSettings(StrictModel):
    """Default hazard, rising with utilisation (Jiménez, Lopez & Saurina 2009)."""

    annual_pd: float = Field(0.02, ge=0, le=1, description="annual default probability at average utilisation; 0 → no defaults")
    utilisation_sensitivity: float = Field(3.0, ge=0, description="log-hazard slope per unit of utilisation")
    lgd: float = Field(0.45, ge=0, le=1, description="loss given default, share of EAD")
    reference_utilisation: float | None = Field(
        None, ge=0, le=1,
        description="utilisation (drawn ÷ limit) at which the hazard equals annual_pd; "
        "null → the portfolio's expected utilisation by Little's law",
    )


class CounterSettings(StrictModel):
    """Branch counters where counter-channel clients draw down: tellers queue the visits."""

    outlets: int = Field(20, ge=1, le=10_000, description="outlets with a counter serving the card; accounts are spread evenly")
    tellers_per_outlet: int = Field(2, ge=1, le=100, description="tellers serving card drawdowns at each outlet")
    service_minutes_mean: float = Field(8.0, gt=0, description="mean teller time per drawdown, minutes (exponential)")
    opening_hours: float = Field(8.0, gt=0, le=24, description="hours a counter is open per day; a day's visits spread over them")


class LimitReviewSettings(StrictModel):
    """Yearly limit review on each account's anniversary, driven by its usage over the past year."""

    enabled: bool = Field(True, description="review limits yearly; false → limits never change")
    raise_above: float = Field(0.8, ge=0, le=1, description="average utilisation over the year above which the limit is raised")
    raise_by: float = Field(0.2, ge=0, le=10, description="relative limit increase, capped at limit.max")
    cut_below: float = Field(0.05, ge=0, le=1, description="average utilisation below which an idle limit is cut")
    cut_by: float = Field(0.2, ge=0, le=1, description="relative limit cut, never below the balance")


class RevolvingCreditSettings(StrictModel):
    """The businessman card's revolving loan (生意人卡循环贷)."""

    accounts: int = Field(5000, ge=1, le=2_000_000, description="card accounts in the portfolio")
    limit: LimitDistribution = LimitDistribution()
    annual_rate: float = Field(0.072, ge=0, le=1, description="annual interest rate")
    day_count_basis: Literal[360, 365] = Field(360, description="days per year for the daily rate (PBoC: 360)")
    settlement: Literal["monthly", "quarterly"] = Field("monthly", description="interest settled on the 20th of each month or quarter-end month")
    draws_per_month: float = Field(2.0, ge=0, description="cash needs per account per month (before seasonality)")
    draw_amount: DrawAmount = DrawAmount()
    holding_days_mean: float = Field(20.0, gt=0, description="mean days until a drawdown is repaid")
    repayment_instalments: int = Field(
        1, ge=1, le=12,
        description="parts a drawdown is repaid in from receipts, each after its own holding time (mean holding_days_mean)",
    )
    seasonality: list[float] = Field(
        default=[1.4, 1.6, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0, 1.3],
        min_length=12, max_length=12,
        description="monthly multipliers of the draw rate, January first (Spring Festival peak)",
    )
    online_share: float = Field(0.7, ge=0, le=1, description="share of accounts that self-serve online")
    default: DefaultSettings = DefaultSettings()
    funding_rate: float = Field(0.035, ge=0, le=1, description="annual funding cost rate, on the same day-count basis")
    counter: CounterSettings = CounterSettings()
    limit_review: LimitReviewSettings = LimitReviewSettings()

    @model_validator(mode="after")
    def _seasonality_non_negative(self) -> "RevolvingCreditSettings":
        bad = [m for m in self.seasonality if m < 0]
        if bad:
            raise ValueError(f"seasonality multipliers must be ≥ 0 (got {bad[0]})")
        return self


class SimulationSettings(StrictModel):
    """Monte Carlo settings shared by every model, and each model's parameters."""

    seed: int = Field(2014, ge=0, description="root seed; replications get independent streams spawned from it")
    replications: int = Field(100, ge=1, le=100_000, description="Monte Carlo replications")
    start_year: int | None = Field(
        None, ge=1900, le=2200,
        description="calendar year whose 1 January starts the measured period (the warm-up runs before it); "
        "null → the scenario's plan_year",
    )
    warmup_days: int = Field(0, ge=0, le=3650, description="days simulated before measurement starts")
    days: int = Field(365, ge=1, le=3650, description="measured days after the warm-up")
    revolving_credit: RevolvingCreditSettings = RevolvingCreditSettings()
    joint_marketing: dict = Field(default_factory=dict, description="defined by the joint-marketing issue")
