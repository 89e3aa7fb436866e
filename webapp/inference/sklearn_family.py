"""sklearn: a fitted scikit-learn classifier (an estimator or Pipeline, saved with skops) over raw text.

The estimator's `predict` takes a list of strings and returns labels among negative, neutral and
positive. With `predict_proba`, the confidence is the probability of the predicted class, the
polarity P(positive) - P(negative) and the subjectivity 1 - P(neutral); without it, the confidence
is 1 and polarity and subjectivity follow the label.

Each sklearn call validates its input (check_array, check_is_fitted, sparse construction), and for
one text that validation costs several times the arithmetic. So the usual shape, a word-count
vectorizer (optionally TF-IDF) followed by LogisticRegression, gets a fast path: the same numbers
computed from the fitted attributes, with no sklearn call per request. It is used only after it has
matched the estimator's own `predict_proba` on fixed verification texts (`path` says which one
serves). sklearn's pipeline, text and linear-model modules are imported only when an estimator is
bound, so processes that serve no sklearn version do not pay for them.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from scipy.special import expit

from .base import Label, Predictor, Sentiment, register_predictor

log = logging.getLogger(__name__)

LINEAR_FAST = "linear-fast"
GENERIC = "generic"
TOLERANCE = 1e-9  # largest difference in any class probability the fast path may show
_POLARITY_BY_LABEL = {"positive": 1.0, "negative": -1.0}
# Count dtypes that reach the float64 arithmetic unchanged (TfidfTransformer turns integer counts
# into float64 but keeps float32, which rounds at 1e-7); narrow integers could wrap on a long text.
_EXACT_DTYPES = (np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.int32))
VERIFICATION_TEXTS = (
    "",
    "   ",
    "This is great! I love it :)",
    "not good at all, I do not like it and I would not buy it again",
    "terrible, awful, the worst purchase I have ever made",
    "The meeting is on Tuesday at ten.",
    "NOT BAD. not bad. Not Bad!",
    "good good good good good bad",
    "Très bien, naïve café ☕ 😀 日本語のテキスト",
    "zzqxv brrkt qwrtpl",  # no known word: the scores are the intercepts alone
    "12345 !!! ??? ...",
    "I was not sure at first, but it works well and the battery lasts. " * 40,
)


_LENGTHS: dict[str, Callable[[np.ndarray], float]] = {
    "l2": lambda values: math.sqrt(values @ values),
    "l1": lambda values: float(np.abs(values).sum()),
}


class _Unsupported(Exception):
    """The estimator is not a shape the fast path reproduces; the message says why."""


@dataclass(frozen=True, slots=True)
class LinearTextModel:
    """A fitted word-count vectorizer (with optional TF-IDF) and LogisticRegression, as plain arrays."""

    analyze: Callable[[str], list[str]]
    vocabulary: Mapping[str, int]
    binary: bool
    sublinear_tf: bool
    idf: np.ndarray | None
    norm: str | None
    coef_t: np.ndarray  # (features, k): rows gathered per text
    intercept: np.ndarray  # (k,)

    def probabilities(self, text: str) -> np.ndarray:
        """Class probabilities for one text, in the order of the classifier's classes_."""
        return self.scored(text)[0]

    def scored(self, text: str) -> tuple[np.ndarray, int]:
        """(class probabilities, how many of the text's features the model knows)."""
        counts: dict[int, int] = {}
        vocabulary = self.vocabulary
        for feature in self.analyze(text):
            index = vocabulary.get(feature)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        scores = self._scores(counts) if counts else self.intercept.copy()
        known = sum(counts.values())
        if scores.shape[0] == 1:  # binary: LogisticRegression's expit of the one decision value
            positive = expit(scores[0])
            return np.array([1.0 - positive, positive]), known
        scores -= scores.max()  # softmax as sklearn.utils.extmath.softmax computes it
        np.exp(scores, out=scores)
        scores /= scores.sum()
        return scores, known

    def _scores(self, counts: dict[int, int]) -> np.ndarray:
        """The decision values: TfidfTransformer.transform's steps in its order, then coef @ x + b."""
        columns = np.fromiter(counts, dtype=np.intp, count=len(counts))
        if self.binary:
            values = np.ones(len(counts))
        else:
            values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        if self.sublinear_tf:
            values = np.log(values) + 1.0
        if self.idf is not None:
            values *= self.idf[columns]
        length = _LENGTHS[self.norm](values) if self.norm else 0.0
        if length:  # sklearn's normalize leaves a row of norm 0 as it is (only a zero idf makes one)
            values /= length
        return values @ self.coef_t[columns] + self.intercept


