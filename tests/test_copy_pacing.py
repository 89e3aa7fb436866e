"""A worker that keeps up feeds each COPY in slices with pauses; one that is behind goes at full speed."""

from __future__ import annotations

import threading
import time
import uuid

from sqlalchemy import func, select, text

from tests.apps import make_settings, shutdown
from tests.records import log_record
from webapp import create_app
from webapp.extensions import db
from webapp.logpipe.ingest import write_prediction_log_batch
from webapp.logpipe.pacing import SLICE_BYTES, CopyPacer, process_pacer
from webapp.logpipe.wire import encode_log_batch
from webapp.models import PredictionLog

MODEL_ID = str(uuid.uuid4())
PAUSE = 0.02


def read_all(source, size: int = SLICE_BYTES) -> list[str]:
    slices = []
    while piece := source.read(size):
        slices.append(piece)
    return slices


def timed(action) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def batch_of(count: int) -> dict:
    return encode_log_batch([log_record(MODEL_ID, text="a review of some length " * 4) for _ in range(count)])


def stored_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(PredictionLog))


def test_after_idle_time_a_batch_is_read_in_slices_with_a_pause_between_them():
    rows = "x" * (SLICE_BYTES * 5 + 10)
    slices = []
    elapsed = timed(lambda: slices.extend(read_all(CopyPacer(PAUSE).source(rows))))
    assert "".join(slices) == rows and len(slices) == 6
    assert elapsed >= 5 * PAUSE  # one pause between each two slices, none after the last


def test_a_batch_that_follows_the_last_one_at_once_is_read_without_pauses():
    pacer = CopyPacer(PAUSE)
    pacer.finished()
    elapsed = timed(lambda: read_all(pacer.source("x" * SLICE_BYTES * 20)))
    assert elapsed < 5 * PAUSE


def test_a_pause_of_zero_turns_pacing_off():
    assert timed(lambda: read_all(CopyPacer(0).source("x" * SLICE_BYTES * 200))) < 5 * PAUSE


def test_a_paced_copy_is_worked_on_by_postgres_slice_by_slice_and_stored_whole(app):
    payload = batch_of(300)  # about 50 KB: a dozen slices
    progress: list[int] = []
    done = threading.Event()

    def watch_copy() -> None:
        # pg_stat_progress_copy: how many rows the COPY has taken in so far, seen from another session.
        with app.app_context(), db.engine.connect() as watcher:
            while not done.is_set():
                seen = watcher.execute(text("SELECT tuples_processed FROM pg_stat_progress_copy")).scalar()
                progress.append(seen or 0)
                watcher.commit()  # a transaction keeps seeing the activity it saw first
                time.sleep(PAUSE / 4)

    watcher = threading.Thread(target=watch_copy)
    watcher.start()
    with app.app_context():
        try:
            elapsed = timed(lambda: write_prediction_log_batch(payload, pacer=CopyPacer(PAUSE)))
        finally:
            done.set()
            watcher.join()
        assert stored_rows() == 300
    assert elapsed >= 10 * PAUSE
    partway = {seen for seen in progress if 0 < seen < 300}
    assert len(partway) >= 4, f"the COPY's progress seen: {sorted(set(progress))}"


def test_a_batch_stored_right_after_another_goes_in_at_full_speed(app):
    pacer, first_batch, second_batch = CopyPacer(PAUSE), batch_of(300), batch_of(300)
    with app.app_context():
        first = timed(lambda: write_prediction_log_batch(first_batch, pacer=pacer))
        second = timed(lambda: write_prediction_log_batch(second_batch, pacer=pacer))
        assert stored_rows() == 600
    assert first >= 10 * PAUSE
    assert second < 4 * PAUSE


def test_a_refused_batch_still_counts_as_the_end_of_the_workers_last_batch(app):
    pacer, refused, next_batch = CopyPacer(PAUSE), {**batch_of(3), "count": 5}, batch_of(300)
    with app.app_context():
        write_prediction_log_batch(refused, pacer=pacer)  # quarantined
        assert timed(lambda: write_prediction_log_batch(next_batch, pacer=pacer)) < 4 * PAUSE


def test_the_worker_paces_by_its_setting(tmp_path, postgres_url):
    worker_app = create_app(make_settings(tmp_path, DATABASE_URL=postgres_url, LOG_COPY_PAUSE_MS=2.5))
    try:
        assert process_pacer(worker_app).pause_seconds == 0.0025
        assert process_pacer(worker_app) is process_pacer(worker_app)  # it remembers the last batch
    finally:
        shutdown(worker_app)
