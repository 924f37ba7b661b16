"""The Redis cache, degrading to a miss while Redis is unreachable.

Redis is the broker and the cache at once. Without this, a Redis restart turned every logged-in
page into a 500 (the cached_db session writes the session back to the cache after reading it
from the database) and every API call too (the throttle history lives in the cache). With it,
pages and the API keep answering from PostgreSQL while Redis is away: sessions are read from
the database, an import's progress shows its row's true status, and uploads are kept and
queued for when the broker is back (see msp_portal.jobs).

The price, accepted knowingly: while Redis is down the rate limits kept in the cache (log-in,
API throttles) see no history, so they do not limit.
"""

from __future__ import annotations

import functools
import logging
import threading

import redis.exceptions
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

log = logging.getLogger(__name__)
UNREACHABLE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def _soft(method, fallback):
    """`method`, answering `fallback(*its arguments)` when Redis cannot be reached."""

    @functools.wraps(method)
    def soft(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except UNREACHABLE as error:
            log.warning("cache %s skipped, Redis unreachable: %s", method.__name__, error)
            return fallback(*args, **kwargs)

    return soft


class ReusedRedisCacheClient(RedisCacheClient):
    """Django's Redis cache client, keeping one redis.Redis per connection pool.

    Django builds a new redis.Redis for every cache call, and each one fills a table of about
    170 response callbacks: about 0.4 ms of CPU per call, three or four calls a page. A
    redis.Redis is safe to share between threads (each command borrows a pooled connection)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}
        self._clients_lock = threading.Lock()

    def get_client(self, key=None, *, write=False):
        # One draw of the server: with replicas, reads pick one at random, and the client and
        # its pool must be for the same one.
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            with self._clients_lock:
                client = self._clients.get(index)
                if client is None:
                    if index not in self._pools:
                        self._pools[index] = self._pool_class.from_url(
                            self._servers[index], **self._pool_options
                        )
                    client = self._client(connection_pool=self._pools[index])
                    self._clients[index] = client
        return client


class FailSoftRedisCache(RedisCache):
    """RedisCache whose reads miss and whose writes are dropped while Redis is unreachable."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedRedisCacheClient

    get = _soft(RedisCache.get, lambda key, default=None, *a, **k: default)
    get_many = _soft(RedisCache.get_many, lambda *a, **k: {})
    has_key = _soft(RedisCache.has_key, lambda *a, **k: False)
    set = _soft(RedisCache.set, lambda *a, **k: None)
    set_many = _soft(RedisCache.set_many, lambda data, *a, **k: list(data))
    add = _soft(RedisCache.add, lambda *a, **k: False)
    touch = _soft(RedisCache.touch, lambda *a, **k: False)
    delete = _soft(RedisCache.delete, lambda *a, **k: False)
    delete_many = _soft(RedisCache.delete_many, lambda *a, **k: None)
