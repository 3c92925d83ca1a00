"""The `incentives:` section: how branches are paid for new clients and how they answer it.

Read by the plan (each branch's effective reward per extra client, next to its ratchet
coefficient λ) and by the multi-year policy loop (`simulate.policy_loop`: the branches' effort).
README.md, "Incentives", gives every default and its source; assumptions are marked there.

Money fields are in the scenario's money unit in the file and in 万元 once loaded (`MONEY_FIELDS`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from scenarios.base import StrictModel

Behaviour = Literal["myopic", "strategic", "mixed"]

#: Dotted paths (below `incentives`) of the money fields, converted to 万元 on load.
MONEY_FIELDS: tuple[str, ...] = ("bonus_per_client", "penalty_per_client", "effort_cost")
#: Largest bonus or penalty per client, money unit.
MAX_PAY_PER_CLIENT = 1e6


class Incentives(StrictModel):
    """Pay per new client against the target, the branches' discounting and their behaviour."""

    bonus_per_client: float = Field(
        0.2, ge=0, le=MAX_PAY_PER_CLIENT,
        description="β, bonus per new client above the year's target, money unit (default 0.2 万元 = 2,000 元; assumption)",
    )
    penalty_per_client: float = Field(
        0.2, ge=0, le=MAX_PAY_PER_CLIENT,
        description="deduction per client short of the year's target, money unit (default = the bonus; assumption)",
    )
    discount_factor: float = Field(
        0.5, ge=0, le=0.99,
        description="ρ, what a branch head weighs next year's pay at, 0–0.99 (default 0.5: time 0.9 × still in post ≈ 0.6; assumption)",
    )
    behaviour: Behaviour = Field(
        "mixed",
        description="myopic (effort from this year's bonus) | strategic (net of the targets it raises: Weitzman) | mixed",
    )
    strategic_share: float = Field(0.5, ge=0, le=1, description="mixed: share of branches that act strategically, 0–1")
    effort_elasticity: float = Field(
        0.3, ge=0, le=5,
        description="η, elasticity of effort to the reward per client (sales-force meta-analysis mean 0.34), 0–5",
    )
    effort_cost: float | None = Field(
        None, gt=0, le=MAX_PAY_PER_CLIENT,
        description="c of a quadratic effort cost c·e²/2 (money unit): effort = reward per client ÷ c; empty → constant elasticity",
    )
    noise_sd: float = Field(
        0.1, ge=0, le=2,
        description="log-standard deviation of a branch's actual new clients around what its effort brings, 0–2",
    )
