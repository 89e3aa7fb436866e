"""Canary rollouts: plans with guardrails, moved by a beat task through the split service; and bandits.

Rollouts act on the experiments' statistics: this package imports `experiments`, never the reverse,
and tells the experiment report (through `experiments.movers`) when it moves a name's weights.
"""

from flask import Blueprint

from ..experiments.movers import register_movers
from . import allocation, models  # noqa: F401  (models: register the tables with the metadata)

bp = Blueprint("rollouts", __name__)
register_movers(allocation)

from . import views  # noqa: E402, F401  (attaches the routes)
