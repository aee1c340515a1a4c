"""The follow-ups admin: pages, actions through the services, isolation, CSV export."""

import pytest
from django.urls import reverse

from complaints.models import RootCause, Status
from followups.models import (
    FollowUp,
    FollowUpWaiver,
    ImprovementAction,
    Kind,
    MessageTemplate,
    SurveyInvitation,
)
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory, form_fields

from .conftest import FOLLOWUP_PERMS, sh

pytestmark = pytest.mark.django_db
AT = sh(2026, 11, 2, 10, 0)


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(sh(2026, 11, 5, 9, 0), tick=False)


@pytest.fixture
def complaint(resolved, cn2026):
    return resolved(AT)


def change_url(complaint):
    return reverse("admin:complaints_complaint_change", args=[complaint.pk])


def test_complaint_page_shows_the_follow_ups_panel(complaint, login_client, fmanager):
    html = login_client(fmanager).get(change_url(complaint)).content.decode()
    assert 'id="followups"' in html
    assert 'data-kind="callback" data-status="scheduled"' in html
    assert "Overdue" in html  # due Wed 4 Nov 10:00, now Thu 5 Nov
    assert reverse("admin:followups_surveyinvitation_create", args=[complaint.pk]) in html
    assert reverse("admin:followups_followupwaiver_waive", args=[complaint.pk]) in html


