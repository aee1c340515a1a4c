"""The complaint list stays cheap on millions of rows: a capped count instead of an exact
COUNT, a pager that offers no deep OFFSET pages, and a category filter that does not render
every category on every page."""

import pytest
from django.urls import reverse

from tests.factories import CategoryFactory, make_complaint

from .test_admin_list import shown_references

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:complaints_complaint_changelist")


@pytest.fixture
def twelve(manager, settings):
    settings.REDRESS_ESTIMATED_COUNT_THRESHOLD = 10  # 10 rows stand for 10,000
    return [make_complaint(user=manager) for _ in range(12)]


@pytest.fixture
def planner_expects(monkeypatch):
    """Make the planner's row estimate a given number (it is often far off for filters)."""

    def expect(rows):
        monkeypatch.setattr("complaints.admin.pagination.estimated_count", lambda qs: rows)

    expect(2)
    return expect


@pytest.fixture
def per_page_4(monkeypatch, planner_expects):
    from complaints.admin.complaints import ComplaintAdmin

    monkeypatch.setattr(ComplaintAdmin, "list_per_page", 4)


def _count_text(response) -> str:
    html = response.content.decode()
    start = html.index("data-result-count>")
    return " ".join(html[start : html.index("</div>", start)].split())


def test_more_rows_than_the_threshold_show_as_capped(manager_client, twelve, planner_expects):
    # The planner expects 2 rows; there are 12: counting stops at the threshold.
    response = manager_client.get(CHANGELIST)
    assert "10+" in _count_text(response)


def test_a_large_estimate_is_shown_as_such(manager_client, twelve, planner_expects):
    planner_expects(5_000_000)
    assert "≈ 5,000,000" in _count_text(manager_client.get(CHANGELIST))


def test_fewer_rows_than_the_threshold_are_counted_exactly(
    manager_client, manager, settings, planner_expects
):
    settings.REDRESS_ESTIMATED_COUNT_THRESHOLD = 10
    for _ in range(3):
        make_complaint(user=manager)
    response = manager_client.get(CHANGELIST)
    assert response.context["cl"].result_count == 3
    assert "+" not in _count_text(response)
    assert "data-truncated" not in response.content.decode()


def test_pager_offers_only_the_pages_within_the_threshold(manager_client, twelve, per_page_4):
    response = manager_client.get(CHANGELIST)
    paginator = response.context["cl"].paginator
    assert paginator.num_pages == 2  # 10 // 4: pages 1 and 2; rows 9-12 are not paged
    html = response.content.decode()
    assert "?p=2" in html and "?p=3" not in html
    assert "data-truncated" in html


def test_a_page_beyond_the_offered_ones_shows_the_last_offered_page(
    manager_client, twelve, per_page_4
):
    newest_first = sorted(twelve, key=lambda c: (c.received_at, c.pk), reverse=True)
    response = manager_client.get(CHANGELIST, {"p": 3})
    assert response.status_code == 200
    assert shown_references(response) == [c.reference for c in newest_first[4:8]]


def test_category_filter_does_not_render_every_category(manager_client, manager):
    categories = [CategoryFactory(name=f"Category number {i}") for i in range(30)]
    make_complaint(user=manager, category=categories[0])
    html = manager_client.get(CHANGELIST).content.decode()
    assert "Category number 17" not in html
    filtered = manager_client.get(CHANGELIST, {"category__id__exact": categories[0].pk})
    assert len(shown_references(filtered)) == 1


def test_a_deep_page_reads_its_ids_first_then_only_those_rows(
    manager_client, twelve, per_page_4, monkeypatch
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr("complaints.admin.pagination.DEEP_OFFSET", 4)  # page 2 is "deep"
    newest_first = sorted(twelve, key=lambda c: (c.received_at, c.pk), reverse=True)
    with CaptureQueriesContext(connection) as queries:
        response = manager_client.get(CHANGELIST, {"p": 2})
    assert shown_references(response) == [c.reference for c in newest_first[4:8]]
    offsets = [q["sql"] for q in queries.captured_queries if "OFFSET 4" in q["sql"]]
    # The skipped rows are read from the sort order alone: no customer or other join.
    assert len(offsets) == 1 and "JOIN" not in offsets[0]
    assert offsets[0].startswith('SELECT "complaints_complaint"."id" AS "pk" FROM')
