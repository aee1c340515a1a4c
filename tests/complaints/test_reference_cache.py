"""Intake reuses SLA policies, the category tree and calendars (services/reference_cache.py)
until they change: a changed policy is used by the very next intake, in this process and in
others (the version token), and Redis being down never stops an intake."""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import transaction

from complaints import cache as shared_cache
from complaints.models import Severity, SLAPolicy
from complaints.services import reference_cache, sla
from tests.factories import CategoryFactory, CustomerFactory, make_complaint

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=SH)  # a Tuesday, working hours


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def general() -> SLAPolicy:
    return SLAPolicy.objects.get(severity=Severity.GENERAL, category=None, customer_tier="")


def intake():
    return make_complaint(customer=CustomerFactory(), received_at=NOW)


def test_a_warm_intake_reads_no_policy_category_or_calendar(django_assert_max_num_queries):
    intake()  # loads the copy
    with django_assert_max_num_queries(20) as queries:
        intake()
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    for table in ("complaints_slapolicy", "complaints_category", "complaints_businesscalendar"):
        assert table not in tables


def test_a_changed_policy_is_used_by_the_next_intake():
    before = intake()
    policy = general()
    policy.ack_unit, policy.ack_amount = "hours", 1
    policy.save()
    after = intake()
    assert after.ack_due_at - after.received_at == timedelta(hours=1)
    assert after.ack_due_at != before.ack_due_at


def test_a_new_category_policy_is_used_by_the_next_intake():
    water = CategoryFactory(code="water")
    intake()
    SLAPolicy.objects.create(
        name="Water: fast",
        severity=Severity.GENERAL,
        category=water,
        ack_amount=2,
        ack_unit="hours",
        response_amount=3,
        response_unit="hours",
        resolve_amount=4,
        resolve_unit="hours",
    )
    complaint = make_complaint(customer=CustomerFactory(), received_at=NOW, category=water)
    assert complaint.sla_policy.name == "Water: fast"
    assert complaint.resolve_due_at == NOW + timedelta(hours=4)


def test_a_change_committed_by_another_process_is_seen_through_the_token():
    """Another process changed the policy (no signal here) and replaced the token."""
    intake()
    SLAPolicy.objects.filter(pk=general().pk).update(ack_unit="hours", ack_amount=2)
    assert intake().ack_due_at != NOW + timedelta(hours=2)  # no news yet: this process's copy
    # A new value (the cache outlives tests: a fixed one may be the token already).
    cache.set(reference_cache.VERSION_KEY, f"changed-elsewhere-{uuid.uuid4()}", timeout=None)
    assert intake().ack_due_at == NOW + timedelta(hours=2)


def test_a_copy_is_not_used_beyond_its_age(monkeypatch):
    intake()
    SLAPolicy.objects.filter(pk=general().pk).update(ack_unit="hours", ack_amount=2)
    monkeypatch.setattr(reference_cache, "MAX_AGE", 0.0)
    assert intake().ack_due_at == NOW + timedelta(hours=2)


def test_an_uncommitted_change_is_not_kept_for_other_requests():
    intake()
    with transaction.atomic():
        policy = general()
        policy.ack_unit, policy.ack_amount = "hours", 3
        policy.save()
        inside = intake()
        transaction.set_rollback(True)
    assert inside.ack_due_at == NOW + timedelta(hours=3)  # its own change, read from the database
    assert not reference_cache._copies  # nothing kept from a transaction that may roll back


def test_redis_down_never_stops_an_intake(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(cache, "get", broken)
    monkeypatch.setattr(cache, "add", broken)
    shared_cache.reset()
    first = intake()
    policy = general()
    policy.ack_unit, policy.ack_amount = "hours", 1
    policy.save()
    second = intake()
    assert first.ack_due_at and second.ack_due_at == NOW + timedelta(hours=1)
    assert not shared_cache.usable()  # not asked again for a while


def test_the_context_is_shared_while_unchanged():
    assert sla.Context.current() is sla.Context.current()
    CategoryFactory(code="new-branch")
    assert sla.Context.current() is not sla.Context.current()  # pending change: database


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_committed_change_replaces_the_token():
    sla.Context.current()
    token = cache.get(reference_cache.VERSION_KEY)
    policy = general()
    policy.ack_amount += 1
    policy.save()  # autocommit: published at once
    assert cache.get(reference_cache.VERSION_KEY) not in (None, token)
    assert sla.Context.current() is sla.Context.current()
    assert sla.Context.current().policies.by_id[policy.pk].ack_amount == policy.ack_amount


def test_api_keys_are_not_kept_per_process_without_a_shared_cache(settings, monkeypatch):
    """Without Redis the cache is the process's own: another process could not learn that a
    key was deactivated or reissued, so each request reads its key's row."""
    from complaints.api import auth

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert not reference_cache.shared()

    def kept(*_args, **_kwargs):
        raise AssertionError("API clients kept per process")

    monkeypatch.setattr(reference_cache, "get", kept)
    assert auth._client_by_prefix("rk_nothing") is None


def test_a_request_reads_the_token_once(monkeypatch):
    """Within a request (the API's key check, then the intake's SLA data) the token read at
    first use is kept; the next request, and any change, reads it again."""
    from django.core.signals import request_finished, request_started

    reference_cache._token()  # the token exists (its first use also writes it)
    reads = []
    real_get = cache.get

    def counted_get(key, *args, **kwargs):
        if key == reference_cache.VERSION_KEY:
            reads.append(key)
        return real_get(key, *args, **kwargs)

    monkeypatch.setattr(cache, "get", counted_get)
    # Connected to the request boundaries (sent here directly: the signals would also
    # close the test's database connection).
    assert "reference-cache-request-started" in str(request_started.receivers)
    assert "reference-cache-request-finished" in str(request_finished.receivers)
    started, finished = reference_cache._request_started, reference_cache._request_finished
    started()
    try:
        sla.Context.current()
        sla.Context.current()
        reference_cache.get("other", lambda: 1)
        assert len(reads) == 1
        # A change in this request: the copies are dropped and the new token read after it.
        reference_cache.changed()
        reference_cache._publish()
        reference_cache._pending.connection = None
        sla.Context.current()
        assert len(reads) == 2
    finally:
        finished()
    started()
    try:
        cache.set(reference_cache.VERSION_KEY, f"elsewhere-{uuid.uuid4()}", timeout=None)
        sla.Context.current()  # the next request sees another process's change
        assert len(reads) == 3
    finally:
        finished()
    sla.Context.current()
    sla.Context.current()  # outside a request (tasks, commands): every use reads it
    assert len(reads) == 5
