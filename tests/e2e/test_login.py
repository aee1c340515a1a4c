"""Logging in from the admin's own login page (a bookmark), as a person does."""

import re

from playwright.sync_api import expect

from .conftest import login


def test_login_from_bookmarked_login_page_lands_on_admin_home(new_page, make_staff):
    """Defect 1: /admin/login/ without ?next= used to land on /accounts/profile/ (404)."""
    make_staff("handler", username="wang", first_name="Wang", last_name="Fang")
    page = login(new_page(), "wang")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("body")).not_to_contain_text("Page not found")


def test_login_keeps_the_page_asked_for(new_page, make_staff):
    make_staff("manager", username="li")
    page = new_page()
    page.goto("/admin/complaints/complaint/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next="))
    page.fill("input[name=username]", "li")
    page.fill("input[name=password]", "e2e-pass-2026!")
    page.click("#login-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/complaints/complaint/$"))


def test_wrong_password_stays_on_login_page_with_error(new_page, make_staff):
    make_staff("handler", username="zhao")
    page = login(new_page(), "zhao", password="not-the-password")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    expect(page.locator("#login-form")).to_be_visible()


def test_logged_in_fixture_opens_the_admin_as_that_role(logged_in):
    page, user = logged_in("handler", username="chen")
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page.locator("#login-form")).to_have_count(0)
