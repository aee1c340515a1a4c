"""seed_demo: realistic, consistent demo data through bulk inserts."""

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Q

from complaints.models import OPEN_STATUSES, Complaint, ComplaintEvent, Customer, Status
from complaints.services import sla

pytestmark = pytest.mark.django_db


def seed(n, **options):
    out = StringIO()
    call_command("seed_demo", complaints=n, stdout=out, **options)
    return out.getvalue()


def test_seeds_mixed_states_with_deadlines_and_timelines():
    output = seed(600, seed=7)
    assert "Created 600 complaints" in output
    assert Complaint.objects.count() == 600
    statuses = set(Complaint.objects.values_list("status", flat=True))
    assert {Status.INVESTIGATING, Status.CLOSED} <= statuses
    assert statuses & {Status.NEW, Status.ACKNOWLEDGED}  # the latest ones are being taken up
    assert Complaint.objects.filter(status__in=OPEN_STATUSES).exists()
    # Every complaint has a reference, a policy and a timeline starting with its intake.
    assert Complaint.objects.filter(sla_policy=None).count() == 0
    assert Complaint.objects.values("reference").distinct().count() == 600
    created = ComplaintEvent.objects.filter(kind=ComplaintEvent.Kind.CREATED)
    assert created.count() == 600
    # Both languages.
    subjects = list(Complaint.objects.values_list("subject", flat=True))
    assert any(s.isascii() for s in subjects) and any(not s.isascii() for s in subjects)
    assert Customer.objects.exclude(phone="").filter(phone__startswith="+").exists()


def test_stored_deadlines_are_what_the_sla_service_computes():
    seed(300, seed=3)
    ctx = sla.Context.load()
    open_ones = Complaint.objects.filter(status__in=OPEN_STATUSES).select_related("customer")
    assert open_ones.exists()
    for complaint in open_ones:
        expected = sla.compute(complaint, ctx)
        for field in ("ack_due_at", "response_due_at", "resolve_due_at", "due_at"):
            assert getattr(complaint, field) == expected[field], (complaint.reference, field)


def test_facts_agree_with_the_severity_rules():
    seed(800, seed=11)
    crisis_facts = Q(media_risk=True) | Q(households_affected__gte=10)
    major_facts = Q(litigation_risk=True) | Q(households_affected__gte=3)
    assert not Complaint.objects.filter(crisis_facts, severity__gt=1).exists()
    assert not Complaint.objects.filter(major_facts, severity__gt=2).exists()
    assisted = Complaint.objects.annotate(n=Count("assisting_departments")).filter(n__gt=0)
    assert not assisted.filter(severity__gt=3).exists()


def test_same_seed_same_data_and_if_empty_keeps_it():
    seed(120, seed=5)
    first = list(Complaint.objects.order_by("reference").values_list("subject", "status"))
    assert "nothing to do" in seed(50, if_empty=True)
    assert Complaint.objects.count() == 120
    assert first[:5] == list(
        Complaint.objects.order_by("reference").values_list("subject", "status")[:5]
    )


def test_bad_arguments_are_refused():
    with pytest.raises(CommandError):
        seed(-1)
    assert not Complaint.objects.exists()


