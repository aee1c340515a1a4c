"""Daily work in the browser (issue 11), in English and Chinese: take a complaint from its
page, take several from the list, close resolved ones after the confirm page, save a view,
and export the current list as CSV and XLSX (the downloads hold exactly the listed rows).
In Chinese no English is left on these pages."""

import csv
import io

import openpyxl
import pytest
from playwright.sync_api import expect

from complaints.models import Complaint, Status
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import DepartmentFactory, make_complaint, walk_to
from tests.i18n.test_zh_pages import english_words

TEXT = {
    "en": {
        "take": "Take it",
        "assign_to_me": "Assign to me",
        "close": "Close selected resolved complaints…",
        "close_button": "Close them",
        "assigned": "2 assigned to you",
        "closed": "2 closed, 1 skipped: 1 not resolved yet",
        "my_open": "My open",
        "save": "Save view",
        "reference_header": "reference",
    },
    "zh-hans": {
        "take": "由我处理",
        "assign_to_me": "指派给我",
        "close": "结案所选已解决投诉…",
        "close_button": "结案",
        "assigned": "2 件已指派给您",
        "closed": "2 件已结案，跳过 1 件：1 件尚未解决",
        "my_open": "我的未办结",
        "save": "保存视图",
        "reference_header": "投诉编号",
    },
}


def no_english(page, data, selector=None):
    html = page.locator(selector).first.inner_html() if selector else page.content()
    words = english_words(html, data)
    assert not words, " ".join(sorted(words))


def run_action(page, label):
    page.locator("select[name=action]").select_option(label=label)
    page.locator("button[name=index]").first.click()
    page.wait_for_load_state()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_take_bulk_close_save_view_and_export(logged_in, make_staff, language):
    text = TEXT[language]
    department = DepartmentFactory(code="wuye", name="物业管理")
    page, handler = logged_in("handler", language=language, departments=[department])
    manager = make_staff(
        "manager", username="jingli", departments=[department], first_name="王经理"
    )
    subjects = iter(f"卫生间漏水 {i}" for i in range(10))

    def complaint(status="new"):
        c = make_complaint(
            user=manager,
            department=department,
            subject=next(subjects),
            description="从周一开始漏水。",
            solution="更换水管",
            resolution="已更换",
        )
        return walk_to(c, status, user=manager) if status != "new" else c

    single = complaint()
    two = [complaint(), complaint()]
    resolved = [complaint("resolved"), complaint("resolved")]
    investigating = complaint("investigating")
    from followups.services.visits import waive

    for c in resolved:
        waive(c.pk, user=manager, reason="客户不需要回访")
    data = {c.reference for c in Complaint.objects.all()} | {"jingli", "handler", "Handler"}

    # 1. Take it from the complaint page.
    page.goto(f"/admin/complaints/complaint/{single.pk}/change/")
    if language != "en":
        no_english(page, data, "#take-it")
    expect(page.locator("#take-it button")).to_have_text(text["take"])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"daily-work-take-it-{language}.png")
    page.locator("#take-it button").click()
    page.wait_for_load_state()
    expect(page.locator("#assignee-now")).to_contain_text(handler.first_name)
    assert Complaint.objects.get(pk=single.pk).assignee_id == handler.pk
    message = f"{single.reference} 已指派给您" if language != "en" else "now assigned to you"
    expect(page.locator("body")).to_contain_text(message)
    if language != "en":
        # Only this part: the rest of the change page still shows English system texts
        # (severity reasons; see tests/i18n/test_zh_pages.py).
        no_english(page, data | {handler.first_name}, "#assignee-now")

    # 2. Assign two to me from the list.
    page.goto("/admin/complaints/complaint/")
    for c in two:
        page.locator(f"input.action-select[value='{c.pk}']").check()
    run_action(page, text["assign_to_me"])
    expect(page.locator("body")).to_contain_text(text["assigned"])
    assert Complaint.objects.filter(assignee=handler).count() == 3

    # 3. Close the resolved ones (and one that is not): confirm page first.
    for c in [*resolved, investigating]:
        page.locator(f"input.action-select[value='{c.pk}']").check()
    run_action(page, text["close"])
    expect(page.locator("#bulk-form")).to_be_visible()
    page.screenshot(path=SCREENSHOTS / f"daily-work-close-confirm-{language}.png")
    if language != "en":
        no_english(page, data)
    page.locator("#bulk-form textarea[name=note]").fill("每周清理")
    page.locator("#bulk-form button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("body")).to_contain_text(text["closed"])
    assert set(Complaint.objects.filter(status=Status.CLOSED).values_list("pk", flat=True)) == {
        c.pk for c in resolved
    }

    # 4. The built-in view, then save the current list as a view of my own.
    page.get_by_role("link", name=text["my_open"], exact=True).click()
    page.wait_for_load_state()
    assert "mine=assigned" in page.url
    page.goto("/admin/complaints/complaint/?q=漏水&o=-2")
    page.locator("#save-view-form input[name=name]").fill("漏水")
    page.locator("#save-view").click()
    page.wait_for_load_state()
    expect(page.locator("#list-views a[aria-current=page]")).to_have_text("漏水")
    if language != "en":
        no_english(page, data)

    # 5. Export the current list: the same rows in the same order, CSV and XLSX.
    listed = [link.inner_text() for link in page.locator("#result_list .field-reference a").all()]
    assert len(listed) == 6
    with page.expect_download() as download_info:
        page.locator("#export-csv").click()
    with open(download_info.value.path(), encoding="utf-8-sig") as handle:
        body = handle.read()
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == text["reference_header"]
    assert [r[0] for r in rows[1:]] == listed
    with page.expect_download() as download_info:
        page.locator("#export-xlsx").click()
    with open(download_info.value.path(), "rb") as handle:
        sheet = openpyxl.load_workbook(io.BytesIO(handle.read())).worksheets[0]
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == listed
