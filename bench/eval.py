"""Accuracy and speed of every registered sentiment family on the human-rated sets.

Run as `python -m bench.eval` (`make eval`). Prints, per set and family, 3-class accuracy, mean
milliseconds per text and per-class recall; then the advanced-minus-basic accuracy per set with
the shipped params; then the cross-domain checks of `bench.crossdomain`: textblob-advanced's
params fitted on each set and measured on the other, and what each of its rules adds there; then
the sklearn family: its accuracy on each set when trained on the others, and the per-request cost
of `bench.inference_cost` (advisory here: it does not change the exit status).
Exit status: 0 if textblob-advanced beats textblob-basic by at least `MIN_GAIN` on every set and
in every cross-domain direction, 1 if it does not, 2 if the data directory is missing.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from bench import inference_cost
from bench.crossdomain import TUNED, Direction, Effect, SwitchGain, changed_params, cross_domain, switch_gains
from webapp.artifacts.training import cross_set_accuracy
from webapp.cli.datasets import DataDirMissing, LabelledText, load_labelled_sets
from webapp.inference import ADVANCED, BASIC, PREDICTORS, SKLEARN, Predictor, build_predictor

LABELS = ("positive", "neutral", "negative")
MIN_GAIN = 0.03  # accuracy points (as a fraction) advanced must gain over basic on every set
# Families that serve a trained file, not params: measured by print_trained below, not the table.
TRAINED = (SKLEARN,)


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
    names = list(algorithms or (name for name in PREDICTORS if name not in TRAINED))
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


def format_cross_domain(directions: Sequence[Direction], baseline: dict[str, float]) -> str:
    """Each direction's fitted params and gain over `baseline` (accuracy per set), then each rule's share."""
    lines = [f"{'fit on':<8} {'measure on':<10} {'v1':>6} {'v2 fit':>7} {'gain':>6}  fitted params that differ"]
    for d in directions:
        changed = " ".join(f"{name}={value:g}" for name, value in changed_params(d.fitted).items()) or "(none)"
        v1, gain = baseline[d.measure_set], 100 * (d.accuracy - baseline[d.measure_set])
        lines.append(f"{d.fit_set:<8} {d.measure_set:<10} {v1:>6.3f} {d.accuracy:>7.3f} {gain:>+6.1f}  {changed}")
    names = [f"{d.fit_set}->{d.measure_set}" for d in directions]
    lines += ["", f"{'rule':<16} {'param':<22}" + "".join(f" {name:>26}" for name in names) + "  verdict"]
    for tuned in TUNED:
        effects = [d.rule_effects[tuned.rule] for d in directions]
        lines.append(f"{tuned.rule:<16} {tuned.param:<22}" + "".join(map(_cell, effects)) + f"  {_verdict(effects)}")
    return "\n".join(lines)


def format_switches(gains: Sequence[SwitchGain]) -> str:
    """What each rule without a strength adds per set, at the shipped params."""
    set_names = list(gains[0].effects) if gains else []
    lines = [f"{'rule':<39}" + "".join(f" {name:>26}" for name in set_names) + "  verdict"]
    for gain in gains:
        effects = [gain.effects[name] for name in set_names]
        lines.append(f"{gain.rule:<39}" + "".join(map(_cell, effects)) + f"  {_verdict(effects)}")
    return "\n".join(lines)


def _cell(effect: Effect) -> str:
    """Accuracy points, texts put right/wrong, and the McNemar p-value."""
    return f" {100 * effect.gain:>+6.2f} ({effect.helped:>3}/{effect.hurt:>3} p={effect.p_value:.2f})"


def _verdict(effects: Sequence[Effect]) -> str:
    """Whether a rule helps everywhere it was measured."""
    if all(e.helped > e.hurt for e in effects):
        return "helps in both"
    if any(e.hurt > e.helped for e in effects):
        return "HURTS in one"
    return "no gain in one"


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table and the gains; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench.eval", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="directory of *_GroundTruth.tsv files (default: see webapp/cli/datasets.py)")
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
        print(f"{set_name:<8} {ADVANCED} - {BASIC}: {100 * gain:+.1f} accuracy points  {_pass(gain, failed, set_name)}")
    baseline = {r.set_name: r.accuracy for r in results if r.algorithm == BASIC}
    directions = cross_domain(sets)
    print(f"\nCross-domain: {ADVANCED}'s params fitted on one set, measured on the other; gain over {BASIC}")
    print("Per rule: accuracy points it adds on the measure set (texts it puts right/wrong, exact McNemar p)")
    print(format_cross_domain(directions, baseline))
    print("\nRules without a strength, at the shipped params, per set")
    print(format_switches(switch_gains(sets)))
    print()
    for d in directions:
        gain = d.accuracy - baseline[d.measure_set]
        name = f"{d.fit_set}->{d.measure_set}"
        print(
            f"{name:<16} {ADVANCED} (fitted) - {BASIC}: {100 * gain:+.1f} accuracy points  {_pass(gain, failed, name)}"
        )
    print_trained(sets)
    return 1 if failed else 0


def print_trained(sets: dict[str, list[LabelledText]]) -> None:
    """The sklearn family trained on the sets: accuracy on each set when trained on the others, and its cost."""
    if len({row.label for rows in sets.values() for row in rows}) < 2:
        print(f"\n{SKLEARN}: skipped, the sets hold fewer than two labels to train on")
        return
    accuracy = cross_set_accuracy(sets)
    scores = "  ".join(f"{key} {value:.3f}" for key, value in accuracy.items() if key != "train_rows")
    print(f"\n{SKLEARN} (fit_text_pipeline) trained on the other set(s): {scores}")
    print()
    inference_cost.run(sets)


def _pass(gain: float, failed: list[str], name: str) -> str:
    """ "ok", or a failure noted in `failed`."""
    if gain >= MIN_GAIN:
        return "ok"
    failed.append(name)
    return f"FAIL (needs >= {100 * MIN_GAIN:+.1f})"


if __name__ == "__main__":
    sys.exit(main())
