"""The complaint list's rows (admin/list_rows.py): the same cells as unfold's own renderer,
links, masking, both languages, and few queries per page (issue 15)."""

import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from unfold.templatetags.unfold_list import items_for_result

from complaints.admin.list_rows import RowRenderer
from complaints.models import AlertSchedule, Complaint, RootCause, SLAPolicy, Status
from complaints.services import lifecycle, reference_cache
from tests.factories import (
    CustomerFactory,
    DepartmentFactory,
    MembershipFactory,
    UserFactory,
    make_complaint,
)

from .test_admin_list import cell_text, row_html, shown_references
from .test_privacy import masked_client, masked_user  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:complaints_complaint_changelist")
NAME = "欧阳娜娜"


@pytest.fixture
def varied(manager):
    """Complaints in every state the list's columns show differently."""
    department = DepartmentFactory()
    assignee = UserFactory(first_name="Wei", last_name="Zhang")
    MembershipFactory(department=department, user=assignee)
    wall_clock = SLAPolicy.objects.get(severity=1, category=None, customer_tier="")
    customer = CustomerFactory(name=NAME, phone="+8613812345678")
    made = {
        "plain": make_complaint(user=manager, customer=customer, subject="<b>Leak</b> & more"),
        "assigned": make_complaint(
            user=manager, department=department, assignee=assignee, subject="x" * 60
        ),
        "overdue": make_complaint(user=manager, severity=1),
        "paused": make_complaint(user=manager, department=department),
        "escalated": make_complaint(user=manager),
        "finished": make_complaint(user=manager),
    }
    Complaint.objects.filter(pk=made["overdue"].pk).update(
        due_at=timezone.now() - timedelta(hours=5), sla_policy=wall_clock
    )
    Complaint.objects.filter(pk=made["paused"].pk).update(status=Status.AWAITING_CUSTOMER)
    Complaint.objects.filter(pk=made["escalated"].pk).update(due_at=None)
    for name, level in (("overdue", 1), ("escalated", 2)):
        AlertSchedule.objects.filter(complaint_id=made[name].pk).update(escalation_level=level)
    lifecycle.transition(made["finished"].pk, Status.INVALID, user=manager, note="spam")
    return made


def _normalized(html: str) -> str:
    return re.sub(r">\s+<", "><", " ".join(str(html).split()))


def _both_renderers(user, query: str = ""):
    model_admin = admin.site._registry[Complaint]
    request = RequestFactory().get(CHANGELIST + query)
    request.user = user
    cl = model_admin.get_changelist_instance(request)
    cl.get_results(request)
    fast = RowRenderer(cl)
    return [
        (
            obj,
            [_normalized(cell(obj)) for cell in fast.columns],
            [_normalized(cell) for cell in items_for_result(cl, obj, None)],
        )
        for obj in cl.result_list
    ]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("query", ["", "?o=-3", "?status__exact=new&q=Leak"])
def test_rows_are_the_cells_unfold_renders(manager, varied, language, query):
    with translation.override(language):
        rows = _both_renderers(manager, query)
    assert rows
    for obj, fast, unfold in rows:
        assert fast == unfold, obj.reference


def test_masked_rows_are_the_cells_unfold_renders(masked_user, varied):  # noqa: F811
    rows = _both_renderers(masked_user)
    assert len(rows) == len(varied)
    for obj, fast, unfold in rows:
        assert fast == unfold, obj.reference
        assert NAME not in "".join(fast)


def test_rows_link_to_the_complaint_keeping_the_list_filters(manager_client, varied):
    complaint = varied["assigned"]
    response = manager_client.get(CHANGELIST, {"status__exact": "new"})
    row = row_html(response, complaint.reference)
    change = reverse("admin:complaints_complaint_change", args=[complaint.pk])
    links = re.findall(r'<a href="([^"]+)" class="text-important"', row)
    # Both the reference and the subject link to the complaint, with the list's filters.
    assert links == [f"{change}?_changelist_filters=status__exact%3Dnew"] * 2
    assert f'name="_selected_action" value="{complaint.pk}"' in row
    assert cell_text(response, complaint.reference, "short_subject") == "x" * 39 + "…"
    assert cell_text(response, complaint.reference, "assignee_name") == "Wei Zhang"
    assert cell_text(response, complaint.reference, "department") == str(complaint.department)


