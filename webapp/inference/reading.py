"""The grammar half of textblob-advanced: find TextBlob's scored phrases and say how each is framed.

`read(text)` does all the text work once and returns a `Reading`: every opinion phrase the
TextBlob lexicon scores, with flags for what the surrounding words do to it (negated,
backgrounded by a contrast, looking back on what did not happen, stressed or hedged), plus the cues that
carry no opinion word. It knows nothing of the weights: `advanced.py` turns a reading into a
score with the family's params, so the evaluation can re-weigh one reading many times.
The rules themselves are documented in `advanced.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

from textblob.en import lexicon as _tag_lexicon
from textblob.en import sentiment as _sentiment_lexicon
from textblob.en import tokenize as _tokenize_sentences

from .wordlists import (
    CLAUSE_BREAKS,
    CONCEDING_ADVERBS,
    CONCESSIVES,
    CONTRASTS,
    COUNTERFACTUAL_AUXILIARIES,
    DIMINISHERS,
    DISTANCING_VERBS,
    HEDGES,
    INFLECTIONS,
    INTENSIFIERS,
    MODALS,
    NEGATIVE_PREFIXES,
    NEGATORS,
    NOT_NEGATED,
    SENTENCE_CONCESSIVES,
)

MODAL_SCOPE = 6  # tokens a modal reaches, within its clause
_SPLIT_NOT = re.compile(r"\bn ' t\b")
_STRETCHED = re.compile(r"(\w)\1{2,}")

# Load both lexicons now rather than lazily inside concurrent requests.
"good" in _sentiment_lexicon  # noqa: B015
"good" in _tag_lexicon  # noqa: B015
# Once loaded they are plain dicts underneath; reading them as such skips the lazy-loading wrapper
# TextBlob puts around every lookup, which cost more than the rest of the grammar.
_opinions = partial(dict.get, _sentiment_lexicon)  # word -> {part of speech: scores}
_usual_tag = partial(dict.get, _tag_lexicon)  # word -> its most frequent Penn tag


@dataclass(frozen=True, slots=True)
class Switches:
    """The rules with no strength to tune, on by default; the evaluation turns them off one at a time."""

    word_forms: bool = True


@dataclass(frozen=True, slots=True)
class Framing:
    """One scored phrase and what its context does to it."""

    polarity: float
    emphasis: int  # +1 stressed, -1 hedged, 0 plain
    negated: bool
    background: bool  # before "but", inside "although ...": the writer's point is elsewhere
    counterfactual: bool  # after "should have", "could have": asserted as not having happened


@dataclass(frozen=True, slots=True)
class Reading:
    """Everything the scorer needs about one text."""

    phrases: tuple[Framing, ...]
    bare_negations: int  # negators with no opinion phrase in reach
    exclamations: int  # exclaimed sentences with no opinion phrase
    subjectivity: float  # mean subjectivity of the scored phrases


@dataclass(frozen=True, slots=True)
class _Phrase:
    start: int  # index of its first token
    head: int  # index of its last word, the one the lexicon scored
    polarity: float
    subjectivity: float
    negatable: bool  # emoticons and interjections ("lol") comment on a sentence; no negator reaches them


def read(text: str, negation_scope: int = 3, switches: Switches = Switches()) -> Reading:
    """Tokenize, score and frame every opinion phrase of a text."""
    tokens, sentence_of = _tokenize(text)
    forms, prefixed = _lookup_forms(tokens, switches.word_forms)
    phrases = _phrases(forms)
    background = _backgrounded(forms, sentence_of, phrases)
    questions = {sentence_of[j] for j, form in enumerate(forms) if form == "?"}
    all_caps = not any(c.islower() for c in text)
    framed = []
    negators: set[int] = set()
    for phrase, in_background in zip(phrases, background, strict=True):
        negator = _negator_before(forms, phrase.start, negation_scope) if phrase.negatable and phrase.polarity else None
        mood, modal_negator = _mood(forms, phrase.start)
        if modal_negator is not None and (mood == "counterfactual" or _is_comparative(tokens[phrase.head])):
            # "couldn't have been better", "couldn't be happier": denying the unreal asserts the real.
            negators.add(modal_negator)
            mood = negator = None
        if negator is not None:
            negators.add(negator)
        framed.append(
            Framing(
                polarity=phrase.polarity,
                emphasis=_emphasis(tokens, forms, phrase, all_caps),
                negated=(negator is not None) != (phrase.head in prefixed),  # "not unreasonable" affirms
                background=in_background,
                counterfactual=mood == "counterfactual",
            )
        )
    bare_negations = sum(1 for j in range(len(forms)) if j not in negators and _denies(forms, j))
    opinionated = {sentence_of[p.head] for p in phrases if p.polarity}
    exclaimed = {sentence_of[j] for j, form in enumerate(forms) if form == "!"} - opinionated - questions
    subjectivity = sum(p.subjectivity for p in phrases) / len(phrases) if phrases else 0.0
    return Reading(tuple(framed), bare_negations, len(exclaimed), subjectivity)


def _tokenize(text: str) -> tuple[list[str], list[int]]:
    """TextBlob's tokens, with "n't" kept whole, "'ve" and "'d" spelled out, and each token's sentence."""
    tokens: list[str] = []
    sentence_of: list[int] = []
    normalised = re.sub(r"(?i)n['\u2019]t\b", " n't", text)
    normalised = re.sub(r"(?i)(?<=\w)['\u2019]ve\b", " have", normalised)
    normalised = re.sub(r"(?i)(?<=\w)['\u2019]d\b", " would", normalised)
    # The tokenizer splits every apostrophe, so "isn't" comes back as "is n ' t".
    for number, sentence in enumerate(_tokenize_sentences(normalised)):
        words = _SPLIT_NOT.sub("n't", sentence).split()
        tokens.extend(words)
        sentence_of.extend([number] * len(words))
    return tokens, sentence_of


