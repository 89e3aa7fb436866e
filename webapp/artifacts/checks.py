"""Is an uploaded file a model this service can serve? Loaded safely, then asked a fixed probe set.

Loading never runs code from the file. A skops file is a zip archive holding a schema of plain
values, and skops rebuilds only the types it is told to trust; anything else it names refuses
the file before an object is made. A pickle or joblib file is refused before it is read, since
unpickling runs whatever the file says.

The trust list is skops's default and nothing more: Python's containers and primitives, NumPy
and SciPy value types and ufuncs, and scikit-learn's estimators and their internal types. A file
naming any other type (a function, a module's callable, a class of the team's own) is refused
with the names, so the team can see what to change.
"""

from __future__ import annotations

import gc
import sys
import time
import types
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import skops.io

from ..errors import ValidationFailed
from ..inference.sklearn_family import SklearnPredictor

LABELS = ("negative", "neutral", "positive")
# Texts a served model will meet: near-empty, very long, non-Latin scripts and emoji, negations.
PROBES = (
    "",
    " ",
    "!",
    "ok",
    "The battery lasts all day and the screen is sharp. " * 80,
    "Très bien 😀 — 素晴らしい製品です, очень хорошо",
    "\u200b\u00a0\t\n",
    "I do not like this at all.",
    "not bad, not bad at all",
    "I can't say I hated it",
    "never again",
)


class ArtifactRefused(ValidationFailed):
    """422: the file is not a model this service can serve, and why."""

    def __init__(self, reason: str, details: Any = None) -> None:
        super().__init__(f"the model file was refused: {reason}", details)


@dataclass(frozen=True)
class CheckedModel:
    predictor: SklearnPredictor
    labels: tuple[str, ...]
    load_seconds: float
    memory_bytes: int
    probe_seconds: float  # the slowest probe


def load_trusted(path: Path) -> Any:
    """The estimator in a skops file, built only from trusted types; ArtifactRefused otherwise."""
    if not zipfile.is_zipfile(path):
        raise ArtifactRefused(
            "it is not a skops file. Save the model with skops.io.dump; pickle and joblib files are refused "
            "because loading them can run code"
        )
    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception as exc:  # noqa: BLE001  any unreadable archive is the file's fault, reported as such
        raise ArtifactRefused(f"its skops schema cannot be read ({_first_line(exc)})") from None
    if untrusted:
        raise ArtifactRefused(
            f"it names types outside the trust list: {', '.join(sorted(untrusted))}", {"untrusted_types": untrusted}
        )
    try:
        return skops.io.load(path, trusted=[])
    except Exception as exc:  # noqa: BLE001  a damaged or inconsistent file, refused like any other
        raise ArtifactRefused(f"it could not be loaded ({_first_line(exc)})") from None


def check(path: Path, probe_budget_seconds: float) -> CheckedModel:
    """Load the file and probe it; ArtifactRefused with the reason at the first problem."""
    started = time.perf_counter()
    estimator = load_trusted(path)
    labels = _labels(estimator)
    _refuse_file_inputs(estimator)
    predictor = SklearnPredictor.from_estimator(estimator)
    load_seconds = time.perf_counter() - started
    slowest = 0.0
    for text in PROBES:
        began = time.perf_counter()
        try:
            sentiment = predictor.predict(text)
        except Exception as exc:  # noqa: BLE001  a model that fails on a probe is refused, with what it said
            raise ArtifactRefused(f"it failed on the probe text {_shown(text)}: {_first_line(exc)}") from None
        took = time.perf_counter() - began
        if sentiment.label not in LABELS:
            raise ArtifactRefused(f"it answered {sentiment.label!r} for the probe text {_shown(text)}")
        if took > probe_budget_seconds:
            raise ArtifactRefused(
                f"it took {_ms(took)} ms on the probe text {_shown(text)}, over the budget of "
                f"{_ms(probe_budget_seconds)} ms (ARTIFACT_PROBE_BUDGET_MS)"
            )
        slowest = max(slowest, took)
    return CheckedModel(predictor, labels, load_seconds, memory_bytes(predictor), slowest)


def _labels(estimator: Any) -> tuple[str, ...]:
    if not hasattr(estimator, "predict"):
        raise ArtifactRefused("it holds no estimator with a predict method")
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        raise ArtifactRefused("it holds no fitted classifier: it has no classes_")
    values = list(classes)
    if not all(isinstance(value, str) for value in values) or not set(values) <= set(LABELS):
        shown = ", ".join(repr(value.item() if hasattr(value, "item") else value) for value in values)
        raise ArtifactRefused(f"its classes are {shown}: they must be among {', '.join(LABELS)}")
    return tuple(values)


# Code and classes are shared by every model; following a function would walk into its module.
_SHARED = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def _refuse_file_inputs(estimator: Any) -> None:
    # A text vectorizer built with input="filename" or "file" would open each request's text as a
    # path on the server: a served model reads only the text it is given.
    params = estimator.get_params(deep=True) if hasattr(estimator, "get_params") else {}
    reading = sorted(name for name, value in params.items() if name.split("__")[-1] == "input" and value != "content")
    if reading:
        raise ArtifactRefused(
            f"it reads its input from files ({', '.join(reading)}); a served model must take the text itself "
            "(input='content')"
        )


def memory_bytes(root: Any) -> int:
    """The bytes held by everything reachable from `root`, counted once each.

    An array counts its whole buffer, even one it borrows (skops loads arrays as views), and a
    dict its keys: the garbage collector's view of either leaves that out.
    """
    seen: set[int] = set()
    pending = [root]
    total = 0
    while pending:
        obj = pending.pop()
        if id(obj) in seen or isinstance(obj, _SHARED):
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            total += max(sys.getsizeof(obj), obj.nbytes)
            if obj.dtype == object:
                pending.extend(obj.ravel().tolist())
            continue
        total += sys.getsizeof(obj)
        if isinstance(obj, dict):
            pending.extend(obj.keys())
        pending.extend(gc.get_referents(obj))
    return total


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else "no reason given"


def _ms(seconds: float) -> str:
    """Milliseconds as a person reads them: whole from 10 ms, else three significant digits (0.0042)."""
    ms = seconds * 1000
    return f"{ms:.0f}" if ms >= 10 else f"{ms:.3g}"


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