def test_recording_a_dissatisfied_result_reopens(complaint, login_client, fmanager):
    callback = FollowUp.objects.get(complaint=complaint, kind=Kind.CALLBACK)
    client = login_client(fmanager)
    url = reverse("admin:followups_followup_record", args=[callback.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"result": "done", "solved": "yes", "satisfaction": "2", "comment": "Slow work"}
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Status.REOPENED
    page = client.get(change_url(complaint)).content.decode()
    assert "the customer gave a satisfaction of 2 out of 5" in page


def test_recording_errors_are_shown_and_change_nothing(complaint, login_client, fmanager):
    callback = FollowUp.objects.get(complaint=complaint, kind=Kind.CALLBACK)
    response = login_client(fmanager).post(
        reverse("admin:followups_followup_record", args=[callback.pk]),
        {"result": "done", "solved": "", "satisfaction": "", "comment": ""},
    )
    assert response.status_code == 200
    assert "Say whether the problem is really solved." in response.content.decode()
    callback.refresh_from_db()
    assert callback.status == "scheduled"


def test_other_departments_get_404(complaint, login_client):
    outsider = UserFactory(
        username="outsider", perms=["complaints.view_complaint", *FOLLOWUP_PERMS]
    )
    MembershipFactory(department=DepartmentFactory(code="sales"), user=outsider)
    client = login_client(outsider)
    callback = FollowUp.objects.get(complaint=complaint, kind=Kind.CALLBACK)
    assert (
        client.get(reverse("admin:followups_followup_record", args=[callback.pk])).status_code
        == 404
    )
    assert (
        client.get(reverse("admin:followups_followup_changelist"))
        .content.decode()
        .count(complaint.reference)
        == 0
    )
    assert (
        client.get(
            reverse("admin:followups_surveyinvitation_create", args=[complaint.pk])
        ).status_code
        == 404
    )


def test_waive_from_the_admin_then_close(complaint, login_client, fmanager):
    client = login_client(fmanager)
    url = reverse("admin:followups_followupwaiver_waive", args=[complaint.pk])
    assert client.post(url, {"reason": ""}).status_code == 200
    assert not FollowUpWaiver.objects.exists()
    assert client.post(url, {"reason": "Customer moved abroad"}).status_code == 302
    response = client.post(
        reverse("admin:complaints_complaint_transition", args=[complaint.pk, "closed"]),
        {"version": complaint.version},
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED


def test_close_refused_in_the_admin_with_the_reason(complaint, login_client, fmanager):
    response = login_client(fmanager).post(
        reverse("admin:complaints_complaint_transition", args=[complaint.pk, "closed"]),
        {"version": complaint.version},
    )
    assert response.status_code == 200
    assert "The required follow-up (return visit) is not done yet." in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == Status.RESOLVED


def test_survey_link_page_gives_link_and_sms_text(complaint, login_client, fmanager):
    client = login_client(fmanager)
    url = reverse("admin:followups_surveyinvitation_create", args=[complaint.pk])
    response = client.post(url, {"language": "en", "valid_days": "7"})
    html = response.content.decode()
    invitation = SurveyInvitation.objects.get()
    assert invitation.language == "en"
    assert (invitation.expires_at - invitation.created_at).days == 7
    assert 'id="survey-link"' in html and "/s/" in html
    assert f"How did we handle complaint {complaint.reference}?" in html
    # No email address: asking to email it shows the error and creates nothing more.
    response = client.post(url, {"language": "", "valid_days": "7", "send_email": "on"})
    assert "no email address" in response.content.decode()


def test_message_template_is_editable_and_validated(login_client, fmanager):
    template = MessageTemplate.objects.get(code="survey_sms")
    client = login_client(fmanager)
    url = reverse("admin:followups_messagetemplate_change", args=[template.pk])
    data = dict(form_fields(client.get(url).content.decode(), "messagetemplate_form").items())
    data["body_en"] = ["Rate us: {link} {phone}"]
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Unknown placeholder" in response.content.decode()
    data["body_en"] = ["Rate us: {link}"]
    assert client.post(url, data).status_code == 302
    template.refresh_from_db()
    assert template.body_en == "Rate us: {link}"


def test_follow_up_list_overdue_filter_and_csv(complaint, login_client, fmanager):
    client = login_client(fmanager)
    listing = client.get(reverse("admin:followups_followup_changelist") + "?due=overdue")
    assert listing.status_code == 200
    assert complaint.reference in listing.content.decode()
    response = client.post(
        reverse("admin:followups_followup_changelist"),
        {
            "action": "export_csv",
            "_selected_action": list(FollowUp.objects.values_list("pk", flat=True)),
        },
    )
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.strip().splitlines()
    assert lines[0].startswith('"id","complaint","round","kind","due_at"')  # the API export
    assert len(lines) == 3 and complaint.reference in lines[1]


def test_improvement_action_admin(complaint, login_client, fmanager, department):
    root = RootCause.objects.create(code="process", name="流程", name_en="Process")
    client = login_client(fmanager)
    add = reverse("admin:followups_improvementaction_add")
    assert client.get(add).status_code == 200
    response = client.post(
        add,
        {
            "title": "Checklist for pipe repairs",
            "description": "",
            "root_cause": root.pk,
            "item_ref": "",
            "department": department.pk,
            "owner": fmanager.pk,
            "due_date": "2026-11-30",
            "complaints": [complaint.pk],
            "review_days": "60",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    action = ImprovementAction.objects.get()
    assert list(action.complaints.all()) == [complaint]
    changelist = reverse("admin:followups_improvementaction_changelist")
    client.post(changelist, {"action": "complete_selected", "_selected_action": [action.pk]})
    action.refresh_from_db()
    assert action.status == "done"
    page = client.get(reverse("admin:followups_improvementaction_change", args=[action.pk]))
    assert "the period after completion is not over yet" in page.content.decode()
    review = reverse("admin:followups_improvementaction_review", args=[action.pk])
    response = client.post(review, {"effective": "yes", "verdict": "Looks good"})
    assert "not final" in response.content.decode()
    # The complaint page links the action.
    assert "Checklist for pipe repairs" in client.get(change_url(complaint)).content.decode()


def test_policy_admin_pages(login_client, superuser):
    client = login_client(superuser)
    assert client.get(reverse("admin:followups_followuppolicy_changelist")).status_code == 200
    assert client.get(reverse("admin:followups_followuppolicy_add")).status_code == 200
    for name in ("reminder", "repeatlink", "followupwaiver", "surveyinvitation"):
        assert client.get(reverse(f"admin:followups_{name}_changelist")).status_code == 200


def test_follow_up_change_page_reschedules_through_the_service(
    complaint, login_client, fmanager, department
):
    MembershipFactory(department=department, user=fmanager)
    callback = FollowUp.objects.get(complaint=complaint, kind=Kind.CALLBACK)
    client = login_client(fmanager)
    url = reverse("admin:followups_followup_change", args=[callback.pk])
    page = client.get(url)
    assert page.status_code == 200 and complaint.reference in page.content.decode()
    data = form_fields(page.content.decode(), "followup_form")
    data["method"] = ["visit"]
    data["assignee"] = [str(fmanager.pk)]
    assert client.post(url, data).status_code == 302
    callback.refresh_from_db()
    assert (callback.method, callback.assignee) == ("visit", fmanager)
    assert callback.reminded_at is None
    # A recorded follow-up is read-only.
    callback.status = "done"
    callback.save()
    assert 'name="method"' not in client.get(url).content.decode()
