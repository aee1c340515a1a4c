"""The complaint page's daily work in real Chromium, in English and zh-Hans: a reply template
fills in a customer contact (and switches language), the complaint waits for the customer
with a follow-up date, and an image attachment is previewed."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

TEXTS = {
    "en": {"follow_up": "Follow up on", "waiting": "Waiting for the customer"},
    "zh-hans": {"follow_up": "跟进日期", "waiting": "等待客户回复"},
}


@pytest.fixture
def desk(db):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from complaints.models import Customer, ReplyTemplate
    from complaints.services.attachments import add_attachment
    from tests.factories import DepartmentFactory, UserFactory, png_bytes

    department = DepartmentFactory(code="service", name="客户服务部")
    ReplyTemplate.objects.create(
        name="受理确认",
        name_en="Acknowledgement",
        kind=ReplyTemplate.Kind.CONTACT,
        body="{customer_name}您好，您的投诉 {reference} 已受理。",
        body_en="Hello {customer_name}, complaint {reference} is registered.",
    )
    customer = Customer.objects.create(name="江德", phone="+8613912345678")
    uploader = UserFactory(username="uploader", is_superuser=True)
    return {
        "department": department,
        "customer": customer,
        "uploader": uploader,
        "png": SimpleUploadedFile("漏水照片.png", png_bytes(), content_type="image/png"),
        "add_attachment": add_attachment,
    }


def investigating(desk, handler):
    from tests.factories import make_complaint, walk_to

    complaint = make_complaint(
        user=desk["uploader"],
        department=desk["department"],
        assignee=handler,
        customer=desk["customer"],
        subject="Water leaking from the ceiling",
    )
    walk_to(complaint, "investigating", user=desk["uploader"])
    desk["add_attachment"](complaint.pk, user=desk["uploader"], uploaded=desk["png"])
    return complaint


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_template_contact_awaiting_and_image_preview(logged_in, desk, language):
    texts = TEXTS[language]
    page, handler = logged_in("handler", language=language, departments=[desk["department"]])
    complaint = investigating(desk, handler)
    page.goto(f"/admin/complaints/complaint/{complaint.pk}/change/")

    # The timeline sits above the details, below the deadlines.
    boxes = [
        page.locator(s).bounding_box()["y"] for s in ("#deadlines", "#timeline", "#complaint_form")
    ]
    assert boxes == sorted(boxes)

    # A reply template fills the contact summary, in the page's language first.
    contact = page.locator("#contact-form")
    summary = contact.locator("textarea[name=summary]")
    contact.locator("select.reply-template-picker").select_option(
        label="Acknowledgement" if language == "en" else "受理确认"
    )
    first = "Hello 江德, complaint" if language == "en" else "江德您好，您的投诉"
    expect(summary).to_have_value(re.compile(re.escape(first)))
    expect(summary).to_have_value(re.compile(complaint.reference))
    # Switching the language swaps the inserted text.
    other = "zh-hans" if language == "en" else "en"
    contact.locator("select.reply-template-language").select_option(other)
    second = "江德您好，您的投诉" if language == "en" else "Hello 江德, complaint"
    expect(summary).to_have_value(re.compile(re.escape(second)))
    contact.locator("select[name=channel]").select_option("hotline")
    contact.locator("button[type=submit]").click()
    page.wait_for_load_state()
    expect(page.locator("#timeline-events")).to_contain_text(second)

    # Wait for the customer: the step's page asks for the follow-up date.
    page.locator('.workflow-action[data-target="awaiting_customer"]').click()
    page.wait_for_load_state()
    follow_up = timezone.localdate() + timedelta(days=5)
    expect(page.locator("input[name=follow_up_on]")).to_have_value(
        (timezone.localdate() + timedelta(days=3)).isoformat()
    )
    page.fill("textarea[name=note]", "Photos of the damage")
    page.fill("input[name=follow_up_on]", follow_up.isoformat())
    page.locator("#content-main form button[type=submit]").click()
    page.wait_for_load_state()
    awaiting = page.locator("#awaiting")
    expect(awaiting).to_contain_text(texts["waiting"])
    expect(awaiting).to_contain_text(f"{texts['follow_up']} {follow_up.isoformat()}")
    expect(page.locator("#timeline-events .follow-up-date").first).to_contain_text(
        follow_up.isoformat()
    )

    # The attachment row shows a thumbnail that loaded; it opens the image in a new tab.
    thumbnail = page.locator("a.attachment-preview img")
    thumbnail.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=thumbnail.element_handle()
    )
    with page.expect_popup() as popup_info:
        page.locator("a.attachment-preview").click()
    popup = popup_info.value
    popup.wait_for_load_state()
    assert re.search(r"/attachments/\d+/view/$", popup.url)
    response = page.request.get(popup.url)
    assert response.headers["content-type"] == "image/png"
    assert response.headers["content-security-policy"].startswith("sandbox")
    assert response.headers["x-content-type-options"] == "nosniff"
    popup.close()


def test_show_older_entries_loads_in_place(logged_in, desk):
    from datetime import timedelta

    from complaints.models import ComplaintEvent

    page, handler = logged_in("handler", departments=[desk["department"]])
    complaint = investigating(desk, handler)
    start = timezone.now() - timedelta(days=2)
    ComplaintEvent.objects.bulk_create(
        ComplaintEvent(
            complaint=complaint,
            kind=ComplaintEvent.Kind.NOTE,
            note=f"call {i:02d}",
            created_at=start + timedelta(minutes=i),
        )
        for i in range(45)
    )
    total = ComplaintEvent.objects.filter(complaint=complaint).count()
    assert 40 < total <= 60
    page.goto(f"/admin/complaints/complaint/{complaint.pk}/change/")
    events = page.locator("#timeline-events li.timeline-event")
    expect(events).to_have_count(20)
    page.locator("a.timeline-older").click()
    expect(events).to_have_count(40)
    assert page.url.endswith("/change/")  # loaded in place, not a new page
    page.locator("a.timeline-older").click()
    expect(events).to_have_count(total)
    expect(page.locator("a.timeline-older")).to_have_count(0)
