"""`flask replay` waits for the service to count what this replay sent, not what earlier ones did."""

from __future__ import annotations

from collections import Counter

from webapp.cli.replay_traffic import ReplayResult, _caught_up


def report(**arms: tuple[int, int]) -> dict:
    return {
        "arms": [
            {"model_version": version, "request_count": requests, "labelled_count": labelled}
            for version, (requests, labelled) in arms.items()
        ]
    }


def test_a_second_replay_waits_until_its_own_predictions_and_labels_are_counted():
    second = ReplayResult(served=Counter({"1.0.0": 100, "2.0.0": 100}))
    second.counted_before = {"1.0.0": (100, 100), "2.0.0": (100, 100)}
    # The service holds the first replay's 100 and only part of the second's.
    assert not _caught_up(report(**{"1.0.0": (150, 150), "2.0.0": (200, 200)}), second, feedback=True)
    assert not _caught_up(report(**{"1.0.0": (200, 150), "2.0.0": (200, 200)}), second, feedback=True)
    assert _caught_up(report(**{"1.0.0": (200, 150), "2.0.0": (200, 200)}), second, feedback=False)
    assert _caught_up(report(**{"1.0.0": (200, 200), "2.0.0": (200, 200)}), second, feedback=True)


def test_a_first_replay_counts_from_zero():
    first = ReplayResult(served=Counter({"1.0.0": 10}))
    assert not _caught_up(report(**{"1.0.0": (9, 9)}), first, feedback=True)
    assert _caught_up(report(**{"1.0.0": (10, 10)}), first, feedback=True)
