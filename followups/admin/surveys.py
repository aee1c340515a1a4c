"""Admin of satisfaction surveys (creating and sending links), the editable invitation
texts and repeat links."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.admin import ModelAdmin
from unfold.decorators import action

from complaints.selectors import visible_complaints
from complaints.services.errors import ServiceError

from ..api import export as exports
from ..models import LANGUAGES, MessageTemplate, RepeatLink, SurveyInvitation
from ..services import surveys
from .common import action_page, csv_export, isolated


class SurveyLinkForm(forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("language of the page"),
        required=False,
        choices=[("", gettext_lazy("The customer's browser language")), *LANGUAGES],
    )
    valid_days = forms.IntegerField(
        label=gettext_lazy("valid for (days)"),
        min_value=1,
        max_value=surveys.MAX_VALID_DAYS,
        initial=surveys.DEFAULT_VALID_DAYS,
    )
    send_email = forms.BooleanField(
        label=gettext_lazy("also email the invitation to the customer"), required=False
    )


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(ModelAdmin):
    list_display = (
        "complaint",
        "created_at",
        "expires_at",
        "used_at",
        "outcome_score",
        "handling_score",
        "solved",
        "emailed_at",
    )
    list_select_related = ("complaint",)
    list_filter = ("solved", "outcome_score", "language")
    search_fields = ("complaint__reference",)
    readonly_fields = [
        f.name for f in SurveyInvitation._meta.fields if f.name not in ("id", "nonce")
    ]
    actions = ["export_csv"]

    def get_queryset(self, request):
        return isolated(request, super().get_queryset(request))

    def has_add_permission(self, request):
        return False  # created from the complaint page

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @action(description=gettext_lazy("Export selected as CSV"))
    def export_csv(self, request, queryset):
        return csv_export(request, queryset, exports.SURVEYS)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "create/<int:complaint_id>/",
                wrap(self.create_view),
                name="followups_surveyinvitation_create",
            ),
            *super().get_urls(),
        ]

    def create_view(self, request, complaint_id):
        complaint = visible_complaints(request.user).filter(pk=complaint_id).first()
        if complaint is None:
            raise Http404
        if not request.user.has_perm("followups.add_surveyinvitation"):
            raise PermissionDenied
        title = f"{complaint.reference} · {_('Satisfaction survey link')}"
        form = SurveyLinkForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                invitation = surveys.create_invitation(
                    complaint.pk,
                    user=request.user,
                    language=data["language"],
                    valid_days=data["valid_days"],
                )
                emailed_to = (
                    surveys.queue_email(invitation.pk, user=request.user)
                    if data["send_email"]
                    else ""
                )
                _subject, sms = surveys.render_invitation(
                    invitation, MessageTemplate.Code.SURVEY_SMS
                )
            except ServiceError as exc:
                return action_page(
                    self,
                    request,
                    complaint=complaint,
                    title=title,
                    form=form,
                    submit_label=_("Create link"),
                    error=exc.message,
                )
            messages.success(request, _("Survey link created."))
            return action_page(
                self,
                request,
                complaint=complaint,
                title=title,
                form=form,
                submit_label=_("Create link"),
                extra={
                    "survey_link": surveys.survey_link(invitation),
                    "sms_text": sms,
                    "emailed_to": emailed_to,
                },
            )
        return action_page(
            self,
            request,
            complaint=complaint,
            title=title,
            form=form,
            submit_label=_("Create link"),
        )


@admin.register(MessageTemplate)
class MessageTemplateAdmin(ModelAdmin):
    list_display = ("code", "subject_zh", "subject_en", "changed_at")
    fields = ("code", "subject_zh", "subject_en", "body_zh", "body_en")
    readonly_fields = ("code",)

    def has_add_permission(self, request):
        return False  # one per use, created by the migration

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from django.utils import timezone

        obj.changed_at = timezone.now()
        super().save_model(request, obj, form, change)


@admin.register(RepeatLink)
class RepeatLinkAdmin(ModelAdmin):
    list_display = ("complaint", "earlier", "basis", "days_between", "created_at")
    list_select_related = ("complaint", "earlier")
    list_filter = ("basis",)
    search_fields = ("complaint__reference", "earlier__reference")
    readonly_fields = ("complaint", "earlier", "basis", "days_between", "created_at")
    actions = ["export_csv"]

    def get_queryset(self, request):
        return isolated(request, super().get_queryset(request))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @action(description=gettext_lazy("Export selected as CSV"))
    def export_csv(self, request, queryset):
        return csv_export(request, queryset, exports.REPEATS)
