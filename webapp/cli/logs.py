"""`flask logs partitions|maintain`: the prediction log's day partitions and retention."""

from __future__ import annotations

from flask import current_app
from flask.cli import AppGroup

from ..logpipe.partitions import MaintenanceResult, Partition, list_partitions, maintain_partitions
from .common import emit, ops_command

logs_cli = AppGroup("logs", help="The prediction log's partitions and retention.")


def _partition_line(partition: Partition) -> str:
    day = partition.day.isoformat() if partition.day else "default"
    rows = "not analyzed yet" if partition.rows_estimate is None else f"~{partition.rows_estimate} rows"
    return f"{partition.name}  {day}  {rows}"


def _maintenance_lines(result: MaintenanceResult) -> list[str]:
    return [
        f"created {len(result.created)} partitions: {', '.join(result.created) or '-'}",
        f"moved {result.moved_from_default} rows out of the default partition",
        f"dropped {len(result.dropped)} partitions: {', '.join(result.dropped) or '-'}",
        f"deleted {result.deleted_rows} rows older than {result.retained_from}",
    ]


@logs_cli.command("partitions")
@ops_command
def partitions_command(as_json: bool) -> None:
    """List the log's partitions: name, day, estimated rows (Postgres; SQLite has none)."""
    partitions = list_partitions()
    payload = [
        {"name": p.name, "day": p.day and p.day.isoformat(), "rows_estimate": p.rows_estimate} for p in partitions
    ]
    emit(payload, as_json, lambda: [_partition_line(p) for p in partitions] or ["no partitions (plain table)"])


@logs_cli.command("maintain")
@ops_command
def maintain_command(as_json: bool) -> None:
    """Create the coming days' partitions and drop the days past LOG_RETENTION_DAYS (what beat runs hourly)."""
    settings = current_app.extensions["settings"]
    result = maintain_partitions(settings.log_partitions_ahead_days, settings.log_retention_days)
    emit(result.as_dict(), as_json, lambda: _maintenance_lines(result))
