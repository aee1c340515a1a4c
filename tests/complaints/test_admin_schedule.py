"""The beat schedule created by migration, shown and editable in the Unfold admin."""

import pytest
from django_celery_beat.models import PeriodicTask

pytestmark = pytest.mark.django_db


def test_schedule_has_the_deadline_machinery():
    tasks = dict(PeriodicTask.objects.values_list("task", "interval__every"))
    assert tasks == {
        "complaints.tasks.sweep_deadlines": 1,
        "complaints.tasks.deliver_pending_alerts": 1,
        "complaints.tasks.reevaluate_severity": 60,
        "complaints.tasks.run_unfinished_recompute_jobs": 5,
        "complaints.tasks.sweep_compensation_approvals": 1,
        # complaints/migrations/0027_desk.py: follow-up reminders and auto-close
        "complaints.tasks.sweep_awaiting": 1,
        # followups/migrations/0002_followup_defaults.py
        "followups.tasks.schedule_missing": 10,
        "followups.tasks.remind_due": 5,
        "followups.tasks.deliver_pending_reminders": 2,
        "followups.tasks.link_recent_repeats": 60,
        # reporting/migrations: summaries every minute, the monthly report on a crontab
        "reporting.tasks.refresh_summaries": 1,
        "reporting.tasks.deliver_pending_reports": 10,
        "reporting.tasks.generate_monthly_report": None,
    }


def test_schedule_pages_render(login_client, superuser):
    client = login_client(superuser)
    listing = client.get("/admin/django_celery_beat/periodictask/")
    assert listing.status_code == 200
    assert "Deadline sweep" in listing.content.decode()
    sweep = PeriodicTask.objects.get(task="complaints.tasks.sweep_deadlines")
    page = client.get(f"/admin/django_celery_beat/periodictask/{sweep.pk}/change/")
    assert page.status_code == 200
    assert "complaints.tasks.sweep_deadlines" in page.content.decode()
    assert client.get("/admin/django_celery_beat/intervalschedule/").status_code == 200
