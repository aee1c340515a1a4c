"""Follow-ups in the browser: the public survey page on a phone (390 px) and a desktop, in
Chinese and English; resolve -> return visit scheduled -> done; a survey answered with a
satisfaction of 2 reopens the complaint with the reason on its timeline."""

import re

import pytest
from playwright.sync_api import expect

from complaints.models import Complaint, Status
from followups.models import FollowUp, Kind, SurveyInvitation
from followups.services import surveys
from tests.factories import DepartmentFactory, make_complaint, walk_to


@pytest.fixture
def department(db):
    return DepartmentFactory(code="property", name="Property management")


def _resolved_complaint(manager, department) -> Complaint:
    complaint = make_complaint(
        user=manager,
        department=department,
        subject="Water leaking from the ceiling",
        solution="Replace the pipe and repaint.",
        resolution="Pipe replaced on Monday; the customer agreed.",
    )
    return walk_to(complaint, "resolved", user=manager)


def _survey_path(invitation) -> str:
    return re.sub(r"^https?://[^/]+", "", surveys.survey_link(invitation))


def _no_horizontal_scroll(page) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"page scrolls sideways by {overflow}px"


@pytest.mark.parametrize(
    "language,width,question,submit,thanks",
    [
        ("zh-CN", 390, "您对处理结果的满意程度如何？", "提交", "感谢您的回答。"),
        (
            "en-US",
            390,
            "How satisfied are you with the outcome?",
            "Send my answers",
            "Thank you for your answers.",
        ),
        ("zh-CN", 1440, "您对处理结果的满意程度如何？", "提交", "感谢您的回答。"),
        (
            "en-US",
            1440,
            "How satisfied are you with the outcome?",
            "Send my answers",
            "Thank you for your answers.",
        ),
    ],
)
def test_survey_page_on_phone_and_desktop(
    new_page, make_staff, department, language, width, question, submit, thanks
):
    manager = make_staff("manager", username="li")
    complaint = _resolved_complaint(manager, department)
    invitation = surveys.create_invitation(complaint.pk, user=manager)
    page = new_page(language=language, width=width, height=844 if width == 390 else 900)
    page.goto(_survey_path(invitation))
    expect(page.locator("#reference")).to_have_text(complaint.reference)
    expect(page.locator("#subject")).to_have_text("Water leaking from the ceiling")
    expect(page.locator("#q-outcome_score legend")).to_have_text(question)
    _no_horizontal_scroll(page)
    # Every choice is a comfortable tap target and visible without zooming.
    box = page.locator("#q-outcome_score label").first.bounding_box()
    assert box["height"] >= 40 and box["x"] >= 0 and box["x"] + box["width"] <= width
    page.locator("#q-outcome_score label", has_text="4").click()
    page.locator("#q-handling_score label", has_text="5").click()
    page.locator("#q-solved label").first.click()  # yes
    page.fill("textarea[name=comment]", "修得很好 / well done")
    page.get_by_role("button", name=submit).click()
    expect(page.locator("#thanks")).to_contain_text(thanks)
    invitation.refresh_from_db()
    assert (invitation.outcome_score, invitation.handling_score, invitation.solved) == (4, 5, True)
    # The link is single-use: opening it again says so, politely.
    page.goto(_survey_path(invitation))
    expect(page.locator("#unavailable")).to_have_attribute("data-reason", "used")


def test_language_switch_on_the_page(new_page, make_staff, department):
    manager = make_staff("manager", username="li")
    invitation = surveys.create_invitation(
        _resolved_complaint(manager, department).pk, user=manager
    )
    page = new_page(language="zh-CN", width=390, height=844)
    page.goto(_survey_path(invitation))
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Customer satisfaction survey")
    page.get_by_role("link", name="中文").click()
    expect(page.locator("h1")).to_have_text("客户满意度调查")


def test_resolve_then_return_visit_scheduled_then_done(logged_in, department):
    page, manager = logged_in("manager", departments=[department])
    complaint = make_complaint(
        user=manager,
        department=department,
        solution="Replace the pipe.",
        resolution="Pipe replaced; the customer agreed.",
    )
    complaint = walk_to(complaint, "solution_proposed", user=manager)
    page.goto(f"/admin/complaints/complaint/{complaint.pk}/change/")
    # "Resolve…" opens the step's page, which asks for the resolution summary.
    page.locator(".workflow-action[data-target=resolved]").click()
    expect(page.locator("textarea[name=resolution]")).to_have_value(
        "Pipe replaced; the customer agreed."
    )
    page.locator("form button[type=submit]").last.click()
    expect(page.locator("#workflow")).to_contain_text("Resolved")
    callback_row = page.locator("#followup-list tr.followup-row[data-kind=callback]")
    expect(callback_row).to_have_attribute("data-status", "scheduled")
    expect(page.locator("#followup-list tr.followup-row")).to_have_count(2)
    callback_row.locator("a.followup-record").click()
    page.select_option("select[name=result]", "done")
    page.select_option("select[name=solved]", "yes")
    page.select_option("select[name=satisfaction]", "5")
    page.fill("textarea[name=comment]", "Customer confirms it is dry.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#followup-list tr.followup-row[data-kind=callback]")).to_have_attribute(
        "data-status", "done"
    )
    expect(page.locator("#timeline")).to_contain_text("problem solved: yes; satisfaction: 5/5")
    followup = FollowUp.objects.get(complaint=complaint, kind=Kind.CALLBACK)
    assert (followup.status, followup.solved, followup.satisfaction) == ("done", True, 5)
    # Now the complaint may be closed.
    page.locator("button.workflow-action[data-target=closed]").click()
    expect(page.locator("#workflow")).to_contain_text("Closed")


def test_dissatisfied_survey_reopens_with_the_reason_on_the_timeline(
    logged_in, new_page, department
):
    staff_page, manager = logged_in("manager", departments=[department])
    complaint = _resolved_complaint(manager, department)
    # Staff create the link from the complaint page and copy it.
    staff_page.goto(f"/admin/complaints/complaint/{complaint.pk}/change/")
    staff_page.locator("a.followup-survey").click()
    staff_page.get_by_role("button", name="Create link").click()
    link = staff_page.locator("#survey-link").input_value()
    assert SurveyInvitation.objects.filter(complaint=complaint).count() == 1

    customer = new_page(language="zh-CN", width=390, height=844)
    customer.goto(re.sub(r"^https?://[^/]+", "", link))
    customer.locator("#q-outcome_score label", has_text="2").click()
    customer.locator("#q-handling_score label", has_text="3").click()
    customer.locator("#q-solved label").first.click()
    customer.get_by_role("button", name="提交").click()
    expect(customer.locator("#thanks")).to_be_visible()

    complaint.refresh_from_db()
    assert complaint.status == Status.REOPENED
    staff_page.goto(f"/admin/complaints/complaint/{complaint.pk}/change/")
    expect(staff_page.locator("#workflow")).to_contain_text("Reopened")
    expect(staff_page.locator("#timeline")).to_contain_text(
        "Reopened automatically: in the satisfaction survey the customer gave a satisfaction "
        "of 2 out of 5."
    )
    expect(staff_page.locator("#survey-results")).to_contain_text("outcome 2/5, handling 3/5")
