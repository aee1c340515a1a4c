"""Django's Redis cache with one redis-py client per connection pool instead of a new one per
command: building a client sets up ~170 response callbacks, which cost more CPU than the
command itself. Clients are thread-safe and share the pool, exactly as before.

`RedisCache.script(source)` runs a Lua script on the primary (EVALSHA, loaded on first use):
one round trip for a read-modify-write such as the API throttle's (complaints/api/auth.py)."""

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


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
