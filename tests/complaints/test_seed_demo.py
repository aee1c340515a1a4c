"""seed_demo: realistic, consistent demo data through bulk inserts."""

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
    assert {Status.NEW, Status.INVESTIGATING, Status.CLOSED} <= statuses
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


def test_demo_staff_act_in_working_hours_and_texts_read_like_a_real_desk():
    """Defect 12: staff acted at 00:07; reasons said "set by the demo data generator"."""
    from zoneinfo import ZoneInfo

    seed(300, seed=11)
    tz = ZoneInfo("Asia/Shanghai")
    staff_steps = ComplaintEvent.objects.filter(
        actor__isnull=False, complaint__severity__gt=1
    ).exclude(kind=ComplaintEvent.Kind.CREATED)
    times = [t.astimezone(tz) for t in staff_steps.values_list("created_at", flat=True)]
    assert times
    outside = [t for t in times if not (8 * 60 + 30 <= t.hour * 60 + t.minute < 18 * 60 + 30)]
    assert outside == []
    assert not [t for t in times if t.weekday() == 6]
    assert not Complaint.objects.filter(severity_reason__icontains="generator").exists()
