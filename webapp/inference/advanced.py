"""textblob-advanced ("v2"): TextBlob's phrase scores read with grammar.

TextBlob's pattern analyser scores the words of its lexicon, merging an adverb into the word it
modifies ("really good"); its polarity is the plain mean of those phrase polarities. This family
keeps that lexicon (with its emoticons and its "!" boost) and that mean, and changes what goes into
it. `reading.py` finds the phrases and how their context frames them; `weigh` below turns that
reading into a score with the params. Every rule is checked cross-domain by `make eval`
(`bench/crossdomain.py`): its strength fitted on one development set, its effect measured on the
other, in both directions.

1. Negation: a negator ("not", "n't", "no", "never", "without", "least", ...) multiplies the
   polarity of an opinion phrase starting at most `negation_scope` tokens later in the same clause
   by `negation_factor` (TextBlob's convention: "not good" = -0.5 x "good"; "least able" reads as
   "not able", "at least" negates nothing). Emoticons and interjections ("lol") comment on the
   whole sentence and are never negated; "not only", "not just" and "can't wait" negate nothing.
   TextBlob's own negation is switched off, so nothing is counted twice: its tokenizer turns
   "isn't" into "is n ' t" (this module glues "n't" back) and it only reaches across one-letter
   words ("not a good", but not "not the best"). A denied modal asserts what it denies is unreal:
   "couldn't have been better" and "couldn't be happier" (a comparison) keep their polarity.
2. Cues without opinion words, each weighing like one phrase: a negator whose scope holds no
   opinion phrase ("it doesn't work", "it does not last") scores -`cue_polarity`, since negation is
   far more common in negative evaluations than in positive ones (Potts 2011, "On the negativity
   of negation"); an exclamation (not a question) with no opinion phrase in its sentence scores
   +`cue_polarity`: it marks emotion, and without a lexical clue language's positivity bias
   (Boucher & Osgood 1969, "The Pollyanna hypothesis") makes positive the better guess.
3. Contrast and concession: phrases before "but"/"however"/"yet" in its sentence (the previous
   sentence when the sentence opens with it), phrases inside a concessive clause ("although",
   "though", "despite", "whereas", a sentence-opening "while", up to the next break), in a
   sentence conceded by "admittedly"/"granted" or in a view the writer reports without vouching
   for it ("the ministry claims ...", "insists", "alleges"; both up to the next contrast or ";")
   weigh `contrast_weight`, as the writer's own point is elsewhere (Polanyi & Zaenen 2006,
   "Contextual valence shifters": connectors and reported speech).
4. Counterfactuals: after "should/could/would/ought (to) have" + a participle, a phrase names
   what did not happen ("should have been better"), so its polarity is multiplied by
   `counterfactual_factor`, like a negation.
5. Intensity: an intensifier the lexicon does not boost ("so", "extremely"), an ALL-CAPS word in
   a text that is not all caps, or a stretched word ("gooood") scales a phrase's polarity by
   1 + `emphasis`; a hedge ("slightly", "kind of") by 1 - `emphasis`. TextBlob already boosts
   after "very" and "!", so those are left to it.
6. Word forms: an unknown word is looked up as its lexicon entry when it is a stretched spelling
   ("gooood") or an inflection along its usual part of speech in TextBlob's tagger lexicon
   ("nicer" JJR -> "nice", "hates" VBZ -> "hate"; "number" is NN, so never "numb"). An unknown
   adjective made of a negative prefix and a lexicon adjective ("unwise", "irresponsible",
   "inexpensive") is that adjective, negated as by rule 1; "not unreasonable" cancels out.

Tried and dropped, because the cross-domain check said so (docs/models.md): weighting
phrases by their subjectivity (no gain on amazon, a loss on tweets), dropping degree words that
stand alone ("more", "first": 100 labels fixed and 100 broken on amazon), discounting phrases after
any modal ("would be nice": a loss on both sets in every form tried), discounting or reversing
phrases in questions (the weight fitted on amazon costs tweets about 20 labels net), epistemic
hedges ("perhaps", "arguably"), reading a double negation as an affirmation, reversing a conceded
clause when the other clause holds no opinion, and ignoring weak phrases (|polarity| < 0.1): none
helped on both sets.

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

from .base import (
    Predictor,
    PredictorParams,
    Sentiment,
    label_with_neutral_band,
    register_predictor,
    without_evidence,
)
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
    # Pure arithmetic on a finished reading, so bench/crossdomain.py can re-weigh one reading often.
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
    """Mean of TextBlob phrase polarities, read with negation, cues, contrast, counterfactuals and emphasis."""

    algorithm = "textblob-advanced"
    Params = AdvancedParams

    def predict(self, text: str) -> Sentiment:
        reading = read(text, self.params.negation_scope)
        evidence = len(reading.phrases) + reading.bare_negations + reading.exclamations
        if not evidence:
            return without_evidence()
        score = weigh(reading, self.params)
        label, confidence = label_with_neutral_band(score, self.params.neutral_band)
        return Sentiment(label, confidence, score, reading.subjectivity, evidence=evidence)

    def score(self, text: str) -> tuple[float, float]:
        """(polarity in -1..1, subjectivity in 0..1) of a text."""
        reading = read(text, self.params.negation_scope)
        return weigh(reading, self.params), reading.subjectivity
