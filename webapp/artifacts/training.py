"""Training the `sklearn` family's text pipeline, and measuring it across sets: pure, no I/O.

Rows are (text, label) pairs: `webapp.cli.datasets.LabelledText` rows, or any such tuples. This
module does not import `webapp.cli` (which sits above every domain) so that no package cycle forms.
The options were chosen by cross-set accuracy on the two human-rated sets (docs/models.md):
1-2 word grams seen in at least two texts, sublinear term frequencies, plain LogisticRegression.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

Row = tuple[str, str]  # (text, label)
HOLDOUT_BUCKETS = 5  # one bucket in five, 20%, is held out when there is a single set


def fit_text_pipeline(rows: Sequence[Row]) -> Pipeline:
    """TF-IDF over 1-2 word grams and LogisticRegression, fitted on the rows."""
    pipeline = Pipeline(
        [
            ("tfidf", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)),
            # class_weight="balanced" and other C values were measured and did no better across sets.
            ("classifier", LogisticRegression(max_iter=1000)),
        ]
    )
    return pipeline.fit([text for text, _ in rows], [label for _, label in rows])


def accuracy(pipeline: Pipeline, rows: Sequence[Row]) -> float:
    """Share of rows whose label the pipeline predicts."""
    predicted = pipeline.predict([text for text, _ in rows])
    return sum(str(guess) == label for guess, (_, label) in zip(predicted, rows, strict=True)) / len(rows)


def cross_set_accuracy(sets: Mapping[str, Sequence[Row]]) -> dict[str, float]:
    """Accuracy on each set of a pipeline trained on all the others, keyed `accuracy_<set>`.

    With a single set, a deterministic 20% of it (by a hash of the text, so duplicates stay on one
    side) is held out: `accuracy_holdout`. `train_rows` is the number of rows the served model is
    trained on, that is every row of every set.
    """
    if not sets:
        raise ValueError("no labelled set to measure on")
    results: dict[str, float] = {}
    if len(sets) == 1:
        (rows,) = sets.values()
        train, held_out = holdout_split(rows)
        results["accuracy_holdout"] = accuracy(fit_text_pipeline(train), held_out)
    else:
        for name, rows in sets.items():
            others = [row for other, other_rows in sets.items() if other != name for row in other_rows]
            results[f"accuracy_{name}"] = accuracy(fit_text_pipeline(others), rows)
    results["train_rows"] = sum(len(rows) for rows in sets.values())
    return results


def holdout_split(rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
    """(train, held out): a row is held out when its text hashes into the last of HOLDOUT_BUCKETS buckets."""
    train, held_out = [], []
    for row in rows:
        bucket = zlib.crc32(row[0].encode("utf-8")) % HOLDOUT_BUCKETS
        (held_out if bucket == HOLDOUT_BUCKETS - 1 else train).append(row)
    if not train or not held_out:
        raise ValueError(f"{len(rows)} rows are too few to hold out a fifth of them")
    return train, held_out
