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

import re
from dataclasses import dataclass

from pydantic import Field
from textblob.en import lexicon as _tag_lexicon
from textblob.en import sentiment as _sentiment_lexicon
from textblob.en import tokenize as _tokenize_sentences

from .base import Predictor, PredictorParams, Sentiment, label_with_neutral_band, register_predictor


def _words(text: str) -> frozenset[str]:
    """A word set written as one string."""
    return frozenset(text.split())


_NEGATORS = _words(
    "not no never n't cannot nothing nobody none neither nor nowhere without dont doesnt didnt isnt "
    "wasnt arent werent cant wont couldnt shouldnt wouldnt havent hasnt hadnt aint"
)
# "not only good", "not just good", "can't wait": the negator does not deny what follows.
_NOT_NEGATED = _words("only just wait")
_CONTRASTS = _words("but however nevertheless nonetheless")
_CONCESSIVES = _words("although though despite")
_CLAUSE_BREAKS = _words(". , ; : ! ? ... ( ) - --") | _CONTRASTS
# "very" is left out: TextBlob's lexicon already boosts the word after it.
_INTENSIFIERS = _words(
    "so too really extremely totally absolutely completely highly truly utterly incredibly particularly"
)
_DIMINISHERS = _words("slightly somewhat fairly rather kinda sorta mildly relatively")
# Two-word hedges, read as "somewhat": "kind of good" is not the adjective "kind".
_HEDGES = frozenset({("kind", "of"), ("sort", "of"), ("a", "bit"), ("a", "little")})
_DEGREE_AND_QUANTITY = (
    _INTENSIFIERS
    | _DIMINISHERS
    | _words(
        "very much more most less least few many several little enough such other another same only own "
        "just even first second third last next former latter previous whole entire various further "
        "mostly nearly actually usually simply exactly especially definitely"
    )
)
_SPLIT_NOT = re.compile(r"\bn ' t\b")
_STRETCHED = re.compile(r"(\w)\1{2,}")

# Usual Penn tag of an inflected word -> parts of speech its base may have, and suffix rewrites.
_COMPARATIVE = (("JJ", "RB"), (("ier", "y"), ("er", ""), ("er", "e")))
_INFLECTIONS = {
    "JJR": _COMPARATIVE,
    "RBR": _COMPARATIVE,
    "JJS": (("JJ", "RB"), (("iest", "y"), ("est", ""), ("est", "e"))),
    "VBD": (("VB",), (("ied", "y"), ("ed", ""), ("ed", "e"))),
    "VBN": (("VB",), (("ied", "y"), ("ed", ""), ("ed", "e"))),
    "VBZ": (("VB",), (("ies", "y"), ("es", ""), ("s", ""))),
    "VBG": (("VB",), (("ing", ""), ("ing", "e"))),
    "NNS": (("NN",), (("ies", "y"), ("es", ""), ("s", ""))),
}

# Load both lexicons now rather than lazily inside concurrent requests.
"good" in _sentiment_lexicon  # noqa: B015
"good" in _tag_lexicon  # noqa: B015


class AdvancedParams(PredictorParams):
    neutral_band: float = Field(default=0.0, ge=0.0, lt=1.0)
    negation_factor: float = Field(default=-0.5, ge=-1.0, le=1.0)
    negation_scope: int = Field(default=3, ge=1, le=10)
    cue_polarity: float = Field(default=0.2, ge=0.0, le=1.0)
    contrast_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    emphasis: float = Field(default=0.3, ge=0.0, lt=1.0)


@dataclass(frozen=True, slots=True)
class _Phrase:
    start: int  # index of its first token
    head: int  # index of its last word, the one the lexicon scored
    polarity: float
    subjectivity: float
    negatable: bool  # emoticons and interjections ("lol") comment on a sentence; no negator reaches them


