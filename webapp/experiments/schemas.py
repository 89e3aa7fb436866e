"""The experiment report (query parameters and answer) and the shadow comparison."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ..schemas import QueryModel, SemVer, WeightOut

Metric = Literal["accuracy", "mean_reward", "latency"]
Status = Literal["winner", "no_meaningful_difference", "no_difference_yet", "srm", "insufficient_data"]
DEFAULT_MDE = 0.05  # the smallest accuracy (or reward) difference worth having, absolute


class ExperimentQuery(QueryModel):
    baseline: SemVer | None = Field(
        default=None, description="Compare against this version (default: earliest activated)"
    )
    mde: Annotated[float, Field(ge=0.001, lt=1)] = Field(
        default=DEFAULT_MDE,
        description="The smallest difference worth having (absolute): the power estimate's target, and the "
        "equivalence margin (a confidence sequence inside ±mde decides no_meaningful_difference)",
    )


class ReliabilityBinOut(BaseModel):
    confidence_range: list[float] = Field(description="[low, high): the bin of confidences")
    labelled: int
    mean_confidence: float
    accuracy: float
    accuracy_ci: list[float] = Field(description="95% Wilson interval")


class CalibrationOut(BaseModel):
    labelled: int = Field(description="Labelled predictions the bins hold")
    expected_calibration_error: float | None = Field(
        description="Mean gap between confidence and accuracy over the bins, weighted by their counts; 0 is "
        "calibrated. null without labelled feedback"
    )
    bins: list[ReliabilityBinOut] = Field(description="The reliability table: bins with labels, by confidence")


class ArmOut(BaseModel):
    model_version: str
    model_id: str
    traffic_percent: WeightOut = Field(description="Its share of the split in the current epoch (0: not in it)")
    request_count: int = Field(description="Every prediction it served")
    routed_in_epoch: int = Field(description="Sticky and random predictions in the current epoch")
    routed_total: int = Field(default=0, description="Sticky and random predictions in every epoch")
    routed_by_config_version: dict[str, int] = Field(
        description="Sticky and random predictions per routing-config version: every allocation epoch"
    )
    feedback_count: int
    labelled_count: int
    correct_count: int
    accuracy: float | None
    accuracy_ci: list[float] | None = Field(description="95% Wilson interval")
    reward_count: int
    mean_reward: float | None
    mean_reward_ci: list[float] | None = Field(description="95% t interval")
    confusion_matrix: dict[str, dict[str, int]] = Field(description="true label -> predicted label -> count")
    mean_confidence: float | None
    mean_latency: float | None = Field(description="ms")
    p95_latency: float | None = Field(description="ms, within ±2%")
    calibration: CalibrationOut = Field(description="Whether its confidence says how often it is right")


class ComparisonOut(BaseModel):
    model_version: str
    baseline_version: str
    metric: Metric
    estimate: Literal["stratified", "pooled"] = Field(
        description="stratified: per allocation epoch, combined (accuracy and reward, from routed predictions); "
        "pooled: over all the version's observations (latency, or outcomes the log no longer holds)"
    )
    observations: int = Field(description="Observations of this version behind the comparison")
    baseline_observations: int = Field(description="Observations of the baseline behind the comparison")
    baseline_value: float = Field(description="The baseline's mean, over the same epochs and weights when stratified")
    value: float
    difference: float = Field(description="value - baseline_value")
    relative_lift: float | None = Field(description="difference / baseline_value")
    ci: list[float] = Field(description="95% fixed-horizon interval of the difference")
    p_value: float = Field(description="Fixed-horizon: valid for one look at a sample size fixed in advance")
    sequential_ci: list[float] = Field(description="95% confidence sequence: valid at every look")
    sequential_p_value: float = Field(description="Always-valid p-value: valid at every look")
    adjusted_p_value: float = Field(description="sequential_p_value corrected for multiplicity (Holm)")
    adjusted_sequential_ci: list[float] = Field(
        description="The confidence sequence at 0.05 / m for m challengers (Bonferroni); sequential_ci when m = 1"
    )
    significant: bool = Field(description="adjusted_p_value < 0.05")
    equivalent: bool = Field(description="adjusted_sequential_ci lies inside ±mde: no difference worth having")


class SrmOut(BaseModel):
    p_value: float | None
    mismatch: bool = Field(description="p < 0.001 with at least 8 expected per arm")
    observed: dict[str, int] = Field(description="Sticky users plus random requests per version, current epoch")
    expected: dict[str, float]
    epoch: dict[str, int] | None = Field(description="first and last routing-config version of the current epoch")


class PowerOut(BaseModel):
    baseline_accuracy: float | None
    mde: float
    needed_per_arm: int | None = Field(description="Labelled predictions per arm for alpha 0.05, power 0.8")
    labelled_per_arm: dict[str, int]
    missing: int | None = Field(description="Labelled predictions still missing, all arms together")
    feedback_per_hour: float | None
    estimated_hours: float | None = Field(description="Time to the missing ones at the current feedback rate")


class DecisionOut(BaseModel):
    winner: str | None
    status: Status
    metric: Metric | None
    reason: str
    can_stop: bool = Field(
        default=False, description="The answer will not change: a winner, or no difference worth having"
    )


class MultiplicityOut(BaseModel):
    method: Literal["holm"]
    description: str
    comparisons: dict[str, int] = Field(
        description="Per metric, how many challengers are compared with the baseline (m)"
    )


class AllocationOut(BaseModel):
    mode: Literal["bandit", "rollout"] = Field(description="What is moving the split while the experiment runs")
    id: int
    state: str
    note: str


class StratifiedComparisonOut(BaseModel):
    model_version: str
    baseline_version: str
    difference: float = Field(description="Challenger minus baseline, combined over allocation epochs")
    ci: list[float] = Field(description="95% normal interval of the stratified difference")
    pooled_difference: float = Field(description="The same routed predictions pooled over epochs: biased by drift")
    epochs_used: int
    epochs_skipped: int = Field(description="Epochs where either arm has fewer than two observations")
    observations: int


class StratifiedOut(BaseModel):
    method: str
    metric: Literal["accuracy", "mean_reward"]
    comparisons: list[StratifiedComparisonOut]


class ShadowComparisonOut(BaseModel):
    shadow_version: str
    shadow_model_id: str
    served_version: str
    served_model_id: str
    pairs: int = Field(description="Mirrored requests whose served prediction is stored")
    agreements: int = Field(description="Pairs where the shadow answered the served version's label")
    agreement_rate: float | None
    agreement_ci: list[float] | None = Field(description="95% Wilson interval of the agreement rate")
    labelled_pairs: int = Field(description="Pairs whose served prediction has labelled feedback")
    shadow_correct: int
    served_correct: int
    shadow_accuracy: float | None = Field(description="On the labelled pairs")
    served_accuracy: float | None = Field(description="On the same labelled pairs")
    difference: float | None = Field(description="shadow_accuracy - served_accuracy")
    shadow_only_correct: int = Field(description="Discordant pairs the shadow got right")
    served_only_correct: int = Field(description="Discordant pairs the served version got right")
    mcnemar_p_value: float | None = Field(
        description="Exact two-sided McNemar test on the discordant pairs; null without any"
    )
    summary: str = Field(description="The comparison in one sentence")


class ShadowReport(BaseModel):
    model_id: str
    model_name: str
    model_version: str
    shadow_percent: WeightOut
    comparisons: list[ShadowComparisonOut] = Field(description="One per version it mirrored")
    refreshed_at: datetime | None


class Experiment(BaseModel):
    model_name: str
    arms: list[ArmOut]
    baseline: str | None
    comparisons: list[ComparisonOut]
    srm: SrmOut
    power: PowerOut
    decision: DecisionOut
    refreshed_at: datetime | None
    allocation: AllocationOut | None = Field(
        default=None, description="A running bandit or rollout moving the weights; null while the split is fixed"
    )
    multiplicity: MultiplicityOut | None = Field(default=None, description="How several challengers are corrected for")
    stratified: StratifiedOut | None = Field(
        default=None,
        description="While a bandit runs or after one ran: the differences corrected for the changing allocation",
    )
    shadows: list[ShadowComparisonOut] = Field(
        default_factory=list,
        description="Each shadow version against each version it mirrored: agreement, paired accuracy",
    )
