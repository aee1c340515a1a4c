"""Empty escalation lists are reported (defect 11): `manage.py check` W003 and the admin."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from complaints.models import NotificationList
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def check_output() -> str:
    out, err = StringIO(), StringIO()
    call_command("check", stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def test_check_warns_about_empty_builtin_lists():
    output = check_output()
    assert "complaints.W003" in output
    assert "crisis notices reach no one" in output
    assert "level-2 escalations reach no one" in output


def test_check_is_quiet_once_the_lists_reach_someone():
    NotificationList.objects.get(code="crisis").users.add(UserFactory(username="c"))
    NotificationList.objects.filter(code="managers").update(extra_emails="boss@example.com\n")
    assert "complaints.W003" not in check_output()


def test_inactive_staff_do_not_count():
    NotificationList.objects.get(code="crisis").users.add(
        UserFactory(username="gone", is_active=False)
    )
    assert "crisis notices reach no one" in check_output()


def test_admin_warns_on_the_lists_and_alerts_pages(login_client, superuser):
    client = login_client(superuser)
    for url in (
        reverse("admin:complaints_notificationlist_changelist"),
        reverse("admin:complaints_deadlinealert_changelist"),
    ):
        html = client.get(url).content.decode()
        assert "crisis notices reach no one" in html, url
