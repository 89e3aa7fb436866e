"""A served model reads only the text it is given: a vectorizer that would open files is refused."""

from __future__ import annotations

from pathlib import Path

import pytest
import skops.io
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from webapp.artifacts.checks import ArtifactRefused, check

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
