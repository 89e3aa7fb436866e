"""The predictor interface and the registry of model families, keyed by algorithm name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

Label = Literal["positive", "negative", "neutral"]


@dataclass(frozen=True, slots=True)
class Sentiment:
    """What a predictor says about one text."""

    label: Label
    confidence: float  # 0..1, how sure the predictor is of `label`
    polarity: float  # -1..1
    subjectivity: float  # 0..1
    # How many sentiment cues the model found in the text (lexicon phrases, cues, known features);
    # None when the family does not count them.
    evidence: int | None = None


# A text in which a lexicon family found nothing to go on (emoji it does not know, another language)
# is neutral by default, not by evidence: its confidence is that of a guess among the three labels.
NO_EVIDENCE_CONFIDENCE = 1 / 3


def without_evidence() -> Sentiment:
    """What a lexicon family answers for a text in which it found no sentiment cue."""
    return Sentiment("neutral", NO_EVIDENCE_CONFIDENCE, 0.0, 0.0, evidence=0)


class PredictorParams(BaseModel):
    """Base for a family's tunable parameters; unknown keys are rejected at registration."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Predictor(ABC):
    """One model family. Instances are immutable and shared across threads."""

    algorithm: ClassVar[str]
    Params: ClassVar[type[PredictorParams]] = PredictorParams

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = self.Params.model_validate(dict(params or {}))

    @abstractmethod
    def predict(self, text: str) -> Sentiment:
        """Label one text."""


PREDICTORS: dict[str, type[Predictor]] = {}


def register_predictor(cls: type[Predictor]) -> type[Predictor]:
    """Class decorator: make a family available under its algorithm name."""
    PREDICTORS[cls.algorithm] = cls
    return cls


def build_predictor(algorithm: str, params: Mapping[str, Any] | None = None) -> Predictor:
    """Instantiate the predictor for an algorithm; KeyError if the family is unknown."""
    return PREDICTORS[algorithm](params)


def label_with_neutral_band(score: float, band: float) -> tuple[Label, float]:
    """Turn a score in -1..1 into a label and a confidence.

    Outside the band the confidence grows linearly from 0.5 at the band's edge to 1.0 at
    |score| = 1; inside it, from 0.5 at the edge to 1.0 at a score of exactly 0.
    """
    magnitude = min(abs(score), 1.0)
    if magnitude <= band:
        confidence = 1.0 - 0.5 * (magnitude / band) if band > 0 else 1.0
        return "neutral", confidence
    label: Label = "positive" if score > 0 else "negative"
    confidence = 0.5 + 0.5 * (magnitude - band) / (1.0 - band) if band < 1 else 1.0
    return label, confidence
