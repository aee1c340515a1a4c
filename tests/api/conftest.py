"""Helpers for the REST API tests: API clients with keys, authenticated test clients."""

import uuid

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.test import APIClient

from complaints.api.auth import CallerRateThrottle
from complaints.models import SCOPES, ApiClient

ALL_SCOPES = sorted(SCOPES)


@pytest.fixture(autouse=True)
def _own_throttle_cache(monkeypatch):
    """Each test counts its requests from zero. With REDIS_URL the default cache is shared by
    the xdist workers, whose test databases hand out the same client ids."""
    cache = LocMemCache(f"api-throttle-{uuid.uuid4()}", {})  # same name = shared storage
    monkeypatch.setattr(CallerRateThrottle, "cache", cache)


@pytest.fixture
def make_api_client(db):
    """make_api_client(scopes=[...], department=None, name=None) -> (ApiClient, key)."""
    counter = iter(range(1, 1000))

    def make(scopes=("complaints:read",), *, department=None, name=None, active=True):
        client = ApiClient(
            name=name or f"system-{next(counter)}",
            owner="IT",
            scopes=sorted(scopes),
            department=department,
            active=active,
        )
        key = client.new_key()
        client.full_clean()
        client.save()
        return client, key

    return make


@pytest.fixture
def api():
    """api(key=None) -> a DRF test client sending `Authorization: Token <key>` (if given)."""

    def make(key=None):
        client = APIClient(headers={"accept-language": "en"})
        if key is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


@pytest.fixture
def reader(make_api_client, api):
    """A client with complaints:read only (no pii:read)."""
    _client, key = make_api_client(["complaints:read"])
    return api(key)


@pytest.fixture
def full_client(make_api_client):
    return make_api_client(ALL_SCOPES, name="all-scopes")


@pytest.fixture
def full(full_client, api):
    """A client with every scope."""
    return api(full_client[1])
