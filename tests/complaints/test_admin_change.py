"""The complaint add and change pages: intake, edits with the optimistic lock, the workflow
panel, the timeline, escaping, and evidence uploads."""

import hashlib
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from complaints.models import (
    Attachment,
    Complaint,
    ComplaintEvent,
    Customer,
    Fault,
    Severity,
    Status,
)
from complaints.services import lifecycle
from followups.services.visits import waive
from tests.factories import (
    CategoryFactory,
    CustomerFactory,
    MembershipFactory,
    UserFactory,
    form_fields,
    make_complaint,
    png_bytes,
)

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:complaints_complaint_add")
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def change_url(complaint):
    return reverse("admin:complaints_complaint_change", args=[complaint.pk])


def transition_url(complaint, target):
    return reverse("admin:complaints_complaint_transition", args=[complaint.pk, target])


def note_url(complaint):
    return reverse("admin:complaints_complaint_note", args=[complaint.pk])


def contact_url(complaint):
    return reverse("admin:complaints_complaint_contact", args=[complaint.pk])


def page_form(client, url, form_id="complaint_form"):
    response = client.get(url)
    assert response.status_code == 200
    return form_fields(response.content.decode(), form_id)


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def offered_targets(response) -> set[str]:
    assert response.status_code == 200
    panel = response.content.decode().split('id="workflow"', 1)
    if len(panel) == 1:
        return set()
    return set(re.findall(r'data-target="([a-z_]+)"', panel[1].split('id="timeline"')[0]))


def events(complaint, kind):
    return list(ComplaintEvent.objects.filter(complaint=complaint, kind=kind).order_by("pk"))


# -- add form -------------------------------------------------------------------------------


def _add_form(client, **overrides):
    data = page_form(client, ADD_URL)
    data.update(
        {
            "channel": ["hotline"],
            "subject": ["Heating broken in flat 12"],
            "description": ["No heating since Friday."],
        }
    )
    for key, value in overrides.items():
        data[key] = value if isinstance(value, list) else [value]
    return data


def test_add_with_existing_customer(manager_client, manager):
    customer = CustomerFactory(name="Zhang Wei")
    response = manager_client.post(ADD_URL, _add_form(manager_client, customer=str(customer.pk)))
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert complaint.customer == customer
    assert re.fullmatch(r"C-\d{4}-\d{6}", complaint.reference)
    assert complaint.created_by == manager
    assert complaint.status == Status.NEW
    assert complaint.version == 1
    created = events(complaint, ComplaintEvent.Kind.CREATED)
    assert len(created) == 1
    assert created[0].actor == manager
    assert Customer.objects.count() == 1
    # Defect 8: the agent lands on the new complaint's page, not on the list.
    assert response["Location"] == change_url(complaint)
    follow = manager_client.get(response["Location"])
    assert f"{complaint.reference} recorded." in follow.content.decode()


def test_add_with_new_customer_creates_and_links_it(manager_client, manager):
    data = _add_form(
        manager_client,
        customer="",
        new_customer_name="刘洋",
        new_customer_phone="139 1111 2222",
        new_customer_email="Liu.Yang@Example.com",
    )
    response = manager_client.post(ADD_URL, data)
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    customer = Customer.objects.get()
    assert complaint.customer == customer
    assert customer.name == "刘洋"
    assert customer.phone == "+8613911112222"
    assert customer.email == "liu.yang@example.com"


def test_add_with_new_customer_fields_matches_existing_phone(manager_client):
    existing = CustomerFactory(name="Chen Jing", phone="+8613911112222")
    data = _add_form(
        manager_client, customer="", new_customer_name="C. Jing", new_customer_phone="13911112222"
    )
    response = manager_client.post(ADD_URL, data)
    assert response.status_code == 302
    assert Customer.objects.count() == 1
    assert Complaint.objects.get().customer == existing
    existing.refresh_from_db()
    assert existing.name == "Chen Jing"


def test_add_without_customer_is_refused(manager_client):
    data = _add_form(manager_client, customer="")
    response = manager_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "Choose a customer or enter a new one below." in response.content.decode()
    assert not Complaint.objects.exists()
    assert not Customer.objects.exists()
    # What was typed is kept.
    assert "Heating broken in flat 12" in response.content.decode()


@pytest.mark.parametrize("phone", ["12", "12345"])
def test_add_new_customer_with_invalid_phone_is_refused(manager_client, phone):
    data = _add_form(manager_client, customer="", new_customer_name="Wu", new_customer_phone=phone)
    response = manager_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "is not a valid phone number" in response.content.decode()
    assert not Complaint.objects.exists()
    assert not Customer.objects.exists()


def test_add_with_received_at_in_the_future_is_refused(manager_client):
    customer = CustomerFactory()
    tomorrow = timezone.localtime() + timedelta(days=1)
    data = _add_form(
        manager_client,
        customer=str(customer.pk),
        received_at_0=tomorrow.strftime("%Y-%m-%d"),
        received_at_1=tomorrow.strftime("%H:%M:%S"),
    )
    response = manager_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "The time received cannot be in the future." in response.content.decode()
    assert not Complaint.objects.exists()


