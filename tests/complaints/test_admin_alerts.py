"""The admin side of deadline enforcement: the staff inbox and its sidebar badge, the list of
reminders and escalations, notification lists, the escalated filter and due marker of the
complaint list, alert entries in the timeline, and the escalation settings of SLA policies."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints import tasks
from complaints.models import (
    AlertSchedule,
    Complaint,
    ComplaintEvent,
    DeadlineAlert,
    DepartmentMembership,
    Notification,
    NotificationList,
    SLAPolicy,
    Status,
)
from complaints.services import alerts
from tests.factories import (
    DepartmentFactory,
    MembershipFactory,
    UserFactory,
    form_fields,
    make_complaint,
)

pytestmark = pytest.mark.django_db

INBOX = reverse("admin:complaints_notification_changelist")
ALERTS = reverse("admin:complaints_deadlinealert_changelist")
LISTS = reverse("admin:complaints_notificationlist_changelist")
COMPLAINTS = reverse("admin:complaints_complaint_changelist")
Kind, Level, Delivery = DeadlineAlert.Kind, DeadlineAlert.Level, DeadlineAlert.Delivery


def text_of(response) -> str:
    assert response.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def rows(response, field) -> int:
    return response.content.decode().count(f'class="field-{field}')


def notify(user, complaint, title, *, read=False, minutes_ago=0):
    return Notification.objects.create(
        user=user,
        complaint=complaint,
        title=title,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
        read_at=timezone.now() if read else None,
    )


def alert(complaint, *, kind=Kind.RESOLVE, level=Level.ESCALATION_1, delivery=Delivery.PENDING,
          deadline=None, **fields):  # fmt: skip
    return DeadlineAlert.objects.create(
        complaint=complaint,
        kind=kind,
        level=level,
        deadline=deadline or timezone.now() - timedelta(hours=level),
        delivery=delivery,
        emails=["head@example.com"],
        **fields,
    )


@pytest.fixture
def client(login_client, superuser):
    return login_client(superuser)


@pytest.fixture
def clerk(db):
    """A staff user without any permission: still has an inbox."""
    return UserFactory(username="clerk")


@pytest.fixture
def complaint(manager):
    return make_complaint(user=manager, subject="Lift stuck")


# -- the inbox --------------------------------------------------------------------------------


def test_inbox_shows_only_the_users_own_entries_newest_first(
    login_client, superuser, clerk, complaint
):
    notify(clerk, complaint, "Clerk older", minutes_ago=30)
    notify(clerk, complaint, "Clerk newer", minutes_ago=5, read=True)
    notify(superuser, complaint, "Root only")

    page = text_of(login_client(clerk).get(INBOX))
    assert "Root only" not in page
    assert page.index("Clerk newer") < page.index("Clerk older")
    assert complaint.reference in page
    assert "unread" in page.lower()

    # Superusers are not shown other people's inboxes either.
    page = text_of(login_client(superuser).get(INBOX))
    assert "Root only" in page
    assert "Clerk" not in page


def test_inbox_read_filter(login_client, clerk, complaint):
    notify(clerk, complaint, "Already seen", read=True)
    notify(clerk, complaint, "Still new")
    client = login_client(clerk)
    unread = text_of(client.get(INBOX + "?read=unread"))
    assert "Still new" in unread and "Already seen" not in unread
    read = text_of(client.get(INBOX + "?read=read"))
    assert "Already seen" in read and "Still new" not in read


def test_inbox_title_opens_the_entry(login_client, clerk, complaint):
    entry = notify(clerk, complaint, "Open me")
    html = login_client(clerk).get(INBOX).content.decode()
    assert reverse("admin:complaints_notification_open", args=[entry.pk]) in html


def test_inbox_needs_no_permission_but_allows_no_editing(login_client, clerk, complaint):
    entry = notify(clerk, complaint, "Mine")
    client = login_client(clerk)
    assert client.get(INBOX).status_code == 200
    assert client.get(reverse("admin:complaints_notification_add")).status_code == 403
    delete = reverse("admin:complaints_notification_delete", args=[entry.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    change = reverse("admin:complaints_notification_change", args=[entry.pk])
    response = client.post(change, {"title": "Changed"})
    assert response.status_code in (302, 403)
    entry.refresh_from_db()
    assert entry.title == "Mine"
    assert "delete_selected" not in client.get(INBOX).content.decode()


def test_inbox_query_count_does_not_grow_with_rows(login_client, clerk, manager):
    for i in range(3):
        notify(clerk, make_complaint(user=manager), f"Entry {i}", read=bool(i % 2))
    client = login_client(clerk)
    few, response = count_queries(client, INBOX)
    assert rows(response, "title_link") == 3
    for i in range(3, 30):
        notify(clerk, make_complaint(user=manager), f"Entry {i}", read=bool(i % 2))
    many, response = count_queries(client, INBOX)
    assert rows(response, "title_link") == 30
    assert many == few


def test_mark_read_and_unread_actions_report_counts(login_client, clerk, superuser, complaint):
    first = notify(clerk, complaint, "First")
    second = notify(clerk, complaint, "Second", read=True)
    foreign = notify(superuser, complaint, "Someone else's")
    client = login_client(clerk)

    response = client.post(
        INBOX,
        {"action": "mark_read", "_selected_action": [first.pk, second.pk, foreign.pk]},
        follow=True,
    )
    assert "1 notification marked as read." in text_of(response)
    first.refresh_from_db()
    foreign.refresh_from_db()
    assert first.read_at is not None
    assert foreign.read_at is None  # not in this user's inbox: untouched

    response = client.post(
        INBOX, {"action": "mark_unread", "_selected_action": [first.pk, second.pk]}, follow=True
    )
    assert "2 notifications marked as unread." in text_of(response)
    assert Notification.objects.filter(user=clerk, read_at__isnull=True).count() == 2


def test_open_view_marks_read_and_redirects_to_the_complaint(login_client, clerk, complaint):
    entry = notify(clerk, complaint, "Go there")
    url = reverse("admin:complaints_notification_open", args=[entry.pk])
    response = login_client(clerk).get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:complaints_complaint_change", args=[complaint.pk])
    entry.refresh_from_db()
    assert entry.read_at is not None

    # Opening it again keeps the first reading time.
    first_read = entry.read_at
    login_client(clerk).get(url)
    entry.refresh_from_db()
    assert entry.read_at == first_read


def test_open_view_of_someone_elses_entry_is_404(login_client, clerk, superuser, complaint):
    foreign = notify(clerk, complaint, "Not for root")
    url = reverse("admin:complaints_notification_open", args=[foreign.pk])
    assert login_client(superuser).get(url).status_code == 404
    foreign.refresh_from_db()
    assert foreign.read_at is None


def _inbox_badge(response) -> str | None:
    """The badge next to "Inbox" in the rendered sidebar."""
    html = response.content.decode()
    link = re.search(r'<a [^>]*href="' + re.escape(INBOX) + r'"[^>]*>(.*?)</a>', html, flags=re.S)
    assert link, "no Inbox link in the sidebar"
    badge = re.search(r'class="sidebar-badge[^"]*"[^>]*>\s*(.*?)\s*</span>', link.group(1), re.S)
    return badge.group(1) if badge else None


def test_sidebar_badge_shows_the_unread_count_on_every_page(
    login_client, manager, complaint, clerk
):
    notify(manager, complaint, "One")
    notify(manager, complaint, "Two")
    notify(manager, complaint, "Seen", read=True)
    notify(clerk, complaint, "Someone else's")
    client = login_client(manager)
    assert _inbox_badge(client.get(COMPLAINTS)) == "2"
    assert _inbox_badge(client.get(reverse("admin:index"))) == "2"
    change = reverse("admin:complaints_complaint_change", args=[complaint.pk])
    assert _inbox_badge(client.get(change)) == "2"

    Notification.objects.filter(user=manager).update(read_at=timezone.now())
    assert _inbox_badge(client.get(COMPLAINTS)) is None


def test_sidebar_badge_costs_one_count_query(login_client, manager, complaint):
    notify(manager, complaint, "One")
    client = login_client(manager)
    with CaptureQueriesContext(connection) as ctx:
        client.get(reverse("admin:index"))
    counts = [q["sql"] for q in ctx.captured_queries if "complaints_notification" in q["sql"]]
    assert len(counts) == 1
    assert "COUNT" in counts[0].upper()


# -- reminders and escalations ----------------------------------------------------------------


def test_alert_list_columns(client, complaint):
    alert(
        complaint,
        delivery=Delivery.FAILED,
        attempts=6,
        last_error="SMTPServerDisconnected: Connection unexpectedly closed " * 3,
    )
    page = text_of(client.get(ALERTS))
    assert complaint.reference in page
    assert "Escalation 1 (department head)" in page
    assert "Failed (retries exhausted)" in page
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in page
    assert "resolve" in page
    html = client.get(ALERTS).content.decode()
    assert reverse("admin:complaints_complaint_change", args=[complaint.pk]) in html


def test_alert_list_query_count_does_not_grow_with_rows(client, manager):
    def add(count):
        for i in range(count):
            alert(
                make_complaint(user=manager),
                level=i % 3,
                delivery=[Delivery.SENT, Delivery.FAILED, Delivery.PENDING][i % 3],
                last_error="boom" if i % 3 == 1 else "",
            )

    add(3)
    few, response = count_queries(client, ALERTS)
    assert rows(response, "complaint_link") == 3
    add(27)
    many, response = count_queries(client, ALERTS)
    assert rows(response, "complaint_link") == 30
    assert many == few


def test_alert_filters_and_search(client, manager):
    first, second = make_complaint(user=manager), make_complaint(user=manager)
    alert(first, level=Level.WARNING, kind=Kind.ACK, delivery=Delivery.SENT)
    alert(second, level=Level.ESCALATION_2, delivery=Delivery.FAILED)

    def shown(query):
        return text_of(client.get(ALERTS + query))

    assert second.reference in shown("?delivery__exact=failed")
    assert first.reference not in shown("?delivery__exact=failed")
    assert first.reference in shown("?level__exact=0")
    assert second.reference not in shown("?level__exact=0")
    assert first.reference in shown("?kind__exact=ack")
    assert second.reference not in shown("?kind__exact=ack")
    assert second.reference in shown(f"?q={second.reference.lower()}")
    assert first.reference not in shown(f"?q={second.reference}")
    today = timezone.localdate().isoformat()
    assert first.reference in shown(f"?created_at_from={today}&created_at_to={today}")
    assert first.reference not in shown("?created_at_to=2020-01-01")


def test_alerts_cannot_be_added_edited_or_deleted(client, complaint):
    row = alert(complaint)
    assert client.get(reverse("admin:complaints_deadlinealert_add")).status_code == 403
    delete = reverse("admin:complaints_deadlinealert_delete", args=[row.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    change = reverse("admin:complaints_deadlinealert_change", args=[row.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    client.post(change, {"level": "2", "delivery": "sent"})
    row.refresh_from_db()
    assert (row.level, row.delivery) == (Level.ESCALATION_1, Delivery.PENDING)
    assert "delete_selected" not in client.get(ALERTS).content.decode()


def test_retry_action_resets_failed_and_pending_and_enqueues_after_commit(
    client, manager, monkeypatch, django_capture_on_commit_callbacks
):
    enqueue = mock.Mock(return_value=True)
    monkeypatch.setattr(tasks, "enqueue", enqueue)
    later = timezone.now() + timedelta(minutes=8)
    failed = alert(make_complaint(user=manager), delivery=Delivery.FAILED, attempts=6)
    waiting = alert(make_complaint(user=manager), next_attempt_at=later, attempts=2)
    sent = alert(make_complaint(user=manager), delivery=Delivery.SENT, attempts=1)
    nobody = alert(make_complaint(user=manager), delivery=Delivery.NONE)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            ALERTS,
            {
                "action": "retry_email",
                "_selected_action": [failed.pk, waiting.pk, sent.pk, nobody.pk],
            },
            follow=True,
        )
    assert "2 queued for sending now, 2 skipped" in text_of(response)
    enqueue.assert_not_called()  # only once the transaction has committed
    for callback in callbacks:
        callback()
    enqueue.assert_called_once()
    task, ids = enqueue.call_args.args
    assert task is tasks.deliver_alerts
    assert sorted(ids) == sorted([failed.pk, waiting.pk])

    for row in (failed, waiting, sent, nobody):
        row.refresh_from_db()
    assert (failed.delivery, failed.next_attempt_at) == (Delivery.PENDING, None)
    assert (waiting.delivery, waiting.next_attempt_at) == (Delivery.PENDING, None)
    assert sent.delivery == Delivery.SENT
    assert nobody.delivery == Delivery.NONE
    assert alerts.pending_deliveries() == sorted([failed.pk, waiting.pk])


def test_retry_action_needs_the_change_permission(login_client, complaint, monkeypatch):
    monkeypatch.setattr(tasks, "enqueue", mock.Mock())
    viewer = UserFactory(
        username="viewer", perms=["complaints.view_deadlinealert", "complaints.view_all_complaints"]
    )
    row = alert(complaint, delivery=Delivery.FAILED)
    client = login_client(viewer)
    assert complaint.reference in text_of(client.get(ALERTS))
    assert 'value="retry_email"' not in client.get(ALERTS).content.decode()
    client.post(ALERTS, {"action": "retry_email", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.delivery == Delivery.FAILED
    tasks.enqueue.assert_not_called()


# -- notification lists -----------------------------------------------------------------------


def post_form(client, path, changes):
    page = client.get(path)
    assert page.status_code == 200
    data = form_fields(page.content.decode(), action="")
    data.pop("_addanother", None)
    data.pop("_continue", None)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value if isinstance(value, list) else [value]
    return client.post(path, data, follow=True)


def test_notification_list_edit_users_and_emails_code_read_only(client, manager):
    crisis = NotificationList.objects.get(code=NotificationList.CRISIS)
    path = reverse("admin:complaints_notificationlist_change", args=[crisis.pk])
    assert 'name="code"' not in client.get(path).content.decode()
    response = post_form(
        client,
        path,
        {
            "name": "危机小组",
            "name_en": "Crisis team",
            "users": [str(manager.pk)],
            "extra_emails": " ceo@example.com \n\npr@example.com\nceo@example.com",
            "code": "hijacked",
        },
    )
    assert response.status_code == 200
    crisis.refresh_from_db()
    assert crisis.code == NotificationList.CRISIS
    assert (crisis.name, crisis.name_en) == ("危机小组", "Crisis team")
    assert list(crisis.users.all()) == [manager]
    assert crisis.emails() == ["ceo@example.com", "pr@example.com"]
    page = text_of(client.get(LISTS))
    assert "Crisis team" in page


def test_notification_list_rejects_bad_addresses_and_keeps_built_in_lists(client):
    managers = NotificationList.objects.get(code=NotificationList.MANAGERS)
    path = reverse("admin:complaints_notificationlist_change", args=[managers.pk])
    response = post_form(client, path, {"extra_emails": "boss@example.com\nnot an address"})
    assert "Not an email address: not an address" in text_of(response)
    managers.refresh_from_db()
    assert managers.extra_emails == ""
    delete = reverse("admin:complaints_notificationlist_delete", args=[managers.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert NotificationList.objects.filter(pk=managers.pk).exists()


def test_new_notification_list_takes_a_code(client):
    response = post_form(
        client,
        reverse("admin:complaints_notificationlist_add"),
        {"name": "Night shift", "code": "night", "extra_emails": "duty@example.com"},
    )
    assert response.status_code == 200
    assert NotificationList.objects.get(code="night").name == "Night shift"


# -- the complaint list: escalated filter and due marker ---------------------------------------


def _references(response) -> list[str]:
    assert response.status_code == 200
    pattern = r'class="field-reference[^"]*"><a [^>]*>(C-\d{4}-\d{6,})</a>'
    return re.findall(pattern, response.content.decode())


def test_escalated_filter(client, manager):
    calm = make_complaint(user=manager, subject="Calm")
    one = make_complaint(user=manager, subject="Escalated once")
    two = make_complaint(user=manager, subject="Escalated twice")
    AlertSchedule.objects.filter(complaint_id=one.pk).update(escalation_level=1)
    AlertSchedule.objects.filter(complaint_id=two.pk).update(escalation_level=2)
    assert sorted(_references(client.get(COMPLAINTS + "?escalated=escalated"))) == sorted(
        [one.reference, two.reference]
    )
    assert _references(client.get(COMPLAINTS + "?escalated=level2")) == [two.reference]
    assert calm.reference in _references(client.get(COMPLAINTS))
    # Resolved or closed, it has no current deadlines: the list shows no escalation for it,
    # and the filter no longer finds it (migration 0037).
    Complaint.objects.filter(pk=two.pk).update(status=Status.CLOSED)
    assert _references(client.get(COMPLAINTS + "?escalated=escalated")) == [one.reference]
    assert _references(client.get(COMPLAINTS + "?escalated=level2")) == []
    html = client.get(COMPLAINTS).content.decode()
    assert "escalated=escalated" in html and "escalated=level2" in html


def _marker(response, reference) -> tuple[str, str]:
    """(state colour, text) of the due marker in this complaint's row."""
    html = response.content.decode()
    row = [r for r in html.split('<tr class="data-row')[1:] if f">{reference}</a>" in r]
    assert len(row) == 1
    cell = row[0].split('class="field-due_marker', 1)[1].split("</td>")[0]
    colours = {"bg-orange-100": "soon", "bg-red-100": "overdue", "bg-blue-100": "ok"}
    state = next((s for c, s in colours.items() if c in cell), "none")
    text = " ".join(re.sub(r"<[^>]+>", " ", cell.split(">", 1)[1]).split())
    return state, text


