"""Repeat complaints (linked both ways, counted by the severity rules) and merging a true
duplicate without losing any of its records."""

from datetime import timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from complaints.messages import source_text
from complaints.models import Attachment, ComplaintEvent, Severity, Status
from complaints.services import lifecycle
from complaints.services.attachments import add_attachment
from followups.models import FollowUp, RepeatLink, SurveyInvitation
from followups.services import repeats, surveys, visits
from tests.factories import CategoryFactory, CustomerFactory, make_complaint, png_bytes

from .conftest import sh

pytestmark = pytest.mark.django_db
T0 = sh(2026, 8, 3, 10, 0)


def record(user, at, django_capture_on_commit_callbacks, **fields):
    with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
        return make_complaint(user=user, received_at=at, **fields)


@pytest.fixture
def leaks(department):
    return CategoryFactory(code="leaks", name="Leaks", default_department=department)


def test_same_customer_same_category_within_90_days_is_linked(
    fmanager, leaks, django_capture_on_commit_callbacks
):
    wang = CustomerFactory()
    first = record(fmanager, T0, django_capture_on_commit_callbacks, customer=wang, category=leaks)
    again = record(
        fmanager,
        T0 + timedelta(days=40),
        django_capture_on_commit_callbacks,
        customer=wang,
        category=leaks,
    )
    link = RepeatLink.objects.get()
    assert (link.complaint, link.earlier, link.basis, link.days_between) == (
        again,
        first,
        "category",
        40,
    )
    # Running it again (the periodic catch-up) adds nothing.
    assert repeats.link_repeats(again.pk) == []
    assert repeats.link_recent(now=T0 + timedelta(days=40)) == 0


@pytest.mark.parametrize(
    "days,same_customer,same_problem,linked",
    [
        (89, True, True, True),
        (91, True, False, False),  # outside the window (category only)
        (10, False, True, False),  # another customer
        (10, True, False, False),  # another category and item
    ],
)
def test_linking_rules(
    fmanager, leaks, django_capture_on_commit_callbacks, days, same_customer, same_problem, linked
):
    wang = CustomerFactory()
    record(fmanager, T0, django_capture_on_commit_callbacks, customer=wang, category=leaks)
    other_category = CategoryFactory(code="noise")
    record(
        fmanager,
        T0 + timedelta(days=days),
        django_capture_on_commit_callbacks,
        customer=wang if same_customer else CustomerFactory(),
        category=leaks if (same_problem or days == 91) else other_category,
    )
    assert RepeatLink.objects.exists() is linked


def test_same_item_in_another_category_is_a_repeat(
    fmanager, leaks, django_capture_on_commit_callbacks
):
    wang = CustomerFactory()
    record(fmanager, T0, django_capture_on_commit_callbacks, customer=wang, item_ref="B3-1201")
    record(
        fmanager,
        T0 + timedelta(days=5),
        django_capture_on_commit_callbacks,
        customer=wang,
        category=leaks,
        item_ref="B3-1201",
    )
    assert RepeatLink.objects.get().basis == "item"


def test_repeats_are_visible_both_ways_on_the_complaint_page(
    fmanager, leaks, login_client, django_capture_on_commit_callbacks
):
    wang = CustomerFactory()
    first = record(fmanager, T0, django_capture_on_commit_callbacks, customer=wang, category=leaks)
    again = record(
        fmanager,
        T0 + timedelta(days=3),
        django_capture_on_commit_callbacks,
        customer=wang,
        category=leaks,
    )
    client = login_client(fmanager)
    page = client.get(reverse("admin:complaints_complaint_change", args=[again.pk])).content
    assert "Repeats" in page.decode() and first.reference in page.decode()
    page = client.get(reverse("admin:complaints_complaint_change", args=[first.pk])).content
    assert "Repeated by" in page.decode() and again.reference in page.decode()


def test_third_complaint_in_the_category_after_one_was_handled_is_elevated(
    fmanager, leaks, department, django_capture_on_commit_callbacks
):
    """The severity rule "the same problem complained about a third time after it had been
    handled" counts repeats by category (registered by followups), not only the same item."""
    wang = CustomerFactory()
    first = record(
        fmanager,
        T0,
        django_capture_on_commit_callbacks,
        customer=wang,
        category=leaks,
        department=department,
        solution="Fix",
        resolution="Fixed",
    )
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        for target in (
            Status.ACKNOWLEDGED,
            Status.INVESTIGATING,
            Status.SOLUTION_PROPOSED,
            Status.RESOLVED,
        ):
            lifecycle.transition(first.pk, target, user=fmanager)
    second = record(
        fmanager,
        T0 + timedelta(days=20),
        django_capture_on_commit_callbacks,
        customer=wang,
        category=leaks,
    )
    assert second.severity == Severity.GENERAL
    third = record(
        fmanager,
        T0 + timedelta(days=30),
        django_capture_on_commit_callbacks,
        customer=wang,
        category=leaks,
    )
    assert third.severity == Severity.ELEVATED
    assert "Complaint number 3 by this customer about the same problem" in source_text(
        third.severity_reason
    )
    assert first.reference in source_text(
        third.severity_reason
    ) and second.reference in source_text(third.severity_reason)
    assert RepeatLink.objects.filter(complaint=third).count() == 2