def test_cells_are_escaped_and_labelled(manager_client, varied):
    response = manager_client.get(CHANGELIST)
    plain = row_html(response, varied["plain"].reference)
    assert "&lt;b&gt;Leak&lt;/b&gt; &amp; more" in plain and "<b>Leak" not in plain
    assert cell_text(response, varied["plain"].reference, "customer_name") == NAME
    assert cell_text(response, varied["overdue"].reference, "due_marker") == (
        "overdue 5 h · escalation 1"
    )
    assert "bg-red-100" in row_html(response, varied["overdue"].reference)  # danger label
    assert cell_text(response, varied["paused"].reference, "due_marker") == "paused"
    assert cell_text(response, varied["escalated"].reference, "due_marker") == "escalation 2"
    assert cell_text(response, varied["finished"].reference, "due_marker") == "-"
    assert cell_text(response, varied["finished"].reference, "status_label") == "Invalid"


def test_masked_user_sees_masked_names_in_the_list(masked_client, varied):  # noqa: F811
    response = masked_client.get(CHANGELIST)
    assert cell_text(response, varied["plain"].reference, "customer_masked_name") == "欧***"
    assert NAME not in response.content.decode()


def test_rows_in_chinese(login_client, manager, varied):
    client = login_client(manager)
    response = client.get(CHANGELIST, headers={"accept-language": "zh-hans"})
    assert len(shown_references(response)) == len(varied)
    assert cell_text(response, varied["paused"].reference, "due_marker") == "暂停计时"
    assert cell_text(response, varied["finished"].reference, "status_label") == "无效投诉"


# -- queries ---------------------------------------------------------------------------------


def _queries(client, url=CHANGELIST) -> list[str]:
    client.get(url)  # warm: per-process copies of reference data
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def test_list_page_takes_at_most_six_queries(login_client, superuser, manager, monkeypatch):
    from complaints.admin import pagination

    # A list of millions: the planner's estimate stands (no capped count); PostgreSQL still
    # runs its EXPLAIN.
    real = pagination.estimated_count
    monkeypatch.setattr(pagination, "estimated_count", lambda qs: max(real(qs) or 0, 10**6))
    RootCause.objects.create(code="wear", name="磨损", name_en="Wear")
    for _ in range(3):
        make_complaint(user=manager)
    reference_cache._pending.connection = None  # the set-up is committed data
    queries = _queries(login_client(superuser))
    # Session, user, saved views (cached outside a transaction), estimate, rows, unread inbox
    # entries: no calendars, no root causes (the process's copy), nothing per row.
    assert len(queries) <= 6, "\n".join(queries)
    assert not any("complaints_rootcause" in q for q in queries)
    assert not any("complaints_businesscalendar" in q for q in queries)


def test_a_new_root_cause_shows_in_the_filter_at_once(manager_client, manager):
    make_complaint(user=manager)
    RootCause.objects.create(code="wear", name="磨损", name_en="Wear")
    reference_cache._pending.connection = None  # the set-up is committed data
    assert "Wear" in manager_client.get(CHANGELIST).content.decode()  # cached from here
    RootCause.objects.create(code="misuse", name="误用", name_en="Misuse by the customer")
    reference_cache._pending.connection = None  # as if committed: the copy must be gone
    assert "Misuse by the customer" in manager_client.get(CHANGELIST).content.decode()


def test_popup_list_is_left_to_unfold(manager_client, varied):
    complaint = varied["plain"]
    response = manager_client.get(CHANGELIST, {"_popup": "1", "_to_field": "id"})
    assert response.status_code == 200
    assert f'data-popup-opener="{complaint.pk}"' in response.content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_saved_views_come_from_the_cache_until_one_changes(handler, handler_client):
    from django.core.cache import cache

    from complaints.models import SavedListView

    save = reverse("admin:complaints_complaint_view_save")
    key = f"saved-list-views:{handler.pk}"
    cache.delete(key)
    try:
        handler_client.post(save, {"name": "Zebra view", "query": "status__exact=new"})
        queries = _queries(handler_client)  # the first page fills the copy
        assert not any("complaints_savedlistview" in q for q in queries)
        assert "Zebra view" in handler_client.get(CHANGELIST).content.decode()

        handler_client.post(save, {"name": "Yak view", "query": "status__exact=closed"})
        page = handler_client.get(CHANGELIST).content.decode()
        assert "Zebra view" in page and "Yak view" in page

        zebra = SavedListView.objects.get(name="Zebra view")
        handler_client.post(reverse("admin:complaints_complaint_view_delete", args=[zebra.pk]))
        page = handler_client.get(CHANGELIST).content.decode()  # after the "deleted" message
        page = handler_client.get(CHANGELIST).content.decode()
        assert "Zebra view" not in page and "Yak view" in page
    finally:
        cache.delete(key)
