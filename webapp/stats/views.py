"""Statistics endpoints: read the materialized tables; queue a refresh on demand."""

from __future__ import annotations

from flask import current_app, request
from kombu.exceptions import KombuError
from pydantic import TypeAdapter
from redis.exceptions import RedisError

from ..errors import ServiceUnavailable
from ..http import json_response
from ..schemas import RefreshQueued, StatsEntry
from . import bp
from .performance import performance
from .queries import stats_entries

REFRESH_TASK = "stats.refresh"
_ENTRIES = TypeAdapter(list[StatsEntry])


@bp.get("/stats")
def list_stats():
    return json_response(stats_entries(request.args.get("model")), adapter=_ENTRIES)


@bp.post("/stats/refresh")
def queue_refresh():
    celery = current_app.extensions["celery"]
    try:
        result = celery.send_task(REFRESH_TASK, retry=False)
    except (KombuError, RedisError, OSError) as exc:
        raise ServiceUnavailable("the task broker is unavailable; the scheduled refresh will catch up") from exc
    return json_response(RefreshQueued(status="queued", task_id=result.id), status=202)


@bp.get("/performance")
def model_performance():
    return json_response(performance(request.args.get("model")))
