"""How people answer their pay: the behaviour rules every incentive model shares.

Pure functions (no SimPy, no scenario parsing), numpy-friendly: scalars or arrays in, the same
shape out. Used by the joint-marketing model (`simulate.joint_marketing`: a client manager's
visits answer his share of the simulated profit) and the multi-year policy loop (a branch's
effort answers its bonus net of the targets it raises).

Sources of the defaults (README.md, "Behaviour"):

- effort elasticity 0.3 — the mean elasticity of sales to selling effort in the sales-force
  meta-analysis of Albers, Mantrala & Sridhar (JMR 2010) is 0.34; 0.3 rounds it down;
- volume pay — loan officers moved to volume-based pay originated about 31 % more loans, about
  15 % larger, with about 24 % higher default rates (Agarwal & Ben-David, JFE 2018);
- the ratchet — Weitzman (Bell J. Econ. 1980): next target = last target + λ·(output − target);
  with bonus rate β and discount factor ρ a unit of extra output is worth β(1 − ρ)/(1 − ρ + ρλ).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

#: Default elasticity of effort to reward (sales-force meta-analysis mean 0.34, rounded down).
DEFAULT_EFFORT_ELASTICITY = 0.3
#: Default effort floor as a share of the reference effort: what a manager does unrewarded
#: (assumption: the visits his job description and supervision demand).
DEFAULT_EFFORT_FLOOR = 0.5
#: Default effort cap as a share of the reference effort (assumption: hours in a week).
DEFAULT_EFFORT_CAP = 1.5
#: Volume pay, Agarwal & Ben-David (2018): relative changes under full volume-based pay.
VOLUME_PAY_LOAN_COUNT_UPLIFT = 0.31
VOLUME_PAY_LOAN_SIZE_UPLIFT = 0.15
VOLUME_PAY_DEFAULT_UPLIFT = 0.24


def effort_response(
    reward: ArrayLike,
    reference_reward: float,
    elasticity: float = DEFAULT_EFFORT_ELASTICITY,
    floor: float = DEFAULT_EFFORT_FLOOR,
    cap: float = DEFAULT_EFFORT_CAP,
    reference_effort: float = 1.0,
) -> np.ndarray | float:
    """Effort at a reward: `e = clamp(e_ref · (reward / reward_ref)^η, floor, cap)`.

    Constant elasticity η: doubling the reward multiplies effort by 2^η (inside the clamp). A zero
    (or negative) reward gives effort at its floor — the visits a manager makes unrewarded. The
    floor and cap are in the same unit as `reference_effort` (by default shares of it).
    Source of η ≈ 0.3: Albers, Mantrala & Sridhar (JMR 2010), mean sales elasticity 0.34.
    """
    if not reference_reward > 0:
        raise ValueError(f"reference_reward must be > 0 (got {reference_reward})")
    if not elasticity >= 0:
        raise ValueError(f"elasticity must be ≥ 0 (got {elasticity})")
    if not 0 <= floor <= cap:
        raise ValueError(f"need 0 ≤ floor ≤ cap (got floor {floor}, cap {cap})")
    ratio = np.maximum(np.asarray(reward, dtype=float), 0.0) / reference_reward
    effort = np.clip(reference_effort * np.power(ratio, elasticity), floor, cap)
    effort = np.where(ratio > 0, effort, floor)
    return float(effort) if effort.ndim == 0 else effort


def optimal_effort_quadratic(marginal_reward: ArrayLike, cost: float) -> np.ndarray | float:
    """Best effort with reward β·e and effort cost c·e²/2: `e* = max(0, β / c)`.

    The first-order condition β − c·e = 0; effort is never negative. The theory case the policy
    loop checks against Weitzman: put β = the effective reward and the optimum follows it.
    """
    if not cost > 0:
        raise ValueError(f"cost must be > 0 (got {cost})")
    effort = np.maximum(np.asarray(marginal_reward, dtype=float), 0.0) / cost
    return float(effort) if effort.ndim == 0 else effort


def weitzman_effective_reward(beta: ArrayLike, rho: float, lam: float) -> np.ndarray | float:
    """Reward per extra unit of output net of the targets it raises: `β(1 − ρ)/(1 − ρ + ρλ)`.

    Under the ratchet `T' = T + λ(y − T)` one more unit now earns β but raises every later target,
    costing β·ρλ·Σ(ρ(1 − λ))^k = βρλ/(1 − ρ + ρλ) in discounted bonus (Weitzman 1980). λ = 0 (no
    ratchet) → β; λ = 1 → β(1 − ρ); λ < 0 (a catch-up rule that lowers the target after a good
    year) → more than β. Domain: 0 ≤ ρ ≤ 1 and 1 − ρ + ρλ > 0 (otherwise the sum diverges).
    Example: ρ = 0.9, λ = 0.5 → 0.1/0.55 = 0.18·β.
    """
    if not 0 <= rho <= 1:
        raise ValueError(f"rho (discount factor) must be in [0, 1] (got {rho})")
    denominator = 1 - rho + rho * lam
    if not denominator > 0:
        raise ValueError(f"need 1 − ρ + ρλ > 0 (got ρ = {rho}, λ = {lam}: {denominator:g})")
    reward = np.asarray(beta, dtype=float) * (1 - rho) / denominator
    return float(reward) if reward.ndim == 0 else reward


def volume_pay_multipliers(volume_weight: float) -> tuple[float, float, float]:
    """(loan count, loan size, default rate) multipliers of volume pay: `1 + w·(0.31, 0.15, 0.24)`.

    `volume_weight` w ∈ [0, 1] is the share of pay tied to the volume booked (1 = pure volume pay,
    the case Agarwal & Ben-David 2018 measured); effects are taken linear in w (assumption).
    """
    if not 0 <= volume_weight <= 1:
        raise ValueError(f"volume_weight must be in [0, 1] (got {volume_weight})")
    return (1 + volume_weight * VOLUME_PAY_LOAN_COUNT_UPLIFT,
            1 + volume_weight * VOLUME_PAY_LOAN_SIZE_UPLIFT,
            1 + volume_weight * VOLUME_PAY_DEFAULT_UPLIFT)


def free_riding_share(own_share: ArrayLike, team_size: int, team_credit: float) -> np.ndarray | float:
    """The reward share a member acts on when part of the credit is pooled: `s·((1 − k) + k/n)`.

    A fraction k (`team_credit`) of each member's booked result is credited to the whole team of n
    and split evenly, so a member keeps only 1/n of that part of his own work (the 1/n problem of
    team incentives, Holmström 1982). k = 0 or n = 1 → the full share s.
    """
    if team_size < 1:
        raise ValueError(f"team_size must be ≥ 1 (got {team_size})")
    if not 0 <= team_credit <= 1:
        raise ValueError(f"team_credit must be in [0, 1] (got {team_credit})")
    share = np.asarray(own_share, dtype=float) * ((1 - team_credit) + team_credit / team_size)
    return float(share) if share.ndim == 0 else share


def effective_reward_per_unit(beta: float, rho: float, lam: ArrayLike) -> np.ndarray:
    """Weitzman's `β(1 − ρ)/(1 − ρ + ρλ)` for every λ of an array: +∞ where it diverges, NaN where λ is NaN.

    `weitzman_effective_reward` over a bank's branches, whose λ may leave the formula's domain: where
    `1 − ρ + ρλ ≤ 0` (λ ≤ −(1 − ρ)/ρ, a catch-up rule that cuts the next target by more than that
    per extra unit) every term of Weitzman's discounted sum is a gain and the sum has no bound — the
    stationary model says the unit is worth more than any finite bonus. NaN λ (no next year in the
    cycle) stays NaN: the caller decides what a unit is worth then.
    """
    lam = np.asarray(lam, dtype=float)
    defined = np.isfinite(lam) & (1 - rho + rho * np.nan_to_num(lam) > 0)
    reward = np.full(lam.shape, np.inf)
    reward[np.isnan(lam)] = np.nan
    for i in zip(*np.nonzero(defined)):
        reward[i] = weitzman_effective_reward(beta, rho, float(lam[i]))
    return reward
