"""The compensation pages of the admin: the complaint's panel, proposing with tier guidance,
the list with the complaint's department isolation, the "awaiting my approval" queue with bulk
decisions, the detail actions, totals that match the database, incidents."""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from complaints.models import (
    Compensation,
    ComplaintEvent,
    Incident,
    IncidentRemedy,
    RootCause,
    TierGuidance,
)
from complaints.services import compensation as comp
from tests.factories import make_complaint

pytestmark = pytest.mark.django_db
S = Compensation.Status
LIST = "admin:complaints_compensation_changelist"


def propose(complaint, user, amount, **kw):
    return comp.propose(
        complaint.pk, user=user, kind=kw.pop("kind", "cash"), amount=amount, description="x", **kw
    )


def texts(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def as_(login_client):
    return login_client


def test_complaint_page_shows_the_panel_and_totals(as_, people, complaint):
    a = propose(complaint, people["handler"], "100.00")
    propose(complaint, people["handler"], "50.50")
    comp.approve(a.pk, user=people["head"])
    page = as_(people["handler"]).get(
        reverse("admin:complaints_complaint_change", args=[complaint.pk])
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="compensation"' in html and f"#{a.pk}" in html
    assert '<td class="granted">100.00</td>' in html
    assert '<td class="awaiting">50.50</td>' in html
    assert f"?complaint={complaint.pk}" in html  # propose link
    assert reverse("admin:complaints_compensation_responsibility", args=[complaint.pk]) in html


def test_propose_page_shows_tier_guidance_and_saves_through_the_service(as_, people, complaint):
    TierGuidance.objects.create(kind="voucher", tier="standard", suggested_amount="88.00")
    TierGuidance.objects.create(kind="voucher", tier="vip", suggested_amount="288.00")
    client = as_(people["handler"])
    url = reverse("admin:complaints_compensation_add") + f"?complaint={complaint.pk}"
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and 'id="tier-guidance"' in html
    assert "88.00 CNY" in html and "288.00" not in html  # the customer is "standard"
    assert "Your approval limit: 0.00 CNY per compensation" in html
    response = client.post(
        url,
        {
            "complaint": complaint.pk,
            "kind": "voucher",
            "amount": "2500.00",
            "currency": "CNY",
            "description": "Voucher for the inconvenience",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"].endswith(f"/complaint/{complaint.pk}/change/#compensation")
    c = Compensation.objects.get()
    assert c.status == S.PROPOSED and c.amount == Decimal("2500.00")
    assert c.proposed_by == people["handler"]
    assert ComplaintEvent.objects.filter(complaint=complaint, kind="compensation").count() == 1


def test_propose_refusal_is_a_form_error_and_writes_nothing(as_, people, complaint):
    client = as_(people["handler"])
    response = client.post(
        reverse("admin:complaints_compensation_add"),
        {
            "complaint": complaint.pk,
            "kind": "cash",
            "amount": "0",
            "currency": "CNY",
            "description": "x",
        },
    )
    assert response.status_code == 200
    assert "more than zero" in response.content.decode()
    assert not Compensation.objects.exists()


def test_list_follows_the_department_isolation_of_the_complaint(as_, people, complaint, elsewhere):
    mine = propose(complaint, people["handler"], "10.00")
    other = make_complaint(user=people["manager"], department=elsewhere)
    theirs = propose(other, people["manager"], "20.00")
    page = as_(people["handler"]).get(reverse(LIST))
    html = page.content.decode()
    assert f"#{mine.pk}<" in html and f"#{theirs.pk}<" not in html
    assert as_(people["handler"]).get(
        reverse("admin:complaints_compensation_change", args=[theirs.pk])
    ).status_code in (302, 404)
    assert f"#{theirs.pk}<" in as_(people["auditor"]).get(reverse(LIST)).content.decode()


def test_awaiting_my_approval_queue_and_bulk_approve_with_mixed_limits(as_, people, complaint):
    small = propose(complaint, people["handler"], "1000.00")
    large = propose(complaint, people["handler"], "2000.01")
    own = propose(complaint, people["head"], "5.00")
    client = as_(people["head"])
    queue = client.get(reverse(LIST) + "?queue=mine").content.decode()
    assert f"#{small.pk}<" in queue and f"#{large.pk}<" not in queue and f"#{own.pk}<" not in queue
    response = client.post(
        reverse(LIST),
        {"action": "approve_selected", "_selected_action": [small.pk, large.pk, own.pk]},
        follow=True,
    )
    messages = texts(response)
    assert "1 approved, 2 refused, 0 skipped (not awaiting approval)." in messages
    assert any("It can be approved by: April, Mona." in m for m in messages)
    statuses = dict(Compensation.objects.values_list("pk", "status"))
    assert statuses == {small.pk: S.APPROVED, large.pk: S.PROPOSED, own.pk: S.PROPOSED}


def test_bulk_reject_asks_for_a_reason(as_, people, complaint):
    a = propose(complaint, people["handler"], "10.00")
    b = propose(complaint, people["handler"], "20.00")
    client = as_(people["head"])
    form = client.post(
        reverse(LIST), {"action": "reject_selected", "_selected_action": [a.pk, b.pk]}
    )
    assert form.status_code == 200 and 'id="bulk-reject-form"' in form.content.decode()
    assert not Compensation.objects.filter(status=S.REJECTED).exists()
    response = client.post(
        reverse(LIST),
        {
            "action": "reject_selected",
            "_selected_action": [a.pk, b.pk],
            "apply": "1",
            "reason": "Customer's own fault",
        },
        follow=True,
    )
    assert "2 rejected, 0 refused, 0 skipped (not awaiting approval)." in texts(response)
    assert Compensation.objects.filter(status=S.REJECTED).count() == 2


def test_handler_has_no_approval_actions(as_, people, complaint):
    c = propose(complaint, people["handler2"], "10.00")
    client = as_(people["handler"])
    html = client.get(reverse(LIST)).content.decode()
    assert "approve_selected" not in html
    detail = client.get(reverse("admin:complaints_compensation_change", args=[c.pk]))
    assert 'data-action="approve"' not in detail.content.decode()
    client.post(reverse("admin:complaints_compensation_approve", args=[c.pk]), {"version": 1})
    c.refresh_from_db()
    assert c.status == S.PROPOSED


def test_detail_page_approve_over_limit_names_who_can(as_, people, complaint):
    c = propose(complaint, people["handler"], "2500.00")
    client = as_(people["head"])
    detail = client.get(reverse("admin:complaints_compensation_change", args=[c.pk]))
    assert 'data-action="approve"' in detail.content.decode()
    url = reverse("admin:complaints_compensation_approve", args=[c.pk])
    response = client.post(url, {"version": c.version, "note": ""})
    assert response.status_code == 200
    assert "It can be approved by: April, Mona." in response.content.decode()
    c.refresh_from_db()
    assert c.status == S.PROPOSED
    ok = as_(people["approver"]).post(url, {"version": c.version, "note": "Receipt checked"})
    assert ok.status_code == 302
    c.refresh_from_db()
    assert c.status == S.APPROVED and c.decision_note == "Receipt checked"
    paid = as_(people["approver"]).post(
        reverse("admin:complaints_compensation_fulfil", args=[c.pk]),
        {"version": c.version, "payout_reference": "WX-1", "fulfilled_on": ""},
    )
    assert paid.status_code == 302
    c.refresh_from_db()
    assert c.status == S.FULFILLED and c.payout_reference == "WX-1"


def test_totals_per_department_and_month_match_the_database(as_, people, service, elsewhere):
    tz = timezone.get_current_timezone()
    plan = [
        (service, "100.10", datetime(2026, 10, 31, 23, 30, tzinfo=tz), True),
        (service, "200.20", datetime(2026, 11, 1, 0, 30, tzinfo=tz), False),
        (elsewhere, "0.01", datetime(2026, 11, 15, 12, 0, tzinfo=tz), True),
        (elsewhere, "999.99", datetime(2026, 11, 16, 12, 0, tzinfo=tz), None),  # rejected
    ]
    for department, amount, when, pay in plan:
        decider = people["approver"] if department == service else people["other_head"]
        with time_machine.travel(when, tick=False):
            complaint = make_complaint(user=people["manager"], department=department)
            c = propose(complaint, people["manager"], amount)
            if pay is None:
                comp.reject(c.pk, user=decider, reason="Not justified")
                continue
            comp.approve(c.pk, user=decider)
            if pay:
                comp.mark_fulfilled(c.pk, user=decider, payout_reference="P-1")
    page = as_(people["manager"]).get(reverse("admin:complaints_compensation_totals"))
    html = page.content.decode()
    # Expected, computed independently from the rows in the database.
    by_department, by_month = defaultdict(Decimal), defaultdict(Decimal)
    for row in Compensation.objects.filter(status__in=[S.APPROVED, S.FULFILLED]).select_related(
        "complaint__department"
    ):
        by_department[row.complaint.department.pk] += row.amount
        by_month[timezone.localtime(row.decided_at, tz).strftime("%Y-%m")] += row.amount
    assert by_department == {service.pk: Decimal("300.30"), elsewhere.pk: Decimal("0.01")}
    assert by_month == {"2026-10": Decimal("100.10"), "2026-11": Decimal("200.21")}
    for pk, total in by_department.items():
        assert f'data-department="{pk}" data-currency="CNY">' in html
        assert f'<td class="total">{total}</td>' in html
    assert (
        '<tr data-month="2026-10" data-currency="CNY"><td>2026-10</td><td>CNY</td><td>1</td>'
        '<td class="total">100.10</td><td class="paid">100.10</td>'
    ) in html
    assert (
        '<tr data-month="2026-11" data-currency="CNY"><td>2026-11</td><td>CNY</td><td>2</td>'
        '<td class="total">200.21</td><td class="paid">0.01</td>'
    ) in html
    # A head of the other department sees only that department's totals.
    other = as_(people["other_head"]).get(reverse("admin:complaints_compensation_totals"))
    assert f'data-department="{service.pk}"' not in other.content.decode()


def test_responsibility_page_records_the_decision(as_, people, complaint):
    cause = RootCause.objects.create(code="training", name="培训不足", name_en="Training gap")
    url = reverse("admin:complaints_compensation_responsibility", args=[complaint.pk])
    client = as_(people["head"])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "version": complaint.version,
            "validity": "valid",
            "validity_reason": "",
            "department": complaint.department_id,
            "fault": "ours",
            "root_cause_category": cause.pk,
            "finding": "Staff did not follow the checklist.",
        },
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.root_cause_category == cause and complaint.fault == "ours"
    assert complaint.responsibility_decided_by == people["head"]


def test_incident_admin_links_shows_together_and_applies_a_remedy(
    as_, people, service, django_capture_on_commit_callbacks
):
    complaints = [make_complaint(user=people["manager"], department=service) for _ in range(3)]
    client = as_(people["head"])
    response = client.post(
        reverse("admin:complaints_incident_add"),
        {"code": "batch-7", "title": "Defective batch 7", "description": "", "status": "open"},
    )
    assert response.status_code == 302
    incident = Incident.objects.get()
    assert incident.created_by == people["head"]
    refs = "\n".join(c.reference for c in complaints) + "\nC-2026-999999"
    response = client.post(
        reverse("admin:complaints_incident_link", args=[incident.pk]),
        {"references": refs},
        follow=True,
    )
    messages = texts(response)
    assert "3 linked, 0 already linked to an incident." in messages
    assert "Not found: C-2026-999999" in messages
    together = client.get(
        reverse("admin:complaints_incidentlink_changelist") + f"?incident__id__exact={incident.pk}"
    )
    assert together.status_code == 200
    assert all(c.reference in together.content.decode() for c in complaints)
    response = client.post(
        reverse("admin:complaints_incidentremedy_add"),
        {
            "incident": incident.pk,
            "kind": "voucher",
            "amount_per_complaint": "50.00",
            "currency": "CNY",
            "description": "Voucher",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    remedy = IncidentRemedy.objects.get()
    approve_url = reverse("admin:complaints_incidentremedy_approve", args=[remedy.pk])
    # The proposer sees no approve button and cannot approve.
    assert as_(people["head"]).post(approve_url, {"version": 1, "note": ""}).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = as_(people["head2"]).post(approve_url, {"version": 1, "note": ""})
    assert response.status_code == 302
    remedy.refresh_from_db()
    assert remedy.progress == IncidentRemedy.Progress.DONE and remedy.applied_count == 3
    detail = client.get(reverse("admin:complaints_incidentremedy_change", args=[remedy.pk]))
    assert "(3/3)" in detail.content.decode()
    listed = client.get(reverse(LIST) + f"?incident_remedy__id__exact={remedy.pk}")
    assert listed.content.decode().count("C-2026-") >= 3
