"""kombu's Redis transport, with one repair: a failed acknowledgement still frees its slot.

With late acknowledgement and a prefetch of one, a worker holds one delivered message at a time.
kombu's Redis QoS removes the message from the broker's `unacked` hash first and frees the
worker's slot after. When that Redis command fails (a broker that hangs for longer than
BROKER_SOCKET_TIMEOUT_SECONDS, then comes back), the slot is never freed. The worker logs the
failed ack and then never asks for another message: it stays up and idle, and every job after
that waits until someone restarts it. `make faults ARGS="-k broker_hangs"` shows it.

Here the slot is freed whatever Redis answered. A hung Redis carries out the ack when it wakes,
as it does every command it was sent (tests/test_broker.py). An ack lost with a dropped
connection leaves the message in `unacked`, and kombu gives it back to the queue after the
visibility timeout. Every task is idempotent, so running it again finds its job done and does
nothing.
"""

from __future__ import annotations

from kombu.transport import redis, virtual


class QoS(redis.QoS):
    """kombu's own ack and reject; only when their Redis command fails is the slot freed here,
    as kombu frees it after a success (virtual.QoS.ack), before the error goes on to Celery."""

    def ack(self, delivery_tag):
        try:
            super().ack(delivery_tag)
        except Exception:
            virtual.QoS.ack(self, delivery_tag)
            raise

    def reject(self, delivery_tag, requeue=False):
        try:
            super().reject(delivery_tag, requeue=requeue)
        except Exception:
            virtual.QoS.ack(self, delivery_tag)
            raise


class Channel(redis.Channel):
    QoS = QoS


class Transport(redis.Transport):
    Channel = Channel
