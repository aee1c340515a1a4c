"""Admin of compensations, the authority matrix, tier guidance, root causes and incidents.

Presentation only: every change goes through complaints.services.compensation / incidents /
responsibility, which check permissions, limits and versions again."""

from __future__ import annotations

from datetime import datetime, time

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    ChoicesCheckboxFilter,
    ChoicesDropdownFilter,
    RangeDateFilter,
    RelatedDropdownFilter,
)
from unfold.decorators import action, display

from ..compensation_selectors import (
    complaint_totals,
    guidance_for,
    totals_by_department,
    totals_by_month,
    visible_compensations,
)
from ..models import (
    Compensation,
    IncidentLink,
    RemedyPlan,
)
from ..selectors import visible_complaints
from ..services import authority
from ..services import compensation as comp
from ..services.errors import ServiceError
from .compensation_common import REFERENCE_RE, STATUS_COLOURS, S, action_page, complaint_url
from .compensation_forms import (
    ApproveForm,
    BulkRejectForm,
    CancelForm,
    FulfilForm,
    ProposeForm,
    RejectForm,
    ReviseForm,
)
from .pagination import EstimatedCountPaginator
from .remedy_pages import RemedyPagesMixin

BULK_LIMIT = 500


class QueueFilter(admin.SimpleListFilter):
    title = gettext_lazy("queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("mine", gettext_lazy("Awaiting my approval")),
            ("awaiting", gettext_lazy("Awaiting approval (all)")),
            ("to_pay", gettext_lazy("Approved, not yet paid")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "mine":
            return authority.awaiting_approval_by(request.user, queryset)
        if self.value() == "awaiting":
            return queryset.filter(status=S.PROPOSED)
        if self.value() == "to_pay":
            return queryset.filter(status=S.APPROVED)
        return queryset


@admin.register(Compensation)
class CompensationAdmin(RemedyPagesMixin, ModelAdmin):
    form = ProposeForm
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50
    list_filter_submit = True
    list_display = (
        "number",
        "complaint_link",
        "kind",
        "amount_display",
        "status_label",
        "department_name",
        "proposed_by",
        "proposed_at",
        "decided_by",
    )
    list_display_links = ("number",)
    list_select_related = ("complaint", "complaint__department", "proposed_by", "decided_by")
    list_filter = (
        QueueFilter,
        ("status", ChoicesCheckboxFilter),
        ("kind", ChoicesDropdownFilter),
        ("currency", ChoicesDropdownFilter),
        ("complaint__department", RelatedDropdownFilter),
        ("proposed_at", RangeDateFilter),
        ("incident_remedy", RelatedDropdownFilter),
    )
    search_fields = ("complaint__reference",)
    search_help_text = gettext_lazy("Complaint reference (C-2026-000123) or payout reference.")
    ordering = ("-proposed_at", "-id")
    autocomplete_fields = ("complaint",)
    actions = ["approve_selected", "reject_selected"]
    list_before_template = "complaints/admin/compensation_list_summary.html"
    change_form_before_template = "complaints/admin/compensation_detail.html"
    readonly_fields = (
        "complaint_link",
        "kind",
        "amount",
        "currency",
        "description",
        "status",
        "proposed_by",
        "proposed_at",
        "decided_by",
        "decided_at",
        "decision_note",
        "fulfilled_by",
        "fulfilled_at",
        "payout_reference",
        "cancelled_at",
        "cancel_reason",
        "incident_remedy",
        "approval_escalated_at",
        "updated_at",
        "version",
    )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("complaint", "kind", "amount", "currency", "description")
        return self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else ()

    def get_queryset(self, request):
        return visible_compensations(request.user, super().get_queryset(request))

    def get_search_results(self, request, queryset, search_term):
        term = " ".join(search_term.split())
        if not term:
            return queryset, False
        if REFERENCE_RE.fullmatch(term.upper()):
            return queryset.filter(complaint__reference=term.upper()), False
        return queryset.filter(payout_reference=term), False

    # The change page is a read-only record with action buttons; nothing is deleted.
    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        if not request.user.has_perm("complaints.approve_compensation"):
            actions.pop("approve_selected", None)
            actions.pop("reject_selected", None)
        return actions

    # -- columns --------------------------------------------------------------------------

    @display(description=gettext_lazy("no."), ordering="id")
    def number(self, obj):
        return f"#{obj.pk}"

    @display(description=gettext_lazy("complaint"), ordering="complaint__reference")
    def complaint_link(self, obj):
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            complaint_url(obj.complaint_id, "#compensation"),
            obj.complaint.reference,
        )

    @display(description=gettext_lazy("amount"), ordering="amount")
    def amount_display(self, obj):
        text = comp.fmt(obj.amount, obj.currency)
        return f"≈ {text}" if obj.is_estimate else text

    @display(description=gettext_lazy("status"), ordering="status", label=STATUS_COLOURS)
    def status_label(self, obj):
        return obj.status, obj.get_status_display()

    @display(description=gettext_lazy("department"), ordering="complaint__department__name")
    def department_name(self, obj):
        return obj.complaint.department or "—"

    # -- proposing ------------------------------------------------------------------------

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if request.GET.get("complaint"):
            initial["complaint"] = request.GET["complaint"]
        return initial

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            return form_class
        user = request.user

        class Form(form_class):
            def clean(self):
                cleaned = super().clean()
                complaint = cleaned.get("complaint")
                if complaint is None or self.errors:
                    return cleaned
                try:
                    cleaned["amount"] = comp.check_proposal(
                        complaint,
                        user=user,
                        kind=cleaned.get("kind"),
                        amount=cleaned.get("amount"),
                        description=cleaned.get("description", ""),
                        currency=cleaned.get("currency"),
                    )
                except ServiceError as exc:
                    raise ValidationError(exc.message) from exc
                return cleaned

        return Form

    def add_view(self, request, form_url="", extra_context=None):
        complaint = None
        complaint_id = request.GET.get("complaint") or request.POST.get("complaint")
        if complaint_id and str(complaint_id).isdigit():
            complaint = (
                visible_complaints(request.user)
                .select_related("customer", "department")
                .filter(pk=complaint_id)
                .first()
            )
        extra = {
            **(extra_context or {}),
            "guidance": guidance_for(complaint.customer.tier if complaint else None),
            "guidance_tier": complaint.customer.get_tier_display() if complaint else None,
            "target_complaint": complaint,
            "own_limit": _own_limit_text(request.user, complaint),
        }
        return super().add_view(request, form_url, extra)

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        created = comp.propose(
            form.cleaned_data["complaint"].pk,
            user=request.user,
            kind=form.cleaned_data["kind"],
            amount=form.cleaned_data["amount"],
            currency=form.cleaned_data["currency"],
            description=form.cleaned_data["description"],
        )
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "_state"})
        obj._state.adding = False

    def save_related(self, request, form, formsets, change):
        pass

    def response_add(self, request, obj, post_url_continue=None):
        messages.success(
            request,
            _("Compensation #%(id)s proposed; it now awaits approval.") % {"id": obj.pk},
        )
        return HttpResponseRedirect(complaint_url(obj.complaint_id, "#compensation"))

    # -- the change page: actions --------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404
        extra = {**(extra_context or {}), **self._detail_context(request, obj)}
        return super().change_view(request, object_id, form_url, extra)

    def _detail_context(self, request, obj):
        user = request.user
        buttons = []

        def add(name, label, ok):
            if ok:
                buttons.append(
                    {
                        "name": name,
                        "label": label,
                        "url": reverse(f"admin:complaints_compensation_{name}", args=[obj.pk]),
                    }
                )

        deciding = (
            user.has_perm("complaints.approve_compensation") and obj.proposed_by_id != user.pk
        )
        add("approve", _("Approve"), obj.status == S.PROPOSED and deciding)
        add("reject", _("Reject"), obj.status == S.PROPOSED and deciding)
        add(
            "revise",
            _("Change amount"),
            obj.status == S.PROPOSED and user.has_perm("complaints.change_compensation"),
        )
        add(
            "fulfil",
            _("Record as paid / fulfilled"),
            obj.status == S.APPROVED and user.has_perm("complaints.fulfil_compensation"),
        )
        add(
            "cancel",
            _("Cancel"),
            obj.status in (S.PROPOSED, S.APPROVED)
            and user.has_perm("complaints.change_compensation"),
        )
        return {
            "compensation": obj,
            "compensation_buttons": buttons,
            "status_variant": STATUS_COLOURS.get(obj.status) or "",
            "complaint_url": complaint_url(obj.complaint_id, "#compensation"),
            "totals": complaint_totals(obj.complaint_id),
        }

    def get_urls(self):
        wrap = self.admin_site.admin_view
        urls = [
            path("totals/", wrap(self.totals_view), name="complaints_compensation_totals"),
            path(
                "responsibility/<int:complaint_id>/",
                wrap(self.responsibility_view),
                name="complaints_compensation_responsibility",
            ),
            path(
                "remedy/<int:complaint_id>/",
                wrap(self.remedy_view),
                name="complaints_compensation_remedy",
            ),
            path(
                "remedy/<int:complaint_id>/answer/",
                wrap(self.answer_view),
                name="complaints_compensation_answer",
            ),
        ]
        for name in ("approve", "reject", "fulfil", "cancel", "revise"):
            urls.append(
                path(
                    f"<int:object_id>/{name}/",
                    wrap(self._decision_view(name)),
                    name=f"complaints_compensation_{name}",
                )
            )
        return urls + super().get_urls()

    def _decision_view(self, name):
        forms_ = {
            "approve": ApproveForm,
            "reject": RejectForm,
            "fulfil": FulfilForm,
            "cancel": CancelForm,
            "revise": ReviseForm,
        }
        titles = {
            "approve": gettext_lazy("Approve compensation"),
            "reject": gettext_lazy("Reject compensation"),
            "fulfil": gettext_lazy("Record as paid / fulfilled"),
            "cancel": gettext_lazy("Cancel compensation"),
            "revise": gettext_lazy("Change the amount"),
        }

        def run(user, obj, data):
            version = data.get("version")
            if name == "approve":
                return comp.approve(obj.pk, user=user, note=data["note"], expected_version=version)
            if name == "reject":
                return comp.reject(
                    obj.pk, user=user, reason=data["reason"], expected_version=version
                )
            if name == "cancel":
                return comp.cancel(
                    obj.pk, user=user, reason=data["reason"], expected_version=version
                )
            if name == "revise":
                return comp.revise_amount(
                    obj.pk,
                    user=user,
                    amount=data["amount"],
                    reason=data["reason"],
                    expected_version=version,
                )
            day = data.get("fulfilled_on")
            when = None
            if day:
                when = datetime.combine(day, time(12), tzinfo=timezone.get_current_timezone())
                when = min(when, timezone.now())
            return comp.mark_fulfilled(
                obj.pk,
                user=user,
                payout_reference=data["payout_reference"],
                fulfilled_at=when,
                expected_version=version,
            )

        def view(request, object_id):
            obj = self.get_object(request, str(object_id))
            if obj is None:
                raise Http404
            form_class = forms_[name]
            form = (
                form_class(request.POST)
                if request.method == "POST"
                else form_class(initial={"version": obj.version})
            )
            error = None
            if request.method == "POST" and form.is_valid():
                try:
                    run(request.user, obj, form.cleaned_data)
                except ServiceError as exc:
                    error = exc.message
                else:
                    messages.success(request, _("Compensation #%(id)s: done.") % {"id": obj.pk})
                    return HttpResponseRedirect(
                        reverse("admin:complaints_compensation_change", args=[obj.pk])
                    )
            return action_page(
                request,
                self.admin_site,
                title=f"#{obj.pk} · {titles[name]}",
                subtitle=f"{obj.complaint.reference} · {obj.get_kind_display()} · "
                f"{comp.fmt(obj.amount, obj.currency)}",
                form=form,
                submit_label=titles[name],
                back_url=reverse("admin:complaints_compensation_change", args=[obj.pk]),
                back_label=_("Back to the compensation"),
                error=error,
                extra={"opts": self.opts},
            )

        return view

    # -- bulk decisions (the queue) -------------------------------------------------------

    @action(description=gettext_lazy("Approve selected (each checked against my limits)"))
    def approve_selected(self, request, queryset):
        ids = list(queryset.filter(status=S.PROPOSED).values_list("pk", flat=True)[:BULK_LIMIT])
        skipped = queryset.exclude(status=S.PROPOSED).count()
        result = comp.bulk_approve(ids, user=request.user)
        self._report(
            request,
            _(
                "%(done)d approved, %(refused)d refused, %(skipped)d skipped (not awaiting "
                "approval)."
            ),
            result,
            skipped,
        )

    @action(description=gettext_lazy("Reject selected…"))
    def reject_selected(self, request, queryset):
        form = BulkRejectForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            ids = list(queryset.filter(status=S.PROPOSED).values_list("pk", flat=True)[:BULK_LIMIT])
            skipped = queryset.exclude(status=S.PROPOSED).count()
            result = comp.bulk_reject(ids, user=request.user, reason=form.cleaned_data["reason"])
            self._report(
                request,
                _(
                    "%(done)d rejected, %(refused)d refused, %(skipped)d skipped (not awaiting "
                    "approval)."
                ),
                result,
                skipped,
            )
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Reject selected compensations"),
            "form": form,
            "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "count": queryset.count(),
        }
        return TemplateResponse(request, "complaints/admin/compensation_bulk_reject.html", context)

    def _report(self, request, text, result, skipped):
        self.message_user(
            request,
            text % {"done": result.done, "refused": result.refused, "skipped": skipped},
            messages.SUCCESS if result.done and not result.refused else messages.WARNING,
        )
        for error in (result.errors or [])[:10]:
            self.message_user(request, error, messages.WARNING)

    # -- totals ---------------------------------------------------------------------------

    def changelist_view(self, request, extra_context=None):
        extra = {
            **(extra_context or {}),
            "totals_url": reverse("admin:complaints_compensation_totals"),
            "queue_url": reverse("admin:complaints_compensation_changelist") + "?queue=mine",
            "can_approve": request.user.has_perm("complaints.approve_compensation"),
        }
        return super().changelist_view(request, extra)

    def totals_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = visible_compensations(request.user)
        year = request.GET.get("year", "")
        start = end = None
        if year.isdigit() and 2000 <= int(year) <= 2100:
            tz = timezone.get_current_timezone()
            start = datetime(int(year), 1, 1, tzinfo=tz)
            end = datetime(int(year) + 1, 1, 1, tzinfo=tz)
        else:
            year = ""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Compensation totals"),
            "year": year,
            "by_department": totals_by_department(rows, start=start, end=end),
            "by_month": totals_by_month(rows, start=start, end=end),
            "list_url": reverse("admin:complaints_compensation_changelist"),
        }
        return TemplateResponse(request, "complaints/admin/compensation_totals.html", context)