def _tokenize(text: str) -> tuple[list[str], list[int]]:
    """TextBlob's tokens, with "n't" kept whole, and the sentence index of each token."""
    tokens: list[str] = []
    sentence_of: list[int] = []
    normalised = re.sub(r"(?i)n['\u2019]t\b", " n't", text)
    # The tokenizer splits every apostrophe, so "isn't" comes back as "is n ' t".
    for number, sentence in enumerate(_tokenize_sentences(normalised)):
        words = _SPLIT_NOT.sub("n't", sentence).split()
        tokens.extend(words)
        sentence_of.extend([number] * len(words))
    return tokens, sentence_of


def _lookup_forms(tokens: list[str]) -> list[str]:
    """Lower-cased tokens as the lexicon should see them: hedges marked, words reduced to its entries."""
    forms = [token.lower() for token in tokens]
    for i, form in enumerate(forms):
        if (form, forms[i + 1] if i + 1 < len(forms) else "") in _HEDGES:
            forms[i] = "somewhat"
        elif form not in _sentiment_lexicon:
            forms[i] = _base_form(form) or form
    return forms


def _base_form(form: str) -> str | None:
    """The lexicon entry behind an unknown word: "goooood" -> "good", "nicer" -> "nice", "hates" -> "hate"."""
    if _STRETCHED.search(form):
        return next((s for s in _squeezed(form) if s in _sentiment_lexicon), None)
    # Inflect only along the word's usual part of speech, so "number" (NN) never becomes "numb".
    parts_of_speech, rewrites = _INFLECTIONS.get(_tag_lexicon.get(form), ((), ()))
    for suffix, ending in rewrites:
        if form.endswith(suffix):
            stem = form[: -len(suffix)] + ending
            doubled = stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem  # "bigger"
            for base in (stem, doubled):
                if any(pos in _sentiment_lexicon.get(base, ()) for pos in parts_of_speech):
                    return base
    return None


def _squeezed(form: str) -> tuple[str, str]:
    """A letter-stretched word ("goooood") with runs cut to two letters, then to one."""
    return _STRETCHED.sub(r"\1\1", form), _STRETCHED.sub(r"\1", form)


def _phrases(forms: list[str]) -> list[_Phrase]:
    """TextBlob's scored phrases located in the token list, minus degree words standing alone."""
    phrases = []
    cursor = 0
    for words, polarity, subjectivity, label in _sentiment_lexicon.assessments(((f, None) for f in forms), False):
        start = head = -1
        for word in words:
            if word != "!":  # TextBlob appends "!" to the phrase it boosts
                cursor = forms.index(word, cursor) + 1
                start, head = (cursor - 1 if start < 0 else start), cursor - 1
        if head >= 0 and not (start == head and forms[head] in _DEGREE_AND_QUANTITY):
            negatable = label != "mood" and set(_sentiment_lexicon.get(forms[head], ())) != {"UH", None}
            phrases.append(_Phrase(start, head, polarity, subjectivity, negatable))
    return phrases


def _clause_start(forms: list[str], index: int, limit: int) -> int:
    """Earliest index among the `limit` tokens before `index` that is still in the same clause."""
    first = index
    while first > 0 and index - first < limit and forms[first - 1] not in _CLAUSE_BREAKS:
        first -= 1
    return first


def _denies(forms: list[str], j: int) -> bool:
    """Whether the token at `j` is a negator that negates what follows it."""
    return forms[j] in _NEGATORS and (j + 1 == len(forms) or forms[j + 1] not in _NOT_NEGATED)


def _negator_before(forms: list[str], start: int, scope: int) -> int | None:
    """Index of the negator whose scope covers a phrase starting at `start`, if any."""
    return next((j for j in range(start - 1, _clause_start(forms, start, scope) - 1, -1) if _denies(forms, j)), None)


