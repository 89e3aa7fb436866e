"""What a served model's text vectorizers may be set to: read only the text, in bounded time.

The trust list decides which types a file may build, not what their settings do. A scikit-learn
text vectorizer takes three settings that matter on a request's text:
- `input`: "filename" or "file" would open each request's text as a path on the server;
- `token_pattern`: a regular expression run on every request's text; a pattern that backtracks
  can take exponential time on a crafted text, and the probes cannot find that text for it;
- `ngram_range`: each text makes about (high - low + 1) x its length features.
So only the plain content, scikit-learn's own word patterns, and n-grams up to a bound are served.
"""

from __future__ import annotations

from typing import Any

from .refusal import ArtifactRefused

# scikit-learn's default (words of two or more characters) and its one-character variant.
WORD_PATTERNS = frozenset({r"(?u)\b\w\w+\b", r"(?u)\b\w+\b"})
ANALYZERS = {"word": 3, "char": 8, "char_wb": 8}  # analyzer -> the longest n-gram served


def refuse_unsafe_text_settings(estimator: Any) -> None:
    """ArtifactRefused naming the first vectorizer setting the service will not run on a request."""
    params = estimator.get_params(deep=True) if hasattr(estimator, "get_params") else {}
    vectorizers = {name: value for name, value in params.items() if hasattr(value, "build_analyzer")}
    reading = sorted(f"{name}__input" for name, v in vectorizers.items() if getattr(v, "input", "content") != "content")
    if reading:
        raise ArtifactRefused(
            f"it reads its input from files ({', '.join(reading)}); a served model must take the text itself "
            "(input='content')"
        )
    for name, vectorizer in sorted(vectorizers.items()):
        _check(name, vectorizer)


def _check(name: str, vectorizer: Any) -> None:
    analyzer = getattr(vectorizer, "analyzer", "word")
    if analyzer not in ANALYZERS:
        raise ArtifactRefused(f"{name} analyzes text with its own function; use 'word', 'char' or 'char_wb'")
    if analyzer == "word" and getattr(vectorizer, "token_pattern", None) not in (None, *WORD_PATTERNS):
        raise ArtifactRefused(
            f"{name} splits words with a pattern of its own; a served model uses scikit-learn's default word "
            "pattern (or its one-character variant), whose time on any text is bounded"
        )
    _, high = getattr(vectorizer, "ngram_range", (1, 1))
    if high > ANALYZERS[analyzer]:
        raise ArtifactRefused(
            f"{name} makes {analyzer} n-grams up to {high} long; the service serves up to {ANALYZERS[analyzer]}"
        )
