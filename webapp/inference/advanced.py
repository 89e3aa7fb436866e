"""textblob-advanced ("v2"): TextBlob's phrase scores, weighted by subjectivity and read with grammar.

TextBlob's pattern analyser scores the words of its lexicon, merging an adverb into the word it
modifies ("really good"); its polarity is the plain mean of those phrase polarities. This family
keeps that lexicon (with its emoticons and its "!" boost) and changes how phrases are combined:

1. Subjectivity weighting: score = sum(w * p) / sum(w) over phrases, w = phrase subjectivity
   (times the contrast weight of rule 4), so "the new case" counts less than "is awful".
2. Negation: a negator ("not", "n't", "no", "never", "without", ...) multiplies the polarity of a
   phrase starting at most `negation_scope` tokens later in the same clause by `negation_factor`
   (TextBlob's convention: "not good" = -0.5 x "good"). Emoticons and interjections ("lol")
   comment on the whole sentence and are never negated; "not only", "not just" and "can't wait"
   negate nothing. TextBlob's own negation is switched off, so nothing is counted twice: its
   tokenizer turns "isn't" into "is n ' t" (this module glues "n't" back) and it only reaches
   across one-letter words ("not a good", but not "not the best").
3. Cues without opinion words, each weighing like one fully subjective phrase: a negator whose
   scope holds no phrase ("it doesn't work") scores -`cue_polarity`, since negation is far more
   common in negative evaluations than in positive ones (Potts 2011, "On the negativity of
   negation"); an exclamation (not a question) with no opinion phrase in its sentence scores
   +`cue_polarity`: it marks emotion, and without a lexical clue language's positivity bias
   (Boucher & Osgood 1969, "The Pollyanna hypothesis") makes positive the better guess.
4. Contrast: phrases before "but"/"however" in its sentence (the previous sentence when the
   sentence opens with it) and phrases inside a concessive clause ("although ..." up to the next
   break) weigh `contrast_weight`, as the other clause carries the writer's point.
5. Intensity: an intensifier the lexicon does not boost ("so", "extremely"), an ALL-CAPS word in
   a text that is not all caps, or a stretched word ("gooood") scales a phrase's polarity by
   1 + `emphasis`; a hedge ("slightly", "kind of") by 1 - `emphasis`. TextBlob already boosts
   after "very" and "!", so those are left to it.
6. Degree words and quantifiers ("really", "more", "first", "own") are grammar, not opinion:
   when TextBlob scores one standing alone, that phrase is dropped.
7. Word forms: an unknown word is looked up as its lexicon entry when it is a stretched spelling
   ("gooood") or an inflection along its usual part of speech in TextBlob's tagger lexicon
   ("nicer" JJR -> "nice", "hates" VBZ -> "hate"; "number" is NN, so never "numb").

Label and confidence come from `label_with_neutral_band(score, neutral_band)`, as for
textblob-basic: outside the band confidence = 0.5 + 0.5 * (|score| - band) / (1 - band); inside
it, 1 - 0.5 * |score| / band (1.0 for a score of exactly 0 when the band is 0, i.e. a text with
no opinion phrase and no cue). `polarity` is the score; `subjectivity` is the mean subjectivity of
the scored phrases (0 when there are none).

The lexicon is read through `textblob.en.sentiment.assessments`, the engine behind
`TextBlob.sentiment_assessments`, fed with tokens from TextBlob's own corpus-free tokenizer: one
analysis per text, where `sentiment_assessments` runs two. Instances hold only frozen params,
and the lexicons are loaded at import, so one instance can serve many threads.
"""

from __future__ import annotations

from pydantic import Field

from .base import Predictor, PredictorParams, Sentiment, label_with_neutral_band, register_predictor
from .reading import Reading, read


class AdvancedParams(PredictorParams):
    neutral_band: float = Field(default=0.0, ge=0.0, lt=1.0)
    negation_factor: float = Field(default=-0.5, ge=-1.0, le=1.0)
    negation_scope: int = Field(default=3, ge=1, le=10)
    cue_polarity: float = Field(default=0.2, ge=0.0, le=1.0)
    contrast_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    emphasis: float = Field(default=0.3, ge=0.0, lt=1.0)
    counterfactual_factor: float = Field(default=-0.5, ge=-1.0, le=1.0)


def weigh(reading: Reading, params: AdvancedParams) -> float:
    """The polarity of a reading under a set of params: the weighted mean of its phrases and cues."""
    scored: list[tuple[float, float]] = []  # (polarity, weight)
    for phrase in reading.phrases:
        polarity = phrase.polarity * (1 + params.emphasis * phrase.emphasis)
        if phrase.negated:
            polarity *= params.negation_factor
        if phrase.counterfactual:
            polarity *= params.counterfactual_factor
        weight = 1.0
        if phrase.background:
            weight *= params.contrast_weight
        scored.append((max(-1.0, min(1.0, polarity)), weight))
    # A cue weighs as much as one phrase.
    cue = params.cue_polarity
    scored += [(-cue, 1.0)] * reading.bare_negations + [(cue, 1.0)] * reading.exclamations
    total = sum(weight for _, weight in scored)
    polarity = sum(p * weight for p, weight in scored) / total if total > 0 else 0.0
    return max(-1.0, min(1.0, polarity))


@register_predictor
class AdvancedPredictor(Predictor):
    """Subjectivity-weighted mean of TextBlob phrase polarities, read with negation, contrast, mood and emphasis."""

    algorithm = "textblob-advanced"
    Params = AdvancedParams

    def predict(self, text: str) -> Sentiment:
        score, subjectivity = self.score(text)
        label, confidence = label_with_neutral_band(score, self.params.neutral_band)
        return Sentiment(label, confidence, score, subjectivity)

    def score(self, text: str) -> tuple[float, float]:
        """(polarity in -1..1, subjectivity in 0..1) of a text."""
        reading = read(text, self.params.negation_scope)
        return weigh(reading, self.params), reading.subjectivity