# -- merge ------------------------------------------------------------------------------


def test_merge_preserves_every_child_record_and_redirects(
    resolved, cn2026, fmanager, department, login_client, django_capture_on_commit_callbacks
):
    wang = CustomerFactory()
    duplicate = resolved(T0, customer=wang, subject="Leak (second call)")
    keeper = resolved(T0, customer=wang, subject="Leak")
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        lifecycle.log_contact(
            duplicate.pk,
            user=fmanager,
            channel="hotline",
            direction="in",
            summary="Customer called again about the leak.",
        )
        lifecycle.add_note(duplicate.pk, user=fmanager, text="Same flat as the keeper.")
        add_attachment(
            duplicate.pk,
            user=fmanager,
            uploaded=SimpleUploadedFile("photo.png", png_bytes(), content_type="image/png"),
        )
        surveys.create_invitation(duplicate.pk, user=fmanager)
        callback = FollowUp.objects.get(complaint=duplicate, kind="callback")
        visits.record_outcome(callback.pk, user=fmanager, reached=True, solved=False)
    duplicate.refresh_from_db()
    assert duplicate.status == Status.REOPENED
    before = {
        "events": set(duplicate.events.values_list("pk", flat=True)),
        "attachments": set(
            Attachment.objects.filter(complaint=duplicate).values_list("pk", flat=True)
        ),
        "followups": set(FollowUp.objects.filter(complaint=duplicate).values_list("pk", "status")),
        "surveys": set(
            SurveyInvitation.objects.filter(complaint=duplicate).values_list("pk", flat=True)
        ),
    }
    assert before["events"] and before["attachments"] and before["followups"] and before["surveys"]

    with time_machine.travel(T0 + timedelta(hours=2), tick=False):
        lifecycle.transition(
            duplicate.pk, Status.MERGED, user=fmanager, merge_into=keeper, note="Same leak"
        )
    duplicate.refresh_from_db()
    assert (duplicate.status, duplicate.merged_into) == (Status.MERGED, keeper)
    # Nothing was deleted or moved: every record still belongs to the duplicate.
    assert before["events"] <= set(duplicate.events.values_list("pk", flat=True))
    assert before["attachments"] == set(
        Attachment.objects.filter(complaint=duplicate).values_list("pk", flat=True)
    )
    assert before["followups"] == set(
        FollowUp.objects.filter(complaint=duplicate).values_list("pk", "status")
    )
    assert before["surveys"] == set(
        SurveyInvitation.objects.filter(complaint=duplicate).values_list("pk", flat=True)
    )
    assert keeper.events.filter(kind=ComplaintEvent.Kind.MERGE).get().data == {
        "merged_from": duplicate.reference
    }

    client = login_client(fmanager)
    duplicate_url = reverse("admin:complaints_complaint_change", args=[duplicate.pk])
    keeper_url = reverse("admin:complaints_complaint_change", args=[keeper.pk])
    response = client.get(duplicate_url)
    assert response.status_code == 302 and response["Location"].startswith(keeper_url)
    page = client.get(response["Location"]).content.decode()
    assert f"was merged into {keeper.reference}" in page
    # The duplicate's history continues on the keeper's timeline, with its evidence.
    assert "Customer called again about the leak." in page
    assert "Same flat as the keeper." in page
    assert f"from merged {duplicate.reference}" in page
    attachment = Attachment.objects.get(complaint=duplicate)
    download = reverse("complaints:attachment-download", args=[attachment.pk])
    assert download in page
    assert client.get(download).status_code == 200
    # The duplicate's own page stays reachable, with its follow-ups and survey.
    own = client.get(duplicate_url + "?stay=1").content.decode()
    assert f"Merged into {keeper.reference}" in own
    assert 'id="followups"' in own and "not solved" in own


@pytest.mark.django_db
def test_links_made_since_a_time_are_found_through_an_index():
    """The summaries' refresh asks every minute for the links made since it last ran."""
    from django.db import connection

    from followups.models import RepeatLink
    from reporting.services.summaries import changed_since

    with connection.cursor() as cursor:
        found = connection.introspection.get_constraints(cursor, RepeatLink._meta.db_table)
    index = found["repeat_created_idx"]
    assert index["index"] and index["columns"] == ["created_at", "id"]
    if connection.vendor == "postgresql":
        assert index["orders"] == ["DESC", "DESC"]
        since = timezone.now()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            sql, params = (
                RepeatLink.objects.filter(created_at__gte=since)
                .values_list("complaint_id", flat=True)
                .query.sql_with_params()
            )
            cursor.execute("EXPLAIN " + sql, params)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "repeat_created_idx" in plan, plan
    assert list(changed_since(timezone.now(), timezone.now())) == []
