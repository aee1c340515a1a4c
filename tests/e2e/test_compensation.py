"""Compensation in the browser: a handler proposes a compensation above their own approval
limit, a department head approves it from the "awaiting my approval" queue, and the totals
show it."""

import re

from playwright.sync_api import expect

from complaints.models import Compensation, DepartmentMembership
from tests.factories import DepartmentFactory, make_complaint


def test_handler_proposes_head_approves_from_queue_totals_show(logged_in):
    service = DepartmentFactory(code="service", name="Customer service")
    complaint = make_complaint(user=None, department=service, subject="Lift out of order")
    handler_page, handler = logged_in("handler", departments=[service], username="hana")

    # The handler proposes 1,500.00 from the complaint page (a handler's own limit is 0).
    handler_page.goto(f"/admin/complaints/complaint/{complaint.pk}/change/")
    handler_page.click("#propose-compensation")
    expect(handler_page.locator("#tier-guidance")).to_contain_text(
        "Your approval limit: 0.00 CNY per compensation"
    )
    handler_page.select_option("select[name=kind]", "voucher")
    handler_page.fill("input[name=amount]", "1500.00")
    handler_page.fill("textarea[name=description]", "Shopping voucher for the lift outage")
    handler_page.click("button[name=_save]")
    expect(handler_page).to_have_url(re.compile(rf"/complaint/{complaint.pk}/change/"))
    row = handler_page.locator("#compensation-list tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Awaiting approval")
    expect(row).to_contain_text("1,500.00 CNY")
    expect(handler_page.locator("#timeline")).to_contain_text(
        "above the proposer's approval limit, it waits for an approver whose limit covers it"
    )
    compensation = Compensation.objects.get()
    assert compensation.proposed_by == handler and compensation.status == "proposed"

    # The head of the department (limit 2,000) approves it from the queue.
    head_page, head = logged_in("head", departments=[service], username="helen")
    DepartmentMembership.objects.filter(user=head).update(role=DepartmentMembership.Role.HEAD)
    head_page.goto("/admin/")
    head_page.click("text=Awaiting my approval")
    expect(head_page).to_have_url(re.compile(r"/admin/complaints/compensation/\?queue=mine"))
    rows = head_page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(complaint.reference)
    rows.first.locator("input.action-select").check()
    head_page.select_option("select[name=action]", "approve_selected")
    head_page.click("button[name=index]")
    expect(head_page.locator("body")).to_contain_text(
        "1 approved, 0 refused, 0 skipped (not awaiting approval)."
    )
    compensation.refresh_from_db()
    assert compensation.status == "approved" and compensation.decided_by == head

    # The totals show it: on the complaint and per department and month.
    head_page.goto(f"/admin/complaints/complaint/{complaint.pk}/change/")
    expect(head_page.locator("#compensation .compensation-totals td.granted")).to_have_text(
        "1500.00"
    )
    head_page.goto("/admin/complaints/compensation/totals/")
    department_row = head_page.locator(f'#totals-by-department tr[data-department="{service.pk}"]')
    expect(department_row).to_contain_text("Customer service")
    expect(department_row.locator("td.total")).to_have_text("1500.00")
    expect(head_page.locator("#totals-by-month tbody tr").first.locator("td.total")).to_have_text(
        "1500.00"
    )
