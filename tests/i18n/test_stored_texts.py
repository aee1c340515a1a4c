"""System texts are stored as message ids with parameters and shown in the reader's language
(issue 11): whoever acted (or the sweep) in one language, each reader sees their own."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import translation

from complaints.messages import names, render, source_text, stored
from complaints.models import Complaint, ComplaintEvent, Notification, NotificationList
from complaints.services import alerts, lifecycle, sla
from tests.factories import (
    CategoryFactory,
    DepartmentFactory,
    MembershipFactory,
    make_complaint,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def overdue(manager):
    department = DepartmentFactory(code="wuye", name="物业管理部", name_en="Property Management")
    MembershipFactory(department=department, user=manager, role="head")
    NotificationList.objects.get(code=NotificationList.MANAGERS).users.add(manager)
    complaint = make_complaint(user=manager, department=department, assignee=manager)
    later = complaint.received_at + timedelta(days=30)
    return complaint, later


def sweep(complaint, now, language):
    with translation.override(language), transaction.atomic():
        alerts.process([Complaint.objects.get(pk=complaint.pk)], sla.Context.load(), now=now)


@pytest.mark.parametrize(("acting", "reading"), [("zh-hans", "en"), ("en", "zh-hans")])
def test_inbox_titles_and_alert_notes_follow_the_reader(overdue, manager, acting, reading):
    complaint, later = overdue
    sweep(complaint, later, acting)
    entry = Notification.objects.filter(user=manager).order_by("pk").first()
    event = ComplaintEvent.objects.filter(complaint=complaint, kind="alert").first()
    with translation.override(reading):
        title, note = render(entry.title), render(event.data["message"])
    assert complaint.reference in title and title == note
    if reading == "en":
        assert title.startswith(("Reminder", "Escalation", "Second escalation"))
    else:
        assert title.startswith(("提醒", "升级", "二级升级")), title


def test_inbox_page_in_english_after_a_sweep_in_chinese(overdue, manager, login_client):
    complaint, later = overdue
    sweep(complaint, later, "zh-hans")
    client = login_client(manager)
    html = client.get(
        reverse("admin:complaints_notification_changelist"), headers={"accept-language": "en"}
    ).content.decode()
    assert "Escalation" in html or "Reminder" in html
    html = client.get(
        reverse("admin:complaints_notification_changelist"),
        headers={"accept-language": "zh-hans"},
    ).content.decode()
    assert "Escalation:" not in html and "Reminder:" not in html


def test_old_plain_text_rows_still_show():
    assert render("提醒：旧数据") == "提醒：旧数据"
    assert source_text("Old text") == "Old text"


def test_bilingual_names_as_parameters():
    category = CategoryFactory(code="leak", name="渗漏", name_en="Leaks")
    message = stored("Category %(c)s", c=names(category))
    with translation.override("en"):
        assert render(message) == "Category Leaks"
    with translation.override("zh-hans"):
        assert render(message) == "Category 渗漏"
    assert source_text(message) == "Category Leaks"


def test_field_changes_of_reference_data_follow_the_reader(manager):
    first = DepartmentFactory(code="a", name="甲部门", name_en="Dept A")
    second = DepartmentFactory(code="b", name="乙部门", name_en="Dept B")
    complaint = make_complaint(user=manager, department=first)
    with translation.override("zh-hans"):
        lifecycle.update_complaint(
            complaint.pk, user=manager, changes={"department": second}, expected_version=1
        )
    event = ComplaintEvent.objects.filter(complaint=complaint, kind="assignment").last()
    values = event.data["department"]
    with translation.override("en"):
        assert [render(v) for v in values] == ["Dept A", "Dept B"]
    with translation.override("zh-hans"):
        assert [render(v) for v in values] == ["甲部门", "乙部门"]