def _lookup_forms(tokens: list[str], word_forms: bool) -> tuple[list[str], set[int]]:
    """Lower-cased tokens as the lexicon should see them, and which of them carry a negative prefix.

    Hedges are marked, and unknown words reduced to their lexicon entries: "nicer" -> "nice",
    "unwise" -> "wise" (prefixed).
    """
    forms = [token.lower() for token in tokens]
    prefixed: set[int] = set()
    for i, form in enumerate(forms):
        if (form, forms[i + 1] if i + 1 < len(forms) else "") in HEDGES:
            forms[i] = "somewhat"
        elif word_forms and _opinions(form) is None:
            unprefixed = _unprefixed(form)
            if unprefixed is not None:
                prefixed.add(i)
            forms[i] = unprefixed or _base_form(form) or form
    return forms, prefixed


def _unprefixed(form: str) -> str | None:
    """The lexicon adjective an unknown adjective negates by its prefix: "unwise" -> "wise"."""
    if _usual_tag(form) != "JJ":
        return None
    for prefix in NEGATIVE_PREFIXES:
        base = form[len(prefix) :]
        if form.startswith(prefix) and len(base) > 3 and "JJ" in _opinions(base, ()):
            return base
    return None


def _base_form(form: str) -> str | None:
    """The lexicon entry behind an unknown word: "goooood" -> "good", "nicer" -> "nice", "hates" -> "hate"."""
    if _STRETCHED.search(form):
        return next((s for s in _squeezed(form) if _opinions(s) is not None), None)
    # Inflect only along the word's usual part of speech, so "number" (NN) never becomes "numb".
    parts_of_speech, rewrites = INFLECTIONS.get(_usual_tag(form), ((), ()))
    for suffix, ending in rewrites:
        if form.endswith(suffix):
            stem = form[: -len(suffix)] + ending
            doubled = stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else stem  # "bigger"
            for base in (stem, doubled):
                if any(pos in _opinions(base, ()) for pos in parts_of_speech):
                    return base
    return None


def _squeezed(form: str) -> tuple[str, str]:
    """A letter-stretched word ("goooood") with runs cut to two letters, then to one."""
    return _STRETCHED.sub(r"\1\1", form), _STRETCHED.sub(r"\1", form)


def _phrases(forms: list[str]) -> list[_Phrase]:
    """TextBlob's scored phrases located in the token list."""
    phrases = []
    cursor = 0
    for words, polarity, subjectivity, label in _sentiment_lexicon.assessments(((f, None) for f in forms), False):
        start = head = -1
        for word in words:
            if word != "!":  # TextBlob appends "!" to the phrase it boosts
                cursor = forms.index(word, cursor) + 1
                start, head = (cursor - 1 if start < 0 else start), cursor - 1
        if head < 0 or (start == head and forms[head] in NEGATORS):  # "least" is grammar here, not opinion
            continue
        negatable = label != "mood" and set(_opinions(forms[head], ())) != {"UH", None}
        phrases.append(_Phrase(start, head, polarity, subjectivity, negatable))
    return phrases


