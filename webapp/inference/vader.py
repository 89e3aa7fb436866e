"""vader: VADER's compound score (Hutto & Gilbert 2014) with the project's labels and confidence.

VADER is a rule-based analyser with its own human-rated lexicon (shipped inside the
`vaderSentiment` package, MIT licensed: no download). Its compound score in -1..1 is labelled
with the neutral band its authors recommend (±0.05, the `neutral_band` param) and given the same
confidence formula as the TextBlob families (`label_with_neutral_band`). VADER has no
subjectivity score; the share of the text's sentiment mass that is not neutral (pos + neg, which
is 1 - neu when any word scored, 0 otherwise) stands in for it.
"""

from __future__ import annotations

from pydantic import Field
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from .base import (
    Predictor,
    PredictorParams,
    Sentiment,
    label_with_neutral_band,
    register_predictor,
    without_evidence,
)

# One analyser for the process: building one reads two lexicon files (tens of ms), and its
# polarity_scores keeps no state between calls, so threads can share it.
_ANALYSER = SentimentIntensityAnalyzer()


class VaderParams(PredictorParams):
    neutral_band: float = Field(default=0.05, ge=0.0, lt=1.0)


@register_predictor
class VaderPredictor(Predictor):
    """Label = sign of VADER's compound score, neutral within ±neutral_band."""

    algorithm = "vader"
    Params = VaderParams

    def predict(self, text: str) -> Sentiment:
        scores = _ANALYSER.polarity_scores(text)
        if scores["pos"] == scores["neg"] == 0:  # no word of its lexicon: VADER does not count them
            return without_evidence()
        compound = scores["compound"]
        label, confidence = label_with_neutral_band(compound, self.params.neutral_band)
        subjectivity = min(1.0, scores["pos"] + scores["neg"])
        return Sentiment(label, confidence, compound, subjectivity)
