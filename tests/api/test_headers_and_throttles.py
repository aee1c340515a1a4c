"""Response headers (no-store on API data, CSP on admin pages) and throttling of callers
without a valid key, counted per address."""

import pytest
from django.core.cache.backends.locmem import LocMemCache
from django.test import RequestFactory
from django.urls import reverse

from complaints.api.auth import AddressRateThrottle
from complaints.http import client_ip

pytestmark = pytest.mark.django_db
LIST = "/api/v1/complaints/"


def test_api_responses_with_personal_data_are_not_stored(full, manager):
    from tests.factories import make_complaint

    complaint = make_complaint(user=manager)
    for path in (LIST, f"{LIST}{complaint.reference}/", "/api/v1/departments/"):
        response = full.get(path)
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"], path
    export = full.get(f"{LIST}export/?format=csv")
    assert "no-store" in export["Cache-Control"]
    assert "no-store" in full.get("/api/v1/nothing/")["Cache-Control"]


def test_admin_pages_carry_a_content_security_policy(manager_client):
    response = manager_client.get(reverse("admin:complaints_complaint_changelist"))
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    script = next(part for part in policy.split(";") if "script-src" in part)
    assert "'unsafe-inline'" not in script  # injected <script> and on* handlers never run
    assert "frame-ancestors 'none'" in policy
    login = manager_client.get(reverse("admin:login"))
    assert "Content-Security-Policy" in login


@pytest.fixture
def address_cache(monkeypatch):
    cache = LocMemCache("test-address-throttle", {})
    cache.clear()
    monkeypatch.setattr(AddressRateThrottle, "cache", cache)
    monkeypatch.setattr(AddressRateThrottle, "rate", "3/min", raising=False)
    yield cache
    cache.clear()


@pytest.mark.parametrize("key", [None, "rdx_wrongwrongwrong", "garbage"])
def test_callers_without_a_valid_key_are_throttled_per_address(api, address_cache, key):
    client = api(key)
    statuses = [client.get(LIST).status_code for _ in range(4)]
    assert statuses[:3] == [401] * 3 or statuses[:3] == [403] * 3
    assert statuses[3] == 429
    throttled = client.get(LIST)
    assert throttled["Content-Type"].startswith("application/json")
    # Another address is not affected.
    assert client.get(LIST, REMOTE_ADDR="10.9.9.9").status_code in (401, 403)


def test_valid_keys_are_not_counted_against_the_address(full, api, address_cache):
    for _ in range(5):
        assert full.get(LIST).status_code == 200


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1, 2.2.2.2", "9.9.9.9"),  # no proxy: the header is the client's word
        (1, "1.1.1.1, 2.2.2.2", "2.2.2.2"),  # the proxy appended what it saw
        (2, "1.1.1.1, 2.2.2.2", "1.1.1.1"),
        (3, "1.1.1.1, 2.2.2.2", "9.9.9.9"),  # fewer entries than proxies: not trusted
        (1, "", "9.9.9.9"),
    ],
)
def test_client_address_trusts_only_the_configured_proxies(settings, proxies, forwarded, expected):
    settings.REDRESS_TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/", REMOTE_ADDR="9.9.9.9", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
