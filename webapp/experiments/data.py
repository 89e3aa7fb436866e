"""The plain numbers the experiment report is computed from: what `queries.py` reads, `analysis.py` uses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ..statistics import frequentist as st
from ..statistics.calibration import BinTotals
from ..statistics.stratified import Sample


@dataclass(frozen=True)
class ArmData:
    """One version's materialized numbers."""

    model_id: str
    version: str
    activated_at: datetime | None
    percent: float  # its weight in the current epoch's split (0 when it is not in it)
    request_count: int
    routed_in_epoch: int
    srm_units: int  # sticky users plus random requests in the current epoch
    feedback_count: int
    accuracy: st.Proportion
    reward: st.Moments
    latency: st.Moments
    mean_confidence: float | None = None
    p95_latency: float | None = None
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    routed_by_config_version: dict[str, int] = field(default_factory=dict)
    routed_total: int = 0
    calibration_bins: list[BinTotals] = field(default_factory=list)


@dataclass(frozen=True)
class ExperimentData:
    model_name: str
    arms: list[ArmData]  # the versions in the current split, and every one with routed traffic
    epoch: tuple[int, int] | None
    feedback_per_hour: float | None
    refreshed_at: datetime | None
    # Per outcome metric ("accuracy", "mean_reward"), per allocation epoch: version -> its routed outcomes.
    strata: dict[str, list[dict[str, Sample]]] = field(default_factory=dict)
