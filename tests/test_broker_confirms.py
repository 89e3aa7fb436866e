"""On RabbitMQ a batch counts as shipped only once the broker confirms it has it."""

from __future__ import annotations

import pytest
from amqp.exceptions import MessageNacked
from celery import Celery
from kombu import Connection, Queue
from kombu.exceptions import OperationalError

import celeryconfig
from tests.apps import make_settings
from tests.records import log_record
from tests.support import new_vhost, purge_task_queue, rabbitmqctl, wait_for
from webapp.logpipe.publisher import BrokerUnavailable, CeleryPublisher
from webapp.logpipe.shipper import Shipper
from webapp.logpipe.spool import Spool
from webapp.logpipe.wire import encode_log_batch
from webapp.metrics.instruments import stream_counts

MODEL_ID = "00000000-0000-0000-0000-000000000001"


@pytest.fixture
def refusing_broker(broker_url: str, tmp_path) -> str:
    """A virtual host whose task queue is full and refuses new messages (over max-length, reject-publish).

    Without publisher confirms such a publish looks like a success and the batch is gone.
    """
    url = new_vhost(broker_url, "refusing")
    vhost = url.rsplit("/", 1)[1]
    purge_task_queue({"CELERY_BROKER_URL": url, "INSTANCE_DIR": str(tmp_path)})  # declares the queue
    policy = '{"max-length": 0, "overflow": "reject-publish"}'
    rabbitmqctl("set_policy", "-p", vhost, "full", "^celery$", policy, "--apply-to", "queues")

    # The queue takes the policy a moment after rabbitmqctl returns: probe until a publish is refused.
    probe = Connection(url, transport_options={"confirm_publish": True})

    def refused() -> bool:
        try:
            probe.Producer().publish({}, routing_key="celery", exchange="celery", confirm_timeout=5)
        except (OperationalError, MessageNacked):
            return True
        return False

    wait_for(refused, timeout=30, interval=0.2, what="the max-length policy to apply to the task queue")
    probe.release()  # the probe that got in stays: a quorum queue refuses only once it is over its limit
    return url


def publisher_for(url: str, tmp_path) -> CeleryPublisher:
    settings = make_settings(tmp_path, CELERY_BROKER_URL=url)
    celery = Celery("confirm-test")
    celery.conf.update(celeryconfig.celery_settings(settings))
    return CeleryPublisher(celery, settings.broker_timeout_seconds, settings.broker_confirm_timeout_seconds)


def test_a_batch_the_broker_refuses_is_not_counted_as_published(refusing_broker, tmp_path):
    with pytest.raises(BrokerUnavailable, match="MessageNacked"):  # the broker's NACK, not a dead connection
        publisher_for(refusing_broker, tmp_path).publish(encode_log_batch([log_record(MODEL_ID)]))


def test_a_refused_batch_waits_in_the_spool(refusing_broker, tmp_path):
    spool = Spool(tmp_path / "spool", max_records=100, stream="test-refused")
    shipper = Shipper(publisher_for(refusing_broker, tmp_path).publish, spool, encode_log_batch, stream="test-refused")
    before = stream_counts("test-refused")
    shipper.ship([log_record(MODEL_ID) for _ in range(3)])
    after = stream_counts("test-refused")
    assert after["published"] - before["published"] == 0
    assert after["spooled"] - before["spooled"] == spool.pending == 3


def test_a_confirmed_batch_is_in_the_queue(broker_url, tmp_path):
    url = new_vhost(broker_url, "confirmed")
    publisher_for(url, tmp_path).publish(encode_log_batch([log_record(MODEL_ID)]))
    assert purge_task_queue({"CELERY_BROKER_URL": url, "INSTANCE_DIR": str(tmp_path)}) == 1


def test_a_published_batch_shows_a_summary_not_its_rows_as_its_arguments(broker_url, tmp_path):
    url = new_vhost(broker_url, "summary")
    purge_task_queue({"CELERY_BROKER_URL": url, "INSTANCE_DIR": str(tmp_path)})  # declares the queue
    envelope = encode_log_batch([log_record(MODEL_ID) for _ in range(3)])
    publisher_for(url, tmp_path).publish(envelope)
    with Connection(url) as connection:
        queue = Queue("celery", no_declare=True)(connection.default_channel)
        message = queue.get(no_ack=True, accept=["msgpack"])
    assert message.headers["argsrepr"] == f"[batch {envelope['batch_id']}: 3 rows]"
    assert message.decode() == [[envelope], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]


def test_health_names_the_broker_kind_and_its_latency(client):
    broker = client.get("/health").get_json()["components"]["broker"]
    assert broker["status"] == "ok"
    assert broker["kind"] == "rabbitmq"
    assert "publisher confirms" in broker["guarantee"]
    assert 0 < broker["latency_ms"] < 1_000
