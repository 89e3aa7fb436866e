"""Always-valid inference: the asymptotic confidence sequence of Waudby-Smith et al. (2023).

A fixed-horizon 95% interval is valid at one sample size chosen in advance. Looked at after every
batch, some look will exclude zero by chance far more often than 5% of the time. A confidence
sequence holds at every sample size at once, so the experiment can be read as often as anyone
likes; the price is width. This is the normal-mixture boundary of "Time-uniform central limit
theory and asymptotic confidence sequences" (Waudby-Smith, Arbour, Sinha, Kennedy, Ramdas,
arXiv:2103.06476), the one GrowthBook's gbstats uses:

    half_width = sqrt( 2 (N s^2 rho^2 + 1) / (N^2 rho^2) * log( sqrt(N s^2 rho^2 + 1) / alpha ) )

with N the total number of observations behind the estimate and s^2 the variance of one
observation's contribution (N times the variance of the estimate). rho is the mixing width. We
tune it on the standardized scale, rho = rho0 / s, with rho0 chosen (the paper's formula for the
narrowest width at a given sample size) so the sequence is tightest at `target_n` total observations:

    rho0^2 = (-2 log alpha + log(1 - 2 log alpha)) / target_n

At that target the half-width is about 1.55 times the fixed-horizon one (at alpha = 0.05); it is
never narrower. rho depends only on settings fixed before the data, never on the data itself, which
is what keeps the guarantee. The always-valid p-value is the smallest alpha whose sequence excludes
zero, solved in closed form from the same boundary.

Every function takes numpy arrays as well as floats, so simulations run vectorized.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# GrowthBook's default tuning: the sequence is tightest at 5,000 total observations.
DEFAULT_TARGET_N = 5000
TUNING_ALPHA = 0.05


def mixing_rho(target_n: float, alpha: float = TUNING_ALPHA) -> float:
    """The standardized mixing width rho0 that makes the sequence tightest at `target_n` observations."""
    log_alpha = np.log(alpha)
    return float(np.sqrt((-2 * log_alpha + np.log(1 - 2 * log_alpha)) / target_n))


def half_width(
    estimate_variance: ArrayLike, total_n: ArrayLike, alpha: float = 0.05, target_n: float = DEFAULT_TARGET_N
) -> np.ndarray:
    """Half-width of the (1 - alpha) confidence sequence around an estimate with this variance."""
    variance, n = np.asarray(estimate_variance, float), np.asarray(total_n, float)
    rho2 = mixing_rho(target_n) ** 2
    s2 = variance * n  # per-observation variance: N s^2rho^2 = N rho0^2 on the standardized scale
    with np.errstate(divide="ignore", invalid="ignore"):
        width2 = s2 * 2 * (n * rho2 + 1) / (n**2 * rho2) * np.log(np.sqrt(n * rho2 + 1) / alpha)
    return np.sqrt(width2)


def p_value(
    estimate: ArrayLike, estimate_variance: ArrayLike, total_n: ArrayLike, target_n: float = DEFAULT_TARGET_N
) -> np.ndarray:
    """Always-valid p-value for "the true value is zero": the smallest alpha whose sequence excludes zero."""
    d, variance, n = (np.asarray(value, float) for value in (estimate, estimate_variance, total_n))
    rho2 = mixing_rho(target_n) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = variance * n
        exponent = d**2 * n**2 * rho2 / (2 * s2 * (n * rho2 + 1))
        p = np.sqrt(n * rho2 + 1) * np.exp(-exponent)
    return np.where(np.isfinite(p), np.minimum(p, 1.0), 1.0)
