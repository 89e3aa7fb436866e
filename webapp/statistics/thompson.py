"""Thompson sampling's posterior draws. Pure: counts in, probabilities out; numpy's seeded generator.

Each arm's success rate has a Beta(1 + successes, 1 + failures) posterior (a uniform prior). The
probability that an arm is the best is estimated by Monte Carlo: draw every arm's rate `draws`
times and count how often each is the largest.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

DRAWS = 20_000


def probability_best(successes: Sequence[float], trials: Sequence[float], seed: int, draws: int = DRAWS) -> np.ndarray:
    """P(arm has the highest rate) under independent Beta(1 + s, 1 + n - s) posteriors."""
    s, n = np.asarray(successes, float), np.asarray(trials, float)
    rng = np.random.default_rng(seed)
    samples = rng.beta(1 + s, 1 + n - s, size=(draws, len(s)))
    return np.bincount(samples.argmax(axis=1), minlength=len(s)) / draws
