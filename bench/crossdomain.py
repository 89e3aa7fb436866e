"""Cross-domain checks of textblob-advanced: fit its choices on one set, measure them on the other.

Every text is read once (`webapp.inference.reading.read`); the params only re-weigh the
readings, so a fit over a grid costs little. Two kinds of rule:

- tuned rules have a strength param with an "off" value (`TUNED`). The fit is a coordinate
  ascent from the shipped defaults over each param's grid (off value included) on the fit set;
  a rule helps in a direction when, measured on the other set, the fitted params beat the same
  params with that rule switched off.
- switched rules have no strength (`Switches`): a rule helps on a set when the defaults with it
  beat the defaults without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from itertools import permutations

from scipy.stats import binomtest

from webapp.cli.datasets import LabelledText
from webapp.inference.advanced import AdvancedParams, weigh
from webapp.inference.base import label_with_neutral_band
from webapp.inference.reading import Reading, Switches, read


@dataclass(frozen=True, slots=True)
class Tuned:
    """A rule with a strength: its param, the value that switches it off, and the values a fit tries."""

    rule: str
    param: str
    off: float
    grid: tuple[float, ...]


TUNED = (
    Tuned("negation", "negation_factor", 1.0, (-1.0, -0.75, -0.5, -0.25, 0.0)),
    Tuned("cues", "cue_polarity", 0.0, (0.1, 0.2, 0.3, 0.4)),
    Tuned("contrast", "contrast_weight", 1.0, (0.0, 0.25, 0.5, 0.75)),
    Tuned("emphasis", "emphasis", 0.0, (0.15, 0.3, 0.45, 0.6)),
    Tuned("counterfactual", "counterfactual_factor", 1.0, (-1.0, -0.5, 0.0, 0.5)),
)
# Not a rule but a choice all the same: fitted with the rules, never switched off.
BAND = Tuned("neutral band", "neutral_band", 0.0, (0.0, 0.05, 0.1))
SWITCHED = tuple(field.name for field in fields(Switches))
FIT_PASSES = 2
DEFAULTS = AdvancedParams()
ALL_ON = Switches()


@dataclass(frozen=True, slots=True)
class Effect:
    """What switching a rule on does to the labels of one set: texts it puts right, texts it puts wrong."""

    helped: int
    hurt: int
    texts: int

    @property
    def gain(self) -> float:
        """Accuracy with the rule minus accuracy without it."""
        return (self.helped - self.hurt) / self.texts if self.texts else 0.0

    @property
    def p_value(self) -> float:
        """Exact McNemar test (two-sided) that the rule's fixes and breaks are a coin toss."""
        changed = self.helped + self.hurt
        return binomtest(self.helped, changed, 0.5).pvalue if changed else 1.0


@dataclass(frozen=True, slots=True)
class Direction:
    """Choices fitted on one set and measured on the other."""

    fit_set: str
    measure_set: str
    fitted: AdvancedParams
    accuracy: float  # of the fitted params on the measure set
    rule_effects: dict[str, Effect]  # rule -> what it does on the measure set, at the fitted params


@dataclass(frozen=True, slots=True)
class SwitchGain:
    """What one switched rule does, per set, at the default params."""

    rule: str
    effects: dict[str, Effect]


def read_all(rows: Sequence[LabelledText], switches: Switches = ALL_ON) -> list[tuple[Reading, str]]:
    """Each text's reading beside its human label."""
    scope = AdvancedParams().negation_scope
    return [(read(row.text, scope, switches), row.label) for row in rows]


def accuracy(readings: Sequence[tuple[Reading, str]], params: AdvancedParams) -> float:
    """Share of readings whose label under `params` is the human one."""
    return sum(hits(readings, params)) / len(readings) if readings else 0.0


def hits(readings: Sequence[tuple[Reading, str]], params: AdvancedParams) -> list[bool]:
    """Per reading, whether its label under `params` is the human one."""
    band = params.neutral_band
    return [label_with_neutral_band(weigh(r, params), band)[0] == label for r, label in readings]


def effect(with_rule: Sequence[bool], without_rule: Sequence[bool]) -> Effect:
    """Compare two labellings of the same texts, text by text."""
    pairs = list(zip(with_rule, without_rule, strict=True))
    return Effect(sum(a and not b for a, b in pairs), sum(b and not a for a, b in pairs), len(pairs))


def fit(readings: Sequence[tuple[Reading, str]], start: AdvancedParams = DEFAULTS) -> AdvancedParams:
    """Coordinate ascent over every tuned param's grid; a tie keeps the current value."""
    params = start
    for _ in range(FIT_PASSES):
        for choice in (*TUNED, BAND):
            best, best_accuracy = params, accuracy(readings, params)
            for value in (choice.off, *choice.grid):
                candidate = params.model_copy(update={choice.param: value})
                score = accuracy(readings, candidate)
                if score > best_accuracy:
                    best, best_accuracy = candidate, score
            params = best
    return params


def rule_effects(readings: Sequence[tuple[Reading, str]], params: AdvancedParams) -> dict[str, Effect]:
    """Per tuned rule: `params` against `params` with that rule off."""
    base = hits(readings, params)
    return {t.rule: effect(base, hits(readings, params.model_copy(update={t.param: t.off}))) for t in TUNED}


def cross_domain(sets: dict[str, Sequence[LabelledText]]) -> list[Direction]:
    """Fit on each set in turn and measure on each other one."""
    readings = {name: read_all(rows) for name, rows in sets.items()}
    directions = []
    for fit_set, measure_set in permutations(readings, 2):
        fitted = fit(readings[fit_set])
        measured = readings[measure_set]
        directions.append(
            Direction(fit_set, measure_set, fitted, accuracy(measured, fitted), rule_effects(measured, fitted))
        )
    return directions


def switch_gains(sets: dict[str, Sequence[LabelledText]]) -> list[SwitchGain]:
    """Per switched rule and set: the defaults with the rule against the defaults without it."""
    with_all = {name: hits(read_all(rows), DEFAULTS) for name, rows in sets.items()}
    gains = []
    for rule in SWITCHED:
        switches = replace(ALL_ON, **{rule: False})
        without = {name: hits(read_all(rows, switches), DEFAULTS) for name, rows in sets.items()}
        gains.append(SwitchGain(rule, {name: effect(with_all[name], without[name]) for name in sets}))
    return gains


def changed_params(params: AdvancedParams) -> dict[str, float]:
    """The params that differ from the shipped defaults."""
    defaults = AdvancedParams().model_dump()
    return {name: value for name, value in params.model_dump().items() if value != defaults[name]}
