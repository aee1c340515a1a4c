"""Admin of incidents (mass complaints): link complaints, see them together, and remedies
applied to all of them."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.contrib.filters.admin import (
    AutocompleteSelectFilter,
    RelatedDropdownFilter,
)
from unfold.decorators import display

from ..models import (
    Incident,
    IncidentLink,
    IncidentRemedy,
)
from ..selectors import visible_complaints
from ..services import compensation as comp
from ..services import incidents
from ..services.errors import ServiceError
from .compensation_common import REFERENCE_RE, action_page, complaint_url
from .compensation_forms import (
    LinkComplaintsForm,
    RemedyDecisionForm,
)
from .pagination import EstimatedCountPaginator

# -- incidents -------------------------------------------------------------------------------


@admin.register(Incident)
class IncidentAdmin(ModelAdmin):
    list_display = ("code", "title", "status", "department", "complaint_count", "created_at")
    list_filter = ("status", ("department", RelatedDropdownFilter))
    list_select_related = ("department",)
    search_fields = ("code", "title")
    autocomplete_fields = ("department",)
    fields = ("code", "title", "description", "department", "status", "started_at")
    change_form_after_template = "complaints/admin/incident_panel.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_complaints=Count("links"))

    @display(description=gettext_lazy("complaints"), ordering="_complaints")
    def complaint_count(self, obj):
        return obj._complaints

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        incident = self.get_object(request, object_id)
        if incident is None:
            raise Http404
        remedies = list(
            incident.remedies.select_related("proposed_by", "decided_by").order_by("-proposed_at")
        )
        for remedy in remedies:
            remedy.url = reverse("admin:complaints_incidentremedy_change", args=[remedy.pk])
            remedy.amount_text = comp.fmt(remedy.amount_per_complaint, remedy.currency)
        extra = {
            **(extra_context or {}),
            "link_form": LinkComplaintsForm(),
            "link_url": reverse("admin:complaints_incident_link", args=[incident.pk]),
            "can_link": request.user.has_perm("complaints.change_incident"),
            "linked_count": incident.links.count(),
            "links_url": reverse("admin:complaints_incidentlink_changelist")
            + f"?incident__id__exact={incident.pk}",
            "remedies": remedies,
            "propose_remedy_url": reverse("admin:complaints_incidentremedy_add")
            + f"?incident={incident.pk}",
            "can_propose_remedy": request.user.has_perm("complaints.add_incidentremedy"),
        }
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self):
        return [
            path(
                "<int:object_id>/link/",
                self.admin_site.admin_view(self.link_view),
                name="complaints_incident_link",
            ),
            *super().get_urls(),
        ]

    def link_view(self, request, object_id):
        incident = self.get_object(request, str(object_id))
        if incident is None:
            raise Http404
        change_url = reverse("admin:complaints_incident_change", args=[incident.pk])
        if request.method != "POST":
            return HttpResponseRedirect(change_url)
        form = LinkComplaintsForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Give at least one complaint reference."))
            return HttpResponseRedirect(change_url)
        references = {
            r.upper() for r in REFERENCE_RE.findall(form.cleaned_data["references"].upper())
        }
        found = dict(
            visible_complaints(request.user)
            .filter(reference__in=references)
            .values_list("reference", "pk")
        )
        unknown = sorted(references - set(found))
        try:
            linked, already = (
                incidents.link_complaints(incident.pk, found.values(), user=request.user)
                if found
                else (0, 0)
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
            return HttpResponseRedirect(change_url)
        messages.success(
            request,
            _("%(linked)d linked, %(already)d already linked to an incident.")
            % {"linked": linked, "already": already},
        )
        if unknown:
            messages.warning(request, _("Not found: %(refs)s") % {"refs": ", ".join(unknown[:20])})
        return HttpResponseRedirect(change_url)


@admin.register(IncidentLink)
class IncidentLinkAdmin(ModelAdmin):
    """The complaints of an incident, seen together (with the complaint's isolation)."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_display = (
        "reference",
        "subject",
        "status",
        "severity",
        "department",
        "linked_at",
        "linked_by",
    )
    list_display_links = None
    list_filter = (("incident", AutocompleteSelectFilter),)
    list_select_related = ("complaint", "complaint__department", "linked_by")
    ordering = ("-id",)

    def get_queryset(self, request):
        rows = super().get_queryset(request)
        if can_see_all(request.user):
            return rows
        return rows.filter(complaint__in=visible_complaints(request.user).values("pk"))

    def has_module_permission(self, request):
        return request.user.has_perm("complaints.view_incident")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("complaints.view_incident")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @display(description=gettext_lazy("complaint"), ordering="complaint__reference")
    def reference(self, obj):
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            complaint_url(obj.complaint_id),
            obj.complaint.reference,
        )

    @display(description=gettext_lazy("subject"))
    def subject(self, obj):
        return obj.complaint.subject[:60]

    @display(description=gettext_lazy("status"))
    def status(self, obj):
        return obj.complaint.get_status_display()

    @display(description=gettext_lazy("severity"))
    def severity(self, obj):
        return obj.complaint.get_severity_display()

    @display(description=gettext_lazy("department"))
    def department(self, obj):
        return obj.complaint.department or "—"


def can_see_all(user) -> bool:
    from ..selectors import sees_all

    return sees_all(user)


