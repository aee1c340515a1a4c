"""Streaming exports of follow-ups, surveys, repeat links and improvement actions: the list's
content, filters, scopes and department isolation; masking; flat query counts; the admin's
CSV actions write the same file."""

import csv
import io
import json
from datetime import date

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from complaints.models import DepartmentMembership, RootCause
from followups.api import export
from followups.models import FollowUp, ImprovementAction, RepeatLink, SurveyInvitation
from followups.services import surveys
from tests.factories import DepartmentFactory, UserFactory, make_complaint
from tests.followups import test_api

from .conftest import sh

pytestmark = pytest.mark.django_db
data = test_api.data  # the fixture: ours (our department) and theirs (sales), with links
ENDPOINTS = {
    "followups": export.FOLLOWUPS,
    "surveys": export.SURVEYS,
    "repeats": export.REPEATS,
    "improvement-actions": export.IMPROVEMENT_ACTIONS,
}
EVERYTHING = ["followups:read", "improvements:read"]


def body(response) -> str:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content).decode("utf-8")


def jsonl(response) -> list[dict]:
    return [json.loads(line) for line in body(response).splitlines()]


def csv_rows(response) -> list[list[str]]:
    text = body(response)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


@pytest.fixture
def more(data, fmanager, department, resolved):
    """Theirs gets a survey and a repeat link too; an action links two complaints."""
    theirs = data["theirs"]
    earlier = make_complaint(user=fmanager, department=theirs.department)
    RepeatLink.objects.create(complaint=theirs, earlier=earlier, basis="item", days_between=9)
    surveys.create_invitation(theirs.pk, user=fmanager)
    SurveyInvitation.objects.update(emailed_to="zhang.wei@example.com")
    action = ImprovementAction.objects.get(title="Fix pipes")
    action.complaints.add(data["ours"], earlier)
    return data


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_json_lines_are_the_list_s_rows_newest_first(more, make_api_client, api, endpoint):
    _c, key = make_api_client([*EVERYTHING, "pii:read"])
    listed = api(key).get(f"/api/v1/{endpoint}/?page_size=500").json()["results"]
    exported = jsonl(api(key).get(f"/api/v1/{endpoint}/export/?format=jsonl"))
    assert listed and len(exported) == len(listed)
    if endpoint == "surveys":
        assert {row.pop("emailed_to") for row in exported} == {"zhang.wei@example.com"}
    if endpoint == "improvement-actions":
        for row in listed:
            row["complaints"] = sorted(row["complaints"])
    assert exported == listed


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_csv_has_the_columns_and_one_line_per_row(more, make_api_client, api, endpoint):
    _c, key = make_api_client(EVERYTHING)
    response = api(key).get(f"/api/v1/{endpoint}/export/")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    table = ENDPOINTS[endpoint]
    assert f'filename="{table.name}-' in response["Content-Disposition"]
    assert set(response["Cache-Control"].split(", ")) == {"private", "no-store"}
    header, *lines = csv_rows(response)
    assert header == table.header
    assert len(lines) == table.model.objects.count()
    assert [int(line[0]) for line in lines] == sorted(
        table.model.objects.values_list("pk", flat=True), reverse=True
    )


def test_csv_values(more, make_api_client, api):
    _c, key = make_api_client(EVERYTHING)
    header, *lines = csv_rows(api(key).get("/api/v1/improvement-actions/export/"))
    rows = [dict(zip(header, line, strict=True)) for line in lines]
    fix = next(r for r in rows if r["title"] == "Fix pipes")
    ours, earlier = more["ours"], ImprovementAction.objects.get(title="Fix pipes").complaints
    assert fix["complaints"] == " ".join(sorted(earlier.values_list("reference", flat=True)))
    assert ours.reference in fix["complaints"]
    assert fix["due_date"] == "2026-12-01" and fix["category"] == ""
    header, *lines = csv_rows(api(key).get("/api/v1/followups/export/"))
    rows = [dict(zip(header, line, strict=True)) for line in lines]
    assert {r["required_before_close"] for r in rows} <= {"true", "false"}
    assert any(r["due_at"].endswith("+08:00") for r in rows)


def test_a_department_key_exports_its_department_only(more, make_api_client, api):
    _c, key = make_api_client(EVERYTHING, department=more["department"])
    ours, theirs = more["ours"].reference, more["theirs"].reference
    for endpoint in ("followups", "surveys"):
        rows = jsonl(api(key).get(f"/api/v1/{endpoint}/export/?format=jsonl"))
        assert rows and {r["complaint"] for r in rows} == {ours}, endpoint
    repeats = jsonl(api(key).get("/api/v1/repeats/export/?format=jsonl"))
    assert [r["complaint"] for r in repeats] == [ours]
    text = body(api(key).get("/api/v1/followups/export/"))
    assert theirs not in text
    actions = jsonl(api(key).get("/api/v1/improvement-actions/export/?format=jsonl"))
    assert [a["title"] for a in actions] == ["Fix pipes"]
    # Everyone else's: all of them.
    _c, everyone = make_api_client(EVERYTHING)
    rows = jsonl(api(everyone).get("/api/v1/followups/export/?format=jsonl"))
    assert {r["complaint"] for r in rows} == {ours, theirs}


def test_the_customer_s_address_is_masked_without_pii_read(more, make_api_client, api):
    _c, plain = make_api_client(["followups:read"])
    rows = jsonl(api(plain).get("/api/v1/surveys/export/?format=jsonl"))
    assert {r["emailed_to"] for r in rows} == {"z*********@example.com"} or all(
        "zhang.wei" not in r["emailed_to"] and r["emailed_to"].endswith("@example.com")
        for r in rows
    )
    assert "zhang.wei" not in body(api(plain).get("/api/v1/surveys/export/"))
    _c, trusted = make_api_client(["followups:read", "pii:read"])
    assert "zhang.wei@example.com" in body(api(trusted).get("/api/v1/surveys/export/"))


