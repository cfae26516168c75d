"""The shared cache: Django's Redis backend, with one redis client per connection pool instead of one per call."""

from __future__ import annotations

from typing import Any, cast

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class PooledRedisCacheClient(RedisCacheClient):
    """Django's RedisCacheClient, keeping the `redis.Redis` it makes for each connection pool.

    Django builds a new `redis.Redis` around the pool for every operation: measured on the 2-core machine of
    docs/performance.md, 65 µs of CPU, as much as the round trip itself (62 µs), and a login or an activation
    makes half a dozen. A `redis.Redis` holds no connection of its own (it borrows one from the pool for each
    command) and is thread-safe, so one per pool serves every call. Django's cache handler already gives
    each thread its own backend, hence its own client and pools.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        django_client = cast(Any, self)  # its pools and client class are private attributes, untyped in the stubs
        pool = django_client._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = django_client._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    """`django.core.cache.backends.redis.RedisCache` with PooledRedisCacheClient: same options, same keys."""

    def __init__(self, server: Any, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = PooledRedisCacheClient