def _steps(estimator: Any) -> tuple[Any, Any, Any]:
    """(vectorizer, TF-IDF step or None, classifier) of a supported Pipeline; raises _Unsupported."""
    from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    if type(estimator) is not Pipeline:
        raise _Unsupported(f"not a Pipeline but {type(estimator).__name__}")
    # Exact types: a subclass may override transform or predict_proba.
    kinds = [type(step) for _, step in estimator.steps]
    shapes = ([TfidfVectorizer, LogisticRegression], [CountVectorizer, LogisticRegression])
    if kinds not in (*shapes, [CountVectorizer, TfidfTransformer, LogisticRegression]):
        raise _Unsupported("steps are " + " -> ".join(kind.__name__ for kind in kinds))
    vectorizer, classifier = estimator.steps[0][1], estimator.steps[-1][1]
    tfidf = estimator.steps[1][1] if len(kinds) == 3 else vectorizer if kinds[0] is TfidfVectorizer else None
    return vectorizer, tfidf, classifier


def linear_text_model(estimator: Any) -> LinearTextModel:
    """The fast path's arrays for a supported Pipeline; raises _Unsupported naming what is not."""
    vectorizer, tfidf, classifier = _steps(estimator)
    if vectorizer.input != "content":
        raise _Unsupported(f"vectorizer input={vectorizer.input!r} reads files, not the text")
    dtype = np.dtype(vectorizer.dtype)
    if dtype not in _EXACT_DTYPES:
        raise _Unsupported(f"vectorizer dtype {dtype} would round or wrap counts")
    coef, intercept = classifier.coef_, np.asarray(classifier.intercept_, dtype=np.float64)
    if not isinstance(coef, np.ndarray) or coef.dtype != np.float64:
        raise _Unsupported("coef_ is sparse or not float64")
    if coef.shape[1] != len(vectorizer.vocabulary_):
        raise _Unsupported("coef_ and the vocabulary differ in size")
    if tfidf is not None and tfidf.norm not in (None, *_LENGTHS):
        raise _Unsupported(f"norm {tfidf.norm!r} is not l1, l2 or None")
    idf = getattr(tfidf, "idf_", None) if tfidf is not None else None
    if idf is not None and idf.dtype != np.float64:
        raise _Unsupported(f"idf_ dtype {idf.dtype} is not float64")
    return LinearTextModel(
        analyze=vectorizer.build_analyzer(),
        vocabulary=vectorizer.vocabulary_,
        binary=bool(vectorizer.binary),
        sublinear_tf=bool(tfidf is not None and tfidf.sublinear_tf),
        idf=idf,
        norm=tfidf.norm if tfidf is not None else None,
        coef_t=np.ascontiguousarray(coef.T),
        intercept=np.broadcast_to(intercept, (coef.shape[0],)).copy(),
    )