def _own_limit_text(user, complaint) -> str:
    department_id = complaint.department_id if complaint else None
    per_one, per_complaint = authority.own_limit(user, department_id=department_id, currency="CNY")
    return _("Your approval limit: %(one)s per compensation, %(all)s per complaint.") % {
        "one": comp.fmt(per_one, "CNY"),
        "all": comp.fmt(per_complaint, "CNY"),
    }


def complaint_panel_context(request, complaint) -> dict:
    """What the complaint page's compensation panel shows (a constant number of queries)."""
    user = request.user
    rows = list(
        complaint.compensations.select_related("proposed_by", "decided_by").order_by(
            "-proposed_at", "-pk"
        )
    )
    for row in rows:
        row.amount_text = comp.fmt(row.amount, row.currency)
        row.variant = STATUS_COLOURS.get(row.status) or ""
        row.url = reverse("admin:complaints_compensation_change", args=[row.pk])
    plan = RemedyPlan.objects.filter(complaint=complaint).first()
    link = IncidentLink.objects.filter(complaint=complaint).select_related("incident").first()
    can_propose = (
        user.has_perm("complaints.add_compensation") and complaint.status in comp.PROPOSABLE
    )
    return {
        "compensations": rows,
        "compensation_totals": complaint_totals(complaint.pk),
        "remedy_plan": plan,
        "incident_link": link,
        "propose_url": (
            reverse("admin:complaints_compensation_add") + f"?complaint={complaint.pk}"
            if can_propose
            else None
        ),
        "responsibility_url": (
            reverse("admin:complaints_compensation_responsibility", args=[complaint.pk])
            if user.has_perm("complaints.change_complaint")
            else None
        ),
        "remedy_url": (
            reverse("admin:complaints_compensation_remedy", args=[complaint.pk])
            if user.has_perm("complaints.change_remedyplan") and complaint.is_open
            else None
        ),
        "answer_url": (
            reverse("admin:complaints_compensation_answer", args=[complaint.pk])
            if user.has_perm("complaints.change_remedyplan") and plan
            else None
        ),
    }
