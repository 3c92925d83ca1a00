"""The `simulation:` section of a scenario: Monte Carlo settings and model parameters.

The parameters, their units, ranges and meanings are declared here once; the model reads them
as they are (`simulate.revolving_credit.RevolvingCreditParams` holds this section's
`RevolvingCreditSettings`), and README.md ("Simulation") and docs/simulation.md describe them.

Every numeric field is bounded on both sides and must be finite (NaN and ±inf are rejected with
the field's path), so no setting can overflow the model's arithmetic — e.g. the default hazard's
`exp(utilisation_sensitivity × …)` stays below e^50.

Money fields are in the scenario's money unit in the file and in 万元 once loaded; every such
field is listed in `MONEY_FIELDS` (dotted paths below `simulation`) so the loader converts them.
Their bounds are in the file's unit.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from scenarios.base import StrictModel
from scenarios.marketing_settings import JointMarketingSettings

#: Dotted paths (below `simulation`) of every money field, converted to 万元 on load.
MONEY_FIELDS: tuple[str, ...] = (
    "revolving_credit.limit.median",
    "revolving_credit.limit.max",
    "revolving_credit.draw_amount.mean",
    "joint_marketing.pricing.deposit_balance",
    "joint_marketing.pricing.pos_fee",
    "joint_marketing.pricing.payroll_fee",
    "joint_marketing.costs.per_visit",
    "joint_marketing.costs.per_loan",
)

#: Largest money amount accepted in any money field, in the file's money unit.
MAX_MONEY = 1e12
#: Longest simulated period accepted, days (ten years and a leap day or two).
MAX_DAYS = 3_660
#: Most card accounts in one portfolio.
MAX_ACCOUNTS = 1_000_000
#: Largest utilisation sensitivity β: exp(β) stays far from float overflow (e^50 ≈ 5·10^21).
MAX_UTILISATION_SENSITIVITY = 50.0
#: Largest monthly seasonality multiplier (12: a whole year's cash needs in one month).
MAX_SEASON_MULTIPLIER = 12.0
#: Most cash needs per account per month.
MAX_DRAWS_PER_MONTH = 100.0

#: A monthly multiplier of the draw rate.
SeasonMultiplier = Annotated[float, Field(ge=0, le=MAX_SEASON_MULTIPLIER)]


class SimulationModel(StrictModel):
    """Base of the simulation section's models: strict, and every float must be finite."""

    model_config = ConfigDict(allow_inf_nan=False)


class LimitDistribution(SimulationModel):
    """Credit limits per account: lognormal with the given median and log-sd, capped."""

    median: float = Field(30.0, gt=0, le=MAX_MONEY, description="median limit, money unit (万元 by default); > 0, ≤ 1e12")
    sigma: float = Field(0.6, ge=0, le=3, description="log-standard deviation of the limit; 0–3")
    max: float = Field(500.0, gt=0, le=MAX_MONEY, description="cap on a single limit, money unit; > 0, ≤ 1e12")


class DrawAmount(SimulationModel):
    """Size of one drawdown: lognormal with the given mean and log-sd."""

    mean: float = Field(5.0, gt=0, le=MAX_MONEY, description="mean drawdown, money unit (万元 by default); > 0, ≤ 1e12")
    sigma: float = Field(0.8, ge=0, le=3, description="log-standard deviation of a drawdown; 0–3")


class DefaultSettings(SimulationModel):
    """Default hazard, rising with utilisation (Jiménez, Lopez & Saurina 2009)."""

    annual_pd: float = Field(0.02, ge=0, le=1, description="annual default probability at the reference utilisation; 0–1, 0 → no defaults")
    utilisation_sensitivity: float = Field(
        3.0, ge=0, le=MAX_UTILISATION_SENSITIVITY,
        description="β, log-hazard slope per unit of utilisation; 0–50",
    )
    lgd: float = Field(0.45, ge=0, le=1, description="loss given default, share of EAD; 0–1")
    reference_utilisation: float | None = Field(
        None, ge=0, le=1,
        description="utilisation (drawn ÷ limit) at which the hazard equals annual_pd; 0–1; "
        "null → the portfolio's expected utilisation by Little's law",
    )


class CounterSettings(SimulationModel):
    """Branch counters where counter-channel clients draw down: tellers queue the visits."""

    outlets: int = Field(20, ge=1, le=10_000, description="outlets with a counter serving the card; accounts are spread evenly; 1–10,000")
    tellers_per_outlet: int = Field(2, ge=1, le=100, description="tellers serving card drawdowns at each outlet; 1–100")
    service_minutes_mean: float = Field(8.0, gt=0, le=1_440, description="mean teller time per drawdown, minutes (exponential); > 0, ≤ 1,440")
    opening_hours: float = Field(8.0, gt=0, le=24, description="hours a counter is open per day; a day's visits spread over them; > 0, ≤ 24")


