"""The follow-ups section of the complaint's admin page (registered in
complaints.hooks.COMPLAINT_PANELS): return visits, surveys with their answers, repeat links
both ways and improvement actions."""

from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from complaints.models import Status as ComplaintStatus
from complaints.selectors import visible_complaints

from .models import FollowUp, FollowUpWaiver, RepeatLink, SurveyInvitation


def complaint_panel(request, complaint) -> str:
    user = request.user
    if not user.has_perm("followups.view_followup"):
        return ""
    now = timezone.now()
    followups = list(
        FollowUp.objects.filter(complaint=complaint)
        .select_related("assignee", "done_by")
        .order_by("-round", "due_at", "pk")
    )
    for followup in followups:
        followup.overdue = followup.is_overdue(now)
        followup.record_url = reverse("admin:followups_followup_record", args=[followup.pk])
    surveys = list(SurveyInvitation.objects.filter(complaint=complaint).order_by("-created_at"))
    visible = visible_complaints(user).values("pk")
    repeats = RepeatLink.objects.filter(
        Q(complaint=complaint) | Q(earlier=complaint)
    ).select_related("complaint", "earlier")
    repeat_of, repeated_by = [], []
    for link in repeats:
        other = link.earlier if link.complaint_id == complaint.pk else link.complaint
        (repeat_of if link.complaint_id == complaint.pk else repeated_by).append(
            {"link": link, "other": other}
        )
    seen = set(
        visible.filter(pk__in=[r["other"].pk for r in repeat_of + repeated_by]).values_list(
            "pk", flat=True
        )
    )
    for row in repeat_of + repeated_by:
        row["url"] = (
            reverse("admin:complaints_complaint_change", args=[row["other"].pk])
            if row["other"].pk in seen
            else None
        )
    waiver = FollowUpWaiver.objects.filter(
        complaint=complaint, round=complaint.reopened_count
    ).first()
    actions = list(complaint.improvement_actions.all().order_by("due_date"))
    context = {
        "complaint": complaint,
        "followups": followups,
        "surveys": surveys,
        "repeat_of": repeat_of,
        "repeated_by": repeated_by,
        "waiver": waiver,
        "actions": actions,
        "now": now,
        "can_survey": complaint.status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED)
        and user.has_perm("followups.add_surveyinvitation"),
        "survey_url": reverse("admin:followups_surveyinvitation_create", args=[complaint.pk]),
        "can_waive": complaint.status == ComplaintStatus.RESOLVED
        and waiver is None
        and user.has_perm("complaints.close_complaint"),
        "waive_url": reverse("admin:followups_followupwaiver_waive", args=[complaint.pk]),
        "can_record": user.has_perm("followups.change_followup"),
    }
    return render_to_string("followups/admin/complaint_panel.html", context, request=request)
