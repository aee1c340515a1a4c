"""A whole complaint in real Chromium, as the issue's new user tried it: phone intake for a
new customer, acknowledge, assign, contact, solution, resolve, close, reopen; search; a
handler sees only their department."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import login


@pytest.fixture
def world(make_staff):
    from tests.factories import DepartmentFactory, make_complaint

    property_dept = DepartmentFactory(
        code="property",
        name="物业管理",
    )
    billing = DepartmentFactory(code="billing", name="账务")
    manager = make_staff("manager", username="li", first_name="Li", last_name="Na")
    handler = make_staff(
        "handler", username="wang", first_name="Fang", last_name="Wang", departments=[property_dept]
    )
    elsewhere = make_complaint(user=manager, department=billing, subject="Invoice charged twice")
    return {"property": property_dept, "manager": manager, "handler": handler, "other": elsewhere}


def step(page, target):
    """Take a workflow step from the complaint page: a button, or a link to its page."""
    page.locator(f'.workflow-action[data-target="{target}"]').click()
    page.wait_for_load_state()


def status_is(page, label):
    expect(page.locator("#workflow")).to_contain_text(label)


def test_phone_complaint_from_intake_to_reopen(new_page, world):
    page = login(new_page(), "li")
    expect(page).to_have_url(re.compile(r"/admin/$"))

    # Record a phone complaint for a new customer.
    page.goto("/admin/complaints/complaint/add/")
    page.select_option("select[name=channel]", "hotline")
    page.fill("input[name=subject]", "Water leaking from the ceiling")
    page.fill(
        "textarea[name=description]", "Since Monday water drips in the bathroom of flat 1203."
    )
    page.fill("input[name=new_customer_name]", "江德")
    page.fill("input[name=new_customer_phone]", "139 1234 5678")
    page.locator("button[name=_save]").click()
    expect(page).to_have_url(re.compile(r"/admin/complaints/complaint/\d+/change/$"))
    expect(page.locator("body")).to_contain_text("recorded.")
    reference = page.locator("#workflow span.font-semibold").first.inner_text().strip()
    assert re.fullmatch(r"C-\d{4}-\d{6}", reference)
    change_url = page.url

    # Acknowledge: the step asks for the responsible department and saves both.
    step(page, "acknowledged")
    page.select_option("select[name=department]", label="物业管理")
    page.locator("form button[type=submit]").last.click()
    status_is(page, "Acknowledged")

    # Assign to the department's handler (the picker offers only its staff).
    options = page.locator("select[name=assignee] option").all_inner_texts()
    assert "Fang Wang" in options and "Li Na" not in options
    page.select_option("select[name=assignee]", label="Fang Wang")
    page.locator("button[name=_continue]").click()
    expect(page.locator("body")).to_contain_text("Fang Wang")

    step(page, "investigating")
    status_is(page, "Investigating")

    # Log a contact with the customer.
    contact = page.locator("#contact-form")
    contact.locator("select[name=channel]").select_option("hotline")
    contact.locator("textarea[name=summary]").fill("Called back; plumber visit agreed for Friday.")
    contact.locator("button[type=submit]").click()
    expect(page.locator("#timeline")).to_contain_text("plumber visit agreed")

    # Propose a solution and resolve: each page asks for the text it needs.
    step(page, "solution_proposed")
    page.fill("textarea[name=solution]", "Replace the corroded pipe and repaint the ceiling.")
    page.locator("form button[type=submit]").last.click()
    status_is(page, "Solution proposed")
    step(page, "resolved")
    page.fill("textarea[name=resolution]", "Pipe replaced on Friday; ceiling repainted.")
    page.locator("form button[type=submit]").last.click()
    status_is(page, "Resolved")

    # Closing needs the return visit done or waived (follow-ups panel on the page).
    page.locator('a[href*="/waive/"]').first.click()
    page.fill("textarea[name=reason]", "Customer confirmed by phone; no visit wanted.")
    page.locator("form button[type=submit]").last.click()
    expect(page.locator("body")).to_contain_text("may be closed")
    step(page, "closed")
    status_is(page, "Closed")
    step(page, "reopened")
    page.fill("textarea[name=note]", "Dripping again after the rain.")
    page.locator("form button[type=submit]").last.click()
    status_is(page, "Reopened")
    expect(page.locator("#timeline")).to_contain_text("Dripping again")

    # Find it again by a part of the reference and by the last digits of the phone.
    for term in (reference[-5:], "5678"):
        page.goto(f"/admin/complaints/complaint/?q={term}")
        expect(page.locator("#result_list")).to_contain_text(reference)
        expect(page.locator("#result_list")).not_to_contain_text(world["other"].reference)

    # At 1440 px the list shows the Due column without scrolling sideways.
    page.goto("/admin/complaints/complaint/")
    due = page.locator("#result_list thead th.column-due_marker")
    box = due.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 1440, box

    # The handler sees their department's complaint, not another department's.
    handler = login(new_page(), "wang")
    handler.goto("/admin/complaints/complaint/")
    expect(handler.locator("#result_list")).to_contain_text(reference)
    expect(handler.locator("#result_list")).not_to_contain_text(world["other"].reference)
    response = handler.goto(f"/admin/complaints/complaint/{world['other'].pk}/change/")
    assert response.status == 404
    expect(handler.locator(".error-page")).to_contain_text("Page not found")
    handler.goto(change_url)
    status_is(handler, "Reopened")
