"""Reply templates: safe placeholders, who is offered which, masking, the admin's department
isolation, and the picker on the complaint page and the contact/note pages in both languages."""

import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from complaints.models import ComplaintEvent, Customer, ReplyTemplate
from complaints.services import replies
from tests.factories import make_complaint

pytestmark = pytest.mark.django_db

BODY = (
    "尊敬的{customer_name}，您的投诉 {reference}（{subject}）将于 {due_date} 前处理完毕。"
    "{agent_name}，{department}"
)
BODY_EN = (
    "Dear {customer_name}, your complaint {reference} ({subject}) will be resolved by "
    "{due_date}. {agent_name}, {department}"
)


def template(**fields) -> ReplyTemplate:
    fields.setdefault("name", "受理确认")
    fields.setdefault("name_en", "Acknowledgement")
    fields.setdefault("body", BODY)
    fields.setdefault("body_en", BODY_EN)
    row = ReplyTemplate(**fields)
    row.full_clean()
    row.save()
    return row


@pytest.fixture
def complaint(team):
    customer = Customer.objects.create(name="王小明", phone="+8613800001111")
    return make_complaint(
        user=team["manager"],
        department=team["service"],
        customer=customer,
        subject="电梯故障 <b>urgent</b>",
    )


# -- placeholders ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "Hello {customer}",  # a typo
        "{customer_name.__class__.__mro__}",  # attribute access as str.format would do
        "{0}",
        "{{ settings.SECRET_KEY }}",  # template-engine syntax
        "{% load log %}{customer_name!r}",
    ],
)
def test_unknown_placeholders_are_refused_with_a_clear_message(body):
    with pytest.raises(ValidationError) as error:
        template(body=body)
    text = " ".join(error.value.messages)
    assert "Unknown placeholder" in text and "{customer_name}" in text


def test_english_text_is_checked_too():
    with pytest.raises(ValidationError):
        template(body_en="Dear {name}")


def test_filling_in_is_a_plain_substitution(team, complaint):
    values = replies.values_for(complaint, team["handler.service"], language="en")
    assert replies.fill("{customer_name} {customer_name.__class__} {{reference}}", values) == (
        "王小明 {customer_name.__class__} {" + complaint.reference + "}"
    )
    text = replies.render(template(), complaint, team["handler.service"], language="en")
    assert text.startswith(
        f"Dear 王小明, your complaint {complaint.reference} (电梯故障 <b>urgent</b>)"
    )
    assert "Handler service, 客户服务部" in text
    due = complaint.resolve_due_at.astimezone().strftime("%Y-%m-%d")
    assert due in text or complaint.resolve_due_at.date().isoformat() in text


def test_a_handler_without_personal_data_rights_gets_the_masked_name(team, complaint):
    text = replies.render(template(), complaint, team["masked"], language="zh-hans")
    assert "王小明" not in text
    assert "王*" in text


def test_missing_english_falls_back_to_chinese(team, complaint):
    row = template(body_en="")
    assert replies.render(row, complaint, team["manager"], language="en").startswith("尊敬的王小明")


# -- who is offered which -------------------------------------------------------------------


def test_offered_templates_follow_kind_department_and_active(team, complaint):
    everyone = template(name="A 全员")
    own = template(name="B 本部门", department=team["service"])
    template(name="C 其他部门", department=team["property"])
    template(name="D 停用", active=False)
    note_only = template(name="E 备注", kind=ReplyTemplate.Kind.NOTE)
    both = template(name="F 两用", kind=ReplyTemplate.Kind.BOTH)
    names = lambda user, kind: [  # noqa: E731
        t.pk for t in replies.usable_templates(user, complaint, kind=kind)
    ]
    assert names(team["handler.service"], "contact") == [everyone.pk, own.pk, both.pk]
    assert names(team["handler.service"], "note") == [note_only.pk, both.pk]
    # The property department's handler working on a service complaint gets the complaint's
    # department's templates, not their own department's elsewhere.
    assert own.pk in names(team["handler.property"], "contact")


