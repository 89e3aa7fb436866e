"""`flask stats refresh|rebuild`: run the statistics jobs by hand."""

from __future__ import annotations

from ..stats.refresh import RefreshResult, rebuild_stats, refresh_stats
from .common import OpsGroup, emit, ops_command

stats_cli = OpsGroup("stats", help="Materialized per-version statistics.")


def _line(result: RefreshResult) -> str:
    if result.skipped:
        return "skipped: another refresh holds the lock"
    return f"folded {result.rows} rows into {result.versions} versions in {result.duration_ms:.1f} ms"


@stats_cli.command("refresh")
@ops_command
def refresh_command(as_json: bool) -> None:
    """Fold the prediction logs committed since the last refresh into model_stats."""
    result = refresh_stats()
    emit(result.as_dict(), as_json, lambda: [_line(result)])


@stats_cli.command("rebuild")
@ops_command
def rebuild_command(as_json: bool) -> None:
    """Recompute model_stats from every prediction log (reads the whole log)."""
    result = rebuild_stats()
    emit(result.as_dict(), as_json, lambda: [_line(result)])
