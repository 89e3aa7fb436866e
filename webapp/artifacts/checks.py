"""Is an uploaded file a model this service can serve? Loaded safely, then asked a fixed probe set.

Loading never runs code from the file. A skops file is a zip archive holding a schema of plain
values, and skops rebuilds only the types it is told to trust; anything else it names refuses
the file before an object is made. A pickle or joblib file is refused before it is read, since
unpickling runs whatever the file says.

The trust list is skops's default and nothing more: Python's containers and primitives, NumPy
and SciPy value types and ufuncs, and scikit-learn's estimators and their internal types. A file
naming any other type (a function, a module's callable, a class of the team's own) is refused
with the names, so the team can see what to change. Before skops reads the file, its archive is
bounded (archive.py), and after it is built, its text vectorizers' settings are (text_settings.py).
Why a file failed is said in plain words; what a library raised goes to the server log.
"""

from __future__ import annotations

import gc
import logging
import sys
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import skops.io

from ..inference.sklearn_family import SklearnPredictor
from .archive import UNPACKED_FACTOR, inspect_archive
from .refusal import ArtifactRefused
from .text_settings import refuse_unsafe_text_settings

log = logging.getLogger(__name__)
# For a file loaded outside an upload (a host's cache): the bound at the default ARTIFACT_MAX_BYTES.
DEFAULT_MAX_UNPACKED = UNPACKED_FACTOR * 64 * 1024 * 1024

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


@dataclass(frozen=True)
class CheckedModel:
    predictor: SklearnPredictor
    labels: tuple[str, ...]
    load_seconds: float
    memory_bytes: int
    probe_seconds: float  # the slowest probe


def load_trusted(path: Path, max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED) -> Any:
    """The estimator in a skops file, built only from trusted types; ArtifactRefused otherwise."""
    inspect_archive(path, max_unpacked_bytes)  # before skops reads a byte of it
    try:
        untrusted = skops.io.get_untrusted_types(file=path)
    except Exception:  # any unreadable archive is the file's fault, reported as such
        log.warning("skops could not read the schema of %s", path, exc_info=True)
        raise ArtifactRefused("its skops schema cannot be read") from None
    if untrusted:
        raise ArtifactRefused(
            f"it names types outside the trust list: {', '.join(sorted(untrusted))}", {"untrusted_types": untrusted}
        )
    try:
        return skops.io.load(path, trusted=[])
    except Exception:  # a damaged or inconsistent file, refused like any other; the log keeps skops's words
        log.warning("skops could not load %s", path, exc_info=True)
        raise ArtifactRefused("it could not be loaded: its parts do not fit together as a model") from None


def check(path: Path, probe_budget_seconds: float, max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED) -> CheckedModel:
    """Load the file and probe it; ArtifactRefused with the reason at the first problem."""
    started = time.perf_counter()
    estimator = load_trusted(path, max_unpacked_bytes)
    labels = _labels(estimator)
    refuse_unsafe_text_settings(estimator)
    predictor = SklearnPredictor.from_estimator(estimator)
    load_seconds = time.perf_counter() - started
    slowest = 0.0
    for text in PROBES:
        began = time.perf_counter()
        try:
            sentiment = predictor.predict(text)
        except Exception:  # a model that fails on a probe is refused; the log keeps what it raised
            log.warning("an uploaded model failed on the probe text %r", text[:40], exc_info=True)
            raise ArtifactRefused(
                f"it raised an error on the probe text {_shown(text)}: it must label any text, however short or odd"
            ) from None
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


def _ms(seconds: float) -> str:
    """Milliseconds as a person reads them: whole from 10 ms, else three significant digits (0.0042)."""
    ms = seconds * 1000
    return f"{ms:.0f}" if ms >= 10 else f"{ms:.3g}"


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")
