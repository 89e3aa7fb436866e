"""What the vader family promises: VADER's compound score, the authors' ±0.05 band, our confidence."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from webapp.inference import PREDICTORS, VADER, build_predictor
from webapp.inference.base import label_with_neutral_band
from webapp.inference.vader import VaderPredictor

REFERENCE = SentimentIntensityAnalyzer()  # the package's own analyser, built independently


@pytest.fixture(scope="module")
def vader() -> VaderPredictor:
    return build_predictor(VADER)


def test_vader_is_registered_under_its_algorithm_name():
    assert PREDICTORS[VADER] is VaderPredictor


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("This is a wonderful, excellent phone.", "positive"),
        ("This is a terrible, awful phone.", "negative"),
        ("The phone arrived on Tuesday.", "neutral"),
        ("The sound is not bad.", "positive"),
        ("It is not good.", "negative"),
    ],
)
def test_vader_labels_plain_opinions(vader, text, label):
    assert vader.predict(text).label == label


@pytest.mark.parametrize(
    "text", ["I love it", "meh", "It is okay.", "Not bad at all!!", "The plot was dull, but the acting was superb."]
)
def test_vader_polarity_is_the_compound_score_and_confidence_the_project_formula(vader, text):
    compound = REFERENCE.polarity_scores(text)["compound"]
    result = vader.predict(text)
    assert result.polarity == compound
    assert (result.label, result.confidence) == label_with_neutral_band(compound, 0.05)


def test_vader_default_neutral_band_is_the_authors_five_hundredths(vader):
    # "meh" scores -0.0772: just outside ±0.05, inside ±0.1.
    assert vader.predict("meh").label == "negative"
    assert build_predictor(VADER, {"neutral_band": 0.1}).predict("meh").label == "neutral"


def test_vader_subjectivity_is_the_share_of_opinionated_sentiment_mass(vader):
    assert vader.predict("The phone arrived on Tuesday.").subjectivity == 0.0
    assert vader.predict("").subjectivity == 0.0  # VADER gives neu = 0 here too: nothing was scored
    assert vader.predict("great").subjectivity == 1.0
    assert 0.0 < vader.predict("The phone is great.").subjectivity < 1.0


@pytest.mark.parametrize("params", [{"neutral_band": 1.0}, {"neutral_band": -0.1}, {"neutral_band": "0.05"}, {"x": 1}])
def test_vader_rejects_invalid_params(params):
    with pytest.raises(ValidationError):
        build_predictor(VADER, params)
