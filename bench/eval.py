"""Accuracy and speed of every registered sentiment family on the human-rated sets.

Run as `python -m bench.eval` (`make eval`). Prints, per set and family, 3-class accuracy, mean
milliseconds per text and per-class recall, then the advanced-minus-basic accuracy per set.
Exit status: 0 if textblob-advanced beats textblob-basic by at least `MIN_GAIN` on every set,
1 if it does not, 2 if the data directory is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench.datasets import DataDirMissing, LabelledText, load_labelled_sets
from webapp.inference import ADVANCED, BASIC, PREDICTORS, Predictor, build_predictor

LABELS = ("positive", "neutral", "negative")
MIN_GAIN = 0.03  # accuracy points (as a fraction) advanced must gain over basic on every set


@dataclass(frozen=True, slots=True)
class Result:
    """How one family did on one set."""

    set_name: str
    algorithm: str
    texts: int
    accuracy: float
    ms_per_text: float
    recall: dict[str, float]


def evaluate(predictor: Predictor, set_name: str, rows: Sequence[LabelledText]) -> Result:
    """Label every text of a set with one predictor; time it and score it against the human labels."""
    predictor.predict("warm up")  # lexicons load lazily; keep that out of the timing
    started = time.perf_counter()
    predicted = [predictor.predict(row.text).label for row in rows]
    elapsed = time.perf_counter() - started
    hits = dict.fromkeys(LABELS, 0)
    totals = dict.fromkeys(LABELS, 0)
    for row, label in zip(rows, predicted, strict=True):
        totals[row.label] += 1
        hits[row.label] += label == row.label
    return Result(
        set_name=set_name,
        algorithm=predictor.algorithm,
        texts=len(rows),
        accuracy=sum(hits.values()) / len(rows) if rows else 0.0,
        ms_per_text=1000 * elapsed / len(rows) if rows else 0.0,
        recall={label: hits[label] / totals[label] if totals[label] else 0.0 for label in LABELS},
    )


def evaluate_all(sets: dict[str, list[LabelledText]], algorithms: Sequence[str] | None = None) -> list[Result]:
    """Every (set, family) pair, families with their default parameters."""
    names = list(algorithms or PREDICTORS)
    return [evaluate(build_predictor(name), set_name, rows) for set_name, rows in sets.items() for name in names]


def gains(results: Sequence[Result], baseline: str = BASIC, challenger: str = ADVANCED) -> dict[str, float]:
    """Challenger accuracy minus baseline accuracy, per set."""
    accuracy = {(r.set_name, r.algorithm): r.accuracy for r in results}
    sets = dict.fromkeys(r.set_name for r in results)
    return {name: accuracy[name, challenger] - accuracy[name, baseline] for name in sets}


def format_table(results: Sequence[Result]) -> str:
    """A fixed-width table, one row per (set, family)."""
    header = f"{'set':<8} {'algorithm':<20} {'texts':>6} {'accuracy':>9} {'ms/text':>8}"
    header += "".join(f" {'recall ' + label[:3]:>11}" for label in LABELS)
    lines = [header, "-" * len(header)]
    for r in results:
        line = f"{r.set_name:<8} {r.algorithm:<20} {r.texts:>6} {r.accuracy:>9.3f} {r.ms_per_text:>8.3f}"
        lines.append(line + "".join(f" {r.recall[label]:>11.3f}" for label in LABELS))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table and the gains; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.eval", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="directory of *_GroundTruth.tsv files (default: see bench.datasets)")
    args = parser.parse_args(argv)
    try:
        sets = load_labelled_sets(args.data_dir)
    except DataDirMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results = evaluate_all(sets)
    print(format_table(results))
    print()
    failed = []
    for set_name, gain in gains(results).items():
        verdict = "ok" if gain >= MIN_GAIN else f"FAIL (needs >= {100 * MIN_GAIN:+.1f})"
        print(f"{set_name:<8} {ADVANCED} - {BASIC}: {100 * gain:+.1f} accuracy points  {verdict}")
        if gain < MIN_GAIN:
            failed.append(set_name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
