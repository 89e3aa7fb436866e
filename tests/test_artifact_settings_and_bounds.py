"""What a model file may unpack to and what its text vectorizers may do on a request: bounded.

A file that would unpack past its limit (a zip bomb) is refused before skops reads it; a served
model reads only the text it is given, splits words with scikit-learn's own patterns, and makes
n-grams up to a bound.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from webapp.artifacts.archive import inspect_archive
from webapp.artifacts.checks import ArtifactRefused, check, load_trusted

TEXTS = ["good thing", "bad thing", "ok thing", "great", "awful", "fine"] * 5
LABELS = ["positive", "negative", "neutral"] * 10


def saved(pipeline: Pipeline, tmp_path: Path) -> Path:
    path = tmp_path / "model.skops"
    skops.io.dump(pipeline, path)
    return path


@pytest.mark.parametrize("source", ["filename", "file"])
def test_a_vectorizer_reading_files_is_refused_with_the_reason(tmp_path: Path, source: str):
    secret = tmp_path / "secret.txt"
    secret.write_text("awful awful awful")
    pipeline = Pipeline([("words", TfidfVectorizer()), ("classifier", LogisticRegression())]).fit(TEXTS, LABELS)
    pipeline.set_params(words__input=source)

    with pytest.raises(ArtifactRefused) as refused:
        check(saved(pipeline, tmp_path), probe_budget_seconds=1.0)
    assert "reads its input from files (words__input)" in refused.value.message


def test_a_nested_vectorizer_reading_files_is_found_too(tmp_path: Path):
    pipeline = Pipeline(
        [("counts", CountVectorizer()), ("tfidf", TfidfTransformer()), ("classifier", LogisticRegression())]
    ).fit(TEXTS, LABELS)
    pipeline.set_params(counts__input="filename")
    with pytest.raises(ArtifactRefused, match="counts__input"):
        check(saved(pipeline, tmp_path), probe_budget_seconds=1.0)


def test_the_same_pipeline_reading_its_text_passes(tmp_path: Path):
    pipeline = Pipeline([("words", TfidfVectorizer()), ("classifier", LogisticRegression())]).fit(TEXTS, LABELS)
    checked = check(saved(pipeline, tmp_path), probe_budget_seconds=1.0)
    assert checked.labels == ("negative", "neutral", "positive")


def fitted(**vectorizer: object) -> Pipeline:
    return Pipeline([("words", TfidfVectorizer(**vectorizer)), ("classifier", LogisticRegression())]).fit(TEXTS, LABELS)


@pytest.mark.parametrize(
    "settings",
    [
        {"token_pattern": r"(?u)\b(\w+)+\b"},  # nested quantifiers: they can backtrack exponentially
        {"ngram_range": (1, 4)},
        {"analyzer": "char", "ngram_range": (2, 9)},
    ],
    ids=["own token pattern", "word 4-grams", "char 9-grams"],
)
def test_a_vectorizer_whose_time_on_a_text_is_not_bounded_is_refused(tmp_path: Path, settings: dict):
    with pytest.raises(ArtifactRefused) as refused:
        check(saved(fitted(**settings), tmp_path), probe_budget_seconds=1.0)
    message = refused.value.message
    assert message.startswith("the model file was refused: words ")
    assert "\\" not in message and "+)" not in message  # the pattern is named in words, not echoed


@pytest.mark.parametrize(
    "settings",
    [{"token_pattern": r"(?u)\b\w+\b"}, {"ngram_range": (1, 3)}, {"analyzer": "char_wb", "ngram_range": (2, 5)}],
    ids=["one-character words", "word trigrams", "char_wb 5-grams"],
)
def test_bounded_vectorizer_settings_pass(tmp_path: Path, settings: dict):
    assert check(saved(fitted(**settings), tmp_path), probe_budget_seconds=1.0).labels


def rewritten(source: Path, target: Path, edit) -> Path:
    """A copy of a skops file whose members pass through `edit(name, data) -> (name, data, method)`."""
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(target, "w") as copy:
        for member in original.infolist():
            name, data, method = edit(member.filename, original.read(member))
            copy.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return target


def test_a_file_that_unpacks_past_its_limit_is_refused_before_skops_reads_it(tmp_path: Path):
    bomb = np.zeros(4_000_000)  # 32 MB of zeros: deflated to about 31 KB
    skops.io.dump({"weights": bomb}, tmp_path / "bomb.skops", compression=zipfile.ZIP_DEFLATED)
    assert (tmp_path / "bomb.skops").stat().st_size < 100_000
    with pytest.raises(ArtifactRefused, match=r"unpacks to 32,\d{3},\d{3} bytes, over the limit of 1,048,576"):
        inspect_archive(tmp_path / "bomb.skops", max_unpacked_bytes=1024 * 1024)
    with pytest.raises(ArtifactRefused, match="unpacks to"):
        load_trusted(tmp_path / "bomb.skops", max_unpacked_bytes=1024 * 1024)


def test_a_schema_naming_one_array_twice_is_refused(tmp_path: Path):
    source = saved(fitted(), tmp_path)
    with zipfile.ZipFile(source) as archive:
        arrays = sorted(name for name in archive.namelist() if name.endswith(".npy"))

    def point_every_array_at_the_first(name: str, data: bytes):
        if name == "schema.json":
            text = data.decode()
            for other in arrays[1:]:
                text = text.replace(json.dumps(other), json.dumps(arrays[0]))
            data = text.encode()
        return name, data, zipfile.ZIP_STORED

    copy = rewritten(source, tmp_path / "twice.skops", point_every_array_at_the_first)
    with pytest.raises(ArtifactRefused, match="names one of its arrays more than once"):
        load_trusted(copy)


def test_a_member_compressed_otherwise_than_skops_does_is_refused(tmp_path: Path):
    copy = rewritten(saved(fitted(), tmp_path), tmp_path / "bz2.skops", lambda n, d: (n, d, zipfile.ZIP_BZIP2))
    with pytest.raises(ArtifactRefused, match="compressed with a method"):
        load_trusted(copy)