@pytest.fixture
def wall_clock():
    """A 24x7 policy: time left is wall-clock time."""
    return SLAPolicy.objects.get(severity=1, category=None, customer_tier="")


def _set_deadlines(complaint, policy, escalation_level=None, **fields):
    fields.setdefault("acknowledged_at", None)
    Complaint.objects.filter(pk=complaint.pk).update(sla_policy=policy, **fields)
    if escalation_level is not None:
        AlertSchedule.objects.filter(complaint_id=complaint.pk).update(
            escalation_level=escalation_level
        )


def test_due_marker_is_soon_once_the_warning_point_has_passed(client, manager, wall_clock):
    now = timezone.now()
    warned = make_complaint(user=manager, subject="Warned early")
    close_but_not_warned = make_complaint(user=manager, subject="Close")
    relaxed = make_complaint(user=manager, subject="Relaxed")
    # Three days left, but the warning point (e.g. a short policy) has passed.
    _set_deadlines(
        warned, wall_clock, ack_due_at=now + timedelta(days=3),
        ack_warn_at=now - timedelta(hours=1), due_at=now + timedelta(days=3),
    )  # fmt: skip
    # Less than a day left, but the warning point is still ahead.
    _set_deadlines(
        close_but_not_warned, wall_clock, ack_due_at=now + timedelta(hours=5),
        ack_warn_at=now + timedelta(hours=2), due_at=now + timedelta(hours=5),
    )  # fmt: skip
    _set_deadlines(
        relaxed, wall_clock, ack_due_at=now + timedelta(days=3),
        ack_warn_at=now + timedelta(days=2), due_at=now + timedelta(days=3),
    )  # fmt: skip
    response = client.get(COMPLAINTS)
    assert _marker(response, warned.reference)[0] == "soon"
    assert _marker(response, close_but_not_warned.reference)[0] == "ok"
    assert _marker(response, relaxed.reference)[0] == "ok"
    assert _marker(response, relaxed.reference)[1].endswith("left")


