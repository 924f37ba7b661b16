"""The broker transport's repair (msp_portal/broker.py), on a real redis-server made to hang
(SIGSTOP): an acknowledgement that times out still frees the worker's slot. The same steps on
kombu's own transport show the fault it repairs."""

from __future__ import annotations

import contextlib

import pytest
import redis
from django.conf import settings
from kombu import Connection

from msp_portal.celery import app

from .faults.support import Redis


@pytest.fixture
def hung_broker(tmp_path):
    server = Redis(tmp_path)
    server.start()
    yield server
    server.resume()
    server.stop()


@contextlib.contextmanager
def delivered_then_ack_times_out(server: Redis, transport: str):
    """A message delivered to a channel with a prefetch of one (a worker's), then acknowledged
    while Redis hangs. Gives the channel once Redis answers again; closes it after."""
    connection = Connection(
        server.url,
        transport=transport,
        transport_options={"socket_timeout": 1, "socket_connect_timeout": 1},
    )
    try:
        channel = connection.channel()
        channel.basic_qos(0, 1, False)
        channel.queue_declare("jobs")
        channel.basic_publish(channel.prepare_message("job 1"), exchange="", routing_key="jobs")
        message = channel.basic_get("jobs", no_ack=False)
        assert message is not None and not channel.qos.can_consume()  # the one slot is taken
        server.pause()
        with pytest.raises(redis.exceptions.TimeoutError):
            message.ack()
        server.resume()
        yield channel
    finally:
        connection.release()


def test_an_ack_that_times_out_frees_the_slot(hung_broker):
    with delivered_then_ack_times_out(hung_broker, "msp_portal.broker:Transport") as channel:
        assert channel.qos.can_consume()  # the worker asks for its next message
        # A hung Redis, on waking, carries out the commands it was sent: the ack that timed
        # out took effect, so the message is neither lost nor delivered again.
        broker = redis.Redis.from_url(hung_broker.url)
        assert (broker.hlen("unacked"), broker.llen("jobs")) == (0, 0)


def test_kombus_own_transport_keeps_the_slot_taken_after_such_an_ack(hung_broker):
    """Why the repair exists. Should a kombu release free the slot itself, this fails, and
    msp_portal/broker.py can go."""
    with delivered_then_ack_times_out(hung_broker, "redis") as channel:
        assert not channel.qos.can_consume()


def test_the_workers_and_the_web_use_the_repaired_transport():
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    with app.connection_for_write() as connection:
        assert connection.transport_cls == "msp_portal.broker:Transport"
        assert type(connection.default_channel.qos).__module__ == "msp_portal.broker"
