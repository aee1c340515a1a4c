"""zh-Hans in the browser (issue 11): log in in English, switch to 中文 from the account menu,
and the main pages, as Chromium renders them after their scripts ran, show no English."""

import re

import pytest
from playwright.sync_api import expect

from tests.i18n.test_zh_pages import PAGES, build_world, english_words

from .conftest import PASSWORD, login

# The pages a person opens every day (the rest are covered server-side in tests/i18n).
BROWSER_PAGES = ("list", "change", "add", "inbox", "reminders", "policies", "dashboard")


@pytest.fixture
def world():
    head, complaint, data = build_world()
    head.set_password(PASSWORD)
    head.save(update_fields=["password"])
    return head, complaint, data


def test_switch_to_zh_hans_and_no_english_remains(new_page, world):
    head, complaint, data = world
    page = login(new_page(language="en"), head.username)
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # The language switch sits in the account menu at the foot of the sidebar.
    page.locator('[x-data*="openUserLinks"] > div.cursor-pointer').click()
    switch = page.locator('form[action$="/i18n/setlang/"]:has(input[name=language][value=zh-hans])')
    switch.locator("button").click()
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", re.compile("zh", re.I))

    for name in BROWSER_PAGES:
        page.goto(PAGES[name](complaint))
        page.wait_for_load_state("networkidle")
        expect(page.locator("html")).to_have_attribute("lang", re.compile("zh", re.I))
        words = sorted(english_words(page.content(), data))
        page.screenshot(path=f"var/e2e/zh-{name}.png", full_page=True)
        assert not words, f"{name}: {' '.join(words)}"
