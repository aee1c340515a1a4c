"""The API throttle in Redis (production's cache): one script call per request, the same
sliding window and Retry-After as DRF's list of request times, and a local count when Redis
dies. A redis-server of the test's own (tests/complaints/test_redis_down.py), never the
shared one."""

from datetime import timedelta

import pytest
import redis
from django.core.cache import cache as default_cache
from django.utils import timezone

from complaints import cache as shared_cache
from complaints.api.auth import CallerRateThrottle
from tests.complaints.test_redis_down import own_redis  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db

LIST = "/api/v1/complaints/"


@pytest.fixture
def low_rate(monkeypatch):
    monkeypatch.setattr(CallerRateThrottle, "THROTTLE_RATES", {"caller": "3/min"})


@pytest.fixture
def in_redis(own_redis, monkeypatch):  # noqa: F811
    """The throttle counts in the default cache (the test's Redis), as in production (the
    API tests' conftest gives it an in-memory cache)."""
    monkeypatch.setattr(CallerRateThrottle, "cache", default_cache)
    return own_redis


@pytest.fixture
def redis_commands(monkeypatch):
    """Every command sent to Redis: [(name, first key or argument)]."""
    sent = []
    original = redis.Redis.execute_command

    def execute_command(self, *args, **options):
        sent.append((str(args[0]).upper(), args[1:]))
        return original(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", execute_command)
    return sent


def _throttle_commands(sent):
    return [name for name, args in sent if any("throttle" in str(a) for a in args)]


def test_the_limit_holds_in_redis_with_one_call_per_request(
    in_redis, low_rate, make_api_client, api, redis_commands
):
    _a, key_a = make_api_client(["complaints:read"])
    _b, key_b = make_api_client(["complaints:read"])
    a, b = api(key_a), api(key_b)
    assert [a.get(LIST).status_code for _ in range(3)] == [200, 200, 200]
    redis_commands.clear()
    response = a.get(LIST)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    # One script call (EVALSHA), no GET and SET of a pickled list.
    assert _throttle_commands(redis_commands) == ["EVALSHA"]
    assert b.get(LIST).status_code == 200  # another client has its own budget

    client = default_cache._cache.get_client()
    keys = client.keys("*throttle*")
    assert keys
    assert {client.type(k) for k in keys} == {b"zset"}
    assert 0 < client.pttl(keys[0]) <= 60_000


@pytest.mark.parametrize("where", ["redis", "memory"])
def test_the_window_and_retry_after_are_drf_s(where, request, low_rate, make_api_client, api):
    """Same answers in Redis and in DRF's list (the local fallback and other caches)."""
    import time_machine

    if where == "redis":
        request.getfixturevalue("in_redis")
    _client, key = make_api_client(["complaints:read"])
    client = api(key)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        assert [client.get(LIST).status_code for _ in range(3)] == [200] * 3
        clock.shift(timedelta(seconds=10))
        refused = client.get(LIST)
        assert refused.status_code == 429
        assert refused["Retry-After"] == "50"  # until the oldest request leaves the window
        clock.shift(timedelta(seconds=50))  # exactly a minute after the first three
        assert client.get(LIST).status_code == 200
        assert client.get(LIST).status_code == 200
        assert client.get(LIST).status_code == 200
        assert client.get(LIST).status_code == 429


def test_with_redis_gone_the_limit_holds_per_process(in_redis, low_rate, make_api_client, api):
    _client, key = make_api_client(["complaints:read"])
    client = api(key)
    assert client.get(LIST).status_code == 200  # counted in Redis

    in_redis()  # Redis is gone: counted in this process from now on

    assert [client.get(LIST).status_code for _ in range(4)] == [200, 200, 200, 429]


def test_a_rate_of_zero_refuses_without_tripping_the_circuit(
    in_redis, monkeypatch, make_api_client, api
):
    """A rate of "0/min" shuts a caller out: refused with a Retry-After, and Redis stays in
    use for the other throttles (the circuit is not opened by an empty window)."""

    monkeypatch.setattr(CallerRateThrottle, "THROTTLE_RATES", {"caller": "0/min"})
    shared_cache.reset()
    _client, key = make_api_client(["complaints:read"])
    response = api(key).get(LIST)
    assert response.status_code == 429
    assert int(response["Retry-After"]) == 60
    assert shared_cache.usable()