def test_demo_staff_are_in_the_real_role_groups_and_the_login_page_lists_them(client):
    """Defect 7: demo users were in "Demo handlers/heads" groups, so a demo handler saw
    masked customers where the README says handlers see them."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from complaints.demo import accounts
    from complaints.privacy import can_read

    output = seed(20, seed=5)
    assert not Group.objects.filter(name__startswith="Demo ").exists()
    User = get_user_model()
    for username, role, _dept, _what in accounts.TRY:
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role], username
        assert user.check_password(accounts.PASSWORD)
        assert username in output
    handler = User.objects.get(username="handler.cs1")
    assert can_read(handler)  # handlers see customers' personal data, as documented
    assert handler.groups.get().name == "Handler · 处理专员"
    assert User.objects.get(username="head.cs").groups.get().name == "Department head · 部门负责人"

    html = client.get("/admin/login/", headers={"accept-language": "en"}).content.decode()
    assert 'id="demo-accounts"' in html
    for username in accounts.USERNAMES:
        assert f'data-username="{username}"' in html
    assert accounts.PASSWORD in html


def test_login_page_lists_no_accounts_without_demo_data_or_in_production(client, settings):
    html = client.get("/admin/login/").content.decode()
    assert 'id="demo-accounts"' not in html
    seed(5, seed=5)
    settings.PRODUCTION = True
    assert 'id="demo-accounts"' not in client.get("/admin/login/").content.decode()


def test_demo_fills_the_escalation_and_crisis_lists():
    """Defect 11: level-2 escalations and crisis notices of the demo went to nobody."""
    from complaints.services.audiences import empty_lists

    assert {nl.code for nl in empty_lists()} == {"managers", "crisis"}
    seed(5, seed=5)
    assert empty_lists() == []


def test_demo_looks_like_a_well_run_desk_over_18_months():
    """Issue 11: staff acted at 00:07, 2025 complaints were still open and escalated at first
    start, texts said "set by the demo data generator", reference data was English only."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from django.utils import timezone, translation

    from complaints.messages import is_stored, render
    from complaints.models import (
        BusinessCalendar,
        Category,
        Department,
        NotificationList,
        SLAPolicy,
    )
    from followups.models import FollowUpPolicy

    seed(500, seed=11)
    now, tz = timezone.now(), ZoneInfo("Asia/Shanghai")
    # Open work is the last weeks' backlog: nothing older than ~60 days but a rare straggler.
    open_ones = Complaint.objects.filter(status__in=OPEN_STATUSES)
    assert open_ones.exists()
    old = open_ones.filter(received_at__lt=now - timedelta(days=60))
    assert old.count() <= 5
    assert not open_ones.filter(received_at__lt=now - timedelta(days=100)).exists()
    # Older complaints were mostly resolved in time, with a realistic share of breaches.
    done = Complaint.objects.filter(
        resolved_at__isnull=False, received_at__lt=now - timedelta(days=60)
    ).values_list("resolved_at", "resolve_due_at")
    late = sum(1 for resolved, due in done if due and resolved > due)
    assert len(done) > 300 and 0.02 < late / len(done) < 0.25, (late, len(done))
    # Staff act in working hours: 09:00-18:00 on weekdays (the calendar has no holiday
    # data here), a crisis team 08:00-21:00.
    staff_steps = ComplaintEvent.objects.filter(actor__isnull=False).values_list(
        "created_at", "complaint__severity"
    )
    assert staff_steps
    for when, severity in staff_steps:
        local = when.astimezone(tz)
        if severity == 1:
            assert 8 <= local.hour < 21, local
        else:
            assert local.weekday() < 5 and 9 <= local.hour < 18, local
    # Texts read like a real desk, in each reader's language.
    reasons = list(Complaint.objects.values_list("severity_reason", flat=True))
    assert all(is_stored(reason) for reason in reasons)
    with translation.override("zh-hans"):
        shown = {render(reason) for reason in reasons}
    assert not [text for text in shown if "generator" in text or not re.search("[一-鿿]", text)]
    # Reference data is bilingual; escalations and crisis notices have recipients.
    cjk = re.compile(r"[\u4e00-\u9fff]")
    for model in (Department, Category, NotificationList, SLAPolicy, BusinessCalendar):
        for name, name_en in model.objects.values_list("name", "name_en"):
            assert cjk.search(name) and name_en and not cjk.search(name_en), (model, name)
    for name, name_en in FollowUpPolicy.objects.values_list("name", "name_en"):
        assert cjk.search(name) and name_en and not cjk.search(name_en)
    for nl in NotificationList.objects.all():
        assert nl.users.exists(), nl.code