def test_due_marker_uses_the_warning_of_the_pending_deadline(client, manager, wall_clock):
    now = timezone.now()
    acknowledged = make_complaint(user=manager, subject="Acknowledged")
    # The acknowledgement's warning passed long ago, but it was met; the pending deadline
    # is the first response, whose warning point is still ahead.
    _set_deadlines(
        acknowledged, wall_clock, acknowledged_at=now - timedelta(hours=3),
        ack_due_at=now - timedelta(hours=2), ack_warn_at=now - timedelta(hours=4),
        response_due_at=now + timedelta(hours=6), response_warn_at=now + timedelta(hours=1),
        resolve_due_at=now + timedelta(days=5), resolve_warn_at=now - timedelta(minutes=1),
        due_at=now + timedelta(hours=6),
    )  # fmt: skip
    response = client.get(COMPLAINTS)
    assert _marker(response, acknowledged.reference)[0] == "ok"

    Complaint.objects.filter(pk=acknowledged.pk).update(response_warn_at=now - timedelta(minutes=5))
    assert _marker(client.get(COMPLAINTS), acknowledged.reference)[0] == "soon"


def test_due_marker_shows_overdue_and_the_escalation_level(client, manager, wall_clock):
    now = timezone.now()
    late = make_complaint(user=manager, subject="Late")
    _set_deadlines(
        late, wall_clock, ack_due_at=now - timedelta(hours=3, minutes=1),
        ack_warn_at=now - timedelta(hours=5), due_at=now - timedelta(hours=3, minutes=1),
        escalation_level=2,
    )  # fmt: skip
    state, text = _marker(client.get(COMPLAINTS), late.reference)
    assert state == "overdue"
    assert text.startswith("overdue 3 h")
    assert text.endswith(" · escalation 2")


