"""One plausibility rule for every time a person enters: admin forms, the API, services."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints.models import Complaint, ComplaintEvent
from complaints.services import lifecycle
from complaints.services.errors import ServiceError
from tests.factories import CategoryFactory, CustomerFactory, form_fields, make_complaint

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def _change_form(client, complaint):
    url = reverse("admin:complaints_complaint_change", args=[complaint.pk])
    response = client.get(url)
    assert response.status_code == 200
    return url, form_fields(response.content.decode(), "complaint_form")


@pytest.mark.parametrize("day", ["0001-01-01", "1900-01-01", "1999-12-31"])
def test_admin_edit_with_an_implausible_received_time_is_refused(manager_client, manager, day):
    # An item reference makes the cluster rule run: year 1 made it raise OverflowError (500).
    complaint = make_complaint(user=manager, item_ref="ROOM-12", category=CategoryFactory())
    url, data = _change_form(manager_client, complaint)
    data["received_at_0"] = [day]
    data["received_at_1"] = ["00:00:00"]
    response = manager_client.post(url, data)
    assert response.status_code == 200
    assert "cannot be earlier than 2000-01-01" in response.content.decode()
    before = complaint.received_at
    complaint.refresh_from_db()
    assert complaint.received_at == before


def test_admin_add_with_1900_is_refused(manager_client):
    data = form_fields(
        manager_client.get(reverse("admin:complaints_complaint_add")).content.decode(),
        "complaint_form",
    )
    data.update(
        channel=["hotline"],
        subject=["Old"],
        description=["Very old"],
        customer=[str(CustomerFactory().pk)],
        received_at_0=["1900-05-01"],
        received_at_1=["10:00:00"],
    )
    response = manager_client.post(reverse("admin:complaints_complaint_add"), data)
    assert response.status_code == 200
    assert "cannot be earlier than 2000-01-01" in response.content.decode()
    assert not Complaint.objects.exists()


def test_services_apply_the_same_rule(manager):
    with pytest.raises(ServiceError, match="earlier than 2000-01-01"):
        make_complaint(user=manager, received_at=datetime(1999, 12, 31, 23, 0, tzinfo=SH))
    complaint = make_complaint(user=manager)
    with pytest.raises(ServiceError, match="earlier than 2000-01-01"):
        lifecycle.update_complaint(
            complaint.pk,
            user=manager,
            changes={"received_at": datetime(1, 1, 1, tzinfo=SH)},
            expected_version=complaint.version,
        )
    with pytest.raises(ServiceError, match="earlier than 2000-01-01"):
        lifecycle.log_contact(
            complaint.pk,
            user=manager,
            channel="hotline",
            direction="out",
            summary="Called",
            contacted_at=datetime(1950, 1, 1, tzinfo=SH),
        )
    assert not complaint.events.filter(kind=ComplaintEvent.Kind.CONTACT).exists()


def test_admin_contact_before_2000_is_refused(manager_client, manager):
    complaint = make_complaint(user=manager)
    response = manager_client.post(
        reverse("admin:complaints_complaint_contact", args=[complaint.pk]),
        {
            "channel": "hotline",
            "direction": "out",
            "summary": "Long ago",
            "contacted_at": "1900-01-01 10:00",
        },
    )
    assert response.status_code == 200
    assert "cannot be earlier than 2000-01-01" in response.content.decode()


def test_the_earliest_time_and_skew_are_settings(settings, manager):
    settings.REDRESS_EARLIEST_TIME = "2020-01-01"
    with pytest.raises(ServiceError, match="earlier than 2020-01-01"):
        make_complaint(user=manager, received_at=datetime(2019, 6, 1, tzinfo=SH))
    settings.REDRESS_FUTURE_SKEW_SECONDS = 3600
    # 30 minutes ahead is within the configured skew.
    make_complaint(user=manager, received_at=timezone.now() + timedelta(minutes=30))
    with pytest.raises(ServiceError, match="in the future"):
        make_complaint(user=manager, received_at=timezone.now() + timedelta(minutes=90))
