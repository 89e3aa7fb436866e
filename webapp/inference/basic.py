"""textblob-basic: TextBlob's polarity with a neutral band. Fast and simple."""

from __future__ import annotations

from pydantic import Field
from textblob.en import sentiment as pattern_sentiment

from .base import (
    Predictor,
    PredictorParams,
    Sentiment,
    label_with_neutral_band,
    register_predictor,
    without_evidence,
)


class BasicParams(PredictorParams):
    neutral_band: float = Field(default=0.05, ge=0.0, lt=1.0)


@register_predictor
class BasicPredictor(Predictor):
    """Label = sign of TextBlob polarity, neutral within ±neutral_band."""

    algorithm = "textblob-basic"
    Params = BasicParams

    def predict(self, text: str) -> Sentiment:
        # TextBlob(text).sentiment returns exactly this, after building a new namedtuple class on
        # every call, which doubles the cost of the model.
        score = pattern_sentiment(text)  # (polarity, subjectivity), with the lexicon entries it matched
        if not score.assessments:
            return without_evidence()
        polarity, subjectivity = score
        label, confidence = label_with_neutral_band(polarity, self.params.neutral_band)
        return Sentiment(label, confidence, polarity, subjectivity, evidence=len(score.assessments))