def test_complaint_list_query_count_with_escalations(client, manager, wall_clock):
    def add(count):
        now = timezone.now()
        for i in range(count):
            c = make_complaint(user=manager)
            _set_deadlines(
                c, wall_clock, ack_due_at=now + timedelta(hours=i - 2),
                ack_warn_at=now + timedelta(hours=i - 4), due_at=now + timedelta(hours=i - 2),
                escalation_level=i % 3,
            )  # fmt: skip

    add(3)
    client.get(COMPLAINTS)  # per-process copies (calendars, saved views) are read once
    few, _response = count_queries(client, COMPLAINTS + "?escalated=escalated")
    add(20)
    many, response = count_queries(client, COMPLAINTS + "?escalated=escalated")
    assert len(_references(response)) > 3
    assert many == few


# -- the deadline sweep end to end: inbox, alert list, timeline ---------------------------------


@pytest.fixture
def escalated(manager):
    """A complaint whose acknowledgement deadline was missed, swept by the deadline sweep."""
    department = DepartmentFactory(code="estate", name="Estate")
    head = UserFactory(username="head", email="head@example.com")
    MembershipFactory(department=department, user=head, role=DepartmentMembership.Role.HEAD)
    complaint = make_complaint(user=manager, department=department, subject="Leaking roof")
    complaint.refresh_from_db()
    assert complaint.ack_due_at is not None
    alerts.sweep(now=complaint.ack_due_at + timedelta(minutes=1))
    return complaint, head