def _contrast_weights(forms: list[str], sentence_of: list[int], phrases: list[_Phrase], weight: float) -> list[float]:
    """Per-phrase weight: `weight` for phrases the clause structure pushes into the background."""
    weights = [1.0] * len(phrases)
    for i, form in enumerate(forms):
        if form in _CONTRASTS:
            opens = i == 0 or sentence_of[i - 1] != sentence_of[i]
            before = sentence_of[i] - 1 if opens else sentence_of[i]
            background = [k for k, p in enumerate(phrases) if p.head < i and sentence_of[p.head] == before]
        elif form in _CONCESSIVES:
            end = next((j for j in range(i + 1, len(forms)) if forms[j] in _CLAUSE_BREAKS), len(forms))
            background = [k for k, p in enumerate(phrases) if i < p.head < end]
        else:
            continue
        for k in background:
            weights[k] = weight
    return weights


def _emphasis(tokens: list[str], forms: list[str], phrase: _Phrase, all_caps: bool) -> int:
    """+1 if the phrase is stressed (caps, stretched letters, intensifier), -1 if hedged, else 0."""
    head = tokens[phrase.head]
    modifiers = forms[max(0, phrase.start - 2) : phrase.head]
    if any(m in _INTENSIFIERS for m in modifiers) or _STRETCHED.search(head.lower()):
        return 1
    if not all_caps and len(head) > 1 and head.isupper():  # in an all-caps text, caps stress nothing
        return 1
    return -1 if any(m in _DIMINISHERS for m in modifiers) else 0


def _cues(forms: list[str], sentence_of: list[int], phrases: list[_Phrase], negators: set[int]) -> tuple[int, int]:
    """How many negators reach no phrase, and how many exclamations have no opinion phrase."""
    bare_negations = [j for j in range(len(forms)) if j not in negators and _denies(forms, j)]
    opinionated = {sentence_of[p.head] for p in phrases if p.polarity}
    questions = {sentence_of[j] for j, form in enumerate(forms) if form == "?"}
    exclamations = {sentence_of[j] for j, form in enumerate(forms) if form == "!"} - opinionated - questions
    return len(bare_negations), len(exclamations)


@register_predictor
class AdvancedPredictor(Predictor):
    """Subjectivity-weighted mean of TextBlob phrase polarities, read with negation, contrast and emphasis."""

    algorithm = "textblob-advanced"
    Params = AdvancedParams

    def predict(self, text: str) -> Sentiment:
        score, subjectivity = self.score(text)
        label, confidence = label_with_neutral_band(score, self.params.neutral_band)
        return Sentiment(label, confidence, score, subjectivity)

    def score(self, text: str) -> tuple[float, float]:
        """(polarity in -1..1, subjectivity in 0..1) of a text."""
        params = self.params
        tokens, sentence_of = _tokenize(text)
        forms = _lookup_forms(tokens)
        phrases = _phrases(forms)
        weights = _contrast_weights(forms, sentence_of, phrases, params.contrast_weight)
        all_caps = not any(c.islower() for c in text)
        scored: list[tuple[float, float]] = []  # (polarity, weight)
        negators: set[int] = set()
        for phrase, weight in zip(phrases, weights, strict=True):
            polarity = phrase.polarity * (1 + params.emphasis * _emphasis(tokens, forms, phrase, all_caps))
            negator = _negator_before(forms, phrase.start, params.negation_scope)
            if negator is not None and phrase.negatable:
                negators.add(negator)
                polarity *= params.negation_factor
            scored.append((max(-1.0, min(1.0, polarity)), weight * phrase.subjectivity))
        bare_negations, exclamations = _cues(forms, sentence_of, phrases, negators)
        # A cue weighs as much as one fully subjective phrase.
        scored += [(-params.cue_polarity, 1.0)] * bare_negations + [(params.cue_polarity, 1.0)] * exclamations
        total = sum(weight for _, weight in scored)
        polarity = sum(p * weight for p, weight in scored) / total if total > 0 else 0.0
        subjectivity = sum(p.subjectivity for p in phrases) / len(phrases) if phrases else 0.0
        return max(-1.0, min(1.0, polarity)), subjectivity
