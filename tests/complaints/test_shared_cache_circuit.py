"""One circuit per process for everything kept in the shared cache (complaints/cache.py): a
failing Redis is asked once per interval, not once per request and feature, and every
feature keeps working from the database or a local counter meanwhile."""

import time
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import transaction
from django.test import RequestFactory

from complaints import cache as shared_cache
from complaints.models import SavedListView
from complaints.services import reference_cache, saved_views
from followups import ratelimit
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_cache(monkeypatch):
    # As outside a transaction (saved views read the database, not the cache, inside one).
    outside = SimpleNamespace(in_atomic_block=False)
    monkeypatch.setattr(
        saved_views,
        "transaction",
        SimpleNamespace(get_connection=lambda: outside, on_commit=transaction.on_commit),
    )
    calls = []

    def broken(*args, **kwargs):
        calls.append(args[:1])
        raise ConnectionError("Redis is down")

    for name in ("get", "set", "add", "incr", "delete"):
        monkeypatch.setattr(cache, name, broken)
    return calls


def test_a_failure_keeps_every_feature_away_from_the_cache_for_a_while(broken_cache):
    user = UserFactory()
    SavedListView.objects.create(user=user, name="Mine", query="status=new")
    broken_cache.clear()  # the save's own copy drop (always tried)
    shared_cache.reset()
    request = RequestFactory().get("/survey/", REMOTE_ADDR="203.0.113.9")

    assert saved_views.user_views(user)[0][1] == "Mine"  # from the database
    assert len(broken_cache) == 1 and not shared_cache.usable()
    left = shared_cache._down_until - time.monotonic()
    assert shared_cache.RETRY_AFTER - 5 < left <= shared_cache.RETRY_AFTER
    # The reference data token, the survey rate limit and the saved views again: none asks
    # the cache while the circuit is open.
    assert reference_cache._token() is None
    assert ratelimit.allow(request, scope="circuit-test", limit=5)
    assert saved_views.user_views(user)[0][1] == "Mine"
    assert len(broken_cache) == 1

    shared_cache._down_until = time.monotonic() - 0.001  # the interval is over
    assert shared_cache.usable()
    assert saved_views.user_views(user)[0][1] == "Mine"
    assert len(broken_cache) == 2  # asked again


def test_a_copy_drop_is_tried_even_while_the_circuit_is_open(broken_cache):
    user = UserFactory()
    shared_cache.failed(ConnectionError("down"), "test")
    broken_cache.clear()
    SavedListView.objects.create(user=user, name="Mine", query="status=new")
    # A copy cached before the outage must not outlive it: the drop is still attempted.
    assert broken_cache
    assert all(call == (saved_views._cache_key(user.pk),) for call in broken_cache)


def test_the_rate_limit_counts_per_process_while_the_circuit_is_open(broken_cache):
    request = RequestFactory().get("/survey/", REMOTE_ADDR="203.0.113.10")
    results = [ratelimit.allow(request, scope="circuit-local", limit=2) for _ in range(3)]
    assert results == [True, True, False]
    assert len(broken_cache) == 1


def test_an_error_that_is_not_an_outage_leaves_the_circuit_closed(monkeypatch):
    """A refused write (Redis out of memory, read-only after a failover) costs that call its
    cached answer only: the throttle and reference data keep using Redis."""
    from redis.exceptions import ResponseError

    user = UserFactory()
    outside = SimpleNamespace(in_atomic_block=False)
    monkeypatch.setattr(
        saved_views,
        "transaction",
        SimpleNamespace(get_connection=lambda: outside, on_commit=transaction.on_commit),
    )

    def refused(*args, **kwargs):
        raise ResponseError("OOM command not allowed when used memory > 'maxmemory'")

    monkeypatch.setattr(cache, "set", refused)
    assert saved_views.user_views(user) == []
    assert shared_cache.usable()
    shared_cache.failed(TimeoutError("timed out"), "test")
    assert not shared_cache.usable()
