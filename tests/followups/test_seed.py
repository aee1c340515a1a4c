"""Demo data for the follow-ups app on top of seed_demo."""

from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from complaints.models import Complaint, Status
from followups.models import FollowUp, ImprovementAction, RepeatLink, SurveyInvitation

pytestmark = pytest.mark.django_db


def test_seed_followups_builds_consistent_demo_data():
    call_command("seed_demo", complaints=400, stdout=StringIO())
    out = StringIO()
    call_command("seed_followups", stdout=out)
    assert "follow-ups" in out.getvalue()
    finished = Complaint.objects.filter(status__in=(Status.RESOLVED, Status.CLOSED))
    assert FollowUp.objects.count() == 2 * finished.count()
    # Closed complaints had their required callback done, as closing requires.
    assert (
        not FollowUp.objects.filter(complaint__status=Status.CLOSED, required_before_close=True)
        .exclude(status="done")
        .exists()
    )
    assert SurveyInvitation.objects.filter(used_at__isnull=False).exists()
    assert not SurveyInvitation.objects.filter(used_at__isnull=False, outcome_score=None).exists()
    for link in RepeatLink.objects.select_related("complaint", "earlier")[:50]:
        assert link.complaint.customer_id == link.earlier.customer_id
        assert link.earlier.received_at < link.complaint.received_at
    assert ImprovementAction.objects.filter(status="verified").exists()
    # Staff made the calls in working hours (09:00-18:00 on weekdays here), not at night.
    tz = ZoneInfo("Asia/Shanghai")
    for done_at in FollowUp.objects.exclude(done_at=None).values_list("done_at", flat=True):
        local = done_at.astimezone(tz)
        assert local.weekday() < 5 and 9 <= local.hour < 18, local
    # Running it again changes nothing.
    before = FollowUp.objects.count()
    call_command("seed_followups", stdout=StringIO())
    assert FollowUp.objects.count() == before
