"""Per-request inference cost: µs per `predict` of one text, single thread, families side by side.

Run as `python -m bench.inference_cost`; `make eval` prints it too. textblob-basic, the sklearn
family on its fast path, and the same model on its generic path (sklearn's predict_proba per text)
label every text of the human-rated sets in interleaved blocks, so machine drift hits them alike;
each family's figure is the median over rounds, and the ratios are to textblob-basic in the same
round. The sklearn model is trained with `fit_text_pipeline` on every set, dumped with skops and
loaded back with `skops.io.load`, so what is timed is what would be served.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import skops.io

from webapp.artifacts.training import Row, fit_text_pipeline
from webapp.cli.datasets import DataDirMissing, LabelledText, load_labelled_sets
from webapp.inference import BASIC, build_predictor
from webapp.inference.sklearn_family import GENERIC, LINEAR_FAST, SklearnPredictor

BLOCK = 500  # texts per family turn
MAX_RATIO = 2.0  # the sklearn fast path may cost at most this many times textblob-basic


def served_pipeline(rows: Sequence[Row]):
    """The pipeline fitted on the rows, after a round trip through a skops file."""
    pipeline = fit_text_pipeline(rows)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "model.skops"
        skops.io.dump(pipeline, path)
        # No `trusted` list: a TF-IDF + LogisticRegression pipeline holds only types skops trusts.
        return skops.io.load(path)


def contenders(rows: Sequence[Row]) -> dict[str, Callable[[str], object]]:
    """The predict functions timed, by the name printed."""
    pipeline = served_pipeline(rows)
    fast = SklearnPredictor.from_estimator(pipeline)
    generic = SklearnPredictor.from_estimator(pipeline, fast_path=False)
    if fast.path != LINEAR_FAST:
        raise RuntimeError(f"the served pipeline did not take the fast path: {fast.fast_path_refusal}")
    return {
        BASIC: build_predictor(BASIC).predict,
        f"sklearn ({LINEAR_FAST})": fast.predict,
        f"sklearn ({GENERIC})": generic.predict,
    }


def measure(texts: Sequence[str], predictors: dict[str, Callable[[str], object]], rounds: int) -> list[dict]:
    """Seconds per family per round, each round over every text, in blocks whose order rotates."""
    names = list(predictors)
    for predict in predictors.values():
        predict("warm up")
    results = []
    for round_number in range(rounds):
        spent = dict.fromkeys(names, 0.0)
        for number, start in enumerate(range(0, len(texts), BLOCK)):
            block = texts[start : start + BLOCK]
            shift = (number + round_number) % len(names)
            for name in names[shift:] + names[:shift]:
                predict = predictors[name]
                started = time.perf_counter()
                for text in block:
                    predict(text)
                spent[name] += time.perf_counter() - started
        results.append(spent)
    return results


def summarize(rounds: list[dict], texts: int) -> dict[str, dict[str, float]]:
    """Median µs per text, and median ratio to textblob-basic within a round, per family."""
    return {
        name: {
            "us_per_text": round(statistics.median(r[name] for r in rounds) * 1e6 / texts, 1),
            "ratio_to_basic": round(statistics.median(r[name] / r[BASIC] for r in rounds), 3),
        }
        for name in rounds[0]
    }


def print_report(summary: dict[str, dict[str, float]], texts: int, rounds: int) -> bool:
    """The table; True when the sklearn fast path is within MAX_RATIO of textblob-basic."""
    print(f"Per-request inference cost: one text per predict, single thread, {texts:,} texts x {rounds} rounds")
    print(f"{'family':<24} {'µs/text':>9} {'x ' + BASIC:>18}")
    for name, row in summary.items():
        print(f"{name:<24} {row['us_per_text']:>9.1f} {row['ratio_to_basic']:>18.2f}")
    ratio = summary[f"sklearn ({LINEAR_FAST})"]["ratio_to_basic"]
    met = ratio <= MAX_RATIO
    print(f"sklearn fast path / {BASIC}: {ratio:.2f} (target <= {MAX_RATIO:g})  {'ok' if met else 'FAIL'}")
    return met


def run(sets: dict[str, list[LabelledText]], rounds: int = 3) -> bool:
    """Train, load, time and print; True when the target is met."""
    rows = [row for name in sorted(sets) for row in sets[name]]
    texts = [text for text, _ in rows]
    summary = summarize(measure(texts, contenders(rows), rounds), len(texts))
    return print_report(summary, len(texts), rounds)


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status: 0 if the target is met, 1 if not, 2 if the data directory is missing."""
    parser = argparse.ArgumentParser(prog="python -m bench.inference_cost", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="directory of *_GroundTruth.tsv files (default: see webapp/cli/datasets.py)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        sets = load_labelled_sets(args.data_dir)
    except DataDirMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0 if run(sets, args.rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
