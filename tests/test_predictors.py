"""What the sentiment families promise: textblob-basic (v1), textblob-advanced (v2), and all three together."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from pydantic import ValidationError

from bench.eval import MIN_GAIN, evaluate_all, gains
from webapp.cli.datasets import DataDirMissing, find_data_dir, label_for_rating, load_labelled_sets
from webapp.inference import ADVANCED, BASIC, PREDICTORS, VADER, build_predictor, default_algorithm
from webapp.inference.advanced import AdvancedPredictor
from webapp.inference.basic import BasicPredictor

ALGORITHMS = (BASIC, ADVANCED, VADER)
LABELS = {"positive", "neutral", "negative"}
ODD_TEXTS = [
    "",
    "   \n\n\t ",
    "!!!",
    "?!?!",
    "...",
    "(!)",
    "'",
    "n't",
    "not",
    "but however although",
    "😀😢🙂",
    ":) <3 :-( :'(",
    "NOT GOOD!!! REALLY NOT GOOD!!!",
    "Ça va très bien, merci ! Das ist schön.",
    "日本語のテキストです。",
    "http://example.com/?q=good&x=bad",
    "a" * 5000,
    "good " * 1000,
    ("This is not what I wanted, but honestly it's kind of great!!! " * 80)[:5000],
]


@pytest.fixture(scope="module")
def basic() -> BasicPredictor:
    return build_predictor(BASIC)


@pytest.fixture(scope="module")
def advanced() -> AdvancedPredictor:
    return build_predictor(ADVANCED)


# --- textblob-basic -------------------------------------------------------------------------------


def test_basic_labels_clear_praise_positive(basic):
    assert basic.predict("This is a wonderful, excellent phone.").label == "positive"


def test_basic_labels_clear_complaint_negative(basic):
    assert basic.predict("This is a terrible, awful phone.").label == "negative"


def test_basic_labels_text_without_opinion_words_neutral(basic):
    assert basic.predict("The phone arrived on Tuesday.").label == "neutral"


# --- textblob-advanced ----------------------------------------------------------------------------


def test_advanced_is_the_registered_v2_family():
    assert PREDICTORS[ADVANCED] is AdvancedPredictor
    assert default_algorithm(2) == ADVANCED
    assert AdvancedPredictor.algorithm != BasicPredictor.algorithm


def test_advanced_labels_clear_praise_and_complaints(advanced):
    assert advanced.predict("This is a wonderful, excellent phone.").label == "positive"
    assert advanced.predict("This is a terrible, awful phone.").label == "negative"
    assert advanced.predict("The phone arrived on Tuesday.").label == "neutral"


def test_advanced_lets_the_clause_after_but_dominate(basic, advanced):
    text = "The battery is terrible, but the screen is great."
    assert basic.predict(text).label == "negative"  # the plain mean lets "terrible" win
    assert advanced.predict(text).label == "positive"
    assert advanced.predict("The screen is great, but the battery is terrible.").label == "negative"


def test_advanced_discounts_a_concessive_clause(advanced):
    plain = advanced.predict("It is expensive and it is great.").polarity
    conceded = advanced.predict("Although it is expensive, it is great.").polarity
    assert conceded > plain > 0


def test_advanced_flips_negated_praise(basic, advanced):
    # TextBlob's tokenizer splits "isn't" into "is n ' t", so basic misses the negation.
    assert basic.predict("This phone isn't good.").label == "positive"
    assert advanced.predict("This phone isn't good.").label == "negative"
    assert advanced.predict("This phone don\u2019t look good.").label == "negative"  # typographic apostrophe
    assert advanced.predict("The battery is not the best.").label == "negative"


def test_advanced_reads_negated_criticism_as_mild_praise(advanced):
    result = advanced.predict("The sound is not bad.")
    assert result.label == "positive"
    assert result.polarity < advanced.predict("The sound is good.").polarity


def test_advanced_negation_stops_at_the_clause_boundary(advanced):
    assert advanced.predict("I did not expect much, but it is great.").label == "positive"


def test_advanced_does_not_treat_not_only_as_negation(advanced):
    assert advanced.predict("This is not just good, it is great.").label == "positive"


def test_advanced_treats_a_bare_negation_as_a_weak_negative_cue(basic, advanced):
    assert basic.predict("It does not work.").label == "neutral"
    result = advanced.predict("It does not work.")
    assert result.label == "negative"
    assert result.polarity > -0.5  # a cue, not a strong opinion


def test_advanced_does_not_negate_emoticons(advanced):
    assert advanced.predict("No cheque yet :(").label == "negative"
    assert advanced.predict("Not the latter lol").label == "positive"


def test_advanced_treats_an_exclamation_without_opinion_words_as_a_weak_positive_cue(basic, advanced):
    assert basic.predict("We made it!").label == "neutral"
    assert advanced.predict("We made it!").label == "positive"
    assert advanced.predict("We made it.").label == "neutral"
    assert advanced.predict("What is going on?!").label == "neutral"  # a question, not an exclamation


def test_advanced_stresses_caps_and_intensifiers_and_softens_hedges(advanced):
    def polarity(text):
        return advanced.predict(text).polarity

    assert polarity("I LOVE it") > polarity("I love it") > 0
    assert polarity("It is so good") > polarity("It is good") > polarity("It is slightly good") > 0
    assert polarity("It is kind of good") < polarity("It is good")


def test_advanced_reads_stretched_and_inflected_words(basic, advanced):
    for text in ("soooo gooood", "She loves it.", "It is nicer."):
        assert basic.predict(text).label == "neutral"
        assert advanced.predict(text).label == "positive"


def test_advanced_reads_a_negative_prefix_as_negation(basic, advanced):
    for text, label in (
        ("The plan is irresponsible and unwise.", "negative"),
        ("It was inexpensive.", "positive"),  # not expensive
        ("The price is not unreasonable.", "positive"),  # the prefix and "not" cancel
    ):
        assert basic.predict(text).label == "neutral", text
        assert advanced.predict(text).label == label, text
    assert advanced.predict("This is important.").label == "positive"  # "im-" + "portant" is no word


def test_advanced_takes_the_plain_mean_of_phrases_like_textblob(basic, advanced):
    # Weighting phrases by subjectivity was dropped: it did not help on tweets (see bench.eval).
    text = "The new case is awful."
    assert advanced.predict(text).polarity == pytest.approx(basic.predict(text).polarity)


def test_advanced_reads_should_have_as_what_did_not_happen(basic, advanced):
    text = "The manual should have been better."
    assert basic.predict(text).label == "positive"
    assert advanced.predict(text).label == "negative"
    assert advanced.predict("It could have been worse.").label == "positive"
    assert advanced.predict("I should've bought the bigger one, it's better.").label == "positive"  # not in scope


def test_advanced_reads_a_denied_counterfactual_or_comparison_as_praise(advanced):
    assert advanced.predict("It couldn't have been better.").label == "positive"
    assert advanced.predict("I could not be happier with it.").label == "positive"
    assert advanced.predict("It would not be good for you.").label == "negative"  # not a comparison: plain negation


def test_advanced_reads_formal_concessions_as_background(advanced):
    plain = advanced.predict("The plan is ambitious and the plan is flawed.").polarity
    for concession in (
        "While the plan is ambitious, it is flawed.",
        "The plan is ambitious, yet it is flawed.",
        "Admittedly the plan is ambitious; it is flawed.",
    ):
        assert advanced.predict(concession).polarity < plain, concession


# --- every family --------------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_neutral_band_is_a_param(algorithm):
    assert build_predictor(algorithm).predict("It is good.").label == "positive"
    assert build_predictor(algorithm, {"neutral_band": 0.9}).predict("It is good.").label == "neutral"


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("params", [{"nonsense": 1}, {"neutral_band": "0.1"}, {"neutral_band": 1.5}])
def test_unknown_or_invalid_param_is_rejected(algorithm, params):
    with pytest.raises(ValidationError):
        build_predictor(algorithm, params)


def test_advanced_params_have_bounds():
    for params in (
        {"negation_factor": -2.0},
        {"negation_scope": 0},
        {"cue_polarity": -0.1},
        {"emphasis": 1.0},
        {"counterfactual_factor": -1.5},
    ):
        with pytest.raises(ValidationError):
            build_predictor(ADVANCED, params)


def test_advanced_still_builds_from_the_params_earlier_versions_stored():
    # Registered v2 versions keep their completed params in the database; new params must have defaults.
    stored = {
        "neutral_band": 0.0,
        "negation_factor": -0.5,
        "negation_scope": 3,
        "cue_polarity": 0.2,
        "contrast_weight": 0.5,
        "emphasis": 0.3,
    }
    assert build_predictor(ADVANCED, stored).params == build_predictor(ADVANCED).params


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_params_are_immutable(algorithm):
    predictor = build_predictor(algorithm)
    with pytest.raises(ValidationError):
        predictor.params.neutral_band = 0.5


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("text", ODD_TEXTS, ids=lambda text: repr(text[:20]))
def test_odd_inputs_give_a_label_and_scores_in_range(algorithm, text):
    result = build_predictor(algorithm).predict(text)
    assert result.label in LABELS
    assert 0.0 <= result.confidence <= 1.0
    assert -1.0 <= result.polarity <= 1.0
    assert 0.0 <= result.subjectivity <= 1.0


def test_advanced_confidence_grows_with_the_strength_of_the_opinion(advanced):
    weak = advanced.predict("It is good.")
    strong = advanced.predict("It is absolutely wonderful!")
    assert weak.label == strong.label == "positive"
    assert 0.5 <= weak.confidence < strong.confidence <= 1.0


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_one_instance_gives_the_same_answers_from_many_threads(algorithm):
    predictor = build_predictor(algorithm)
    texts = [text for text in ODD_TEXTS if len(text) < 200] * 20
    expected = [predictor.predict(text) for text in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(predictor.predict, texts)) == expected


# --- against human ratings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "label"), [(0.51, "positive"), (0.5, "neutral"), (-0.5, "neutral"), (-0.51, "negative")]
)
def test_ratings_are_labelled_with_the_readme_thresholds(rating, label):
    assert label_for_rating(rating) == label


def test_missing_data_dir_names_the_directory_and_the_env_var(monkeypatch, tmp_path):
    monkeypatch.setenv("SENTIMENT_DATA_DIR", str(tmp_path))
    with pytest.raises(DataDirMissing, match=r"SENTIMENT_DATA_DIR") as error:
        find_data_dir()
    assert str(tmp_path) in str(error.value)


@pytest.fixture(scope="module")
def human_rated_sets():
    try:
        return load_labelled_sets()
    except DataDirMissing as error:
        pytest.skip(f"human-rated sets not available: {error}")


def test_tweets_are_unescaped(human_rated_sets):
    texts = [row.text for row in human_rated_sets["tweets"]]
    assert not any("&amp;" in text for text in texts)
    assert any("&" in text for text in texts)


def test_advanced_beats_basic_by_three_points_on_every_human_rated_set(human_rated_sets):
    assert set(human_rated_sets) >= {"amazon", "tweets"}
    per_set = gains(evaluate_all(human_rated_sets, [BASIC, ADVANCED]))
    shortfalls = {name: f"{100 * gain:+.1f} points" for name, gain in per_set.items() if gain < MIN_GAIN}
    assert not shortfalls, f"advanced gains less than {100 * MIN_GAIN:.0f} points over basic on {shortfalls}"