def test_refused_add_with_new_customer_leaves_no_customer_behind(manager_client):
    """A refused form must not have created the 'new customer' it named."""
    tomorrow = timezone.localtime() + timedelta(days=1)
    data = _add_form(
        manager_client,
        customer="",
        new_customer_name="Orphan",
        new_customer_phone="13522223333",
        received_at_0=tomorrow.strftime("%Y-%m-%d"),
        received_at_1=tomorrow.strftime("%H:%M:%S"),
    )
    response = manager_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "The time received cannot be in the future." in response.content.decode()
    assert not Complaint.objects.exists()
    assert not Customer.objects.exists()

    # Fixing the date saves complaint and customer together.
    data["received_at_0"] = [timezone.localtime().strftime("%Y-%m-%d")]
    data["received_at_1"] = ["00:00:00"]
    response = manager_client.post(ADD_URL, data)
    assert response.status_code == 302
    assert Complaint.objects.get().customer == Customer.objects.get(phone="+8613522223333")


def test_add_with_category_routes_to_its_department(manager_client, department):
    category = CategoryFactory(name="Leak", default_department=department)
    customer = CustomerFactory()
    data = _add_form(manager_client, customer=str(customer.pk), category=str(category.pk))
    assert manager_client.post(ADD_URL, data).status_code == 302
    assert Complaint.objects.get().department == department


def test_add_with_assignee_outside_the_department_is_refused(manager_client, department):
    customer = CustomerFactory()
    outsider = UserFactory(username="outsider")
    data = _add_form(
        manager_client,
        customer=str(customer.pk),
        department=str(department.pk),
        assignee=str(outsider.pk),
    )
    response = manager_client.post(ADD_URL, data)
    assert response.status_code == 200
    # Not offered at all (the picker lists department staff only), and refused if posted.
    assert "Select a valid choice" in response.content.decode()
    assert not Complaint.objects.exists()


# -- change form: edits and the optimistic lock ----------------------------------------------


def test_edit_subject_and_fault_records_a_field_change(manager_client, manager):
    complaint = make_complaint(user=manager, subject="Old subject")
    data = page_form(manager_client, change_url(complaint))
    data["subject"] = ["New subject"]
    data["fault"] = [Fault.OURS]
    response = manager_client.post(change_url(complaint), data)
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.subject == "New subject"
    assert complaint.fault == Fault.OURS
    assert complaint.version == 2
    (change,) = events(complaint, ComplaintEvent.Kind.FIELD_CHANGE)
    assert change.actor == manager
    assert change.data["changes"]["subject"] == ["Old subject", "New subject"]
    assert set(change.data["changes"]) == {"subject", "fault"}
    # The timeline on the page shows the change.
    page = manager_client.get(change_url(complaint)).content.decode()
    assert "Old subject → New subject" in page


def test_severity_is_not_edited_through_the_form(manager_client, manager):
    complaint = make_complaint(user=manager)
    data = page_form(manager_client, change_url(complaint))
    assert "severity" not in data  # read-only: the rules raise it, an override sets it
    data["severity"] = [str(Severity.CRISIS)]
    assert manager_client.post(change_url(complaint), data).status_code == 302
    complaint.refresh_from_db()
    assert complaint.severity == Severity.GENERAL


def test_saving_an_unchanged_form_changes_nothing(manager_client, manager):
    complaint = make_complaint(user=manager)
    data = page_form(manager_client, change_url(complaint))
    assert manager_client.post(change_url(complaint), data).status_code == 302
    complaint.refresh_from_db()
    assert complaint.version == 1
    assert not events(complaint, ComplaintEvent.Kind.FIELD_CHANGE)