def _clause_start(forms: list[str], index: int, limit: int) -> int:
    """Earliest index among the `limit` tokens before `index` that is still in the same clause."""
    first = index
    while first > 0 and index - first < limit and forms[first - 1] not in CLAUSE_BREAKS:
        first -= 1
    return first


def _denies(forms: list[str], j: int) -> bool:
    """Whether the token at `j` is a negator that negates what follows it."""
    if forms[j] == "least" and (j == 0 or forms[j - 1] == "at"):  # "at least it works"
        return False
    return forms[j] in NEGATORS and (j + 1 == len(forms) or forms[j + 1] not in NOT_NEGATED)


def _negator_before(forms: list[str], start: int, scope: int) -> int | None:
    """Index of the negator whose scope covers a phrase starting at `start`, if any."""
    return next((j for j in range(start - 1, _clause_start(forms, start, scope) - 1, -1) if _denies(forms, j)), None)


def _modal_before(forms: list[str], start: int) -> int | None:
    """Index of the modal whose scope covers a phrase starting at `start`, if any."""
    first = _clause_start(forms, start, MODAL_SCOPE)
    return next((j for j in range(start - 1, first - 1, -1) if forms[j] in MODALS), None)


def _mood(forms: list[str], start: int) -> tuple[str | None, int | None]:
    """The mood a modal puts a phrase in ("counterfactual", "unreal" or None), and the modal's negator."""
    modal = _modal_before(forms, start)
    if modal is None:
        return None, None
    after = modal + 1
    negator = after if after < start and _denies(forms, after) else None
    after += negator is not None
    # "should have been", "could have done": the modal looks back on what did not happen.
    looks_back = after + 1 <= start and forms[after] == "have" and _is_participle(forms[after + 1])
    if forms[modal] in COUNTERFACTUAL_AUXILIARIES and looks_back:
        return "counterfactual", negator
    return "unreal", negator


def _is_participle(form: str) -> bool:
    """ "been", or a word TextBlob's tagger reads as a past participle or past tense."""
    return form == "been" or _usual_tag(form) in ("VBN", "VBD")


def _is_comparative(token: str) -> bool:
    """A comparative or superlative adjective or adverb: "happier", "better", "best"."""
    return _usual_tag(token.lower()) in ("JJR", "RBR", "JJS", "RBS")


def _backgrounded(forms: list[str], sentence_of: list[int], phrases: list[_Phrase]) -> list[bool]:
    """Per phrase: whether the clause structure pushes it into the background."""
    background = [False] * len(phrases)
    for i, form in enumerate(forms):
        opens = i == 0 or sentence_of[i - 1] != sentence_of[i]
        if form in CONTRASTS or (form == "yet" and (opens or forms[i - 1] in CLAUSE_BREAKS)):
            before = sentence_of[i] - 1 if opens else sentence_of[i]
            hidden = [k for k, p in enumerate(phrases) if p.head < i and sentence_of[p.head] == before]
        elif (
            form in CONCESSIVES
            or form in DISTANCING_VERBS
            or (opens and form in SENTENCE_CONCESSIVES | CONCEDING_ADVERBS)
        ):
            ends = CONTRASTS | {";"} if form in CONCEDING_ADVERBS | DISTANCING_VERBS else CLAUSE_BREAKS
            end = next((j for j in range(i + 1, len(forms)) if forms[j] in ends), len(forms))
            hidden = [k for k, p in enumerate(phrases) if i < p.head < end and sentence_of[p.head] == sentence_of[i]]
        else:
            continue
        for k in hidden:
            background[k] = True
    return background


def _emphasis(tokens: list[str], forms: list[str], phrase: _Phrase, all_caps: bool) -> int:
    """+1 if the phrase is stressed (caps, stretched letters, intensifier), -1 if hedged, else 0."""
    head = tokens[phrase.head]
    modifiers = forms[max(0, phrase.start - 2) : phrase.head]
    if any(m in INTENSIFIERS for m in modifiers) or _STRETCHED.search(head.lower()):
        return 1
    if not all_caps and len(head) > 1 and head.isupper():  # in an all-caps text, caps stress nothing
        return 1
    return -1 if any(m in DIMINISHERS for m in modifiers) else 0
