"""Load the human-rated sentiment sets (VADER ground truth) as (text, label) pairs: for `flask replay`,
and for the evaluation and benchmarks in bench/.

Each `*_GroundTruth.tsv` file holds `id<TAB>mean rating<TAB>text` rows, rated from -4 to +4.
A mean above +0.5 is positive, below -0.5 negative, anything else neutral (see the README
in the data directory).
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import NamedTuple

from ..config import PROJECT_ROOT
from ..inference.base import Label

ENV_VAR = "SENTIMENT_DATA_DIR"
POSITIVE_ABOVE = 0.5
NEGATIVE_BELOW = -0.5
_SUFFIX = "_GroundTruth.tsv"
_FALLBACK_DIRS = (PROJECT_ROOT.parent / "shared" / "data" / "sentiment", Path("/work/shared/data/sentiment"))
# Short set names by file-name prefix; other files get their prefix, lower-cased.
_SHORT_NAMES = {"amazonReviewSnippets": "amazon", "tweets": "tweets"}


class DataDirMissing(FileNotFoundError):
    """The human-rated sets could not be found."""


class LabelledText(NamedTuple):
    text: str
    label: Label


def label_for_rating(rating: float) -> Label:
    """Map a mean human rating (-4..+4) to a 3-class label using the README's thresholds."""
    if rating > POSITIVE_ABOVE:
        return "positive"
    if rating < NEGATIVE_BELOW:
        return "negative"
    return "neutral"


def find_data_dir() -> Path:
    """Return the data directory: $SENTIMENT_DATA_DIR, else the shared checkout's, else /work's."""
    configured = os.environ.get(ENV_VAR)
    candidates = [Path(configured)] if configured else list(_FALLBACK_DIRS)
    for candidate in candidates:
        if any(candidate.glob(f"*{_SUFFIX}")):
            return candidate
    tried = ", ".join(str(c) for c in candidates)
    raise DataDirMissing(f"no *{_SUFFIX} files found in {tried}; set ${ENV_VAR} to the directory holding them")


def set_name(path: Path) -> str:
    """Short name of a set from its file name, e.g. amazonReviewSnippets_GroundTruth.tsv -> amazon."""
    prefix = path.name.removesuffix(_SUFFIX)
    return _SHORT_NAMES.get(prefix, prefix.lower())


def read_set(path: Path) -> list[LabelledText]:
    """Read one ground-truth file; HTML entities are unescaped as the tweets are published escaped."""
    rows = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            fields = line.rstrip("\n").split("\t", 2)
            if len(fields) != 3:
                raise ValueError(f"{path}:{number}: expected 3 tab-separated fields, got {len(fields)}")
            rows.append(LabelledText(html.unescape(fields[2]), label_for_rating(float(fields[1]))))
    return rows


def load_labelled_sets(data_dir: Path | str | None = None) -> dict[str, list[LabelledText]]:
    """Load every ground-truth set in the data directory, keyed by short name, sorted by name."""
    directory = Path(data_dir) if data_dir is not None else find_data_dir()
    paths = sorted(directory.glob(f"*{_SUFFIX}"))
    if not paths:
        raise DataDirMissing(f"no *{_SUFFIX} files in {directory}; set ${ENV_VAR} to the right directory")
    return {set_name(path): read_set(path) for path in sorted(paths, key=set_name)}
