"""What moves a model name's weights, as the experiment report tells it.

Bandits and rollouts (`webapp/rollouts/`) act on these statistics, so they import this package and
it never imports them: the report asks the `WeightMovers` registered here, and the rollouts package
registers its own when it loads (the app factory always loads it). Until then nothing moves weights.
"""

from __future__ import annotations

from typing import Protocol

from .schemas import AllocationOut


class WeightMovers(Protocol):
    def moving_allocation(self, model_name: str) -> AllocationOut | None:
        """The bandit or rollout moving this name's weights now, if any."""
        ...

    def had_bandit(self, model_name: str) -> bool:
        """Whether a bandit runs, or ever ran, on this name: the report then corrects for its allocation."""
        ...


class _Nothing:
    def moving_allocation(self, model_name: str) -> AllocationOut | None:
        return None

    def had_bandit(self, model_name: str) -> bool:
        return False


_registered: WeightMovers = _Nothing()


def register_movers(movers: WeightMovers) -> None:
    """Make `movers` the ones the experiment report asks."""
    global _registered
    _registered = movers


def weight_movers() -> WeightMovers:
    """The registered movers."""
    return _registered