def test_swept_escalation_reaches_the_heads_inbox(login_client, escalated):
    complaint, head = escalated
    client = login_client(head)
    page = text_of(client.get(INBOX))
    assert complaint.reference in page
    assert "Escalation" in page
    assert _inbox_badge(client.get(INBOX)) is not None
    entry = Notification.objects.get(user=head, alert__level=Level.ESCALATION_1)
    response = client.get(reverse("admin:complaints_notification_open", args=[entry.pk]))
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.read_at is not None


def test_swept_alerts_show_in_the_alert_list_and_the_timeline(client, escalated):
    complaint, head = escalated
    assert complaint.reference in text_of(client.get(ALERTS))
    page = text_of(client.get(reverse("admin:complaints_complaint_change", args=[complaint.pk])))
    assert "Reminder or escalation" in page
    assert "Escalation 1 (department head)" in page
    ack_due = timezone.localtime(complaint.ack_due_at).strftime("%Y-%m-%d %H:%M")
    assert f"acknowledge, due {ack_due}" in page
    assert "1 staff member (inbox), 1 email address" in page
    assert ComplaintEvent.objects.filter(complaint=complaint, kind="alert").exists()


def test_timeline_names_the_new_assignee_of_an_automatic_reassignment(client, manager):
    complaint = make_complaint(user=manager)
    head = UserFactory(username="boss", first_name="Zhang Wei")
    ComplaintEvent.objects.create(
        complaint=complaint,
        kind=ComplaintEvent.Kind.ASSIGNMENT,
        note="Deadline missed: reassigned to the department head by the SLA policy.",
        data={"assignee": [None, head.pk], "automatic": True},
    )
    page = text_of(client.get(reverse("admin:complaints_complaint_change", args=[complaint.pk])))
    assert "assignee : — → Zhang Wei" in page
    assert "Automatic, by the SLA policy" in page


