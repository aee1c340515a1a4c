"""The complaint's responsibility, remedy plan and customer-answer pages (served under the
compensation admin's URLs, linked from the complaint page's compensation panel)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.utils.translation import gettext as _

from ..models import Complaint, RemedyPlan
from ..selectors import visible_complaints
from ..services import responsibility
from ..services.errors import ServiceError
from .compensation_common import action_page, complaint_url
from .compensation_forms import AnswerForm, RemedyPlanForm, ResponsibilityForm


class RemedyPagesMixin:
    def _complaint(self, request, complaint_id) -> Complaint:
        complaint = (
            visible_complaints(request.user)
            .select_related("customer", "department")
            .filter(pk=complaint_id)
            .first()
        )
        if complaint is None:
            raise Http404
        return complaint

    def responsibility_view(self, request, complaint_id):
        complaint = self._complaint(request, complaint_id)
        if not request.user.has_perm("complaints.change_complaint"):
            raise PermissionDenied
        initial = {
            "version": complaint.version,
            "validity": complaint.validity,
            "validity_reason": complaint.validity_reason,
            "department": complaint.department,
            "assisting": list(complaint.assisting_departments.all()),
            "fault": complaint.fault,
            "root_cause_category": complaint.root_cause_category,
            "finding": complaint.finding,
            "needs_other_departments": complaint.needs_other_departments,
        }
        form = (
            ResponsibilityForm(request.POST)
            if request.method == "POST"
            else ResponsibilityForm(initial=initial)
        )
        error = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                responsibility.decide(
                    complaint.pk,
                    user=request.user,
                    validity=data["validity"],
                    validity_reason=data["validity_reason"],
                    department=data["department"],
                    assisting=list(data["assisting"]),
                    fault=data["fault"],
                    root_cause_category=data["root_cause_category"],
                    finding=data["finding"],
                    needs_other_departments=data["needs_other_departments"],
                    expected_version=data.get("version"),
                )
            except ServiceError as exc:
                error = exc.message
            else:
                messages.success(request, _("Responsibility recorded."))
                return HttpResponseRedirect(complaint_url(complaint.pk, "#compensation"))
        return action_page(
            request,
            self.admin_site,
            title=f"{complaint.reference} · {_('Responsibility')}",
            subtitle=complaint.subject,
            form=form,
            submit_label=_("Record responsibility"),
            back_url=complaint_url(complaint.pk),
            back_label=_("Back to the complaint"),
            error=error,
            extra={"opts": self.opts},
        )

    def remedy_view(self, request, complaint_id):
        complaint = self._complaint(request, complaint_id)
        plan = RemedyPlan.objects.filter(complaint=complaint).first()
        initial = {"version": plan.version if plan else None}
        if plan:
            initial.update(
                apology=plan.apology,
                apology_text=plan.apology_text,
                explanation=plan.explanation,
                correction=plan.correction,
            )
        form = (
            RemedyPlanForm(request.POST)
            if request.method == "POST"
            else RemedyPlanForm(initial=initial)
        )
        error = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                responsibility.record_plan(
                    complaint.pk,
                    user=request.user,
                    apology=data["apology"],
                    apology_text=data["apology_text"],
                    explanation=data["explanation"],
                    correction=data["correction"],
                    expected_version=data.get("version"),
                )
            except ServiceError as exc:
                error = exc.message
            else:
                messages.success(request, _("Remedy plan saved."))
                return HttpResponseRedirect(complaint_url(complaint.pk, "#compensation"))
        return action_page(
            request,
            self.admin_site,
            title=f"{complaint.reference} · {_('Remedy plan')}",
            subtitle=complaint.subject,
            form=form,
            submit_label=_("Save the remedy plan"),
            back_url=complaint_url(complaint.pk),
            back_label=_("Back to the complaint"),
            error=error,
            extra={"opts": self.opts},
        )

    def answer_view(self, request, complaint_id):
        complaint = self._complaint(request, complaint_id)
        form = AnswerForm(request.POST) if request.method == "POST" else AnswerForm()
        error = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                responsibility.record_answer(
                    complaint.pk,
                    user=request.user,
                    answer=data["answer"],
                    escalation_path=data["escalation_path"],
                    escalation_note=data["escalation_note"],
                )
            except ServiceError as exc:
                error = exc.message
            else:
                messages.success(request, _("The customer's answer is recorded."))
                return HttpResponseRedirect(complaint_url(complaint.pk, "#compensation"))
        return action_page(
            request,
            self.admin_site,
            title=f"{complaint.reference} · {_('Customer answer')}",
            subtitle=complaint.subject,
            form=form,
            submit_label=_("Record the answer"),
            back_url=complaint_url(complaint.pk),
            back_label=_("Back to the complaint"),
            error=error,
            extra={"opts": self.opts},
        )
