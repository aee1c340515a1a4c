"""The public satisfaction survey page (no login): /s/<token>/."""

from django import forms
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from complaints.services.errors import ServiceError

from . import ratelimit
from .services import surveys

SCORES = [(i, str(i)) for i in range(5, 0, -1)]


class SurveyForm(forms.Form):
    outcome_score = forms.TypedChoiceField(
        label=_("How satisfied are you with the outcome?"),
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
    )
    handling_score = forms.TypedChoiceField(
        label=_("How satisfied are you with how we handled your complaint?"),
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
    )
    solved = forms.TypedChoiceField(
        label=_("Is your problem solved?"),
        choices=[("yes", _("Yes")), ("no", _("No"))],
        coerce=lambda v: v == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything else you would like to tell us? (optional)"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _page(request, template, context, *, status=200):
    return render(request, f"followups/survey/{template}", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def survey(request, token: str):
    if not ratelimit.allow(request):
        with translation.override(translation.get_language_from_request(request)):
            return _page(request, "limited.html", {"lang": translation.get_language()}, status=429)
    invitation = surveys.invitation_for_token(token)
    if invitation is None:
        raise Http404  # forged or tampered with: nothing to see
    language = surveys.page_language(
        invitation, request.GET.get("lang", ""), translation.get_language_from_request(request)
    )
    with translation.override(language):
        context = {
            "lang": language,
            "reference": invitation.complaint.reference,
            "subject": invitation.complaint.subject,
            "path": request.path,
        }
        if invitation.used_at is not None:
            return _page(request, "unavailable.html", {**context, "reason": "used"}, status=410)
        if invitation.is_expired(timezone.now()):
            return _page(request, "unavailable.html", {**context, "reason": "expired"}, status=410)
        form = SurveyForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                surveys.answer(invitation.pk, language=language, **form.cleaned_data)
            except surveys.SurveyUnavailable as exc:
                return _page(
                    request, "unavailable.html", {**context, "reason": exc.reason}, status=410
                )
            except ServiceError as exc:
                form.add_error(None, exc.message)
            else:
                return _page(request, "thanks.html", context)
        return _page(
            request, "form.html", {**context, "form": form}, status=400 if form.errors else 200
        )