@admin.register(IncidentRemedy)
class IncidentRemedyAdmin(ModelAdmin):
    list_display = (
        "incident",
        "kind",
        "amount_text",
        "status",
        "approved_count",
        "approved_total",
        "progress",
        "applied_count",
        "proposed_by",
        "decided_by",
    )
    list_filter = ("status", "progress")
    list_select_related = ("incident", "proposed_by", "decided_by")
    autocomplete_fields = ("incident",)
    change_form_before_template = "complaints/admin/incident_remedy_detail.html"
    readonly = (
        "incident",
        "kind",
        "amount_per_complaint",
        "currency",
        "description",
        "status",
        "proposed_by",
        "proposed_at",
        "decided_by",
        "decided_at",
        "decision_note",
        "approved_count",
        "approved_total",
        "progress",
        "applied_count",
        "apply_started_at",
        "apply_finished_at",
        "version",
    )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("incident", "kind", "amount_per_complaint", "currency", "description")
        return self.readonly

    def get_readonly_fields(self, request, obj=None):
        return self.readonly if obj is not None else ()

    @display(description=gettext_lazy("amount per complaint"), ordering="amount_per_complaint")
    def amount_text(self, obj):
        return comp.fmt(obj.amount_per_complaint, obj.currency)

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        if request.GET.get("incident"):
            initial["incident"] = request.GET["incident"]
        return initial

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None:
            return form_class

        user = request.user

        class Form(form_class):
            def clean(self):
                cleaned = super().clean()
                incident = cleaned.get("incident")
                if not user.has_perm("complaints.add_incidentremedy"):
                    raise ValidationError(_("You do not have permission to do this."))
                if incident is not None and incident.status != Incident.Status.OPEN:
                    raise ValidationError(_("The incident is closed."))
                return cleaned

            def clean_amount_per_complaint(self):
                try:
                    return comp.parse_amount(
                        self.cleaned_data["amount_per_complaint"], kind=self.data.get("kind")
                    )
                except ServiceError as exc:
                    raise ValidationError(exc.message) from exc

        return Form

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        data = form.cleaned_data
        try:
            created = incidents.propose_remedy(
                data["incident"].pk,
                user=request.user,
                kind=data["kind"],
                amount_per_complaint=data["amount_per_complaint"],
                currency=data["currency"],
                description=data["description"],
            )
        except ServiceError as exc:
            raise PermissionDenied(exc.message) from exc
        obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "_state"})
        obj._state.adding = False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        remedy = self.get_object(request, object_id)
        if remedy is None:
            raise Http404
        user = request.user
        deciding = (
            user.has_perm("complaints.approve_compensation") and remedy.proposed_by_id != user.pk
        )
        buttons = []
        if remedy.status == IncidentRemedy.Status.PROPOSED and deciding:
            buttons += [
                ("approve", _("Approve for all linked complaints")),
                ("reject", _("Reject")),
            ]
        if remedy.status == IncidentRemedy.Status.PROPOSED and user.has_perm(
            "complaints.change_incidentremedy"
        ):
            buttons.append(("cancel", _("Cancel")))
        if remedy.status == IncidentRemedy.Status.APPROVED and user.has_perm(
            "complaints.change_incidentremedy"
        ):
            buttons.append(("apply", _("Apply again (creates only what is missing)")))
        extra = {
            **(extra_context or {}),
            "remedy": remedy,
            "remedy_buttons": [
                {
                    "label": label,
                    "url": reverse(f"admin:complaints_incidentremedy_{name}", args=[remedy.pk]),
                }
                for name, label in buttons
            ],
            "linked_now": remedy.incident.links.count(),
            "compensations_url": reverse("admin:complaints_compensation_changelist")
            + f"?incident_remedy__id__exact={remedy.pk}",
        }
        return super().change_view(request, object_id, form_url, extra)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            *(
                path(
                    f"<int:object_id>/{name}/",
                    wrap(self._remedy_action(name)),
                    name=f"complaints_incidentremedy_{name}",
                )
                for name in ("approve", "reject", "cancel", "apply")
            ),
            *super().get_urls(),
        ]

    def _remedy_action(self, name):
        def view(request, object_id):
            remedy = self.get_object(request, str(object_id))
            if remedy is None:
                raise Http404
            back = reverse("admin:complaints_incidentremedy_change", args=[remedy.pk])
            if name == "apply":
                if request.method == "POST":
                    try:
                        incidents.reapply(remedy.pk, user=request.user)
                    except ServiceError as exc:
                        messages.error(request, exc.message)
                    else:
                        messages.success(request, _("The remedy is being applied."))
                return HttpResponseRedirect(back)
            form = (
                RemedyDecisionForm(request.POST)
                if request.method == "POST"
                else RemedyDecisionForm(initial={"version": remedy.version})
            )
            error = None
            if request.method == "POST" and form.is_valid():
                note = form.cleaned_data["note"]
                try:
                    if name == "approve":
                        incidents.approve_remedy(
                            remedy.pk,
                            user=request.user,
                            note=note,
                            expected_version=form.cleaned_data.get("version"),
                        )
                    elif name == "reject":
                        incidents.reject_remedy(remedy.pk, user=request.user, reason=note)
                    else:
                        incidents.cancel_remedy(remedy.pk, user=request.user, reason=note)
                except ServiceError as exc:
                    error = exc.message
                else:
                    messages.success(request, _("Done."))
                    return HttpResponseRedirect(back)
            labels = {
                "approve": _("Approve for all linked complaints"),
                "reject": _("Reject"),
                "cancel": _("Cancel"),
            }
            return action_page(
                request,
                self.admin_site,
                title=f"{remedy.incident.code} · {labels[name]}",
                subtitle=f"{remedy.get_kind_display()} · "
                f"{comp.fmt(remedy.amount_per_complaint, remedy.currency)} × "
                f"{remedy.incident.links.count()}",
                form=form,
                submit_label=labels[name],
                back_url=back,
                back_label=_("Back to the remedy"),
                error=error,
                extra={"opts": self.opts},
            )

        return view
