import pytest
from django.db import connection

from tests.factories import DepartmentFactory, MembershipFactory, UserFactory

ALL_COMPLAINT_PERMS = [
    "complaints.view_complaint",
    "complaints.add_complaint",
    "complaints.change_complaint",
    "complaints.close_complaint",
    "complaints.reopen_complaint",
    "complaints.invalidate_complaint",
    "complaints.merge_complaint",
    "complaints.override_severity",
    "complaints.view_all_complaints",
    "complaints.view_department_complaints",
    "complaints.view_customer",
    "complaints.view_pii",
    "complaints.add_customer",
    "complaints.change_customer",
]


def pytest_collection_modifyitems(config, items):
    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _own_address_throttle(monkeypatch):
    """Unauthenticated API requests are counted per address (all tests are 127.0.0.1): each
    test counts from zero, in a cache of its own (with REDIS_URL the default cache is shared
    by the xdist workers)."""
    import uuid

    from django.core.cache.backends.locmem import LocMemCache

    from complaints.api.auth import AddressRateThrottle

    monkeypatch.setattr(AddressRateThrottle, "cache", LocMemCache(f"addr-{uuid.uuid4()}", {}))


@pytest.fixture(autouse=True)
def _fresh_reference_data():
    """Each test reads SLA policies, categories and calendars from its own database (the
    process's copies of an earlier test's data were rolled back with it)."""
    from complaints import cache as shared_cache
    from complaints.services import reference_cache

    reference_cache.clear()
    reference_cache._pending.connection = None
    shared_cache.reset()  # an earlier test's broken cache
    yield
    reference_cache.clear()


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _english():
    """Service messages and stored reasons in English unless a test asks for zh-Hans (the
    product's default language is zh-Hans; the catalog tests check that side)."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _celery_eager():
    """Unit tests run tasks in-process (tests/integration start a real worker instead). Set
    for every test, not once per session: a test that publishes for real (the broker-down
    tests) must not leave the tests after it publishing to a broker nobody consumes."""
    from kombu import pools

    from config.celery import app

    # Even an eager task takes a producer from the app's pool: a pool closed by an earlier
    # test (a worker cluster's shutdown, the broker-down tests) made later tests fail with
    # "Acquire on closed pool". Each test starts with fresh pools.
    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


@pytest.fixture
def single_emails(settings):
    """Every deadline alert emailed on its own (reminders go by digest by default)."""
    settings.REDRESS_ALERT_DIGEST = {"reminder": None, "escalation": None}


@pytest.fixture
def department(db):
    return DepartmentFactory(code="property", name="Property management")


@pytest.fixture
def manager(db):
    """A staff user with every complaint permission (a complaint manager)."""
    return UserFactory(username="manager", perms=ALL_COMPLAINT_PERMS)


@pytest.fixture
def handler(db, department):
    """A department member who may view, add and change complaints, nothing more."""
    user = UserFactory(
        username="handler",
        perms=[
            "complaints.view_complaint",
            "complaints.add_complaint",
            "complaints.change_complaint",
            "complaints.view_customer",
            "complaints.view_pii",
            "complaints.view_department_complaints",
        ],
    )
    MembershipFactory(department=department, user=user)
    return user


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


# -- admin test helpers (appended for the admin-level tests) ------------------------------


@pytest.fixture
def login_client(db):
    """login_client(user) -> a test Client logged in as `user`, pages in English."""
    from django.test import Client

    def make(user):
        # UserFactory only saves after set_password when perms are given; persist the hash
        # so the session's auth hash matches the stored user.
        user.save(update_fields=["password"])
        client = Client(headers={"accept-language": "en"})
        client.force_login(user)
        return client

    return make


@pytest.fixture
def manager_client(login_client, manager):
    return login_client(manager)


@pytest.fixture
def handler_client(login_client, handler):
    return login_client(handler)


# -- service-level test helpers (appended for the workflow / lifecycle tests) --------------


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    """Hashing with the production hasher costs ~0.3 s per user; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
