"""Partitioned prediction log: one partition per UTC day plus a default one, and row CHECKs.

The unpartitioned table is renamed, a partitioned one is created in its place with the same
columns and id sequence, day partitions are made for every day that holds rows and for
yesterday through seven days ahead (so a fresh start works before beat first runs), the rows are
moved with their ids and txids, and the old table is dropped. Indexes are built after the move,
which is cheaper than maintaining them row by row.

Revision ID: 0005_partitioned_logs
Revises: 0004_batch_ledger
Create Date: 2026-11-23
"""

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0005_partitioned_logs"
down_revision = "0004_batch_ledger"
branch_labels = None
depends_on = None

# As they stood when this revision was written (webapp/models.py PREDICTION_LOG_CHECKS).
CHECKS = {
    "prediction": "prediction IN ('positive', 'negative', 'neutral')",
    "routing": "routing IN ('sticky', 'random', 'explicit', 'shadow')",
    "confidence": "confidence BETWEEN 0 AND 1",
    "polarity": "polarity BETWEEN -1 AND 1",
    "subjectivity": "subjectivity BETWEEN 0 AND 1",
    "latency_ms": "latency_ms >= 0",
    "bucket": "bucket BETWEEN 0 AND 99",
    "slot": "slot BETWEEN 0 AND 9999",
    "text": "length(text) BETWEEN 1 AND 5000",
    "model_version": "length(model_version) BETWEEN 1 AND 64",
    "user_id": "length(user_id) BETWEEN 1 AND 256",
    "config_version": "config_version >= 0",
}
SHADOW_ROWS = "shadow_of IS NOT NULL"
AHEAD_DAYS = 7
COLUMNS = (
    "id, prediction_id, model_id, model_version, user_id, text, prediction, confidence, polarity, subjectivity, "
    "latency_ms, latency_bucket, routing, bucket, created_at, txid, slot, shadow_of, config_version"
)
COLUMN_DEFINITIONS = """
    id bigint NOT NULL DEFAULT nextval('prediction_logs_id_seq'),
    prediction_id uuid NOT NULL,
    model_id uuid NOT NULL,
    model_version varchar(64) NOT NULL,
    user_id varchar(256),
    text text NOT NULL,
    prediction varchar(8) NOT NULL,
    confidence double precision NOT NULL,
    polarity double precision NOT NULL,
    subjectivity double precision NOT NULL,
    latency_ms double precision NOT NULL,
    latency_bucket smallint NOT NULL,
    routing varchar(8) NOT NULL,
    bucket smallint,
    created_at timestamptz NOT NULL,
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    slot smallint,
    shadow_of uuid,
    config_version bigint"""
SECONDARY_INDEXES = (
    "CREATE INDEX ix_prediction_logs_model_id_created_at ON {table} (model_id, created_at)",
    "CREATE INDEX ix_prediction_logs_txid ON {table} (txid)",
    "CREATE INDEX ix_prediction_logs_prediction_id ON {table} (prediction_id)",
    f"CREATE INDEX ix_prediction_logs_shadow_of ON {{table}} (shadow_of) WHERE {SHADOW_ROWS}",
)


def _checks_sql() -> str:
    return ",\n".join(f"    CONSTRAINT ck_prediction_logs_{name} CHECK ({rule})" for name, rule in CHECKS.items())


def upgrade():
    op.execute("LOCK TABLE prediction_logs IN ACCESS EXCLUSIVE MODE")
    op.execute("ALTER TABLE prediction_logs RENAME TO prediction_logs_unpartitioned")
    op.execute(
        "ALTER TABLE prediction_logs_unpartitioned DROP CONSTRAINT pk_prediction_logs, "
        "DROP CONSTRAINT uq_prediction_logs_prediction_id"
    )
    op.execute("DROP INDEX ix_prediction_logs_model_id_created_at, ix_prediction_logs_txid")
    # The sequence would go with the old table; detached, it keeps counting where it was.
    op.execute("ALTER SEQUENCE prediction_logs_id_seq OWNED BY NONE")
    op.execute(
        f"CREATE TABLE prediction_logs ({COLUMN_DEFINITIONS},\n{_checks_sql()}\n) PARTITION BY RANGE (created_at)"
    )
    op.execute("CREATE TABLE prediction_logs_default PARTITION OF prediction_logs DEFAULT")
    days = _days_with_rows("prediction_logs_unpartitioned")
    today = datetime.now(UTC).date()
    days |= {today + timedelta(days=offset) for offset in range(-1, AHEAD_DAYS + 1)}
    for day in sorted(days):
        _create_day_partition(day)
    op.execute(f"INSERT INTO prediction_logs ({COLUMNS}) SELECT {COLUMNS} FROM prediction_logs_unpartitioned")
    op.execute("DROP TABLE prediction_logs_unpartitioned")
    op.execute("ALTER SEQUENCE prediction_logs_id_seq OWNED BY prediction_logs.id")
    op.execute("ALTER TABLE prediction_logs ADD CONSTRAINT pk_prediction_logs PRIMARY KEY (id, created_at)")
    for statement in SECONDARY_INDEXES:
        op.execute(statement.format(table="prediction_logs"))
    op.execute("ANALYZE prediction_logs")


def _days_with_rows(table: str) -> set[date]:
    query = f"SELECT DISTINCT (created_at AT TIME ZONE 'UTC')::date FROM {table}"
    return {row[0] for row in op.get_bind().execute(sa.text(query))}


def _create_day_partition(day: date) -> None:
    start, end = day.isoformat(), (day + timedelta(days=1)).isoformat()
    op.execute(
        f"CREATE TABLE prediction_logs_p{day:%Y%m%d} PARTITION OF prediction_logs "
        f"FOR VALUES FROM ('{start} 00:00:00+00') TO ('{end} 00:00:00+00')"
    )


def downgrade():
    """Back to one plain table; a prediction_id stored twice keeps its first row (the old unique key)."""
    op.execute("LOCK TABLE prediction_logs IN ACCESS EXCLUSIVE MODE")
    op.execute("ALTER TABLE prediction_logs RENAME TO prediction_logs_partitioned")
    op.execute("ALTER TABLE prediction_logs_partitioned DROP CONSTRAINT pk_prediction_logs")
    op.execute(
        "DROP INDEX ix_prediction_logs_model_id_created_at, ix_prediction_logs_txid, "
        "ix_prediction_logs_prediction_id, ix_prediction_logs_shadow_of"
    )
    op.execute("ALTER SEQUENCE prediction_logs_id_seq OWNED BY NONE")
    op.execute(f"CREATE TABLE prediction_logs ({COLUMN_DEFINITIONS})")
    op.execute(
        f"INSERT INTO prediction_logs ({COLUMNS}) SELECT DISTINCT ON (prediction_id) {COLUMNS} "
        "FROM prediction_logs_partitioned ORDER BY prediction_id, id"
    )
    op.execute("DROP TABLE prediction_logs_partitioned")  # its partitions go with it
    op.execute("ALTER SEQUENCE prediction_logs_id_seq OWNED BY prediction_logs.id")
    op.execute("ALTER TABLE prediction_logs ADD CONSTRAINT pk_prediction_logs PRIMARY KEY (id)")
    op.execute("ALTER TABLE prediction_logs ADD CONSTRAINT uq_prediction_logs_prediction_id UNIQUE (prediction_id)")
    for statement in SECONDARY_INDEXES[:2]:
        op.execute(statement.format(table="prediction_logs"))
