"""`simulation.joint_marketing`: the parameters of the joint-marketing model (simulate/joint_marketing.py).

Declared once here with unit, range and meaning; README.md ("Joint marketing") gives the source
or the assumption behind each default. Money fields are in the scenario's money unit in the file
and in 万元 once loaded (listed in `scenarios.simulation.MONEY_FIELDS`). Rates are annual.
"""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from scenarios.base import StrictModel
from scenarios.consistency import model_messages


def _check_rules(model: StrictModel, section: str) -> None:
    """Raise the cross-field rules of `section` (scenarios.consistency) the built model breaks."""
    messages = model_messages(model, section)
    if messages:
        raise PydanticCustomError("cross_field", "{message}", {"message": "; ".join(messages)})


class _Section(StrictModel):
    model_config = ConfigDict(allow_inf_nan=False)


class Scorecard(_Section):
    """Measure 1: the scorecard's weight on micro clients; the same share of a manager's week goes to micro work."""

    micro_weight: float = Field(0.6, ge=0, le=1, description="weight of micro-client count in the scorecard = share of visit time on micro work; 0–1")
    hours_per_week: float = Field(40.0, gt=0, le=100, description="working hours of a client manager per week at reference effort; > 0, ≤ 100")
    micro_visits_per_week: float = Field(25.0, ge=0, le=200, description="market visits a member makes in a full week of micro work at reference effort; 0–200")
    leader_visits_per_week: float = Field(15.0, ge=0, le=200, description="market visits a group leader makes per week at reference effort; 0–200")


class Funnel(_Section):
    """Visits → leads → applications → approvals → booked clients."""

    lead_per_visit: float = Field(0.15, ge=0, le=1, description="probability a visit yields a lead, in an untouched market; scaled by the share of merchants not yet clients; 0–1")
    application_per_lead: float = Field(0.35, ge=0, le=1, description="probability a lead applies; 0–1")
    approval_rate: float = Field(0.86, ge=0, le=1, description="probability the credit review approves an application (申贷获得率); 0–1")
    take_up: float = Field(0.9, ge=0, le=1, description="probability an approved applicant takes the loan; 0–1")
    review_days: float = Field(7.0, ge=0, le=90, description="days from application to the credit decision; 0–90")


class Pricing(_Section):
    """Contribution-based pricing: rate = base + risk premium − discount × contribution (+ surcharge for low contribution at renewal)."""

    base_rate: float = Field(0.06, ge=0, le=0.5, description="annual base rate (2014: the PBoC one-year benchmark 6.00 %); 0–0.5")
    risk_premium: float = Field(0.025, ge=0, le=0.5, description="annual risk premium over the base rate; 0–0.5")
    contribution_discount: float = Field(0.01, ge=0, le=0.5, description="annual rate discount for a full contribution (all three products); 0–0.5")
    funding_rate: float = Field(0.045, ge=0, le=0.5, description="funds transfer price (FTP), annual; 0–0.5")
    deposit_balance: float = Field(10.0, ge=0, le=1e6, description="average settlement deposit of a client holding the deposit product, money unit")
    deposit_margin: float = Field(0.015, ge=0, le=0.5, description="annual margin the bank earns on that deposit (FTP credit − deposit rate); 0–0.5")
    pos_fee: float = Field(0.3, ge=0, le=1e6, description="yearly net fee income of a POS acquiring client, money unit")
    payroll_fee: float = Field(0.1, ge=0, le=1e6, description="yearly net fee income of a payroll (代发工资) client, money unit")


class CrossSell(_Section):
    """Probabilities a booked client also takes each product, and how the discount on offer raises them."""

    deposit: float = Field(0.5, ge=0, le=1, description="probability of a settlement deposit account; 0–1")
    pos: float = Field(0.3, ge=0, le=1, description="probability of POS acquiring; 0–1")
    payroll: float = Field(0.1, ge=0, le=1, description="probability of payroll service; 0–1")
    discount_response: float = Field(15.0, ge=0, le=1_000, description="rise of each probability per unit of annual discount on offer (15 → +0.15 per percentage point); 0–1,000")
    deposit_weight: float = Field(0.5, ge=0, le=1, description="weight of the deposit in the contribution score; the three weights sum to 1")
    pos_weight: float = Field(0.3, ge=0, le=1, description="weight of POS acquiring in the contribution score")
    payroll_weight: float = Field(0.2, ge=0, le=1, description="weight of payroll in the contribution score")

    @model_validator(mode="after")
    def _weights(self) -> "CrossSell":
        _check_rules(self, "simulation.joint_marketing.cross_sell")
        return self


