"""Compensations in the REST API: scope, department restriction, filters, keyset pages for
incremental sync by updated time, detail, and the streamed export."""

import csv
import io
import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from complaints.api.compensation import CompensationSerializer
from complaints.api.export import COMPENSATION_COLUMNS
from complaints.services import compensation as comp
from tests.factories import make_complaint

pytestmark = pytest.mark.django_db
URL = "/api/v1/compensations/"


def propose(complaint, user, amount):
    return comp.propose(complaint.pk, user=user, kind="cash", amount=amount, description="x")


@pytest.fixture
def rows(people, complaint, elsewhere):
    other = make_complaint(user=people["manager"], department=elsewhere)
    start = timezone.now() - timedelta(hours=1)
    made = []
    for i, (target, amount) in enumerate(
        [(complaint, "10.10"), (complaint, "20.20"), (other, "30.30"), (complaint, "40.40")]
    ):
        with time_machine.travel(start + timedelta(minutes=i), tick=False):
            made.append(propose(target, people["manager"], amount))
    return made


def test_needs_the_compensations_scope(make_api_client, api, rows):
    _c, key = make_api_client(["complaints:read"])
    assert api(key).get(URL).status_code == 403
    _c, key = make_api_client(["compensations:read"])
    response = api(key).get(URL)
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [c.pk for c in rows]
    first = response.json()["results"][0]
    assert first["amount"] == "10.10" and first["currency"] == "CNY"
    assert first["complaint"] == rows[0].complaint.reference and first["department"] == "service"
    assert first["status"] == "proposed" and first["proposed_by"] == "mona"


def test_department_key_sees_its_departments_only(make_api_client, api, rows, service, elsewhere):
    _c, key = make_api_client(["compensations:read"], department=elsewhere)
    response = api(key).get(URL)
    assert [r["id"] for r in response.json()["results"]] == [rows[2].pk]
    assert api(key).get(f"{URL}{rows[0].pk}/").status_code == 404
    assert api(key).get(URL + "?department=service").status_code == 403


def test_filters(make_api_client, api, rows, people):
    comp.approve(rows[1].pk, user=people["approver"])
    _c, key = make_api_client(["compensations:read"])
    client = api(key)
    approved = client.get(URL + "?status=approved").json()["results"]
    assert [r["id"] for r in approved] == [rows[1].pk]
    by_complaint = client.get(URL + f"?complaint={rows[2].complaint.reference}").json()
    assert [r["id"] for r in by_complaint["results"]] == [rows[2].pk]
    assert client.get(URL + "?status=nonsense").status_code == 400
    assert client.get(URL + "?ordering=amount").status_code == 400


def test_incremental_sync_by_updated_time_with_cursor_pages(make_api_client, api, rows, people):
    _c, key = make_api_client(["compensations:read"])
    client = api(key)
    page = client.get(URL + "?page_size=2").json()
    assert [r["id"] for r in page["results"]] == [rows[0].pk, rows[1].pk]
    page2 = client.get(page["next"]).json()
    assert [r["id"] for r in page2["results"]] == [rows[2].pk, rows[3].pk]
    assert page2["next"] is None
    # A change moves the row to the end of the sync order; updated_since picks it up.
    mark = timezone.now()
    comp.approve(rows[0].pk, user=people["approver"])
    since = client.get(URL, {"updated_since": mark.isoformat()}).json()["results"]
    assert [(r["id"], r["status"]) for r in since] == [(rows[0].pk, "approved")]
    newest = client.get(URL + "?ordering=-updated_at&page_size=1").json()
    assert newest["results"][0]["id"] == rows[0].pk
    assert client.get(URL + "?cursor=garbage").status_code == 404


def test_equal_update_times_are_paged_without_loss(make_api_client, api, people, complaint):
    same = timezone.now()
    with time_machine.travel(same, tick=False):
        made = [propose(complaint, people["manager"], "1.00") for _ in range(5)]
    _c, key = make_api_client(["compensations:read"])
    client, seen, url = api(key), [], URL + "?page_size=2"
    while url:
        page = client.get(url).json()
        seen += [r["id"] for r in page["results"]]
        url = page["next"]
    assert seen == [c.pk for c in made]


def test_staff_session_follows_isolation(login_client, people, rows):
    client = login_client(people["other_head"])
    data = client.get(URL).json()["results"]
    assert [r["id"] for r in data] == [rows[2].pk]
    assert login_client(people["handler"]).get(URL).status_code == 200


def test_export_csv_and_jsonl_match_the_api(make_api_client, api, rows):
    _c, key = make_api_client(["compensations:read"])
    client = api(key)
    listed = client.get(URL).json()["results"]
    response = client.get(URL + "export/?format=jsonl")
    assert response.status_code == 200
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert lines == listed
    response = client.get(URL + "export/?format=csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["amount"] for r in table] == ["10.10", "20.20", "30.30", "40.40"]
    assert table[0]["complaint"] == rows[0].complaint.reference
    assert client.get(URL + "export/?format=xls").status_code == 400


def test_export_columns_follow_the_serializer():
    assert [c.name for c in COMPENSATION_COLUMNS] == CompensationSerializer.Meta.fields
