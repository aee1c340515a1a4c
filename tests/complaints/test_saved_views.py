"""Saved personal views of the complaint list and the built-in ones (issue 11)."""

import pytest
from django.urls import reverse

from complaints.models import SavedListView
from tests.factories import UserFactory, make_complaint

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:complaints_complaint_changelist")
SAVE = reverse("admin:complaints_complaint_view_save")


def delete_url(view):
    return reverse("admin:complaints_complaint_view_delete", args=[view.pk])


def tabs(response) -> dict[str, dict]:
    return {tab["name"]: tab for tab in response.context["list_views"]}


def test_built_in_views_for_everyone(handler_client):
    response = handler_client.get(CHANGELIST)
    html = response.content.decode()
    assert 'id="list-views"' in html
    views = tabs(response)
    assert views["My open"]["url"] == CHANGELIST + "?mine=assigned"
    assert views["My department overdue"]["url"] == (
        CHANGELIST + "?deadline=overdue&mine=departments"
    )
    active = tabs(handler_client.get(CHANGELIST + "?mine=departments&deadline=overdue&p=2"))
    assert active["My department overdue"]["active"] and not active["My open"]["active"]


def test_save_reopen_and_delete_a_view(handler, handler_client, department):
    query = "status__exact=new&q=leak&o=-2&p=3"
    response = handler_client.post(SAVE, {"name": "New leaks", "query": query}, follow=True)
    view = SavedListView.objects.get(user=handler)
    assert view.query == "o=-2&q=leak&status__exact=new"  # without the page, stable order
    tab = tabs(response)["New leaks"]
    assert tab["url"] == CHANGELIST + "?" + view.query and tab["active"]

    # Saving under the same name updates it.
    handler_client.post(SAVE, {"name": "New leaks", "query": "status__exact=closed"})
    assert SavedListView.objects.get(user=handler).query == "status__exact=closed"

    response = handler_client.post(delete_url(view), follow=True)
    assert not SavedListView.objects.exists()
    assert "New leaks" not in tabs(response)


def test_others_cannot_see_or_delete_my_views(handler, login_client):
    view = SavedListView.objects.create(user=handler, name="Mine only", query="q=x")
    other = UserFactory(username="other", perms=["complaints.view_complaint"])
    client = login_client(other)
    response = client.get(CHANGELIST)
    assert "Mine only" not in tabs(response)
    assert "Mine only" not in response.content.decode()
    assert client.post(delete_url(view)).status_code == 404
    assert SavedListView.objects.filter(pk=view.pk).exists()


def test_saving_needs_post_and_a_name(handler_client):
    assert handler_client.get(SAVE).status_code == 405
    handler_client.post(SAVE, {"name": "  ", "query": "q=x"})
    assert not SavedListView.objects.exists()


def test_my_open_view_lists_my_open_complaints(handler, handler_client, department):
    mine = make_complaint(user=handler, department=department, assignee=handler)
    make_complaint(user=handler, department=department)
    shown = handler_client.get(tabs(handler_client.get(CHANGELIST))["My open"]["url"])
    assert list(shown.context["cl"].queryset) == [mine]


def test_a_view_too_long_once_encoded_is_refused_not_a_server_error(handler, handler_client):
    # 600 Chinese characters pass the form's 2,000 but percent-encode to 5,400.
    query = "q=" + "漏水" * 300
    response = handler_client.post(SAVE, {"name": "Long", "query": query}, follow=True)
    assert response.status_code == 200
    assert "too long to save" in response.content.decode()
    assert not SavedListView.objects.filter(user=handler).exists()