# -- SLA policies: escalation settings ----------------------------------------------------------


def test_policy_form_and_list_show_the_escalation_settings(client, monkeypatch):
    recompute = mock.Mock(return_value=None)
    monkeypatch.setattr("complaints.admin.sla.schedule_recompute", recompute)
    policy = SLAPolicy.objects.get(severity=3, active=True)
    path = reverse("admin:complaints_slapolicy_change", args=[policy.pk])
    html = client.get(path).content.decode()
    assert 'name="escalation_delay_percent"' in html
    assert 'name="reassign_on_breach"' in html
    post_form(client, path, {"escalation_delay_percent": "25", "reassign_on_breach": "on"})
    policy.refresh_from_db()
    assert (policy.escalation_delay_percent, policy.reassign_on_breach) == (25, True)
    recompute.assert_called()
    page = text_of(client.get(reverse("admin:complaints_slapolicy_changelist")))
    assert "level 2 after +25 %, reassigns" in page


def test_reminders_list_column_titles_are_distinct(client, complaint):
    """Defect 8: two columns were both titled "Deadline"."""
    alert(complaint)
    html = client.get(ALERTS).content.decode()
    head = html.split("<thead")[1].split("</thead>")[0]
    titles = [
        " ".join(re.sub(r"<[^>]+>", " ", cell).split())
        for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)
    ]
    titles = [t for t in titles if t]
    assert len(titles) == len(set(titles)), titles
    assert "Which deadline" in titles and "Due at" in titles