def verification_texts(vocabulary: Mapping[str, int], count: int = 6, words: int = 8) -> list[str]:
    """The fixed texts plus a few built from the model's own vocabulary, so that every check hits features."""
    terms = sorted(vocabulary)
    step = max(1, len(terms) // (count * words))
    picked = terms[::step][: count * words]
    built = [" ".join(picked[start : start + words]) for start in range(0, len(picked), words)]
    return [*VERIFICATION_TEXTS, *built]


def disagreement(model: LinearTextModel, estimator: Any, texts: Sequence[str]) -> str | None:
    """Why the fast path does not reproduce the estimator on `texts`, or None when it does."""
    if not any(model.vocabulary.get(feature) is not None for text in texts for feature in model.analyze(text)):
        return "no verification text reaches a known feature, so nothing would be checked"
    expected = estimator.predict_proba(list(texts))
    predicted = estimator.predict(list(texts))
    classes = estimator.classes_
    for text, own, label in zip(texts, expected, predicted, strict=True):
        fast = model.probabilities(text)
        if fast.shape != own.shape or classes[int(np.argmax(fast))] != label:
            return f"label differs on {text[:40]!r}"
        gap = float(np.max(np.abs(fast - own)))
        if not gap <= TOLERANCE:
            return f"probabilities differ by {gap:.3g} on {text[:40]!r}"
    return None


def choose_path(estimator: Any, quiet: Callable[[], Any]) -> tuple[LinearTextModel | None, str, str | None]:
    """The fast path when the estimator has its shape and it reproduces the estimator, else the generic one.

    Returns (fast model or None, path name, why the fast path was refused or None).
    """
    try:
        model = linear_text_model(estimator)
    except (_Unsupported, AttributeError, TypeError) as why:  # an unfitted step, an unreadable dtype
        log.info("sklearn model served by the generic path: %s", why)
        return None, GENERIC, str(why)
    try:
        with quiet():
            reason = disagreement(model, estimator, verification_texts(model.vocabulary))
    except (ValueError, TypeError, AttributeError) as error:  # the estimator's own answer failed
        reason = f"verification failed: {error!r}"
    if reason is not None:
        log.warning("sklearn fast path refused, generic path used: %s", reason)
        return None, GENERIC, reason
    return model, LINEAR_FAST, None


@register_predictor
class SklearnPredictor(Predictor):
    """A fitted scikit-learn text classifier; no params. Serving instances come from `from_estimator`.

    `path` is "linear-fast" or "generic" (None without an estimator); `fast_path_refusal` says why
    the fast path is not used. Instances are not changed once built, and threads share them.
    """

    algorithm = "sklearn"

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self.path: str | None = None
        self.fast_path_refusal: str | None = None
        self._estimator: Any = None
        self._fast: LinearTextModel | None = None
        self._has_proba = False
        self._classes: tuple[str, ...] = ()
        self._quiet: Callable[[], Any] | None = None

    @classmethod
    def from_estimator(cls, estimator: Any, *, fast_path: bool = True) -> SklearnPredictor:
        """A predictor serving a fitted estimator, on the fast path when it proves equal and `fast_path` allows."""
        import sklearn

        predictor = cls()
        predictor._estimator = estimator
        predictor._has_proba = hasattr(estimator, "predict_proba")
        predictor._classes = tuple(str(label) for label in getattr(estimator, "classes_", ()))
        # Inputs here are always lists of str: the checks skipped are about user-built arrays.
        predictor._quiet = functools.partial(sklearn.config_context, assume_finite=True, skip_parameter_validation=True)
        if not fast_path:  # to compare the two paths, or to rule the fast path out
            predictor.path, predictor.fast_path_refusal = GENERIC, "the fast path was switched off"
        elif predictor._has_proba:
            predictor._fast, predictor.path, predictor.fast_path_refusal = choose_path(estimator, predictor._quiet)
        else:
            predictor.path, predictor.fast_path_refusal = GENERIC, "the estimator has no predict_proba"
        return predictor

    @property
    def labels(self) -> tuple[str, ...]:
        """The estimator's classes_ as str.

        Raises ValueError when the estimator has no classes_ or any class is not a str (integer-coded
        labels), so that a caller checking an upload can refuse it; RuntimeError without an estimator.
        """
        classes = getattr(self._require(), "classes_", None)
        if classes is None:
            raise ValueError("the estimator has no classes_: not a fitted classifier")
        if not all(isinstance(label, str) for label in classes):
            raise ValueError(f"classes are not all strings: {np.asarray(classes).tolist()!r}")
        return tuple(str(label) for label in classes)

    def predict(self, text: str) -> Sentiment:
        if self._fast is not None:
            # A text with no known feature gets the classifier's prior: its own, low, confidence.
            return self._from_probabilities(*self._fast.scored(text))
        return self.predict_many((text,))[0]

    def predict_many(self, texts: Sequence[str]) -> list[Sentiment]:
        """Label a batch through the estimator itself (one sklearn call, whichever path serves `predict`)."""
        estimator = self._require()
        with self._quiet():
            if self._has_proba:
                return [self._from_probabilities(row) for row in estimator.predict_proba(list(texts))]
            return [_from_label(str(label)) for label in estimator.predict(list(texts))]

    def _require(self) -> Any:
        if self._estimator is None:
            raise RuntimeError("this sklearn predictor has no estimator; build it with SklearnPredictor.from_estimator")
        return self._estimator

    def _from_probabilities(self, probabilities: np.ndarray, evidence: int | None = None) -> Sentiment:
        best = int(probabilities.argmax())
        share = dict(zip(self._classes, probabilities.tolist(), strict=True))
        polarity = share.get("positive", 0.0) - share.get("negative", 0.0)
        label = cast(Label, self._classes[best])
        return Sentiment(label, float(probabilities[best]), polarity, 1.0 - share.get("neutral", 0.0), evidence)


def _from_label(label: str) -> Sentiment:
    """Without probabilities: full confidence, and polarity and subjectivity from the label alone."""
    subjectivity = 0.0 if label == "neutral" else 1.0
    return Sentiment(cast(Label, label), 1.0, _POLARITY_BY_LABEL.get(label, 0.0), subjectivity)
