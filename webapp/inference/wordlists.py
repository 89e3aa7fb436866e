"""The closed-class words textblob-advanced's grammar rules look for (function words, not opinions)."""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    """A word set written as one string."""
    return frozenset(text.split())


NEGATORS = _words(
    "not no never n't cannot nothing nobody none neither nor nowhere without dont doesnt didnt isnt "
    "wasnt arent werent cant wont couldnt shouldnt wouldnt havent hasnt hadnt aint least"
)
# "not only good", "not just good", "can't wait": the negator does not deny what follows.
NOT_NEGATED = _words("only just wait")
CONTRASTS = _words("but however nevertheless nonetheless")
CONCESSIVES = _words("although though despite whereas")
# Concessive only when they open a sentence: "While it is cheap, ..." (not "for a while").
SENTENCE_CONCESSIVES = _words("while")
# Sentence adverbs that concede the whole sentence they open: "Admittedly, it is cheap."
CONCEDING_ADVERBS = _words("admittedly granted")
# Verbs that report a view the writer does not vouch for: "The ministry claims the tests are fair."
DISTANCING_VERBS = _words(
    "claim claims claimed insist insists insisted allege alleges alleged purport purports boast boasts"
)
CLAUSE_BREAKS = _words(". , ; : ! ? ... ( ) - --") | CONTRASTS
# "very" is left out: TextBlob's lexicon already boosts the word after it.
INTENSIFIERS = _words(
    "so too really extremely totally absolutely completely highly truly utterly incredibly particularly"
)
DIMINISHERS = _words("slightly somewhat fairly rather kinda sorta mildly relatively")
# Two-word hedges, read as "somewhat": "kind of good" is not the adjective "kind".
HEDGES = frozenset({("kind", "of"), ("sort", "of"), ("a", "bit"), ("a", "little")})
# Prefixes that negate an adjective: "unhelpful", "inadequate", "irresponsible", "dishonest".
NEGATIVE_PREFIXES = ("non", "dis", "un", "in", "im", "ir", "il")
# Modal verbs; "ca" and "wo" are what "can't" and "won't" leave once "n't" is split off.
MODALS = _words("would could should might may must can ought ca wo")
# With "have", these look back on something that did not happen: "should have been better".
COUNTERFACTUAL_AUXILIARIES = _words("would could should ought")

# Usual Penn tag of an inflected word -> parts of speech its base may have, and suffix rewrites.
_COMPARATIVE = (("JJ", "RB"), (("ier", "y"), ("er", ""), ("er", "e")))
INFLECTIONS = {
    "JJR": _COMPARATIVE,
    "RBR": _COMPARATIVE,
    "JJS": (("JJ", "RB"), (("iest", "y"), ("est", ""), ("est", "e"))),
    "VBD": (("VB",), (("ied", "y"), ("ed", ""), ("ed", "e"))),
    "VBN": (("VB",), (("ied", "y"), ("ed", ""), ("ed", "e"))),
    "VBZ": (("VB",), (("ies", "y"), ("es", ""), ("s", ""))),
    "VBG": (("VB",), (("ing", ""), ("ing", "e"))),
    "NNS": (("NN",), (("ies", "y"), ("es", ""), ("s", ""))),
}
