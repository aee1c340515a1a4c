"""Monthly department reports: figures, replacing not duplicating, files, emails exactly
once, the beat schedule and the admin pages."""

import csv
import io
import zipfile
from datetime import date, datetime

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django_celery_beat.models import PeriodicTask

from complaints.models import DepartmentMembership
from complaints.services.errors import ServiceError
from reporting.models import MonthlyReport, ReportDelivery
from reporting.services import reports
from reporting.tasks import generate_monthly_report
from tests.conftest import ALL_COMPLAINT_PERMS
from tests.factories import MembershipFactory, UserFactory

from .conftest import NOW, SH

pytestmark = pytest.mark.django_db
NOVEMBER = date(2026, 11, 1)


@pytest.fixture
def heads(dataset):
    a = UserFactory(username="head-a", email="a@example.com")
    b = UserFactory(username="head-b", email="b@example.com")
    member = UserFactory(username="member-a", email="m@example.com")
    MembershipFactory(department=dataset["a"], user=a, role=DepartmentMembership.Role.HEAD)
    MembershipFactory(department=dataset["b"], user=b, role=DepartmentMembership.Role.HEAD)
    MembershipFactory(department=dataset["a"], user=member)
    return {"a": a, "b": b}


def test_figures_per_department(dataset):
    report = reports.generate(NOVEMBER, now=NOW)
    rows = {r["department"]: r for r in report.data["departments"]}
    a, b = rows["Property A"], rows["Sales B"]
    assert (a["received"], a["valid"], a["closed"], a["closure_rate"]) == (8, 5, 2, 40.0)
    assert (a["ack_on_time_rate"], a["resolve_on_time_rate"], a["reopened_rate"]) == (
        50.0,  # c1, c3 on time of c1 c2 c3 c4
        33.3,
        50.0,
    )
    assert a["first_response_hours_mean"] == 3.8  # (1 + 10 + 0.5) / 3
    assert a["top_causes"] == [
        {"code": "pipes", "name": "管道老化", "name_en": "Old pipes", "n": 2}
    ]
    assert (b["received"], b["valid"], b["closed"], b["closure_rate"]) == (1, 1, 0, 0.0)
    assert report.data["total"]["received"] == 9
    assert report.data["total"]["top_causes"][0]["n"] == 2


def test_generating_again_replaces_and_mails_each_head_once(
    heads, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = reports.generate(NOVEMBER, now=NOW)
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]
    with django_capture_on_commit_callbacks(execute=True):
        second = reports.generate(NOVEMBER, now=NOW)
    assert second.pk == first.pk
    assert MonthlyReport.objects.count() == 1
    assert ReportDelivery.objects.filter(report=first).count() == 2
    assert len(mail.outbox) == 2  # nobody mailed twice
    assert set(ReportDelivery.objects.values_list("delivery", flat=True)) == {"sent"}


def test_email_holds_only_the_heads_departments(heads, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        reports.generate(NOVEMBER, now=NOW)
    to_b = next(m for m in mail.outbox if m.to == ["b@example.com"])
    assert "Sales B" in to_b.body and "Property A" not in to_b.body
    assert "月度投诉报告" in to_b.subject and "Monthly complaint report" in to_b.subject
    names = [a[0] for a in to_b.attachments]
    assert names == [
        "redress-department-report-2026-11.csv",
        "redress-department-report-2026-11.xlsx",
    ]
    content = to_b.attachments[0][1]
    text = content.decode("utf-8-sig") if isinstance(content, bytes) else content.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in rows[1:]] == ["Sales B"]


def test_failed_email_is_retried_then_sent_once(heads, monkeypatch):
    reports.generate(NOVEMBER, now=NOW)
    calls = {"n": 0}
    original = reports.EmailMultiAlternatives.send

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("SMTP down")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(reports.EmailMultiAlternatives, "send", flaky)
    ids = reports.pending_deliveries(now=NOW)
    outcome = reports.deliver_many(ids, now=NOW)
    assert outcome == {"retry": 1, "sent": 1}
    failed = ReportDelivery.objects.get(delivery="pending")
    assert failed.attempts == 1 and "SMTP down" in failed.last_error
    assert reports.pending_deliveries(now=NOW) == []  # not before the backoff
    later = datetime(2026, 11, 30, 12, 2, tzinfo=SH)
    assert reports.deliver_many(reports.pending_deliveries(now=later), now=later) == {"sent": 1}
    assert reports.deliver_many(ids, now=later) == {"skipped": 2}
    assert len(mail.outbox) == 2