# -- the complaint page ----------------------------------------------------------------------


def picker_options(html: str, element_id: str) -> list[dict]:
    found = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html)
    assert found, element_id
    return json.loads(found.group(1))


def test_change_page_offers_the_templates_filled_in_and_escaped(team, complaint, login_client):
    template(department=team["service"])
    client = login_client(team["masked"])
    page = client.get(reverse("admin:complaints_complaint_change", args=[complaint.pk]))
    html = page.content.decode()
    assert 'class="reply-template-picker' in html and "complaints/desk.js" in html
    [option] = picker_options(html, "contact-templates")
    assert option["name"] == "Acknowledgement"
    assert option["texts"]["en"].startswith("Dear 王**, your complaint")
    assert "王小明" not in html.split('id="contact-templates"')[1].split("</script>")[0]
    # json_script escapes markup: the subject cannot close the script element.
    assert "<b>urgent</b>" not in html.split('id="contact-templates"')[1].split("</script>")[0]
    assert 'id="note-templates"' not in html  # a contact template is not offered for notes


def test_zh_hans_page_names_and_starts_in_chinese(team, complaint, login_client):
    template(department=team["service"])
    client = login_client(team["handler.service"])
    html = client.get(
        reverse("admin:complaints_complaint_change", args=[complaint.pk]),
        headers={"accept-language": "zh-hans"},
    ).content.decode()
    assert "回复模板" in html and "— 选择模板 —" in html
    [option] = picker_options(html, "contact-templates")
    assert option["name"] == "受理确认"
    assert re.search(r'<option value="zh-hans" selected>中文</option>', html)


def test_contact_page_fills_in_without_javascript_and_saves(team, complaint, login_client):
    row = template(department=team["service"])
    client = login_client(team["handler.service"])
    url = reverse("admin:complaints_complaint_contact", args=[complaint.pk])
    html = client.get(url, {"template": row.pk, "lang": "en"}).content.decode()
    assert "Dear 王小明, your complaint" in html
    html_zh = client.get(url, {"template": row.pk, "lang": "zh-hans"}).content.decode()
    assert "尊敬的王小明" in html_zh
    response = client.post(
        url, {"channel": "hotline", "direction": "out", "summary": "Dear 王小明, done."}
    )
    assert response.status_code == 302
    assert ComplaintEvent.objects.filter(complaint=complaint, kind="contact").exists()


def test_another_departments_template_is_not_filled_in(team, complaint, login_client):
    foreign = template(department=team["property"], body="内部口径：{reference}")
    client = login_client(team["handler.service"])
    url = reverse("admin:complaints_complaint_note", args=[complaint.pk])
    html = client.get(url, {"template": foreign.pk}).content.decode()
    assert "内部口径" not in html


# -- the admin --------------------------------------------------------------------------------


def admin_form(**overrides) -> dict:
    data = {
        "name": "延期说明",
        "name_en": "Delay notice",
        "kind": "contact",
        "body": "{customer_name}您好，{reference} 的处理需要延期。",
        "body_en": "",
        "sort_order": "0",
        "active": "on",
    }
    data.update(overrides)
    return data


def test_head_keeps_only_their_departments_templates(team, login_client):
    client = login_client(team["head.service"])
    add = reverse("admin:complaints_replytemplate_add")
    refused = client.post(add, admin_form(department=team["property"].pk))
    assert refused.status_code == 200 and not ReplyTemplate.objects.exists()
    assert client.post(add, admin_form(department=team["service"].pk)).status_code == 302
    mine = ReplyTemplate.objects.get()
    assert mine.department == team["service"] and mine.updated_by == team["head.service"]
    other = template(department=team["property"])
    shared = template(name="全员模板")
    listing = client.get(reverse("admin:complaints_replytemplate_changelist")).content.decode()
    assert "延期说明" in listing and "全员模板" in listing and "受理确认" not in listing
    change = lambda row: reverse("admin:complaints_replytemplate_change", args=[row.pk])  # noqa: E731
    assert client.get(change(other)).status_code in (302, 404)
    # The template for everyone is read-only for a head.
    assert client.post(change(shared), admin_form(department=team["service"].pk)).status_code == 403
    shared.refresh_from_db()
    assert shared.name == "全员模板"


