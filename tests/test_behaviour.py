"""The behaviour rules (simulate/behaviour.py): hand-worked values, limits and domains."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from simulate.behaviour import (
    effort_response,
    free_riding_share,
    optimal_effort_quadratic,
    volume_pay_multipliers,
    weitzman_effective_reward,
)


def test_effort_doubles_by_two_to_the_eta():
    """η = 0.3, reward 2 at reference 1, floor 0, cap 10: e = 2^0.3 = 1.2311."""
    assert effort_response(2.0, 1.0, 0.3, floor=0.0, cap=10.0) == pytest.approx(2 ** 0.3)
    assert effort_response(1.0, 1.0, 0.3, floor=0.0, cap=10.0) == pytest.approx(1.0)


def test_effort_at_zero_reward_is_the_floor():
    """Zero or negative reward → the floor, even when η = 0 (where 0^0 would be 1)."""
    assert effort_response(0.0, 1.0, 0.3, floor=0.4, cap=2.0) == 0.4
    assert effort_response(-5.0, 1.0, 0.0, floor=0.4, cap=2.0) == 0.4


def test_effort_is_clamped_and_vectorised():
    """Rewards 0.01, 1, 1000 with η = 0.5, floor 0.5, cap 1.5: 0.1 → 0.5; 1; 31.6 → 1.5."""
    e = effort_response(np.array([0.01, 1.0, 1000.0]), 1.0, 0.5, floor=0.5, cap=1.5)
    assert e == pytest.approx([0.5, 1.0, 1.5])


def test_effort_reference_effort_scales():
    """e_ref = 10 visits, reward 4 at reference 1, η = 0.5: 10·2 = 20 (floor 0, cap 100)."""
    assert effort_response(4.0, 1.0, 0.5, floor=0.0, cap=100.0, reference_effort=10.0) == pytest.approx(20.0)


@given(st.floats(0.01, 100), st.floats(0.01, 100), st.floats(0, 1))
def test_effort_is_monotone_in_reward(a, b, eta):
    event("equal rewards" if a == b else "distinct rewards")
    low, high = sorted((a, b))
    assert effort_response(low, 1.0, eta, 0.0, 1e9) <= effort_response(high, 1.0, eta, 0.0, 1e9)


def test_optimal_effort_quadratic():
    """β = 3, c = 2: maximise 3e − e² → e* = 1.5; β < 0 → 0."""
    assert optimal_effort_quadratic(3.0, 2.0) == pytest.approx(1.5)
    assert optimal_effort_quadratic(-1.0, 2.0) == 0.0


def test_optimal_effort_maximises_net_reward():
    """A grid search of β·e − c·e²/2 finds the same optimum."""
    grid = np.linspace(0, 5, 50_001)
    for beta, cost in [(1.0, 1.0), (0.18, 0.5), (2.5, 4.0)]:
        best = grid[np.argmax(beta * grid - cost * grid ** 2 / 2)]
        assert optimal_effort_quadratic(beta, cost) == pytest.approx(best, abs=1e-4)


def test_weitzman_worked_example():
    """ρ = 0.9, λ = 0.5: (1 − 0.9)/(1 − 0.9 + 0.45) = 0.1/0.55 = 0.1818."""
    assert weitzman_effective_reward(1.0, 0.9, 0.5) == pytest.approx(0.1 / 0.55)
    assert weitzman_effective_reward(1.0, 0.9, 0.0) == pytest.approx(1.0)        # no ratchet
    assert weitzman_effective_reward(2.0, 0.9, 1.0) == pytest.approx(2.0 * 0.1)  # full ratchet


def test_weitzman_matches_the_discounted_sum():
    """β minus the discounted bonus lost to raised targets, summed over 2,000 later years."""
    for rho, lam in [(0.9, 0.5), (0.8, 0.2), (0.8, -0.2)]:
        years = np.arange(1, 2_000)
        lost = np.sum(rho ** years * lam * (1 - lam) ** (years - 1))
        assert weitzman_effective_reward(1.0, rho, lam) == pytest.approx(1 - lost, rel=1e-9)


@pytest.mark.parametrize("rho, lam", [
    (0.9, -0.2),   # 1 − 0.9 − 0.18 < 0: the sum of raised targets diverges
    (1.0, 0.0),    # 1 − 1 + 0 = 0
    (1.2, 0.5),    # a discount factor above 1
    (-0.1, 0.5),   # a negative discount factor
])
def test_weitzman_domain(rho, lam):
    with pytest.raises(ValueError):
        weitzman_effective_reward(1.0, rho, lam)


def test_volume_pay_multipliers():
    """w = 1: the measured +31 % loans, +15 % size, +24 % defaults; w = 0.5: half of each."""
    assert volume_pay_multipliers(1.0) == pytest.approx((1.31, 1.15, 1.24))
    assert volume_pay_multipliers(0.5) == pytest.approx((1.155, 1.075, 1.12))
    assert volume_pay_multipliers(0.0) == (1.0, 1.0, 1.0)


def test_free_riding_share():
    """Share 0.6, team of 4, half the credit pooled: 0.6·(0.5 + 0.5/4) = 0.375."""
    assert free_riding_share(0.6, 4, 0.5) == pytest.approx(0.375)
    assert free_riding_share(0.6, 1, 0.5) == pytest.approx(0.6)
    assert free_riding_share(0.6, 4, 0.0) == pytest.approx(0.6)


@pytest.mark.parametrize("call", [
    lambda: effort_response(1.0, 0.0),                      # reference reward must be positive
    lambda: effort_response(1.0, 1.0, -0.1),                # negative elasticity
    lambda: effort_response(1.0, 1.0, 0.3, floor=2, cap=1), # floor above cap
    lambda: optimal_effort_quadratic(1.0, 0.0),             # zero effort cost
    lambda: volume_pay_multipliers(1.5),                    # weight above 1
    lambda: free_riding_share(0.5, 0, 0.5),                 # empty team
    lambda: free_riding_share(0.5, 3, 1.5),                 # pooled credit above 1
])
def test_domain_errors(call):
    with pytest.raises(ValueError):
        call()


def test_nan_reference_is_refused():
    with pytest.raises(ValueError):
        effort_response(1.0, math.nan)
