"""Sentiment model families. A new family is one `Predictor` subclass registered here."""

from . import advanced as _advanced  # noqa: F401  (registers textblob-advanced)
from . import basic as _basic  # noqa: F401  (registers textblob-basic)
from . import sklearn_family as _sklearn_family  # noqa: F401  (registers sklearn)
from . import vader as _vader  # noqa: F401  (registers vader)
from .base import PREDICTORS, Predictor, Sentiment, build_predictor, register_predictor

BASIC = "textblob-basic"
ADVANCED = "textblob-advanced"
VADER = "vader"
SKLEARN = "sklearn"


def default_algorithm(major_version: int) -> str:
    """Major version 1 means the basic family; 2 and above the advanced one."""
    return BASIC if major_version <= 1 else ADVANCED


__all__ = [
    "ADVANCED",
    "BASIC",
    "PREDICTORS",
    "SKLEARN",
    "VADER",
    "Predictor",
    "Sentiment",
    "build_predictor",
    "default_algorithm",
    "register_predictor",
]
