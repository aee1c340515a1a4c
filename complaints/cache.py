"""Django's Redis cache with one redis-py client per connection pool instead of a new one per
command: building a client sets up ~170 response callbacks, which cost more CPU than the
command itself. Clients are thread-safe and share the pool, exactly as before.

`RedisCache.script(source)` runs a Lua script on the primary (EVALSHA, loaded on first use):
one round trip for a read-modify-write such as the API throttle's (complaints/api/auth.py).

`usable()` / `failed()`: one circuit per process for every feature that keeps something in
the shared cache (reference data token, throttle, saved views, rate limits, dashboard): after
a failure none of them asks the cache again for RETRY_AFTER seconds, so a dead or hanging
Redis costs a process one timeout per interval, not one per request and feature."""

import logging
import time

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

log = logging.getLogger(__name__)

RETRY_AFTER = 10.0  # seconds the shared cache is not asked again after an error
_down_until = 0.0


def usable() -> bool:
    """Whether the shared cache may be asked (no failure within RETRY_AFTER seconds)."""
    return time.monotonic() >= _down_until


def _outage(exc: BaseException) -> bool:
    """A connection that failed or timed out (not, say, one refused write or a bad value)."""
    from redis import exceptions

    return isinstance(
        exc, (OSError, exceptions.ConnectionError, exceptions.TimeoutError)
    )  # OSError covers the built-in ConnectionError and TimeoutError


def failed(exc: BaseException, what: str) -> None:
    """The shared cache failed for `what`. An outage (connection refused, lost or timed out)
    opens the circuit: every feature leaves the cache alone for a while. Any other error
    (a refused write, an out-of-memory answer, a vanished counter) only costs the call that
    met it its cached answer."""
    global _down_until
    if not _outage(exc):
        log.warning("%s: shared cache error, not using it this time (%r)", what, exc)
        return
    _down_until = time.monotonic() + RETRY_AFTER
    log.warning("%s: shared cache unavailable for %.0f s (%s)", what, RETRY_AFTER, exc)


def reset() -> None:
    """Close the circuit (tests, after an earlier test's broken cache)."""
    global _down_until
    _down_until = 0.0


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._scripts = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            if index not in self._pools:  # (as Django's _get_connection_pool, for this index)
                self._pools[index] = self._pool_class.from_url(
                    self._servers[index], **self._pool_options
                )
            client = self._clients[index] = self._client(connection_pool=self._pools[index])
        return client

    def script(self, source: str):
        script = self._scripts.get(source)
        if script is None:
            script = self._scripts[source] = self.get_client(write=True).register_script(source)
        return script


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def script(self, source: str):
        """A callable `(keys=[...], args=[...])` running the Lua `source` on the primary;
        keys are raw Redis keys (use make_key for this cache's prefix and version)."""
        return self._cache.script(source)