def test_unknown_placeholder_is_an_error_on_the_admin_form(team, login_client):
    client = login_client(team["manager"])
    response = client.post(
        reverse("admin:complaints_replytemplate_add"), admin_form(body="您好 {customer}")
    )
    assert response.status_code == 200
    assert "Unknown placeholder: {customer}" in response.content.decode()
    zh = client.post(
        reverse("admin:complaints_replytemplate_add"),
        admin_form(body="您好 {customer}"),
        headers={"accept-language": "zh-hans"},
    )
    assert "未知的占位符：{customer}" in zh.content.decode()
    assert not ReplyTemplate.objects.exists()


def test_handlers_use_templates_but_do_not_edit_them(team, login_client):
    row = template()
    client = login_client(team["handler.service"])
    assert client.get(reverse("admin:complaints_replytemplate_changelist")).status_code == 403
    response = client.post(
        reverse("admin:complaints_replytemplate_change", args=[row.pk]), admin_form()
    )
    assert response.status_code == 403


def test_roles_from_the_migration():
    from django.contrib.auth.models import Group

    def perms(name):
        group = Group.objects.get(name=name)
        return set(
            group.permissions.filter(codename__endswith="replytemplate").values_list(
                "codename", flat=True
            )
        )

    assert perms("Department head · 部门负责人") == {
        "view_replytemplate",
        "add_replytemplate",
        "change_replytemplate",
    }
    assert perms("Auditor · 审计员") == {"view_replytemplate"}
    assert perms("Handler · 处理专员") == set()


def test_demo_templates_are_valid_bilingual_and_seeded(db):
    from django.core.management import call_command

    from complaints.demo.replies import TEMPLATES
    from complaints.models import AwaitingPeriod, Complaint, Status

    for name, name_en, kind, _dept, body, body_en in TEMPLATES:
        ReplyTemplate(
            name=name, name_en=name_en, kind=kind, body=body, body_en=body_en
        ).full_clean()
    call_command("seed_demo", complaints=150, verbosity=0)
    assert ReplyTemplate.objects.count() == len(TEMPLATES)
    assert ReplyTemplate.objects.filter(department__code="property").exists()
    call_command("seed_demo", complaints=0, verbosity=0)  # again: nothing doubled
    assert ReplyTemplate.objects.count() == len(TEMPLATES)
    # The demo's complaints awaiting the customer have a wait to follow up.
    waiting = Complaint.objects.filter(status=Status.AWAITING_CUSTOMER)
    assert AwaitingPeriod.objects.filter(ended_at__isnull=True).count() == waiting.count()


def test_the_page_pickers_are_each_kinds_own_picker(team, complaint):
    """The complaint page reads the contact and note templates in one query
    (replies.pickers): each list is what picker() gives for its kind, in its order."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Kind = ReplyTemplate.Kind
    template(name="b-contact", kind=Kind.CONTACT, sort_order=2)
    template(name="a-note", kind=Kind.NOTE, sort_order=2)
    template(name="both", kind=Kind.BOTH, sort_order=1)
    template(name="own department", kind=Kind.NOTE, department=team["service"])
    template(name="inactive", kind=Kind.CONTACT, active=False)
    user = team["manager"]
    with CaptureQueriesContext(connection) as queries:
        both = replies.pickers(user, complaint, kinds=[Kind.CONTACT, Kind.NOTE])
    assert sum("complaints_replytemplate" in q["sql"] for q in queries) == 1
    for kind in (Kind.CONTACT, Kind.NOTE):
        assert both[kind] == replies.picker(user, complaint, kind=kind)
    assert (len(both[Kind.CONTACT]), len(both[Kind.NOTE])) == (2, 3)
