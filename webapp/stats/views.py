"""Statistics endpoints: read the materialized tables; queue a refresh on demand."""

from __future__ import annotations

from flask import current_app
from pydantic import TypeAdapter

from ..contract import endpoint
from ..errors import ServiceUnavailable
from ..http import json_response, parse_query
from ..logpipe.publisher import BROKER_ERRORS
from ..tasks import REFRESH_STATS_TASK
from . import bp
from .minutes import minute_series
from .performance import performance
from .queries import stats_entries
from .schemas import ModelFilter, Performance, RefreshQueued, StatsEntry, Timeseries, TimeseriesQuery
from .service import known_name

TAG = "statistics"
_ENTRIES = TypeAdapter(list[StatsEntry])


@bp.get("/stats")
@endpoint(
    "read", "Per-version statistics (materialized)", tag=TAG, query=ModelFilter, responses={200: list[StatsEntry]}
)
def list_stats():
    return json_response(stats_entries(known_name(parse_query(ModelFilter).model)), adapter=_ENTRIES)


@bp.get("/stats/timeseries")
@endpoint(
    "read",
    "Predictions per minute per version, from the materialized series",
    tag=TAG,
    query=TimeseriesQuery,
    responses={200: Timeseries},
)
def stats_timeseries():
    query = parse_query(TimeseriesQuery)
    return json_response(Timeseries.model_validate(minute_series(known_name(query.model), query.minutes)))


@bp.post("/stats/refresh")
@endpoint("admin", "Queue a statistics refresh now", tag=TAG, responses={202: RefreshQueued}, errors=(503,))
def queue_refresh():
    celery = current_app.extensions["celery"]
    try:
        result = celery.send_task(REFRESH_STATS_TASK, retry=False)
    except BROKER_ERRORS as exc:
        raise ServiceUnavailable("the task broker is unavailable; the scheduled refresh will catch up") from exc
    return json_response(RefreshQueued(status="queued", task_id=result.id), status=202)


@bp.get("/performance")
@endpoint("read", "Compare active versions and recommend one", tag=TAG, query=ModelFilter, responses={200: Performance})
def model_performance():
    return json_response(performance(known_name(parse_query(ModelFilter).model)))
