"""Calibration: whether a version's confidence says how often it is right, measured from feedback.

The statistics are pure (webapp/statistics/calibration.py) and checked by simulation; the stats
refresh folds the bins incrementally from the real prediction log and feedback tables.
"""

from __future__ import annotations

import importlib.util
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
from sqlalchemy import select, text

from tests.api import two_versions
from tests.records import log_record, refresh_settled
from tests.support import ROOT
from webapp.experiments.models import CalibrationBin
from webapp.extensions import db
from webapp.feedback.ingest import write_feedback_batch
from webapp.logpipe.ingest import write_prediction_logs
from webapp.logpipe.wire import encode_feedback_batch
from webapp.statistics.calibration import BINS, BinTotals, bin_of, calibration
from webapp.stats.refresh import rebuild_stats

MODEL = str(uuid.uuid4())


def simulated_bins(confidences: np.ndarray, correct: np.ndarray) -> list[BinTotals]:
    bins = np.minimum((confidences * BINS).astype(int), BINS - 1)
    return [
        BinTotals(b, int((bins == b).sum()), int(correct[bins == b].sum()), float(confidences[bins == b].sum()))
        for b in range(BINS)
    ]


def test_an_over_confident_version_shows_a_large_calibration_error():
    rng = np.random.default_rng(7)
    confidences = rng.uniform(0.85, 1.0, 20_000)  # says 92.5% on average...
    correct = rng.random(20_000) < 0.6  # ...and is right 60% of the time
    result = calibration(simulated_bins(confidences, correct))
    assert result.labelled == 20_000
    assert result.expected_calibration_error == pytest.approx(0.325, abs=0.01)  # 0.925 - 0.6, ± sampling


def test_a_calibrated_version_shows_a_small_calibration_error():
    rng = np.random.default_rng(11)
    confidences = rng.uniform(1 / 3, 1.0, 20_000)
    correct = rng.random(20_000) < confidences  # right exactly as often as it says
    result = calibration(simulated_bins(confidences, correct))
    # Per bin the gap is sampling noise, about sqrt(p(1-p)/n) ~ 0.01 with ~3,000 per bin.
    assert result.expected_calibration_error < 0.02
    for row in result.bins:
        assert row.accuracy_ci[0] <= row.mean_confidence + 0.05 and row.mean_confidence - 0.05 <= row.accuracy_ci[1]


def test_the_reliability_table_lists_only_bins_with_labels_and_gives_each_an_interval():
    result = calibration([BinTotals(9, 10, 9, 9.5), BinTotals(3, 4, 1, 1.4), BinTotals(5, 0, 0, 0.0)])
    assert [(row.low, row.high, row.labelled) for row in result.bins] == [(0.3, 0.4, 4), (0.9, 1.0, 10)]
    low, high = result.bins[1].accuracy_ci
    assert low < 0.9 < high and low > 0.5  # Wilson: 9 of 10
    # (4 * |0.25 - 0.35| + 10 * |0.9 - 0.95|) / 14
    assert result.expected_calibration_error == pytest.approx((4 * 0.1 + 10 * 0.05) / 14)
    assert calibration([]).expected_calibration_error is None


@pytest.mark.parametrize(("confidence", "expected"), [(0.0, 0), (1 / 3, 3), (0.0999, 0), (0.1, 1), (1.0, 9)])
def test_each_confidence_falls_in_one_bin(confidence, expected):
    assert bin_of(confidence) == expected


def feedback(prediction_id: str, label: str) -> dict:
    at = datetime.now(UTC).isoformat()
    return {"prediction_id": prediction_id, "label": label, "reward": None, "received_at": at}


def migration_backfill() -> str:
    path = ROOT / "migrations" / "versions" / "0015_calibration_bins.py"
    spec = importlib.util.spec_from_file_location("calibration_migration", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BACKFILL


def stored_bins() -> dict[int, tuple[int, int, Decimal]]:
    db.session.expire_all()
    rows = db.session.scalars(select(CalibrationBin).where(CalibrationBin.model_id == uuid.UUID(MODEL)))
    return {row.bin: (row.labelled, row.correct, Decimal(row.confidence_sum)) for row in rows if row.labelled}


def test_the_refresh_folds_each_labelled_prediction_into_its_confidence_bin(app):
    confident = [log_record(MODEL, prediction="positive", confidence=0.95) for _ in range(4)]
    guessing = [log_record(MODEL, prediction="neutral", confidence=1 / 3) for _ in range(3)]
    with app.app_context():
        write_prediction_logs(confident + guessing)
        labels = ["positive", "positive", "positive", "negative", "neutral", "negative", "positive"]
        pairs = zip(confident + guessing, labels, strict=True)
        write_feedback_batch(encode_feedback_batch([feedback(log["prediction_id"], label) for log, label in pairs]))
        refresh_settled()
        assert stored_bins() == {9: (4, 3, Decimal("3.8")), 3: (3, 1, Decimal("0.9999"))}

        # A replaced label moves its contribution; the bin stays the prediction's.
        write_feedback_batch(encode_feedback_batch([feedback(confident[3]["prediction_id"], "positive")]))
        refresh_settled()
        assert stored_bins() == {9: (4, 4, Decimal("3.8")), 3: (3, 1, Decimal("0.9999"))}

        incremental = stored_bins()
        rebuild_stats()
        refresh_settled()
        assert stored_bins() == incremental

        # The migration that added the bins fills them from what was counted before it, the same way.
        db.session.execute(CalibrationBin.__table__.delete())
        db.session.execute(text(migration_backfill()))
        db.session.commit()
        assert stored_bins() == incremental


def test_the_experiment_shows_each_versions_calibration(app, client):
    """Both versions say 0.8 (log_record's confidence): 1.0.0 is right 50% of the time, 2.0.0 80%."""
    v1, v2 = two_versions(client)
    with app.app_context():
        for model_id, version, right in ((v1, "1.0.0", 100), (v2, "2.0.0", 160)):
            logs = [log_record(model_id, version, routing="random", confidence=0.8) for _ in range(200)]
            write_prediction_logs(logs)
            labels = ["positive" if i < right else "negative" for i in range(200)]
            pairs = zip(logs, labels, strict=True)
            write_feedback_batch(encode_feedback_batch([feedback(log["prediction_id"], label) for log, label in pairs]))
        refresh_settled()
    arms = {arm["model_version"]: arm for arm in client.get("/experiments/sentiment").get_json()["arms"]}
    over, calibrated = arms["1.0.0"]["calibration"], arms["2.0.0"]["calibration"]
    assert over["expected_calibration_error"] == pytest.approx(0.3)
    assert calibrated["expected_calibration_error"] == pytest.approx(0.0, abs=1e-9)
    [row] = over["bins"]
    assert (row["confidence_range"], row["labelled"], row["mean_confidence"], row["accuracy"]) == (
        [0.8, 0.9],
        200,
        0.8,
        0.5,
    )
    assert row["accuracy_ci"][0] < 0.5 < row["accuracy_ci"][1]
