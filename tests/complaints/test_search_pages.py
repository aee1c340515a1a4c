"""The admin list's search results page by page (issue 15): every match, newest first, across
the subject and customer-name legs, whatever its age; a result of one page is not counted
again; department isolation holds."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints.models import Complaint
from tests.factories import CustomerFactory, DepartmentFactory, make_complaint

from .test_admin_list import shown_references

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:complaints_complaint_changelist")


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(admin.site._registry[Complaint], "list_per_page", 3)


@pytest.fixture
def matches(manager, department):
    """Seven matches of 漏水 (four by subject, three by customer name), received from now
    back to five years ago and interleaved, and non-matches in between."""
    now = timezone.now()
    louwater = CustomerFactory(name="漏水强", phone="+8613812349001")
    other = CustomerFactory(name="李华", phone="+8613812349002")
    ages = {
        "subject-new": (timedelta(minutes=5), other, "卫生间漏水"),
        "name-new": (timedelta(hours=2), louwater, "电梯停运"),
        "subject-week": (timedelta(days=7), other, "天花板漏水严重"),
        "name-month": (timedelta(days=30), louwater, "噪音扰民"),
        "subject-year": (timedelta(days=400), other, "漏水"),
        "name-old": (timedelta(days=3 * 365), louwater, "垃圾清运"),
        "subject-oldest": (timedelta(days=5 * 365), other, "阳台漏水到楼下"),
    }
    found = {
        key: make_complaint(
            user=manager,
            department=department,
            customer=customer,
            subject=subject,
            received_at=now - age,
        )
        for key, (age, customer, subject) in ages.items()
    }
    for days in (1, 10, 500, 4 * 365):  # newer and older than matches, never shown
        make_complaint(
            user=manager,
            department=department,
            customer=other,
            subject="停车位被占",
            received_at=now - timedelta(days=days),
        )
    return found


NEWEST_FIRST = [
    "subject-new",
    "name-new",
    "subject-week",
    "name-month",
    "subject-year",
    "name-old",
    "subject-oldest",
]


def _page(client, term, page=1):
    return shown_references(client.get(CHANGELIST, {"q": term, "p": page}))


def test_every_match_page_by_page_newest_first(manager_client, matches, small_pages):
    shown = [*_page(manager_client, "漏水"), *_page(manager_client, "漏水", 2)]
    shown += _page(manager_client, "漏水", 3)
    assert shown == [matches[key].reference for key in NEWEST_FIRST]


def test_first_page_of_a_longer_result_is_the_newest_rows(manager_client, matches, small_pages):
    response = manager_client.get(CHANGELIST, {"q": "漏水"})
    assert shown_references(response) == [matches[k].reference for k in NEWEST_FIRST[:3]]
    assert response.context["cl"].result_count == 7  # counted, not only the first page


def test_a_match_older_than_everything_else_is_found(manager_client, matches):
    # Five years back, behind newer matches and non-matches: the search has no window.
    assert matches["subject-oldest"].reference in _page(manager_client, "阳台")
    assert _page(manager_client, "漏水")[-1] == matches["subject-oldest"].reference


def test_result_of_one_page_is_not_counted_again(manager_client, matches):
    with CaptureQueriesContext(connection) as queries:
        response = manager_client.get(CHANGELIST, {"q": "漏水"})
    assert shown_references(response) == [matches[key].reference for key in NEWEST_FIRST]
    assert response.context["cl"].result_count == 7
    sql = [q["sql"] for q in queries.captured_queries]
    assert not [s for s in sql if "COUNT(" in s.upper() and "complaints_complaint" in s]
    assert not [s for s in sql if s.startswith("EXPLAIN")]


def test_nothing_found_is_an_empty_page(manager_client, matches):
    response = manager_client.get(CHANGELIST, {"q": "鳄鱼"})
    assert shown_references(response) == []
    assert response.context["cl"].result_count == 0


def test_search_stays_inside_the_users_departments(login_client, handler, manager, matches):
    elsewhere = make_complaint(
        user=manager,
        department=DepartmentFactory(code="water", name="Water"),
        customer=CustomerFactory(name="王五", phone="+8613812349003"),
        subject="屋顶漏水",
        received_at=timezone.now(),
    )
    shown = _page(login_client(handler), "漏水")
    assert elsewhere.reference not in shown
    assert shown == [matches[key].reference for key in NEWEST_FIRST]