def test_month_must_have_begun(dataset):
    with pytest.raises(ServiceError):
        reports.generate(date(2026, 12, 1), now=NOW)
    with pytest.raises(ServiceError):
        reports.generate(date(2026, 11, 2), now=NOW)
    assert not MonthlyReport.objects.exists()


def test_beat_generates_last_month_on_the_first(dataset):
    with time_machine.travel(datetime(2026, 12, 1, 1, 30, tzinfo=SH), tick=False):
        assert generate_monthly_report() == "2026-11"
    assert MonthlyReport.objects.get().month == NOVEMBER
    task = PeriodicTask.objects.get(task="reporting.tasks.generate_monthly_report")
    assert (task.crontab.day_of_month, task.crontab.hour, task.crontab.minute) == ("1", "1", "30")
    assert PeriodicTask.objects.filter(task="reporting.tasks.refresh_summaries").exists()


def test_files_csv_and_xlsx(dataset):
    report = reports.generate(NOVEMBER, now=NOW)
    rows = list(csv.reader(io.StringIO(reports.as_csv(report).decode("utf-8-sig"))))
    assert rows[0][:5] == ["Department", "Received", "Valid", "Closed", "Closure rate %"]
    assert [r[0] for r in rows[1:]] == ["Property A", "Sales B", "All departments"]
    assert rows[1][1:5] == ["8", "5", "2", "40.0"]
    assert rows[1][-1] == "Old pipes (2)"
    with zipfile.ZipFile(io.BytesIO(reports.as_xlsx(report))) as xlsx:
        sheet = xlsx.read("xl/worksheets/sheet1.xml").decode()
        assert xlsx.testzip() is None
    assert "<v>8</v>" in sheet and "Property A" in sheet and "All departments" in sheet


@pytest.fixture
def manager_client(dataset):
    user = UserFactory(
        username="boss",
        perms=[*ALL_COMPLAINT_PERMS, "reporting.view_monthlyreport", "reporting.add_monthlyreport"],
    )
    user.save()
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_admin_pages_render_and_generate(manager_client, language, frozen):
    manager_client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    form = manager_client.get("/admin/reporting/monthlyreport/generate/")
    assert form.status_code == 200 and 'value="2026-10"' in form.content.decode()
    response = manager_client.post("/admin/reporting/monthlyreport/generate/", {"month": "2026-11"})
    assert response.status_code == 302
    report = MonthlyReport.objects.get()
    page = manager_client.get(
        f"/admin/reporting/monthlyreport/{report.pk}/change/"
    ).content.decode()
    assert "Property A" in page
    listing = manager_client.get("/admin/reporting/monthlyreport/")
    assert listing.status_code == 200 and "generate-report" in listing.content.decode()
    download = manager_client.get(f"/admin/reporting/monthlyreport/{report.pk}/download/xlsx/")
    assert download.status_code == 200 and download.content[:2] == b"PK"
    bad = manager_client.post("/admin/reporting/monthlyreport/generate/", {"month": "2027-01"})
    assert bad.status_code == 200 and MonthlyReport.objects.count() == 1


def test_head_downloads_only_their_department(dataset, frozen):
    report = reports.generate(NOVEMBER, now=NOW)
    head = UserFactory(
        username="hb",
        perms=["reporting.view_monthlyreport", "complaints.view_department_complaints"],
    )
    MembershipFactory(department=dataset["b"], user=head, role=DepartmentMembership.Role.HEAD)
    head.save()
    client = Client(headers={"accept-language": "en"})
    client.force_login(head)
    body = client.get(f"/admin/reporting/monthlyreport/{report.pk}/download/csv/").content
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["Sales B"]
    assert (
        client.get(f"/admin/reporting/monthlyreport/{report.pk}/download/pdf/").status_code == 400
    )


def test_summary_state_page_and_rebuild(dataset, frozen):
    from reporting.models import SummaryState

    user = UserFactory(
        username="boss2",
        perms=["reporting.view_summarystate", "reporting.rebuild_summaries"],
    )
    user.save()
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    page = client.get("/admin/reporting/summarystate/")
    assert page.status_code == 200 and "rebuild-summaries" in page.content.decode()
    assert client.get("/admin/reporting/summarystate/rebuild/").status_code == 200
    assert not SummaryState.objects.filter(refreshed_at__isnull=False).exists()
    response = client.post("/admin/reporting/summarystate/rebuild/")
    assert response.status_code == 302
    assert SummaryState.objects.get().rebuilt_at is not None  # tasks run eagerly in tests
    plain = UserFactory(username="plain2", perms=["reporting.view_summarystate"])
    plain.save()
    client.force_login(plain)
    assert client.post("/admin/reporting/summarystate/rebuild/").status_code == 403
