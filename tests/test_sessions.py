"""complaints/sessions.py: the session row read with a statement made once is what Django's
database SessionStore reads: the data of a live session, nothing for an expired, deleted,
unknown or invalid key; and a logged-in staff user is still recognised."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from complaints.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_the_project_uses_it():
    assert settings.SESSION_ENGINE == "complaints.sessions"


@pytest.fixture
def live():
    store = SessionStore()
    store["who"] = "王小明"
    store["n"] = 7
    store.create()
    store["who"] = "王小明"
    store.save()
    return store.session_key


def loaded(store_class, key):
    store = store_class(key)
    data = store.load()
    return data, store.session_key


def test_a_live_session_reads_as_djangos(live):
    ours = loaded(SessionStore, live)
    assert ours == loaded(DjangoStore, live)
    assert ours[0]["who"] == "王小明" and ours[1] == live
    session = SessionStore(live)._get_session_from_db()
    expected = Session.objects.get(session_key=live)
    assert (session.session_key, session.session_data, session.expire_date) == (
        expected.session_key,
        expected.session_data,
        expected.expire_date,
    )


@pytest.mark.parametrize("key", ["expired", "deleted", "unknown-key-123", "short", None])
def test_no_session_reads_as_djangos(live, key):
    if key == "expired":
        Session.objects.filter(session_key=live).update(
            expire_date=timezone.now() - timedelta(seconds=1)
        )
        key = live
    elif key == "deleted":
        Session.objects.filter(session_key=live).delete()
        key = live
    ours = loaded(SessionStore, key)
    assert ours == loaded(DjangoStore, key) == ({}, None)


def test_a_logged_in_staff_user_is_recognised(client, django_user_model):
    user = django_user_model.objects.create_superuser("staff", password="x")
    client.force_login(user)
    response = client.get("/api/v1/departments/")
    assert response.status_code == 200
    client.logout()
    assert client.get("/api/v1/departments/").status_code in (401, 403)
