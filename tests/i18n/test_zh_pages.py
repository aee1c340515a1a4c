"""The main admin pages in zh-Hans show no English (issue 11): any English word left in the
visible text of the main pages fails, with demo-like data present (bilingual reference data,
system texts written by services running in English)."""

import re
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from django.urls import reverse

from complaints.models import BusinessCalendar, Complaint, Notification, NotificationList
from complaints.services import alerts, lifecycle, sla
from complaints.services import compensation as comp
from complaints.services.categories import rebuild_paths
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    DepartmentFactory,
    MembershipFactory,
    UserFactory,
    make_complaint,
)

pytestmark = pytest.mark.django_db

# Words that are not English text: product and unit names, codes, formats.
ALLOWED = {
    "Redress",
    "SLA",
    "API",
    "CSV",
    "XLSX",
    "PDF",
    "Ctrl",
    "esc",
    "SHA",
    "ID",
    "English",
    "hans",
    "CRM",  # acronyms Chinese staff use as they are
    "VIP",
    "CSAT",
    "manage",  # manage.py load_holidays: a command to type
    "Asia",  # time zone names (Asia/Shanghai)
    "Shanghai",
}
WORD = re.compile(r"[A-Za-z][A-Za-z'’]{2,}")


class VisibleText(HTMLParser):
    SKIP = {"script", "style", "template", "noscript", "svg"}

    def __init__(self):
        super().__init__()
        self.depth, self.parts, self.stack = 0, [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # Material icons are ligature names ("report", "close"), not text.
        if tag in self.SKIP or "material-symbols" in (attrs.get("class") or ""):
            self.stack.append(tag)
            self.depth += 1
            return
        if self.depth and tag == self.stack[-1]:
            self.stack.append(tag)
            self.depth += 1
            return
        for name in ("placeholder", "title", "aria-label"):
            if attrs.get(name) and not self.depth:
                self.parts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if self.depth and tag == self.stack[-1]:
            self.stack.pop()
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.parts.append(data)


def english_words(html: str, data: set[str]) -> set[str]:
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(parser.parts)
    # Material icon ligatures are names, not text (e.g. "chevron_right").
    text = re.sub(r"\b[a-z]+(?:_[a-z]+)+\b", " ", text)
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    return {w for w in WORD.findall(text) if w not in ALLOWED}


@pytest.fixture
def zh_world(login_client):
    head, complaint, data = build_world()
    client = login_client(head)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    return client, complaint, data


def build_world():
    """Demo-like data: bilingual reference data, a complaint whose severity reason, deadline
    notes and alerts were written by services running in English (stored as messages), a
    customer and a compensation proposal."""
    department = DepartmentFactory(code="wuye", name="物业管理部", name_en="Property Management")
    category = CategoryFactory(
        code="leak", name="渗漏与防水", name_en="Leaks", default_department=department
    )
    rebuild_paths()
    head = UserFactory(username="laoli", first_name="李", last_name="明")
    head.groups.add(Group.objects.get(name="Complaint manager · 投诉经理"))
    MembershipFactory(department=department, user=head, role="head")
    NotificationList.objects.get(code=NotificationList.MANAGERS).users.add(head)
    customer = CustomerFactory(name="江德", phone="+8613912345678")
    complaint = make_complaint(
        user=head,
        customer=customer,
        department=department,
        category=category,
        subject="卫生间天花板漏水",
        description="从周一开始漏水。",
        households_affected=4,
        assignee=head,
    )
    complaint = lifecycle.transition(complaint.pk, "acknowledged", user=head)
    lifecycle.add_note(complaint.pk, user=head, text="已联系维修师傅")
    comp.propose(complaint.pk, user=head, kind="cash", amount="300", description="赔偿维修费用")
    # The deadline sweep, long after every deadline: reminders, escalations, inbox entries.
    complaint.refresh_from_db()
    later = complaint.received_at + timedelta(days=30)
    with transaction.atomic():
        alerts.process([Complaint.objects.get(pk=complaint.pk)], sla.Context.load(), now=later)
    assert Notification.objects.filter(user=head).exists()
    codes = {"wuye", "leak", "crisis", "managers", "cn"}  # identifiers staff type, not text
    data = {complaint.reference, "laoli", head.email or "@", "+8613912345678", "CNY", *codes}
    return head, complaint, data


PAGES = {
    "list": lambda c: reverse("admin:complaints_complaint_changelist"),
    "change": lambda c: reverse("admin:complaints_complaint_change", args=[c.pk]),
    "add": lambda c: reverse("admin:complaints_complaint_add"),
    "inbox": lambda c: reverse("admin:complaints_notification_changelist"),
    "reminders": lambda c: reverse("admin:complaints_deadlinealert_changelist"),
    "policies": lambda c: reverse("admin:complaints_slapolicy_changelist"),
    "calendars": lambda c: reverse("admin:complaints_businesscalendar_changelist"),
    "calendar": lambda c: reverse(
        "admin:complaints_businesscalendar_change", args=[BusinessCalendar.objects.get().pk]
    ),
    "lists": lambda c: reverse("admin:complaints_notificationlist_changelist"),
    "departments": lambda c: reverse("admin:complaints_department_changelist"),
    "categories": lambda c: reverse("admin:complaints_category_changelist"),
    "dashboard": lambda c: reverse("reporting:dashboard"),
    "customers": lambda c: reverse("admin:complaints_customer_changelist"),
    "customer": lambda c: reverse("admin:complaints_customer_change", args=[c.customer_id]),
    "compensations": lambda c: reverse("admin:complaints_compensation_changelist"),
}


@pytest.mark.parametrize("page", PAGES)
def test_main_pages_in_zh_hans_have_no_english(zh_world, page):
    client, complaint, data = zh_world
    response = client.get(PAGES[page](complaint))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'lang="zh-hans"' in html
    words = sorted(english_words(html, data))
    assert not words, " ".join(words)


def test_filter_titles_read_naturally(zh_world):
    client, complaint, data = zh_world
    html = client.get(reverse("admin:complaints_complaint_changelist")).content.decode()
    assert "以 我的" not in html and "以 状态" not in html


def test_deadline_labels_are_deadline_names_not_step_buttons(zh_world):
    client, complaint, data = zh_world
    html = client.get(reverse("admin:complaints_complaint_change", args=[complaint.pk]))
    deadlines = html.content.decode().split('id="deadlines"')[1].split("</table>")[0]
    assert "解决时限" in deadlines
    assert "标记为已解决" not in deadlines


def test_inbox_entry_page_shows_its_title_in_the_readers_language(zh_world):
    client, complaint, data = zh_world
    entry = Notification.objects.filter(complaint=complaint).first()
    html = client.get(reverse("admin:complaints_notification_change", args=[entry.pk]))
    text = html.content.decode()
    assert html.status_code == 200
    assert "params" not in text  # not the stored message's JSON
    assert complaint.reference in text
