"""Specifications for long, formal, editorial prose: what textblob-advanced must make of it.

The texts were written for these tests, as an editorial writer would put things; none comes from
a data set and no rule was fitted to them. Each spec names the construction it is about. Where
textblob-basic already gets a text right, the spec is still worth keeping as a guard.
"""

from __future__ import annotations

import pytest

from webapp.inference import ADVANCED, BASIC, build_predictor

advanced = build_predictor(ADVANCED)
basic = build_predictor(BASIC)


def test_should_have_and_would_have_been_read_as_criticism_of_what_happened():
    text = (
        "The council had nearly a year to prepare for the storm season. Its response should have been "
        "faster and far more honest, and the mayor would have been wise to heed the engineers who had "
        "warned of the danger for years. Residents were instead offered a string of press conferences."
    )
    assert basic.predict(text).label == "positive"  # "honest" and "wise", read as praise
    assert advanced.predict(text).label == "negative"


def test_denying_a_counterfactual_praises_what_happened():
    text = (
        "The transit authority faced an impossible timetable and a hostile legislature. Even so, the new "
        "line opened on the day it promised, within its budget. The engineers {} a better job, and the "
        "city should be grateful to them."
    )
    praised, faulted = text.format("could not have done"), text.format("did not do")
    assert advanced.predict(praised).polarity > advanced.predict(faulted).polarity
    assert basic.predict(praised).polarity == basic.predict(faulted).polarity  # v1 sees "better" either way


def test_a_concession_opened_by_although_gives_way_to_the_main_clause():
    text = (
        "Although the governor's plan contains a welcome commitment to open government and a handful of "
        "sensible ideas, it is, on balance, a disappointing document. It promises much and explains little."
    )
    assert basic.predict(text).label != "negative"  # the plain mean lets "welcome" cancel "disappointing"
    assert advanced.predict(text).label == "negative"


def test_a_sentence_conceded_with_admittedly_gives_way_to_the_next_one():
    text = (
        "Admittedly, the new budget is an impressive document, and its authors were honest about the "
        "size of the deficit. Yet its central assumption about growth is wrong, and its cuts fall "
        "hardest on the people least able to bear them."
    )
    assert advanced.predict(text).label == "negative"


def test_a_concession_in_the_other_direction_leaves_praise_standing():
    text = (
        "While the reform is not perfect, and its critics raise fair points about its cost, it is the most "
        "serious attempt in a generation to fix a broken system. It deserves to pass, and it deserves "
        "bipartisan support when it does."
    )
    # "serious" and "broken" are TextBlob-negative words in an approving sentence; the concession's own
    # words must at least not add to them.
    without_concession = "It is the most serious attempt in a generation to fix a broken system."
    assert advanced.predict(text).polarity >= advanced.predict(without_concession).polarity


def test_hedged_praise_is_weaker_than_the_same_praise_stated_flatly():
    flat = (
        "The committee's second report is clearer than the first. It is more honest about the costs of "
        "the programme, and its recommendations are reasonable."
    )
    hedged = (
        "The committee's second report is somewhat clearer than the first. It is slightly more honest "
        "about the costs of the programme, and its recommendations are fairly reasonable."
    )
    flat_reading, hedged_reading = advanced.predict(flat), advanced.predict(hedged)
    assert flat_reading.label == hedged_reading.label == "positive"
    assert hedged_reading.polarity < flat_reading.polarity
    assert hedged_reading.confidence < flat_reading.confidence


def test_a_view_the_writer_reports_weighs_less_than_the_writers_own():
    text = (
        "The ministry claims the new examinations are fair to every pupil. They would not be fair to "
        "children in rural schools, who have neither the teachers nor the books their urban peers enjoy."
    )
    vouched = text.replace("The ministry claims the", "The")
    assert advanced.predict(text).polarity < advanced.predict(vouched).polarity


@pytest.mark.xfail(
    strict=True,
    reason="rhetorical questions are read literally: a question rule failed the cross-domain check "
    "(README, 'The models'), so v2 has none",
)
def test_a_rhetorical_question_is_not_praise():
    text = (
        "The minister insists that the reform of elderly care has been a success. But is this really the "
        "best a wealthy nation can offer the people who built it? Who, reading these figures, could call "
        "the outcome fair?"
    )
    assert advanced.predict(text).label == "negative"


@pytest.mark.xfail(
    strict=True,
    reason="'would be' is read as asserted: discounting phrases after a modal hurt both development "
    "sets (README, 'The models'), so v2 does not",
)
def test_praise_in_the_conditional_is_not_praise_of_what_is():
    text = (
        "It would be wonderful if the new housing law protected tenants from sudden evictions, and "
        "reassuring if landlords who break it faced real penalties. Neither is the case."
    )
    assert advanced.predict(text).label == "negative"
