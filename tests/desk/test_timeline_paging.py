"""The timeline near the top of the complaint page: newest first, 20 entries per page, older
ones by keyset ("Show older"), in both languages, isolated like the complaint."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse

from complaints.models import ComplaintEvent
from complaints.services import lifecycle
from tests.factories import make_complaint

from .conftest import sh

pytestmark = pytest.mark.django_db


@pytest.fixture
def long_complaint(team):
    start = sh(2026, 11, 2, 9, 0)
    with time_machine.travel(start, tick=False):
        complaint = make_complaint(user=team["manager"], department=team["service"])
    ComplaintEvent.objects.bulk_create(
        [
            ComplaintEvent(
                complaint=complaint,
                kind=ComplaintEvent.Kind.NOTE,
                note=f"note number {i:03d}",
                created_at=start + timedelta(minutes=i),
                actor=team["handler.service"],
            )
            for i in range(1, 231)
        ]
    )
    return complaint


def notes(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"note number (\d{3})", html)]


def test_change_page_shows_the_newest_twenty_above_the_details(
    team, long_complaint, login_client, django_assert_max_num_queries
):
    client = login_client(team["handler.service"])
    url = reverse("admin:complaints_complaint_change", args=[long_complaint.pk])
    client.get(url)  # warm caches (content types, permissions)
    with django_assert_max_num_queries(35):  # measured 30; per-event queries would show
        html = client.get(url).content.decode()
    assert notes(html) == list(range(230, 210, -1))
    # Near the top: before the details form, after the workflow panel and its deadlines.
    assert (
        html.index('id="deadlines"')
        < html.index('id="timeline"')
        < html.index('id="complaint_form"')
    )
    assert "Show older entries" in html


def test_show_older_pages_by_keyset_to_the_end(team, long_complaint, login_client):
    client = login_client(team["handler.service"])
    html = client.get(
        reverse("admin:complaints_complaint_change", args=[long_complaint.pk])
    ).content.decode()
    seen = notes(html)
    pages = 0
    while (older := re.search(r'data-fragment="([^"]+)"', html)) is not None:
        html = client.get(older.group(1).replace("&amp;", "&")).content.decode()
        assert "<html" not in html  # a fragment for the page's script
        seen += notes(html)
        pages += 1
    assert seen == list(range(230, 0, -1))  # every note once, in order
    assert pages == 11  # 230 notes + the intake entry, 20 per page
    # Without JavaScript the link opens a page of its own.
    link = reverse("admin:complaints_complaint_timeline", args=[long_complaint.pk])
    first = ComplaintEvent.objects.filter(complaint=long_complaint).order_by("-created_at")[19]
    page = client.get(f"{link}?before={first.pk}").content.decode()
    assert "<html" in page and notes(page)[0] == 210


def test_timeline_pages_are_isolated(team, long_complaint, login_client):
    link = reverse("admin:complaints_complaint_timeline", args=[long_complaint.pk])
    other = login_client(team["handler.property"])
    assert other.get(link).status_code == 404
    # A cursor from another complaint's timeline is refused, not used.
    elsewhere = make_complaint(user=team["manager"], department=team["property"])
    foreign = ComplaintEvent.objects.filter(complaint=elsewhere).first()
    own = login_client(team["handler.service"])
    assert own.get(f"{link}?before={foreign.pk}").status_code == 404


def test_zh_hans_timeline(team, long_complaint, login_client):
    lifecycle.add_note(long_complaint.pk, user=team["handler.service"], text="已联系客户")
    html = (
        login_client(team["handler.service"])
        .get(
            reverse("admin:complaints_complaint_change", args=[long_complaint.pk]),
            headers={"accept-language": "zh-hans"},
        )
        .content.decode()
    )
    assert "处理记录" in html and "显示更早的记录" in html and "最新在前" in html
    assert "已联系客户" in html
