"""Alembic environment: migrations run against the Flask app's database."""

import logging
import re
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
# Keep the loggers the app already made: an in-process upgrade must not silence them.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

database = current_app.extensions["migrate"].db
config.set_main_option("sqlalchemy.url", database.engine.url.render_as_string(hide_password=False).replace("%", "%%"))

# Columns that exist only on one backend, declared in the migration rather than the models.
BACKEND_ONLY_COLUMNS = {("prediction_logs", "txid"), ("feedback", "txid")}
BACKEND_ONLY_INDEXES = {"ix_prediction_logs_txid", "ix_feedback_txid"}
# The prediction log's partitions are made and dropped at run time (webapp/logpipe/partitions.py).
LOG_PARTITION = re.compile(r"^prediction_logs_(p\d{8}|default)$")
# kombu's SQLAlchemy transport makes its own tables when the broker shares the app's database.
BROKER_TABLES = {"kombu_queue", "kombu_message"}


def include_object(obj, name, type_, reflected, compare_to):
    table = obj if type_ == "table" else getattr(obj, "table", None)
    if table is not None and (LOG_PARTITION.match(table.name) or table.name in BROKER_TABLES):
        return False
    if type_ == "column" and (obj.table.name, name) in BACKEND_ONLY_COLUMNS:
        return False
    return not (type_ == "index" and name in BACKEND_ONLY_INDEXES)


def run_migrations_offline():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=database.metadata,
        literal_binds=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    def skip_empty_autogenerate(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    with database.engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=database.metadata,
            include_object=include_object,
            process_revision_directives=skip_empty_autogenerate,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