class Renewal(_Section):
    """还后再贷: at maturity low-contribution clients pay more or get a limited quota; some leave; bundles keep clients."""

    term_days: float = Field(365.0, ge=30, le=3_660, description="loan term, days; 30–3,660")
    low_contribution: float = Field(0.3, ge=0, le=1, description="contribution score below which a client is 'low contribution'; 0–1")
    low_contribution_policy: Literal["surcharge", "quota"] = Field("surcharge", description="surcharge: a higher rate at renewal; quota: a smaller new loan")
    surcharge: float = Field(0.01, ge=0, le=0.5, description="annual rate surcharge on a low-contribution renewal; 0–0.5")
    quota_share: float = Field(0.7, ge=0, le=1, description="new loan ÷ old loan for a low-contribution renewal under the quota policy; 0–1")
    attrition: float = Field(0.12, ge=0, le=1, description="probability a client leaves at maturity; 0–1")
    low_contribution_attrition: float = Field(0.1, ge=0, le=1, description="extra probability a low-contribution client leaves; 0–1")
    bundle_products: int = Field(2, ge=1, le=3, description="cross-sold products that make a product bundle (产品包); 1–3")
    bundle_attrition_cut: float = Field(0.3, ge=0, le=1, description="relative cut of the leaving probability for bundle holders; 0–1")


class Risk(_Section):
    """Default risk of the booked loans."""

    annual_pd: float = Field(0.02, ge=0, le=1, description="annual default probability of a loan under salary pay; 0–1")
    lgd: float = Field(0.45, ge=0, le=1, description="loss given default, share of the loan; 0–1")
    loan_sigma: float = Field(0.5, ge=0, le=3, description="log-standard deviation of a loan around the market's average loan; 0–3")


class Costs(_Section):
    """Operating cost."""

    per_visit: float = Field(0.02, ge=0, le=1e6, description="cost of one market visit, money unit")
    per_loan: float = Field(0.2, ge=0, le=1e6, description="cost of reviewing and booking one loan (new or renewed), money unit")


class Sharing(_Section):
    """分润: the incentive pool and how it is split."""

    incentive_rate: float = Field(0.2, ge=0, le=1, description="share of a group's positive simulated profit paid out as incentives; 0–1")
    department_share: float = Field(0.5, ge=0, le=1, description="department's share of the pool (the branch gets the rest); 0–1")
    member_share: float = Field(0.3, ge=0, le=1, description="share of a branch's payout passed on to its members; 0–1")
    leader_share: float = Field(0.3, ge=0, le=1, description="share of the department's payout passed on to the group's leaders; 0–1")
    team_credit: float = Field(0.0, ge=0, le=1, description="share of each booking credited to the whole group and split evenly (free-riding); 0–1")
    volume_pay_weight: float = Field(0.0, ge=0, le=1, description="share of pay tied to volume booked instead of profit (1 = pure volume pay); 0–1")


class Effort(_Section):
    """Effort = clamp(ability · (reward ÷ reference_reward)^elasticity, floor, cap) (simulate/behaviour.py)."""

    elasticity: float = Field(0.3, ge=0, le=3, description="elasticity of effort to reward (sales-force meta-analysis mean 0.34); 0–3")
    floor: float = Field(0.5, ge=0, le=10, description="effort without reward, share of reference effort; 0–10")
    cap: float = Field(1.5, ge=0, le=10, description="largest effort, share of reference effort; 0–10, ≥ floor")
    reference_reward: float = Field(0.03, gt=0, le=1, description="reward per unit of profit at which effort is the reference effort "
                                    "(the default rule: 0.2 × 0.5 × 0.3); > 0, ≤ 1")
    ability_sigma: float = Field(0.2, ge=0, le=2, description="log-standard deviation of managers' abilities (mean 1); 0–2")

    @model_validator(mode="after")
    def _ordered(self) -> "Effort":
        _check_rules(self, "simulation.joint_marketing.effort")
        return self


class JointMarketingSettings(_Section):
    """The joint-marketing model (markets and groups are in the scenario's `markets:` section)."""

    scorecard: Scorecard = Scorecard()
    funnel: Funnel = Funnel()
    pricing: Pricing = Pricing()
    cross_sell: CrossSell = CrossSell()
    renewal: Renewal = Renewal()
    risk: Risk = Risk()
    costs: Costs = Costs()
    sharing: Sharing = Sharing()
    effort: Effort = Effort()
