"""The complaint list in the admin: query count, filters, search, ordering, no deletion."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints.admin.complaints import ComplaintAdmin
from complaints.models import Channel, Complaint, Severity, SLAPolicy, Status
from complaints.services import lifecycle
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    DepartmentFactory,
    MembershipFactory,
    UserFactory,
    make_complaint,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:complaints_complaint_changelist")
ROW_REFERENCE_RE = re.compile(r'class="field-reference[^"]*"><a [^>]*>(C-\d{4}-\d{6,})</a>')
LOCAL = ZoneInfo("Asia/Shanghai")


def shown_references(response) -> list[str]:
    """The references of the rows in the rendered list, top to bottom."""
    assert response.status_code == 200
    return ROW_REFERENCE_RE.findall(response.content.decode())


def row_html(response, reference: str) -> str:
    html = response.content.decode()
    rows = html.split('<tr class="data-row')[1:]
    matching = [row.split("</tr>")[0] for row in rows if f">{reference}</a>" in row]
    assert len(matching) == 1, f"{reference} is not shown exactly once"
    return matching[0]


def cell_text(response, reference: str, field: str) -> str:
    """The visible text of one column of the row showing this complaint."""
    cell = row_html(response, reference).split(f'class="field-{field}', 1)[1]
    cell = cell.split(">", 1)[1].split("</td>")[0]
    return " ".join(re.sub(r"<[^>]+>", " ", cell).split())


def local(year, month, day, hour=12, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LOCAL)


# -- query count ----------------------------------------------------------------------------


def _pool(size=4):
    """Departments, each with a category and a member who can be the assignee."""
    pool = []
    for _i in range(size):
        department = DepartmentFactory()
        assignee = UserFactory()
        MembershipFactory(department=department, user=assignee)
        pool.append((department, CategoryFactory(default_department=department), assignee))
    return pool


def _add_varied_complaints(count, pool, recorder, start=0):
    for i in range(start, start + count):
        department, category, assignee = pool[i % len(pool)]
        make_complaint(
            user=recorder,
            customer=CustomerFactory(),
            department=department,
            category=category,
            assignee=assignee,
            severity=Severity.values[i % 4],
            received_at=timezone.now() - timedelta(hours=i + 1),
        )


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.parametrize(
    "query",
    ["", "?status__exact=new", "?q=water", "?o=3", "?mine=recorded&severity__exact=1"],
    ids=["plain", "status", "search", "by-customer", "mine-severity"],
)
def test_changelist_query_count_does_not_grow_with_rows(manager_client, manager, query):
    pool = _pool()
    _add_varied_complaints(5, pool, manager)
    few_queries, few = _count_queries(manager_client, CHANGELIST + query)
    assert 1 <= len(shown_references(few)) <= 5

    _add_varied_complaints(60, pool, manager, start=5)
    many_queries, many = _count_queries(manager_client, CHANGELIST + query)
    shown = shown_references(many)
    if query in ("", "?status__exact=new", "?q=water", "?o=3"):
        assert len(shown) == ComplaintAdmin.list_per_page
    else:
        assert len(shown) > 5
    if query != "?q=water":
        assert many_queries == few_queries
        return
    # A search result of one page is not counted again (test_search_pages.py); past one page
    # the number of queries is constant.
    assert few_queries < many_queries
    _add_varied_complaints(60, pool, manager, start=65)
    assert _count_queries(manager_client, CHANGELIST + query)[0] == many_queries


def test_changelist_query_count_with_related_filters(manager_client, manager):
    pool = _pool()
    department, category, assignee = pool[0]
    query = (
        f"?department__id__exact={department.pk}&category__id__exact={category.pk}"
        f"&assignee__id__exact={assignee.pk}"
    )
    _add_varied_complaints(8, pool, manager)
    few_queries, few = _count_queries(manager_client, CHANGELIST + query)
    assert len(shown_references(few)) == 2

    _add_varied_complaints(80, pool, manager, start=8)
    many_queries, many = _count_queries(manager_client, CHANGELIST + query)
    assert len(shown_references(many)) == 22
    assert many_queries == few_queries


# -- filters --------------------------------------------------------------------------------


@pytest.fixture
def listed(manager, department):
    """Four complaints that differ in every filtered attribute."""
    other_department = DepartmentFactory(code="cleaning", name="Cleaning")
    colleague = UserFactory(
        username="colleague",
        perms=["complaints.add_complaint", "complaints.change_complaint"],
    )
    MembershipFactory(department=department, user=manager)
    MembershipFactory(department=other_department, user=colleague)
    leak = CategoryFactory(code="leak", name="Leak", default_department=department)
    noise = CategoryFactory(code="noise", name="Noise", default_department=other_department)

    mine = make_complaint(
        user=manager,
        subject="Ceiling leak",
        channel=Channel.HOTLINE,
        severity=Severity.CRISIS,
        category=leak,
        department=department,
        assignee=manager,
        received_at=local(2026, 1, 10, 15, 30),
    )
    theirs = make_complaint(
        user=colleague,
        subject="Noisy neighbours",
        channel=Channel.EMAIL,
        severity=Severity.GENERAL,
        category=noise,
        department=other_department,
        assignee=colleague,
        received_at=local(2026, 1, 5, 9),
    )
    lifecycle.transition(theirs.pk, Status.ACKNOWLEDGED, user=colleague)
    # Received long ago, but their next deadline is still ahead (e.g. extended).
    Complaint.objects.filter(pk__in=[mine.pk, theirs.pk]).update(
        due_at=timezone.now() + timedelta(days=2)
    )
    overdue = make_complaint(
        user=colleague,
        subject="Broken lift",
        channel=Channel.WEB,
        severity=Severity.MAJOR,
        department=department,
        received_at=local(2025, 12, 20, 8),
    )
    Complaint.objects.filter(pk=overdue.pk).update(due_at=timezone.now() - timedelta(hours=3))
    invalid = make_complaint(
        user=manager,
        subject="Wrong number",
        channel=Channel.CHAT,
        severity=Severity.ELEVATED,
        received_at=local(2025, 11, 1, 8),
    )
    lifecycle.transition(invalid.pk, Status.INVALID, user=manager, note="Not a customer")
    # A closed-out complaint whose deadline passed long ago is not overdue.
    Complaint.objects.filter(pk=invalid.pk).update(due_at=timezone.now() - timedelta(days=3))
    return {
        "mine": mine.reference,
        "theirs": theirs.reference,
        "overdue": overdue.reference,
        "invalid": invalid.reference,
        "objects": {
            "department": department,
            "other_department": other_department,
            "leak": leak,
            "noise": noise,
            "colleague": colleague,
            "manager": manager,
        },
    }


FILTER_CASES = {
    "status-new": ("status__exact=new", {"mine", "overdue"}),
    "status-two-values": (
        "status__exact=acknowledged&status__exact=invalid",
        {"theirs", "invalid"},
    ),
    "severity-crisis": ("severity__exact=1", {"mine"}),
    "severity-two-values": ("severity__exact=2&severity__exact=4", {"overdue", "theirs"}),
    "department": ("department__id__exact={department}", {"mine", "overdue"}),
    "other-department": ("department__id__exact={other_department}", {"theirs"}),
    "category": ("category__id__exact={leak}", {"mine"}),
    "channel": ("channel__exact=email", {"theirs"}),
    "assignee": ("assignee__id__exact={colleague}", {"theirs"}),
    "mine-assigned": ("mine=assigned", {"mine"}),
    "unassigned": ("responsibility=unassigned", {"overdue"}),
    "mine-departments": ("mine=departments", {"mine", "overdue"}),
    "mine-recorded": ("mine=recorded", {"mine", "invalid"}),
    "deadline-overdue": ("deadline=overdue", {"overdue"}),
    "received-range": ("received_at_from=2026-01-01&received_at_to=2026-01-10", {"mine", "theirs"}),
    "received-single-day": ("received_at_from=2026-01-10&received_at_to=2026-01-10", {"mine"}),
    "received-from-only": ("received_at_from=2026-01-06", {"mine"}),
    "received-to-only": ("received_at_to=2025-12-31", {"overdue", "invalid"}),
    "combined": ("status__exact=new&department__id__exact={department}", {"mine", "overdue"}),
}


@pytest.mark.parametrize("case", FILTER_CASES, ids=list(FILTER_CASES))
def test_filter_shows_only_matching_complaints(manager_client, listed, case):
    query, expected = FILTER_CASES[case]
    query = query.format(**{k: v.pk for k, v in listed["objects"].items()})
    response = manager_client.get(f"{CHANGELIST}?{query}")
    shown = shown_references(response)
    assert sorted(shown) == sorted(listed[key] for key in expected)


def test_no_filter_shows_everything(manager_client, listed):
    shown = shown_references(manager_client.get(CHANGELIST))
    assert sorted(shown) == sorted(listed[k] for k in ("mine", "theirs", "overdue", "invalid"))


def test_unreadable_date_in_range_filter_is_ignored(manager_client, listed):
    response = manager_client.get(f"{CHANGELIST}?received_at_from=yesterday&received_at_to=13/45")
    assert len(shown_references(response)) == 4


def test_mine_filters_follow_the_logged_in_user(login_client, listed):
    # The colleague may change complaints, which includes seeing the list.
    client = login_client(listed["objects"]["colleague"])
    assert shown_references(client.get(f"{CHANGELIST}?mine=assigned")) == [listed["theirs"]]
    assert sorted(shown_references(client.get(f"{CHANGELIST}?mine=recorded"))) == sorted(
        [listed["theirs"], listed["overdue"]]
    )


def test_no_department_filter_finds_complaints_nobody_answers_for(manager_client, manager):
    """Defect 5: a complaint saved with neither category nor department is found."""
    orphan = make_complaint(user=manager, subject="Nobody's")
    routed = make_complaint(user=manager, department=DepartmentFactory(code="lifts"))
    finished = make_complaint(user=manager)
    lifecycle.transition(finished.pk, Status.INVALID, user=manager, note="Wrong number")
    shown = shown_references(manager_client.get(f"{CHANGELIST}?responsibility=no_department"))
    assert shown == [orphan.reference]
    assert routed.reference not in shown


def test_assigned_to_me_leaves_out_finished_complaints(login_client, department):
    me = UserFactory(
        username="me",
        perms=[
            "complaints.view_complaint",
            "complaints.add_complaint",
            "complaints.change_complaint",
            "complaints.close_complaint",
        ],
    )
    MembershipFactory(department=department, user=me)
    open_one = make_complaint(user=me, department=department, assignee=me)
    done = make_complaint(user=me, department=department, assignee=me)
    lifecycle.transition(
        done.pk, Status.INVALID, user=UserFactory(username="boss", is_superuser=True), note="spam"
    )
    client = login_client(me)
    assert shown_references(client.get(f"{CHANGELIST}?mine=assigned")) == [open_one.reference]


# -- search ---------------------------------------------------------------------------------


@pytest.fixture
def searchable(manager):
    wang = CustomerFactory(name="王小明", phone="+8613812345678")
    li = CustomerFactory(name="李华", phone="+8613987654321")
    smith = CustomerFactory(name="Anna Smith", phone="+8613700000001")
    return {
        "wang_leak": make_complaint(user=manager, customer=wang, subject="Roof leak in hall"),
        "wang_noise": make_complaint(user=manager, customer=wang, subject="Night noise"),
        "li_lift": make_complaint(user=manager, customer=li, subject="Lift stuck again"),
        "smith_parking": make_complaint(
            user=manager, customer=smith, subject="Parking permit refused"
        ),
    }


def _search(client, term):
    return sorted(shown_references(client.get(CHANGELIST, {"q": term})))


def _refs(searchable, *keys):
    return sorted(searchable[k].reference for k in keys)


def test_search_by_exact_reference_any_case(manager_client, searchable):
    reference = searchable["li_lift"].reference
    assert _search(manager_client, reference) == [reference]
    assert _search(manager_client, reference.lower()) == [reference]
    assert _search(manager_client, f"  {reference.lower()} ") == [reference]


def test_search_by_unknown_reference_finds_nothing(manager_client, searchable):
    assert _search(manager_client, "C-1999-000001") == []


@pytest.mark.parametrize(
    "term",
    ["138 1234 5678", "13812345678", "+86 138-1234-5678", "(+86) 138 1234 5678", "138-1234-5678"],
)
def test_search_by_customer_phone_in_any_format(manager_client, searchable, term):
    assert _search(manager_client, term) == _refs(searchable, "wang_leak", "wang_noise")


def test_search_by_subject_word(manager_client, searchable):
    assert _search(manager_client, "lift") == _refs(searchable, "li_lift")
    assert _search(manager_client, "NOISE") == _refs(searchable, "wang_noise")


def test_search_by_customer_name(manager_client, searchable):
    assert _search(manager_client, "王小明") == _refs(searchable, "wang_leak", "wang_noise")
    assert _search(manager_client, "smith") == _refs(searchable, "smith_parking")
    assert _search(manager_client, "李") == _refs(searchable, "li_lift")


def test_search_by_partial_reference(manager_client, searchable):
    """Defect 9: "13630" (a part of the reference) used to find nothing."""
    reference = searchable["li_lift"].reference  # C-YYYY-00000N
    assert _search(manager_client, reference[-3:]) == [reference]
    assert _search(manager_client, reference[2:]) == [reference]  # year and number
    assert _search(manager_client, reference[:-1]) == sorted(
        c.reference for c in searchable.values()
    )


def test_search_by_last_digits_of_the_phone(manager_client, searchable):
    assert _search(manager_client, "5678") == _refs(searchable, "wang_leak", "wang_noise")
    assert _search(manager_client, "654321") == _refs(searchable, "li_lift")
    assert _search(manager_client, "1234") == []  # in the middle of a number, not its end


def test_search_by_email_and_external_ids(manager_client, manager):
    anna = CustomerFactory(name="Anna", email="anna.lee@example.com", external_id="CRM-778")
    other = CustomerFactory(name="Bo", email="bo@example.org")
    hers = make_complaint(user=manager, customer=anna)
    theirs = make_complaint(user=manager, customer=other)
    Complaint.objects.filter(pk=theirs.pk).update(external_ref="WX-2026-55")
    assert _search(manager_client, "Anna.Lee@example.com") == [hers.reference]
    assert _search(manager_client, "anna.lee@") == [hers.reference]
    assert _search(manager_client, "CRM-778") == [hers.reference]
    assert _search(manager_client, "WX-2026-55") == [theirs.reference]


def test_command_palette_finds_visible_complaints(login_client, manager, department):
    """Defect 9: Ctrl+K finds complaints (only those the user may see)."""
    from django.contrib.auth.models import Group

    ours = make_complaint(user=manager, department=department, subject="Lift stuck")
    other = make_complaint(
        user=manager, department=DepartmentFactory(code="far"), subject="Lift noise"
    )
    handler = UserFactory(username="h1")
    handler.groups.add(Group.objects.get(name="Handler · 处理专员"))
    MembershipFactory(department=department, user=handler)
    html = login_client(handler).get(reverse("admin:search"), {"s": "lift"}).content.decode()
    assert ours.reference in html
    assert other.reference not in html
    by_ref = login_client(manager).get(reverse("admin:search"), {"s": other.reference[-4:]})
    assert other.reference in by_ref.content.decode()


def test_search_matching_nothing_shows_no_rows(manager_client, searchable):
    assert _search(manager_client, "elephant") == []


# -- ordering, deletion, due marker -----------------------------------------------------------


def test_default_order_is_newest_received_first(manager_client, manager):
    now = timezone.now()
    middle = make_complaint(user=manager, received_at=now - timedelta(days=2))
    oldest = make_complaint(user=manager, received_at=now - timedelta(days=9))
    newest = make_complaint(user=manager, received_at=now - timedelta(hours=1))
    # Recorded later but received earliest: the order follows received_at, not the id.
    backdated = make_complaint(user=manager, received_at=now - timedelta(days=30))
    assert shown_references(manager_client.get(CHANGELIST)) == [
        newest.reference,
        middle.reference,
        oldest.reference,
        backdated.reference,
    ]


def test_delete_action_is_not_offered(manager_client, superuser, login_client, manager):
    make_complaint(user=manager)
    for client in (manager_client, login_client(superuser)):
        html = client.get(CHANGELIST).content.decode()
        assert 'value="acknowledge_selected"' in html
        assert "delete_selected" not in html


def test_delete_action_posted_anyway_deletes_nothing(login_client, superuser, manager):
    complaint = make_complaint(user=manager)
    client = login_client(superuser)
    response = client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [complaint.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302)
    assert Complaint.objects.filter(pk=complaint.pk).exists()


def test_delete_url_is_refused(login_client, superuser, manager_client, manager):
    complaint = make_complaint(user=manager)
    url = reverse("admin:complaints_complaint_delete", args=[complaint.pk])
    for client in (manager_client, login_client(superuser)):
        assert client.get(url).status_code == 403
        assert client.post(url, {"post": "yes"}).status_code == 403
    assert Complaint.objects.filter(pk=complaint.pk).exists()
    change_page = manager_client.get(
        reverse("admin:complaints_complaint_change", args=[complaint.pk])
    )
    assert url not in change_page.content.decode()


def test_due_marker_shows_overdue_for_open_complaint_past_due(manager_client, manager):
    late = make_complaint(user=manager, subject="Late one")
    on_time = make_complaint(user=manager, subject="On time")
    finished = make_complaint(user=manager, subject="Invalid one")
    lifecycle.transition(finished.pk, Status.INVALID, user=manager, note="spam")
    # A 24x7 policy: time left is wall-clock time.
    wall_clock = SLAPolicy.objects.get(severity=Severity.CRISIS, category=None, customer_tier="")
    Complaint.objects.filter(pk__in=[late.pk, finished.pk]).update(
        due_at=timezone.now() - timedelta(days=2, hours=1, minutes=1), sla_policy=wall_clock
    )
    Complaint.objects.filter(pk=on_time.pk).update(
        due_at=timezone.now() + timedelta(days=3, minutes=30), sla_policy=wall_clock
    )

    response = manager_client.get(CHANGELIST)
    assert cell_text(response, late.reference, "due_marker") == "overdue 2 days 1 h"
    assert cell_text(response, on_time.reference, "due_marker") == "3 days left"
    assert "overdue" not in cell_text(response, finished.reference, "due_marker")


def test_due_marker_counts_working_time_on_the_policy_calendar(manager_client, manager):
    shanghai = ZoneInfo("Asia/Shanghai")
    with time_machine.travel(datetime(2026, 11, 30, 10, 0, tzinfo=shanghai), tick=False):
        late = make_complaint(user=manager, subject="Late one")
        soon = make_complaint(user=manager, subject="Soon")
        # Due last Friday 17:00: one working hour on Friday, one this Monday morning.
        Complaint.objects.filter(pk=late.pk).update(
            due_at=datetime(2026, 11, 27, 17, 0, tzinfo=shanghai)
        )
        # Due next Monday 11:30: Mon 8 h + Tue-Fri 4 days + Mon 2.5 h = 5 days 1 h 30 min.
        Complaint.objects.filter(pk=soon.pk).update(
            due_at=datetime(2026, 12, 7, 11, 30, tzinfo=shanghai)
        )
        response = manager_client.get(CHANGELIST)
    assert late.sla_policy.calendar is not None
    assert cell_text(response, late.reference, "due_marker") == "overdue 2 h"
    assert cell_text(response, soon.reference, "due_marker") == "5 working days 1 h left"


def test_due_sort_puts_finished_complaints_last(manager_client, manager, department):
    """Defect 8: sorting by Due put the finished complaints (no next deadline) first."""
    early = make_complaint(user=manager, department=department)
    late = make_complaint(user=manager, department=department)
    done = make_complaint(user=manager, department=department)
    lifecycle.transition(done.pk, Status.INVALID, user=manager, note="Wrong number")
    now = timezone.now()
    Complaint.objects.filter(pk=early.pk).update(due_at=now + timedelta(hours=1))
    Complaint.objects.filter(pk=late.pk).update(due_at=now + timedelta(hours=5))
    column = ComplaintAdmin.list_display.index("due_marker") + 1
    ascending = shown_references(manager_client.get(CHANGELIST, {"o": str(column)}))
    assert ascending == [early.reference, late.reference, done.reference]
    descending = shown_references(manager_client.get(CHANGELIST, {"o": f"-{column}"}))
    assert descending == [late.reference, early.reference, done.reference]


def test_list_shows_people_by_full_name(manager_client, manager, department):
    """Defect 8: people appeared as user names."""
    person = UserFactory(username="wangf", first_name="Fang", last_name="Wang")
    MembershipFactory(department=department, user=person)
    complaint = make_complaint(user=manager, department=department, assignee=person)
    response = manager_client.get(CHANGELIST)
    assert cell_text(response, complaint.reference, "assignee_name") == "Fang Wang"


def test_overdue_filter_link_is_offered(manager_client, manager):
    make_complaint(user=manager)
    html = manager_client.get(CHANGELIST).content.decode()
    assert "deadline=overdue" in html
    assert "mine=assigned" in html


def test_staff_without_view_permission_cannot_see_the_list(login_client, manager):
    make_complaint(user=manager)
    outsider = UserFactory(username="outsider", perms=["complaints.view_customer"])
    assert login_client(outsider).get(CHANGELIST).status_code == 403


def test_acknowledge_selected_action(manager_client, manager, department):
    fresh = make_complaint(user=manager, department=department)
    done = make_complaint(user=manager, department=department)
    orphan = make_complaint(user=manager)  # no responsible department yet
    lifecycle.transition(done.pk, Status.INVALID, user=manager, note="spam")
    response = manager_client.post(
        CHANGELIST,
        {"action": "acknowledge_selected", "_selected_action": [fresh.pk, done.pk, orphan.pk]},
        follow=True,
    )
    assert (
        "1 acknowledged; skipped: 1 not new, 1 without a responsible department."
        in response.content.decode()
    )
    fresh.refresh_from_db()
    done.refresh_from_db()
    orphan.refresh_from_db()
    assert fresh.status == Status.ACKNOWLEDGED
    assert done.status == Status.INVALID
    assert orphan.status == Status.NEW