def test_filters_scopes_and_errors(more, make_api_client, api):
    _c, key = make_api_client(["followups:read"])
    done = jsonl(api(key).get("/api/v1/followups/export/?format=jsonl&status=done"))
    assert done and {r["status"] for r in done} == {"done"}
    answered = jsonl(api(key).get("/api/v1/surveys/export/?format=jsonl&answered=true"))
    assert [r["outcome_score"] for r in answered] == [5]
    ours = more["ours"].reference
    one = jsonl(api(key).get(f"/api/v1/followups/export/?format=jsonl&complaint={ours}"))
    assert one and {r["complaint"] for r in one} == {ours}
    assert api(key).get("/api/v1/followups/export/?format=xlsx").status_code == 400
    assert api(key).get("/api/v1/followups/export/?status=nonsense").status_code == 400
    assert api(key).get("/api/v1/improvement-actions/export/").status_code == 403
    _c, other = make_api_client(["complaints:read"])
    assert api(other).get("/api/v1/followups/export/").status_code == 403
    assert api().get("/api/v1/surveys/export/").status_code in (401, 403)


def test_queries_do_not_grow_with_the_rows(
    data, make_api_client, api, fmanager, department, resolved
):
    _c, key = make_api_client(EVERYTHING)
    root = RootCause.objects.get(code="rc")

    def run(endpoint):
        with CaptureQueriesContext(connection) as queries:
            body(api(key).get(f"/api/v1/{endpoint}/export/"))
        return len(queries.captured_queries)

    api(key).get("/api/v1/surveys/")  # the key's first use is recorded (once)
    before = {endpoint: run(endpoint) for endpoint in ENDPOINTS}
    for day in range(3, 9):
        complaint = resolved(sh(2026, 11, day, 10, 0))
        surveys.create_invitation(complaint.pk, user=fmanager)
        RepeatLink.objects.create(
            complaint=complaint, earlier=data["ours"], basis="category", days_between=day
        )
        action = ImprovementAction.objects.create(
            title=f"Action {day}",
            root_cause=root,
            department=department,
            owner=fmanager,
            due_date=date(2026, 12, day),
        )
        action.complaints.add(complaint, data["ours"])
    assert FollowUp.objects.count() > 12
    after = {endpoint: run(endpoint) for endpoint in ENDPOINTS}
    assert after == before
    # The key, the rows (and the actions' complaints): nothing per row.
    assert after == {"followups": 2, "surveys": 2, "repeats": 2, "improvement-actions": 3}


def test_admin_csv_actions_write_the_same_file_isolated(more, login_client, fmanager):
    client = login_client(fmanager)
    for model, table in (
        (FollowUp, export.FOLLOWUPS),
        (SurveyInvitation, export.SURVEYS),
        (RepeatLink, export.REPEATS),
        (ImprovementAction, export.IMPROVEMENT_ACTIONS),
    ):
        url = reverse(f"admin:followups_{model._meta.model_name}_changelist")
        selected = list(model.objects.values_list("pk", flat=True))
        response = client.post(url, {"action": "export_csv", "_selected_action": selected})
        header, *lines = csv_rows(response)
        assert header == table.header
        assert len(lines) == len(selected), model
    # fmanager may read personal data: the address in full.
    url = reverse("admin:followups_surveyinvitation_changelist")
    selected = list(SurveyInvitation.objects.values_list("pk", flat=True))
    text = body(client.post(url, {"action": "export_csv", "_selected_action": selected}))
    assert "zhang.wei@example.com" in text


def test_admin_csv_of_a_department_handler_is_isolated_and_masked(more, login_client):
    handler = UserFactory(username="handler")
    handler.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="followups",
            codename__in=["view_followup", "view_surveyinvitation", "view_repeatlink"],
        )
    )
    DepartmentMembership.objects.create(department=more["department"], user=handler)
    DepartmentFactory(code="elsewhere")
    client = login_client(handler)
    for model in (FollowUp, SurveyInvitation, RepeatLink):
        url = reverse(f"admin:followups_{model._meta.model_name}_changelist")
        every = list(model.objects.values_list("pk", flat=True))
        text = body(client.post(url, {"action": "export_csv", "_selected_action": every}))
        assert more["ours"].reference in text, model
        assert more["theirs"].reference not in text, model
        if model is SurveyInvitation:
            assert "zhang.wei" not in text and "@example.com" in text


def test_schema_documents_the_exports(api):
    schema = api().get("/api/schema/", {"format": "json"}).json()
    for endpoint in ENDPOINTS:
        operation = schema["paths"][f"/api/v1/{endpoint}/export/"]["get"]
        parameters = {p["name"]: p for p in operation["parameters"]}
        assert parameters["format"]["schema"]["enum"] == ["csv", "jsonl"]
        content = operation["responses"]["200"]["content"]
        assert set(content) == {"text/csv", "application/x-ndjson"}
        assert {"400", "401", "403"} <= set(operation["responses"])
    followups = schema["paths"]["/api/v1/followups/export/"]["get"]
    assert {"status", "kind", "complaint"} <= {p["name"] for p in followups["parameters"]}
    surveys = schema["paths"]["/api/v1/surveys/export/"]["get"]
    assert "answered" in {p["name"] for p in surveys["parameters"]}
