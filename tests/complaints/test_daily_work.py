"""Daily work in the complaint admin: "Take it", "Assign to me", "Assign to…" and "Close
selected" (issue 11): through the services, isolated, stale-page safe, one bad complaint never
stopping the others, a bounded number of queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints.models import Complaint, ComplaintEvent, Status
from complaints.services import assignment, lifecycle
from tests.complaints.test_poisoned_rows import poison
from tests.conftest import ALL_COMPLAINT_PERMS
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    UserFactory,
    form_fields,
    make_complaint,
    walk_to,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:complaints_complaint_changelist")
HANDLER_PERMS = [
    "complaints.view_complaint",
    "complaints.add_complaint",
    "complaints.change_complaint",
    "complaints.close_complaint",
    "complaints.view_customer",
    "complaints.view_pii",
    "complaints.view_department_complaints",
]


def change_url(complaint):
    return reverse("admin:complaints_complaint_change", args=[complaint.pk])


def take_url(complaint):
    return reverse("admin:complaints_complaint_take", args=[complaint.pk])


@pytest.fixture
def team(department):
    """Two handlers of `department`, one of another department, a manager who may close."""
    other = DepartmentFactory(code="sales", name="Sales")
    alice = UserFactory(username="alice", first_name="Alice", perms=HANDLER_PERMS)
    bob = UserFactory(username="bob", first_name="Bob", perms=HANDLER_PERMS)
    olga = UserFactory(username="olga", first_name="Olga", perms=HANDLER_PERMS)
    MembershipFactory(department=department, user=alice)
    MembershipFactory(department=department, user=bob)
    MembershipFactory(department=other, user=olga)
    boss = UserFactory(username="boss", perms=ALL_COMPLAINT_PERMS)
    return {
        "department": department,
        "other": other,
        "alice": alice,
        "bob": bob,
        "olga": olga,
        "boss": boss,
    }


def complaint_in(department, *, user, status="new", **fields):
    complaint = make_complaint(
        user=user,
        department=department,
        solution="We repair it",
        resolution="Repaired",
        **fields,
    )
    return walk_to(complaint, status, user=user) if status != "new" else complaint


def post_action(client, action, ids, **extra):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [str(pk) for pk in ids], **extra},
        follow=True,
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# -- take it --------------------------------------------------------------------------------------


def test_take_it_assigns_to_me_with_a_timeline_entry(team, login_client):
    complaint = complaint_in(team["department"], user=team["boss"])
    client = login_client(team["alice"])
    page = client.get(change_url(complaint)).content.decode()
    assert 'id="take-it"' in page and "Take it" in page

    response = client.post(take_url(complaint), {"version": complaint.version}, follow=True)

    complaint.refresh_from_db()
    assert complaint.assignee == team["alice"]
    assert any("now assigned to you" in m for m in messages_of(response))
    event = ComplaintEvent.objects.filter(complaint=complaint, kind="assignment").latest("pk")
    assert event.actor == team["alice"] and event.data["assignee"][1] == "Alice"
    # Now it is mine: no button any more.
    assert 'id="take-it"' not in client.get(change_url(complaint)).content.decode()


def test_take_it_from_a_stale_page_changes_nothing(team, login_client):
    complaint = complaint_in(team["department"], user=team["boss"])
    loaded_version = complaint.version
    lifecycle.assign(
        complaint.pk, user=team["boss"], department=team["department"], assignee=team["bob"]
    )
    client = login_client(team["alice"])

    response = client.post(take_url(complaint), {"version": loaded_version}, follow=True)

    complaint.refresh_from_db()
    assert complaint.assignee == team["bob"]
    assert any("changed by someone else" in m for m in messages_of(response))


def test_another_departments_handler_cannot_take_it(team, login_client):
    complaint = complaint_in(team["department"], user=team["boss"])
    client = login_client(team["olga"])
    assert client.get(change_url(complaint)).status_code == 404
    response = client.post(take_url(complaint), {"version": complaint.version})
    assert response.status_code == 404
    complaint.refresh_from_db()
    assert complaint.assignee is None


def test_take_it_refuses_a_non_member_who_can_see_it(team):
    # The manager sees every complaint but belongs to no department: not an assignee.
    complaint = complaint_in(team["department"], user=team["boss"])
    with pytest.raises(assignment.ServiceError, match="not a member"):
        assignment.take(complaint.pk, user=team["boss"])
    assert not assignment.can_take(team["boss"], complaint)


def test_take_it_refuses_finished_complaints(team):
    complaint = complaint_in(team["department"], user=team["boss"], status="closed")
    with pytest.raises(assignment.ServiceError, match="finished"):
        assignment.take(complaint.pk, user=team["alice"])
    assert not assignment.can_take(team["alice"], complaint)


def test_take_it_without_department_uses_my_only_department(team):
    complaint = make_complaint(user=team["alice"])
    assert complaint.department is None
    assignment.take(complaint.pk, user=team["alice"])
    complaint.refresh_from_db()
    assert (complaint.department, complaint.assignee) == (team["department"], team["alice"])


# -- assign to me (list action) -----------------------------------------------------------------


def test_assign_to_me_counts_what_it_skipped(team, login_client):
    mine = [complaint_in(team["department"], user=team["boss"]) for _i in range(3)]
    closed = complaint_in(team["department"], user=team["boss"], status="closed")
    already = complaint_in(team["department"], user=team["boss"], assignee=team["alice"])
    client = login_client(team["alice"])

    response = post_action(client, "assign_to_me", [c.pk for c in [*mine, closed, already]])

    assert set(Complaint.objects.filter(assignee=team["alice"]).values_list("pk", flat=True)) == {
        c.pk for c in [*mine, already]
    }
    text = " ".join(messages_of(response))
    assert "3 assigned to you, 2 skipped: 1 already finished, 1 already assigned to them" in text
    assert closed.reference in text


def test_assign_to_me_cannot_reach_another_departments_complaints(team, login_client):
    theirs = complaint_in(team["other"], user=team["boss"])
    client = login_client(team["alice"])
    post_action(client, "assign_to_me", [theirs.pk])
    theirs.refresh_from_db()
    assert theirs.assignee is None
    # The service refuses it too when called with the id directly.
    result = assignment.bulk_take([theirs.pk], user=team["alice"])
    assert result.done == [] and list(result.skipped) == ["not_visible"]


# -- assign to… (intermediate page) -------------------------------------------------------------


def test_assign_picker_offers_only_staff_who_may_take_all(team, login_client):
    ours = [complaint_in(team["department"], user=team["boss"]) for _i in range(2)]
    client = login_client(team["boss"])
    page = client.post(
        CHANGELIST,
        {"action": "assign_selected", "_selected_action": [c.pk for c in ours]},
    )
    assert page.status_code == 200
    html = page.content.decode()
    options = page.context["form"].fields["assignee"].queryset
    assert set(options) == {team["alice"], team["bob"]}
    assert "Olga" not in html
    # The single complaint's picker follows the same rule.
    form_options = client.get(change_url(ours[0])).context["adminform"].form
    assert set(form_options.fields["assignee"].queryset) == {team["alice"], team["bob"]}

    # Complaints of two departments: nobody is a member of both.
    theirs = complaint_in(team["other"], user=team["boss"])
    page = client.post(
        CHANGELIST,
        {"action": "assign_selected", "_selected_action": [ours[0].pk, theirs.pk]},
    )
    assert not page.context["form"].fields["assignee"].queryset.exists()
    assert 'id="no-candidates"' in page.content.decode()


def test_bulk_assign_reports_counts_and_goes_through_the_service(team, login_client):
    open_ones = [complaint_in(team["department"], user=team["boss"]) for _i in range(3)]
    finished = complaint_in(team["department"], user=team["boss"], status="invalid")
    client = login_client(team["boss"])
    ids = [c.pk for c in [*open_ones, finished]]
    page = client.post(CHANGELIST, {"action": "assign_selected", "_selected_action": ids})
    fields = form_fields(page.content.decode(), "bulk-form")
    fields["assignee"] = [str(team["bob"].pk)]

    response = client.post(CHANGELIST, fields, follow=True)

    assert Complaint.objects.filter(assignee=team["bob"]).count() == 3
    assert "3 assigned, 1 skipped: 1 already finished" in " ".join(messages_of(response))
    assert ComplaintEvent.objects.filter(kind="assignment", actor=team["boss"]).count() == 3


def test_bulk_assign_refuses_an_assignee_of_another_department(team):
    complaint = complaint_in(team["department"], user=team["boss"])
    result = assignment.bulk_assign([complaint.pk], user=team["boss"], assignee=team["olga"])
    assert result.skipped == {"other_department": [complaint.reference]}
    complaint.refresh_from_db()
    assert complaint.assignee is None


def test_a_poisoned_complaint_does_not_stop_bulk_assign(team):
    complaints = [complaint_in(team["department"], user=team["boss"]) for _i in range(4)]
    bad = complaints[1]
    poison(bad.pk)

    result = assignment.bulk_assign(
        [c.pk for c in complaints], user=team["boss"], assignee=team["bob"]
    )

    assert result.skipped == {"error": [bad.reference]}
    assert len(result.done) == 3
    assigned = set(Complaint.objects.filter(assignee=team["bob"]).values_list("pk", flat=True))
    assert assigned == {c.pk for c in complaints if c.pk != bad.pk}


def test_a_failing_service_call_does_not_stop_the_others(team, monkeypatch):
    complaints = [complaint_in(team["department"], user=team["boss"]) for _i in range(3)]
    real = lifecycle.assign

    def flaky(pk, **kwargs):
        if pk == complaints[0].pk:
            raise RuntimeError("boom")
        return real(pk, **kwargs)

    monkeypatch.setattr(lifecycle, "assign", flaky)
    result = assignment.bulk_take([c.pk for c in complaints], user=team["alice"])
    assert result.skipped == {"error": [complaints[0].reference]}
    assert len(result.done) == 2


def _queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def test_bulk_assign_queries_per_complaint_are_bounded(team):
    few = [complaint_in(team["department"], user=team["boss"]) for _i in range(2)]
    many = [complaint_in(team["department"], user=team["boss"]) for _i in range(6)]
    assign = assignment.bulk_assign
    q_few = _queries(lambda: assign([c.pk for c in few], user=team["boss"], assignee=team["bob"]))
    q_many = _queries(lambda: assign([c.pk for c in many], user=team["boss"], assignee=team["bob"]))
    per_complaint = (q_many - q_few) / 4
    assert per_complaint <= 12, per_complaint
    assert q_few - 2 * per_complaint <= 6  # the constant part: load, memberships


# -- close selected -------------------------------------------------------------------------------


def test_bulk_close_confirms_then_closes_only_what_may_be_closed(team, login_client):
    from followups.services.visits import waive

    resolved = [
        complaint_in(team["department"], user=team["boss"], status="resolved") for _i in range(3)
    ]
    for complaint in resolved[:2]:
        waive(complaint.pk, user=team["boss"], reason="customer asked for no call")
    investigating = complaint_in(team["department"], user=team["boss"], status="investigating")
    client = login_client(team["alice"])
    ids = [c.pk for c in [*resolved, investigating]]

    page = client.post(CHANGELIST, {"action": "close_selected", "_selected_action": ids})
    assert page.status_code == 200
    html = page.content.decode()
    assert "4 complaints selected" in html and "1 skipped: not resolved yet" in html
    assert Complaint.objects.filter(status=Status.CLOSED).count() == 0  # nothing yet

    fields = form_fields(html, "bulk-form")
    fields["note"] = ["Weekly clean-up"]
    response = client.post(CHANGELIST, fields, follow=True)

    closed = set(Complaint.objects.filter(status=Status.CLOSED).values_list("pk", flat=True))
    assert closed == {resolved[0].pk, resolved[1].pk}
    text = " ".join(messages_of(response))
    assert "2 closed, 2 skipped: 1 not resolved yet, 1 a closing rule is not met" in text
    assert "return visit" in text and resolved[2].reference in text
    event = ComplaintEvent.objects.filter(complaint=resolved[0], to_status="closed").get()
    assert event.note == "Weekly clean-up" and event.actor == team["alice"]


def test_close_action_needs_the_close_permission(team, handler, login_client):
    complaint = complaint_in(team["department"], user=team["boss"], status="resolved")
    client = login_client(handler)  # may change, not close
    actions = client.get(CHANGELIST).context["action_form"].fields["action"].choices
    assert "close_selected" not in [name for name, _label in actions]
    post_action(client, "close_selected", [complaint.pk], apply="1")
    complaint.refresh_from_db()
    assert complaint.status == Status.RESOLVED
    with pytest.raises(assignment.NotPermitted):
        assignment.bulk_close([complaint.pk], user=handler)


def test_bulk_close_cannot_reach_another_departments_complaints(team):
    theirs = complaint_in(team["other"], user=team["boss"], status="resolved")
    result = assignment.bulk_close([theirs.pk], user=team["alice"])
    assert result.skipped == {"not_visible": [f"#{theirs.pk}"]}
    theirs.refresh_from_db()
    assert theirs.status == Status.RESOLVED


def test_a_poisoned_complaint_does_not_stop_bulk_close(team):
    from followups.services.visits import waive

    resolved = [
        complaint_in(team["department"], user=team["boss"], status="resolved") for _i in range(3)
    ]
    for complaint in resolved:
        waive(complaint.pk, user=team["boss"], reason="no call wanted")
    poison(resolved[0].pk)
    result = assignment.bulk_close([c.pk for c in resolved], user=team["boss"])
    assert result.skipped == {"error": [resolved[0].reference]}
    assert Complaint.objects.filter(status=Status.CLOSED).count() == 2


# -- the "mine" filter ---------------------------------------------------------------------------


def test_assigned_to_me_hides_finished_work_unless_asked(team, login_client):
    alice = team["alice"]
    open_one = complaint_in(team["department"], user=team["boss"], assignee=alice)
    resolved = complaint_in(
        team["department"], user=team["boss"], assignee=alice, status="resolved"
    )
    closed = complaint_in(team["department"], user=team["boss"], assignee=alice, status="closed")
    client = login_client(alice)

    default = client.get(CHANGELIST + "?mine=assigned").context["cl"].queryset
    assert set(default) == {open_one, resolved}  # resolved: still to verify and close
    everything = client.get(CHANGELIST + "?mine=assigned_all").context["cl"].queryset
    assert set(everything) == {open_one, resolved, closed}


@pytest.mark.parametrize("action", ["assign_selected", "close_selected"])
def test_confirm_pages_in_chinese_have_no_english(team, login_client, action):
    from tests.i18n.test_zh_pages import english_words

    complaints = [
        complaint_in(team["department"], user=team["boss"], status="resolved"),
        complaint_in(team["department"], user=team["boss"]),
    ]
    client = login_client(team["boss"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    page = client.post(
        CHANGELIST, {"action": action, "_selected_action": [c.pk for c in complaints]}
    )
    html = page.content.decode()
    assert 'lang="zh-hans"' in html and 'id="bulk-form"' in html
    names = {"boss", team["boss"].first_name, "Alice (alice)", "Bob (bob)"}
    data = {c.reference for c in complaints} | names
    assert not english_words(html, data)