class LimitReviewSettings(SimulationModel):
    """Yearly limit review on each account's anniversary, driven by its usage over the past year."""

    enabled: bool = Field(True, description="review limits yearly; false → limits never change")
    raise_above: float = Field(0.8, ge=0, le=1, description="average utilisation over the year above which the limit is raised; 0–1")
    raise_by: float = Field(0.2, ge=0, le=10, description="relative limit increase, capped at limit.max; 0–10")
    cut_below: float = Field(0.05, ge=0, le=1, description="average utilisation below which an idle limit is cut; 0–1")
    cut_by: float = Field(0.2, ge=0, le=1, description="relative limit cut, never below the balance; 0–1")


class RevolvingCreditSettings(SimulationModel):
    """The businessman card's revolving loan (生意人卡循环贷)."""

    accounts: int = Field(5000, ge=1, le=MAX_ACCOUNTS, description="card accounts in the portfolio; 1–1,000,000")
    limit: LimitDistribution = LimitDistribution()
    annual_rate: float = Field(0.072, ge=0, le=1, description="annual interest rate; 0–1")
    day_count_basis: Literal[360, 365] = Field(360, description="days per year for the daily rate (PBoC: 360); 360 or 365")
    settlement: Literal["monthly", "quarterly"] = Field("monthly", description="interest settled on the 20th of each month or quarter-end month")
    draws_per_month: float = Field(
        2.0, ge=0, le=MAX_DRAWS_PER_MONTH,
        description="cash needs per account per month (before seasonality); 0–100",
    )
    draw_amount: DrawAmount = DrawAmount()
    holding_days_mean: float = Field(20.0, gt=0, le=MAX_DAYS, description="mean days until a drawdown is repaid; > 0, ≤ 3,660")
    repayment_instalments: int = Field(
        1, ge=1, le=12,
        description="parts a drawdown is repaid in from receipts, each after its own holding time (mean holding_days_mean); 1–12",
    )
    seasonality: list[SeasonMultiplier] = Field(
        default=[1.4, 1.6, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 1.0, 1.0, 1.3],
        min_length=12, max_length=12,
        description="12 monthly multipliers of the draw rate, January first (Spring Festival peak); each 0–12",
    )
    online_share: float = Field(0.7, ge=0, le=1, description="share of accounts that self-serve online; 0–1")
    default: DefaultSettings = DefaultSettings()
    funding_rate: float = Field(0.035, ge=0, le=1, description="annual funding cost rate, on the same day-count basis; 0–1")
    counter: CounterSettings = CounterSettings()
    limit_review: LimitReviewSettings = LimitReviewSettings()


class PolicyLoopSettings(SimulationModel):
    """The multi-year policy loop (`simulate.policy_loop`); pay and behaviour are in `incentives:`."""

    effort_floor: float = Field(0.5, ge=0, le=10, description="lowest effort, share of the effort that brings capacity; 0–10")
    effort_cap: float = Field(1.5, ge=0, le=10, description="highest effort, share of the effort that brings capacity; 0–10, ≥ effort_floor")
    engine: Literal["auto", "matrix", "pyomo"] = Field("auto", description="LP engine of the yearly plans (auto = matrix)")

    @model_validator(mode="after")
    def _floor_below_cap(self) -> "PolicyLoopSettings":
        if self.effort_floor > self.effort_cap:
            raise PydanticCustomError("cross_field", "effort_floor {floor} must be ≤ effort_cap {cap}",
                                      {"floor": self.effort_floor, "cap": self.effort_cap})
        return self


class SimulationSettings(SimulationModel):
    """Monte Carlo settings shared by every model, and each model's parameters."""

    seed: int = Field(2014, ge=0, le=2**63 - 1, description="root seed; replications get independent streams spawned from it; 0 – 2^63−1")
    replications: int = Field(100, ge=1, le=100_000, description="Monte Carlo replications; 1–100,000")
    start_year: int | None = Field(
        None, ge=1900, le=2200,
        description="calendar year whose 1 January starts the measured period (the warm-up runs before it); "
        "1900–2200; null → the scenario's plan_year",
    )
    warmup_days: int = Field(0, ge=0, le=MAX_DAYS, description="days simulated before measurement starts; 0–3,660")
    days: int = Field(365, ge=1, le=MAX_DAYS, description="measured days after the warm-up; 1–3,660")
    revolving_credit: RevolvingCreditSettings = RevolvingCreditSettings()
    joint_marketing: JointMarketingSettings = JointMarketingSettings()
    policy_loop: PolicyLoopSettings = PolicyLoopSettings()
