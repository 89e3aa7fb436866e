"""`flask logs partitions|maintain|quarantine|requeue|purge-quarantine`: partitions, retention, quarantine."""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta

import click
from flask import current_app

from ..audit.trail import current_actor
from ..logpipe.partitions import MaintenanceResult, Partition, list_partitions
from ..logpipe.quarantine import quarantined_batches, requeue
from ..system.retention import maintain_logs, purge_quarantine
from .common import OpsGroup, emit, ops_command

log = logging.getLogger(__name__)

logs_cli = OpsGroup("logs", help="The prediction log's partitions and retention.")


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
        *(f"expired {count} {kind} rows older than {result.retained_from}" for kind, count in result.expired.items()),
    ]


@logs_cli.command("partitions")
@ops_command
def partitions_command(as_json: bool) -> None:
    """List the log's partitions: name, day, estimated rows."""
    partitions = list_partitions()
    payload = [
        {"name": p.name, "day": p.day and p.day.isoformat(), "rows_estimate": p.rows_estimate} for p in partitions
    ]
    emit(payload, as_json, lambda: [_partition_line(p) for p in partitions] or ["no partitions"])


@logs_cli.command("maintain")
@ops_command
def maintain_command(as_json: bool) -> None:
    """Create the coming days' partitions and drop the days past LOG_RETENTION_DAYS (what beat runs hourly)."""
    settings = current_app.extensions["settings"]
    result = maintain_logs(settings.log_partitions_ahead_days, settings.log_retention_days)
    emit(result.as_dict(), as_json, lambda: _maintenance_lines(result))


@logs_cli.command("quarantine")
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True)
@ops_command
def quarantine_command(limit: int, as_json: bool) -> None:
    """List the batches the database refused, oldest first, with the reason (their rows are kept)."""
    batches = quarantined_batches(limit)
    lines = [f"{b['id']}  {b['rows']} rows  {b['quarantined_at']}  {b['reason']}" for b in batches]
    emit(batches, as_json, lambda: lines or ["no quarantined batches"])


@logs_cli.command("requeue")
@click.argument("quarantine_id", type=click.IntRange(min=1))
@ops_command
def requeue_command(quarantine_id: int, as_json: bool) -> None:
    """Ingest a quarantined batch again, once what refused it is fixed; exit 1 if it is still refused."""
    result = requeue(quarantine_id)
    emit(asdict(result), as_json, lambda: [f"batch {quarantine_id}: {result.inserted} rows stored"])


@logs_cli.command("purge-quarantine")
@click.option(
    "--older-than",
    "older_than_days",
    type=click.IntRange(min=0),
    default=None,
    metavar="DAYS",
    help="Only batches quarantined more than DAYS days ago (default: every batch).",
)
@click.option("--kind", default=None, help="Only entries of this kind: prediction_logs, feedback, prediction_errors.")
@ops_command
def purge_quarantine_command(older_than_days: int | None, kind: str | None, as_json: bool) -> None:
    """Delete quarantined batches for good (their rows are not stored); prints how many batches and rows went."""
    older_than = None if older_than_days is None else timedelta(days=older_than_days)
    purged = purge_quarantine(older_than, kind)
    scope = f"kind={kind or 'any'} older_than_days={'any' if older_than_days is None else older_than_days}"
    log.warning(
        "purged %d quarantined batches (%d rows), %s, by %s", purged["batches"], purged["rows"], scope, current_actor()
    )
    payload = {**purged, "kind": kind, "older_than_days": older_than_days}
    emit(payload, as_json, lambda: [f"purged {purged['batches']} quarantined batches ({purged['rows']} rows)"])