def test_stale_form_keeps_typed_values_and_saves_nothing(manager_client, manager, department):
    complaint = make_complaint(user=manager, subject="Original subject")
    data = page_form(manager_client, change_url(complaint))
    assert data["loaded_version"] == ["1"]

    colleague = UserFactory(
        username="colleague", first_name="Li", perms=["complaints.change_complaint"]
    )
    lifecycle.update_complaint(
        complaint.pk,
        user=colleague,
        changes={"fault": Fault.OURS},
        expected_version=1,
    )

    data["subject"] = ["My typed subject"]
    response = manager_client.post(change_url(complaint), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "was changed by someone else" in html
    assert "Li" in html  # who changed it
    assert 'value="My typed subject"' in html
    complaint.refresh_from_db()
    assert complaint.subject == "Original subject"
    assert complaint.version == 2
    assert len(events(complaint, ComplaintEvent.Kind.FIELD_CHANGE)) == 1  # the colleague's
    # The warning names what a second save would overwrite: the typed subject and the
    # colleague's fault attribution (the form still holds the old one).
    (warning,) = [m for m in messages_of(response) if "Saving again replaces" in m]
    assert "Subject" in warning and "Fault attribution" in warning

    # The re-rendered form carries the current version: saving it again is deliberate.
    again = form_fields(html, "complaint_form")
    assert again["loaded_version"] == ["2"]
    assert again["subject"] == ["My typed subject"]
    response = manager_client.post(change_url(complaint), again)
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.subject == "My typed subject"
    assert complaint.fault == Fault.UNDETERMINED  # overwritten, as the warning said
    assert complaint.version == 3


def test_stale_form_without_own_changes_still_refused(manager_client, manager, department):
    complaint = make_complaint(user=manager, department=department)
    data = page_form(manager_client, change_url(complaint))
    lifecycle.transition(complaint.pk, Status.ACKNOWLEDGED, user=manager)
    data["root_cause"] = ["Pipe corrosion"]
    response = manager_client.post(change_url(complaint), data)
    assert response.status_code == 200
    assert "was changed by someone else" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.root_cause == ""


def _close(complaint, user, department):
    lifecycle.update_complaint(
        complaint.pk,
        user=user,
        changes={"department": department, "solution": "Repair", "resolution": "Repaired"},
        expected_version=None,
    )
    lifecycle.transition(complaint.pk, Status.ACKNOWLEDGED, user=user)
    lifecycle.transition(complaint.pk, Status.INVESTIGATING, user=user)
    lifecycle.transition(complaint.pk, Status.SOLUTION_PROPOSED, user=user)
    lifecycle.transition(complaint.pk, Status.RESOLVED, user=user)
    waive(complaint.pk, user=user, reason="Customer asked not to be called back.")
    lifecycle.transition(complaint.pk, Status.CLOSED, user=user)
    complaint.refresh_from_db()
    assert complaint.status == Status.CLOSED
    return complaint


def test_closed_complaint_subject_is_read_only(manager_client, manager, department):
    complaint = _close(
        make_complaint(user=manager, subject="Finished business"), manager, department
    )
    response = manager_client.get(change_url(complaint))
    html = response.content.decode()
    data = form_fields(html, "complaint_form")
    assert "subject" not in data
    assert "description" not in data
    assert "Finished business" in html
    # Analysis fields stay editable after the complaint is finished.
    assert "root_cause" in data
    assert "category" in data

    data["subject"] = ["Sneaky change"]
    data["root_cause"] = ["Old pipes"]
    assert manager_client.post(change_url(complaint), data).status_code == 302
    complaint.refresh_from_db()
    assert complaint.subject == "Finished business"
    assert complaint.root_cause == "Old pipes"


def test_closed_complaint_offers_reopen_only(manager_client, manager, department):
    complaint = _close(make_complaint(user=manager), manager, department)
    assert offered_targets(manager_client.get(change_url(complaint))) == {"reopened"}


# -- workflow panel and transitions ----------------------------------------------------------


def test_new_complaint_offers_manager_all_allowed_steps(manager_client, manager):
    complaint = make_complaint(user=manager)
    response = manager_client.get(change_url(complaint))
    assert offered_targets(response) == {"acknowledged", "invalid", "merged"}


def test_handler_sees_only_the_steps_they_may_take(handler_client, manager, department):
    complaint = make_complaint(user=manager, department=department)
    assert offered_targets(handler_client.get(change_url(complaint))) == {"acknowledged"}


def test_view_only_user_gets_no_workflow_buttons_or_forms(login_client, manager):
    complaint = make_complaint(user=manager)
    viewer = UserFactory(
        username="viewer", perms=["complaints.view_complaint", "complaints.view_all_complaints"]
    )
    response = login_client(viewer).get(change_url(complaint))
    assert offered_targets(response) == set()
    html = response.content.decode()
    assert 'id="note-form"' not in html
    assert 'id="contact-form"' not in html
    # ...and posting anyway is refused.
    client = login_client(viewer)
    assert client.post(transition_url(complaint, "acknowledged"), {"version": 1}).status_code == 403
    assert client.post(note_url(complaint), {"text": "hi"}).status_code == 403
    complaint.refresh_from_db()
    assert complaint.status == Status.NEW


def test_acknowledged_complaint_offers_next_steps(manager_client, manager, department):
    complaint = make_complaint(user=manager, department=department)
    lifecycle.transition(complaint.pk, Status.ACKNOWLEDGED, user=manager)
    assert offered_targets(manager_client.get(change_url(complaint))) == {
        "investigating",
        "invalid",
        "merged",
    }


def test_simple_transition(manager_client, manager, department):
    complaint = make_complaint(user=manager, department=department)
    response = manager_client.post(transition_url(complaint, "acknowledged"), {"version": 1})
    assert response.status_code == 302
    assert response["Location"] == change_url(complaint)
    complaint.refresh_from_db()
    assert complaint.status == Status.ACKNOWLEDGED
    assert complaint.acknowledged_at is not None
    assert complaint.version == 2
    page = manager_client.get(response["Location"]).content.decode()
    assert f"{complaint.reference} is now “Acknowledged”." in page
    assert "New → Acknowledged" in page


def test_transition_button_posts_the_current_version(manager_client, manager, department):
    complaint = make_complaint(user=manager, department=department)
    lifecycle.update_complaint(
        complaint.pk, user=manager, changes={"subject": "Changed"}, expected_version=1
    )
    html = manager_client.get(change_url(complaint)).content.decode()
    button_form = html.split(f'action="{transition_url(complaint, "acknowledged")}"')[1]
    assert re.search(r'name="version" value="2"', button_form.split("</form>")[0])


def test_transition_with_stale_version_changes_nothing(manager_client, manager, department):
    complaint = make_complaint(user=manager, department=department)
    lifecycle.update_complaint(
        complaint.pk, user=manager, changes={"subject": "Changed"}, expected_version=1
    )
    response = manager_client.post(transition_url(complaint, "acknowledged"), {"version": 1})
    assert response.status_code == 200
    assert "was changed by someone else" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == Status.NEW
    assert complaint.version == 2
    assert not events(complaint, ComplaintEvent.Kind.STATUS)

    # Confirming on the action page applies the step to the current state.
    again = form_fields(response.content.decode(), action="")
    assert again["version"] == ["2"]


def test_illegal_target_redirects_with_error(manager_client, manager):
    complaint = make_complaint(user=manager)
    for target in ("closed", "resolved", "no-such-status"):
        response = manager_client.post(transition_url(complaint, target), {"version": 1})
        assert response.status_code == 302
        assert response["Location"] == change_url(complaint)
        assert any("no longer possible" in m for m in messages_of(response))
    complaint.refresh_from_db()
    assert complaint.status == Status.NEW
    assert complaint.version == 1
    assert not events(complaint, ComplaintEvent.Kind.STATUS)


def test_transition_precondition_failure_is_shown(manager_client, manager, department):
    complaint = make_complaint(user=manager, department=department)
    lifecycle.transition(complaint.pk, Status.ACKNOWLEDGED, user=manager)
    lifecycle.transition(complaint.pk, Status.INVESTIGATING, user=manager)
    # Posted without the solution the step needs (the page asks for it).
    response = manager_client.post(transition_url(complaint, "solution_proposed"), {"version": 3})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == Status.INVESTIGATING
    assert complaint.version == 3


def test_acknowledge_without_department_asks_for_it_and_saves_both(
    manager_client, manager, department
):
    """Defect 5: a department answers for every acknowledged complaint; the step's own page
    asks for it and saves it with the step."""
    complaint = make_complaint(user=manager)  # neither category nor department
    page = manager_client.get(change_url(complaint)).content.decode()
    assert f'href="{transition_url(complaint, "acknowledged")}"' in page  # a page, not a button
    form = manager_client.get(transition_url(complaint, "acknowledged")).content.decode()
    assert 'name="department"' in form
    refused = manager_client.post(transition_url(complaint, "acknowledged"), {"version": 1})
    assert refused.status_code == 200
    complaint.refresh_from_db()
    assert complaint.status == Status.NEW
    response = manager_client.post(
        transition_url(complaint, "acknowledged"), {"version": 1, "department": department.pk}
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Status.ACKNOWLEDGED
    assert complaint.department == department
    assert events(complaint, ComplaintEvent.Kind.ASSIGNMENT)


@pytest.mark.parametrize(
    ("source", "target", "field", "text"),
    [
        ("investigating", "solution_proposed", "solution", "Replace the pipe on Friday"),
        ("solution_proposed", "resolved", "resolution", "Pipe replaced, ceiling repainted"),
    ],
)
def test_transition_page_asks_for_what_the_step_needs_and_saves_it(
    manager_client, manager, department, source, target, field, text
):
    """Defect 3: "Propose solution" and "Resolve" ask for the solution / resolution summary
    and save it in the same step through the service."""
    complaint = make_complaint(user=manager, department=department, solution="Offer a repair")
    for step in ("acknowledged", "investigating", "solution_proposed")[
        : 2 if source == "investigating" else 3
    ]:
        complaint = lifecycle.transition(complaint.pk, step, user=manager)
    html = manager_client.get(transition_url(complaint, target)).content.decode()
    assert f'name="{field}"' in html
    assert "first." not in html  # no error before anything was posted
    response = manager_client.post(
        transition_url(complaint, target), {"version": complaint.version, field: text}
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == target
    assert getattr(complaint, field) == text
    change = events(complaint, ComplaintEvent.Kind.FIELD_CHANGE)[-1]
    assert change.data["changes"][field][1] == text


def test_handler_cannot_take_a_step_without_permission(handler_client, manager, department):
    complaint = make_complaint(user=manager, department=department)
    response = handler_client.post(
        transition_url(complaint, "invalid"), {"version": 1, "note": "spam"}
    )
    assert response.status_code == 200
    assert "You do not have permission to do this." in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == Status.NEW


def test_invalid_transition_requires_a_reason(manager_client, manager):
    complaint = make_complaint(user=manager)
    url = transition_url(complaint, "invalid")

    response = manager_client.get(url)
    assert response.status_code == 200
    form = form_fields(response.content.decode(), action="")
    assert form["version"] == ["1"]
    assert "note" in form
    assert "Reason it is not a valid complaint" in response.content.decode()

    response = manager_client.post(url, {"version": 1, "note": "   "})
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == Status.NEW
    assert not events(complaint, ComplaintEvent.Kind.STATUS)

    response = manager_client.post(url, {"version": 1, "note": "Not our customer"})
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == Status.INVALID
    assert complaint.invalid_reason == "Not our customer"
    (status_event,) = events(complaint, ComplaintEvent.Kind.STATUS)
    assert status_event.note == "Not our customer"
    page = manager_client.get(change_url(complaint)).content.decode()
    assert "Not our customer" in page
    assert offered_targets(manager_client.get(change_url(complaint))) == set()


def test_merge_by_reference(manager_client, manager):
    duplicate = make_complaint(user=manager, subject="Duplicate")
    keeper = make_complaint(user=manager, subject="Keeper")
    url = transition_url(duplicate, "merged")
    form = form_fields(manager_client.get(url).content.decode(), action="")
    assert "merge_into" in form

    response = manager_client.post(
        url, {"version": 1, "merge_into": f" {keeper.reference.lower()} "}
    )
    assert response.status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.status == Status.MERGED
    assert duplicate.merged_into == keeper
    (status_event,) = events(duplicate, ComplaintEvent.Kind.STATUS)
    assert status_event.data == {"merged_into": keeper.reference}
    (merge_event,) = events(keeper, ComplaintEvent.Kind.MERGE)
    assert merge_event.data == {"merged_from": duplicate.reference}
    assert (
        f"Merged from {duplicate.reference}"
        in manager_client.get(change_url(keeper)).content.decode()
    )
    # The merged duplicate's page leads to the complaint that continues; its own page (with
    # its history) stays reachable.
    redirect = manager_client.get(change_url(duplicate))
    assert redirect.status_code == 302
    assert redirect["Location"].startswith(change_url(keeper))
    assert (
        f"Merged into {keeper.reference}"
        in manager_client.get(change_url(duplicate) + "?stay=1").content.decode()
    )


def test_merge_into_unknown_reference_shows_form_error(manager_client, manager):
    complaint = make_complaint(user=manager)
    response = manager_client.post(
        transition_url(complaint, "merged"), {"version": 1, "merge_into": "C-2001-999999"}
    )
    assert response.status_code == 200
    assert "No complaint you can see has the reference C-2001-999999." in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == Status.NEW
    assert not ComplaintEvent.objects.filter(kind=ComplaintEvent.Kind.MERGE).exists()


def test_merge_into_itself_is_refused(manager_client, manager):
    complaint = make_complaint(user=manager)
    response = manager_client.post(
        transition_url(complaint, "merged"), {"version": 1, "merge_into": complaint.reference}
    )
    assert response.status_code == 200
    assert "cannot be merged into itself" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == Status.NEW


# -- timeline, notes, contacts ---------------------------------------------------------------


def test_timeline_shows_events(manager_client, manager, department):
    complaint = make_complaint(user=manager, department=department)
    lifecycle.add_note(complaint.pk, user=manager, text="Called the caretaker")
    lifecycle.transition(complaint.pk, Status.ACKNOWLEDGED, user=manager)
    html = manager_client.get(change_url(complaint)).content.decode()
    timeline = html.split('id="timeline"')[1]
    assert "Called the caretaker" in timeline
    assert "New → Acknowledged" in timeline
    kinds = re.findall(r'class="timeline-event[^"]*" data-kind="([a-z_]+)"', timeline)
    assert kinds == ["status", "note", "created"]  # newest first


def test_add_note(manager_client, manager):
    complaint = make_complaint(user=manager)
    form = page_form(manager_client, change_url(complaint), "note-form")
    form["text"] = ["Site visit booked for Tuesday"]
    response = manager_client.post(note_url(complaint), form)
    assert response.status_code == 302
    assert response["Location"] == change_url(complaint) + "#timeline"
    (note,) = events(complaint, ComplaintEvent.Kind.NOTE)
    assert note.note == "Site visit booked for Tuesday"
    assert note.actor == manager
    assert (
        "Site visit booked for Tuesday"
        in manager_client.get(change_url(complaint)).content.decode()
    )


def test_empty_note_is_refused(manager_client, manager):
    complaint = make_complaint(user=manager)
    response = manager_client.post(note_url(complaint), {"text": ""})
    assert response.status_code == 200
    html = response.content.decode()
    assert "This field is required." in html
    assert 'name="text"' in html
    assert not events(complaint, ComplaintEvent.Kind.NOTE)


def test_log_outbound_contact_sets_first_response(manager_client, manager):
    complaint = make_complaint(user=manager)
    assert complaint.first_response_at is None
    form = page_form(manager_client, change_url(complaint), "contact-form")
    form.update({"channel": ["hotline"], "direction": ["out"], "summary": ["Explained repair"]})
    response = manager_client.post(contact_url(complaint), form)
    assert response.status_code == 302
    (contact,) = events(complaint, ComplaintEvent.Kind.CONTACT)
    assert contact.note == "Explained repair"
    assert contact.contact_direction == "out"
    complaint.refresh_from_db()
    assert complaint.first_response_at is not None
    html = manager_client.get(change_url(complaint)).content.decode()
    assert "Explained repair" in html


def test_log_inbound_contact_is_not_a_first_response(manager_client, manager):
    complaint = make_complaint(user=manager)
    response = manager_client.post(
        contact_url(complaint),
        {"channel": "email", "direction": "in", "summary": "Customer sent photos"},
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.first_response_at is None
    assert len(events(complaint, ComplaintEvent.Kind.CONTACT)) == 1


def test_contact_in_the_future_is_refused(manager_client, manager):
    complaint = make_complaint(user=manager)
    later = timezone.localtime() + timedelta(days=2)
    response = manager_client.post(
        contact_url(complaint),
        {
            "channel": "hotline",
            "direction": "out",
            "summary": "Time traveller",
            "contacted_at": later.strftime("%Y-%m-%d %H:%M"),
        },
    )
    assert response.status_code == 200
    assert "cannot be in the future" in response.content.decode()
    assert not events(complaint, ComplaintEvent.Kind.CONTACT)


def test_note_and_contact_pages_get_a_form_and_refuse_other_methods(manager_client, manager):
    # GET opens the page of its own (with the reply-template picker); it writes nothing.
    complaint = make_complaint(user=manager)
    assert manager_client.get(note_url(complaint)).status_code == 200
    assert manager_client.get(contact_url(complaint)).status_code == 200
    assert manager_client.put(note_url(complaint)).status_code == 405
    assert manager_client.delete(contact_url(complaint)).status_code == 405
    assert not events(complaint, ComplaintEvent.Kind.NOTE)


def test_unknown_complaint_is_404_for_actions(manager_client):
    assert (
        manager_client.post("/admin/complaints/complaint/999999/note/", {"text": "x"}).status_code
        == 404
    )
    assert (
        manager_client.post(
            "/admin/complaints/complaint/999999/transition/acknowledged/", {"version": 1}
        ).status_code
        == 404
    )


# -- escaping -------------------------------------------------------------------------------


def test_user_text_is_escaped_everywhere(manager_client, manager):
    customer = CustomerFactory(name=XSS)
    complaint = make_complaint(
        user=manager, customer=customer, subject=f"Subject {XSS}", description=XSS
    )
    lifecycle.add_note(complaint.pk, user=manager, text=XSS)
    lifecycle.update_complaint(
        complaint.pk, user=manager, changes={"root_cause": XSS}, expected_version=None
    )
    pages = {
        "changelist": manager_client.get(reverse("admin:complaints_complaint_changelist")),
        "search": manager_client.get(
            reverse("admin:complaints_complaint_changelist"), {"q": "script"}
        ),
        "change": manager_client.get(change_url(complaint)),
        "action": manager_client.get(transition_url(complaint, "invalid")),
        "customer": manager_client.get(
            reverse("admin:complaints_customer_change", args=[customer.pk])
        ),
        "customers": manager_client.get(reverse("admin:complaints_customer_changelist")),
    }
    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.content.decode()
        assert XSS not in html, name
        assert "<script>alert" not in html, name
        assert XSS_ESCAPED in html, name


# -- evidence uploads through the inline --------------------------------------------------------


def _media_files(settings):
    root = settings.MEDIA_ROOT
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _upload(client, complaint, name, content, content_type):
    data = page_form(client, change_url(complaint))
    assert data["attachments-TOTAL_FORMS"] == ["1"]
    data["attachments-0-file"] = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post(change_url(complaint), data)


@pytest.mark.parametrize("who", ["manager", "handler"])
def test_upload_png_through_the_inline(login_client, manager, handler, department, settings, who):
    user = {"manager": manager, "handler": handler}[who]
    client = login_client(user)
    complaint = make_complaint(user=manager, department=department)
    png = png_bytes()
    response = _upload(client, complaint, "leak photo.png", png, "image/png")
    assert response.status_code == 302
    (attachment,) = Attachment.objects.filter(complaint=complaint)
    assert attachment.original_name == "leak photo.png"
    assert attachment.content_type == "image/png"
    assert attachment.size == len(png)
    assert attachment.sha256 == hashlib.sha256(png).hexdigest()
    assert attachment.uploaded_by == user
    (stored,) = _media_files(settings)
    assert stored.read_bytes() == png
    assert "leak photo" not in stored.name  # the stored name is ours
    (event,) = events(complaint, ComplaintEvent.Kind.ATTACHMENT)
    assert event.note == "leak photo.png"
    # The page lists it with a download link; every link to the file is that download
    # (defect 8: the row's own file link pointed at an unserved /media/ URL, a 404).
    html = client.get(change_url(complaint)).content.decode()
    download = reverse("complaints:attachment-download", args=[attachment.pk])
    assert download in html
    assert "/media/" not in html
    assert attachment.file.name not in html.replace(download, "")
    assert client.get(download).status_code == 200


@pytest.mark.parametrize(
    ("name", "content", "content_type", "error"),
    [
        ("setup.exe", b"MZ" + b"\x90\x00" * 200, "application/octet-stream", "are not accepted"),
        (
            "invoice.png",
            b"<!DOCTYPE html><html><script>alert(1)</script></html>",
            "image/png",
            "this type of file is not accepted",
        ),
        ("photo.pdf", png_bytes(), "application/pdf", "does not match the file name"),
        ("empty.png", b"", "image/png", "The submitted file is empty."),
    ],
    ids=["exe", "html-as-png", "png-as-pdf", "empty"],
)
def test_upload_refused(manager_client, manager, settings, name, content, content_type, error):
    complaint = make_complaint(user=manager)
    response = _upload(manager_client, complaint, name, content, content_type)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Attachment.objects.exists()
    assert not events(complaint, ComplaintEvent.Kind.ATTACHMENT)
    assert _media_files(settings) == []


def test_existing_attachments_cannot_be_changed_or_deleted_via_inline(
    manager_client, manager, settings
):
    complaint = make_complaint(user=manager)
    assert _upload(manager_client, complaint, "a.png", png_bytes(), "image/png").status_code == 302
    data = page_form(manager_client, change_url(complaint))
    assert data["attachments-INITIAL_FORMS"] == ["1"]
    assert not any(k.endswith("-DELETE") for k in data)


def test_view_only_user_sees_attachments_but_no_upload(login_client, manager):
    complaint = make_complaint(user=manager)
    client = login_client(manager)
    assert _upload(client, complaint, "a.png", png_bytes(), "image/png").status_code == 302
    attachment = Attachment.objects.get()
    viewer = UserFactory(
        username="viewer", perms=["complaints.view_complaint", "complaints.view_all_complaints"]
    )
    html = login_client(viewer).get(change_url(complaint)).content.decode()
    assert reverse("complaints:attachment-download", args=[attachment.pk]) in html
    assert 'type="file"' not in html


def test_attachment_inline_on_add_page(manager_client, manager):
    """Evidence can be attached while recording the complaint."""
    customer = CustomerFactory()
    data = _add_form(manager_client, customer=str(customer.pk))
    assert data["attachments-TOTAL_FORMS"] == ["1"]
    data["attachments-0-file"] = SimpleUploadedFile("a.png", png_bytes(), content_type="image/png")
    response = manager_client.post(ADD_URL, data)
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    assert Attachment.objects.get().complaint == complaint


def test_abusive_customer_warning(manager_client, manager):
    customer = CustomerFactory(is_abusive=True)
    complaint = make_complaint(user=manager, customer=customer)
    assert "Abusive customer" in manager_client.get(change_url(complaint)).content.decode()


def test_overdue_label_on_change_page(manager_client, manager):
    complaint = make_complaint(user=manager)
    Complaint.objects.filter(pk=complaint.pk).update(due_at=timezone.now() - timedelta(hours=1))
    panel = manager_client.get(change_url(complaint)).content.decode().split('id="workflow"')[1]
    assert "Overdue" in panel.split("Next step")[0]


def test_handler_membership_allows_assignment(manager_client, manager, department, handler):
    complaint = make_complaint(user=manager)
    data = page_form(manager_client, change_url(complaint))
    data["department"] = [str(department.pk)]
    data["assignee"] = [str(handler.pk)]
    assert manager_client.post(change_url(complaint), data).status_code == 302
    complaint.refresh_from_db()
    assert complaint.assignee == handler
    assert len(events(complaint, ComplaintEvent.Kind.ASSIGNMENT)) == 1

    outsider = UserFactory(username="outsider2")
    MembershipFactory(user=outsider)  # member of some other department
    data = page_form(manager_client, change_url(complaint))
    data["assignee"] = [str(outsider.pk)]
    response = manager_client.post(change_url(complaint), data)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.assignee == handler


def test_superuser_can_save_the_change_form(login_client, superuser, manager):
    """With the attachments inline on the page, saving must not crash on the change message."""
    complaint = make_complaint(user=manager, subject="Before")
    client = login_client(superuser)
    data = page_form(client, change_url(complaint))
    assert "attachments-TOTAL_FORMS" in data
    data["subject"] = ["After"]
    assert client.post(change_url(complaint), data).status_code == 302
    complaint.refresh_from_db()
    assert complaint.subject == "After"


def test_refused_attachment_on_add_page_creates_neither_complaint_nor_customer(manager_client):
    data = _add_form(
        manager_client, customer="", new_customer_name="Zhou", new_customer_phone="13644445555"
    )
    data["attachments-0-file"] = SimpleUploadedFile(
        "tool.exe", b"MZ" + b"\x00" * 64, content_type="application/octet-stream"
    )
    response = manager_client.post(ADD_URL, data)
    assert response.status_code == 200
    assert "are not accepted" in response.content.decode()
    assert not Complaint.objects.exists()
    assert not Customer.objects.exists()


def test_new_customer_inputs_are_styled_like_the_other_inputs(manager_client):
    """Defect 2: the new-customer inputs were bare widgets, invisible until clicked."""
    html = manager_client.get(ADD_URL).content.decode()
    subject = re.search(r'<input[^>]*name="subject"[^>]*>', html).group(0)
    subject_classes = set(re.search(r'class="([^"]*)"', subject).group(1).split())
    assert "border" in subject_classes
    for name in ("new_customer_name", "new_customer_phone", "new_customer_email"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
        classes = set(re.search(r'class="([^"]*)"', tag).group(1).split())
        assert {"border", "w-full"} <= classes, name


def test_timeline_shows_deadline_times_readably(manager_client, manager, department):
    """Defect 8: "Deadlines" entries showed raw ISO times with microseconds."""
    # Inside working hours, so moving the receipt back five hours moves the deadlines
    # (after hours both times would start the clock at the same next opening).
    at = datetime(2026, 11, 25, 14, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    with time_machine.travel(at, tick=False):
        complaint = make_complaint(user=manager, department=department)
        lifecycle.update_complaint(
            complaint.pk,
            user=manager,
            changes={"received_at": complaint.received_at - timedelta(hours=5, microseconds=1234)},
            expected_version=1,
        )
    assert events(complaint, ComplaintEvent.Kind.DEADLINES)
    timeline = manager_client.get(change_url(complaint)).content.decode().split('id="timeline"')[1]
    assert not re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", timeline)
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} → \d{4}-\d{2}-\d{2} \d{2}:\d{2}", timeline)


def test_assignee_picker_offers_only_the_departments_staff(manager_client, manager, department):
    """Defect 8: the picker offered staff of other departments and failed only on save."""
    inside = UserFactory(username="inside", first_name="Fang", last_name="Wang")
    outside = UserFactory(username="outside", first_name="Lei", last_name="Zhou")
    MembershipFactory(department=department, user=inside)
    from tests.factories import DepartmentFactory

    MembershipFactory(department=DepartmentFactory(code="other"), user=outside)
    complaint = make_complaint(user=manager, department=department)
    html = manager_client.get(change_url(complaint)).content.decode()
    select = html.split('name="assignee"')[1].split("</select>")[0]
    assert f'value="{inside.pk}"' in select
    assert "Fang Wang" in select  # people by their full names
    assert f'value="{outside.pk}"' not in select


def test_add_tells_the_agent_when_the_phone_matched_an_existing_customer(manager_client, manager):
    """Defect 10: a caller matched by phone under another name was attached silently."""
    jiang = CustomerFactory(name="江德", phone="+8613911112222")
    for _ in range(3):
        make_complaint(user=manager, customer=jiang)
    data = _add_form(
        manager_client,
        customer="",
        new_customer_name="Jiang De",
        new_customer_phone="139 1111 2222",
    )
    response = manager_client.post(ADD_URL, data, follow=True)
    html = response.content.decode()
    assert "Matched existing customer 江德 — 3 earlier complaints." in html
    assert "The name entered (Jiang De) was not used." in html
    assert Complaint.objects.order_by("-pk").first().customer == jiang


def test_add_for_a_new_customer_says_nothing_about_matching(manager_client):
    data = _add_form(
        manager_client, customer="", new_customer_name="Wu Lei", new_customer_phone="139 3333 4444"
    )
    html = manager_client.post(ADD_URL, data, follow=True).content.decode()
    assert "Matched existing customer" not in html


# -- one read of the complaint per page (issue 15, change page) ----------------------------------


def _complaint_reads(queries) -> int:
    return sum(
        1
        for q in queries
        if q["sql"].startswith('SELECT "complaints_complaint"."id", "complaints_complaint"."ref')
    )


def test_the_change_page_reads_the_complaint_and_its_relations_once(
    manager_client, manager, department
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    complaint = make_complaint(user=manager, department=department, category=CategoryFactory())
    url = reverse("admin:complaints_complaint_change", args=[complaint.pk])
    manager_client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = manager_client.get(url)
    assert response.status_code == 200
    assert _complaint_reads(queries) == 1
    sql = " ".join(q["sql"] for q in queries)
    # The policy and the creator come with the complaint (they were a query each, twice).
    assert 'FROM "complaints_slapolicy"' not in sql
    assert sql.count('FROM "auth_user" WHERE "auth_user"."id" =') == 1  # the session's user


def test_a_post_builds_the_panels_from_another_instance_than_the_form(manager_client, manager):
    """A POST's form writes its values onto the instance it validates; the page's panels
    (built before) must not read that one: only a GET shares the instance."""
    complaint = make_complaint(user=manager, subject="Saved subject")
    data = page_form(manager_client, change_url(complaint))
    page = manager_client.get(change_url(complaint))
    assert page.context["complaint"] is page.context["adminform"].form.instance  # GET: one
    data.update(subject=["Typed subject"], loaded_version=["0"])
    response = manager_client.post(change_url(complaint), data)
    assert response.status_code == 200  # refused: stale
    assert response.context["adminform"].form.instance.subject == "Typed subject"
    assert response.context["complaint"] is not response.context["adminform"].form.instance
    assert response.context["complaint"].subject == "Saved subject"
    complaint.refresh_from_db()
    assert complaint.subject == "Saved subject"


def test_another_departments_complaint_is_still_not_found(handler_client, manager):
    complaint = make_complaint(user=manager)  # no department: not the handler's
    url = reverse("admin:complaints_complaint_change", args=[complaint.pk])
    assert handler_client.get(url).status_code in (302, 404)
    assert handler_client.get(url.replace(str(complaint.pk), "not-a-number")).status_code in (
        302,
        404,
    )
