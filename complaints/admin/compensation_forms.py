"""Forms of the compensation, responsibility, remedy and incident pages (input only; every
rule is checked again by the services)."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from unfold.widgets import (
    UnfoldAdminDecimalFieldWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
    UnfoldBooleanWidget,
)

from ..models import (
    Compensation,
    Currency,
    Department,
    Fault,
    RemedyPlan,
    RootCause,
    Validity,
)

MONEY = {
    "max_digits": 14,
    "decimal_places": 2,
    "min_value": Decimal("0.00"),
    "widget": UnfoldAdminDecimalFieldWidget,
}


def _text(**kw):
    return forms.CharField(widget=UnfoldAdminTextareaWidget(attrs={"rows": 3}), **kw)


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class ProposeForm(forms.ModelForm):
    """The admin's add form of a compensation (saved through services.compensation.propose)."""

    class Meta:
        model = Compensation
        fields = ("complaint", "kind", "amount", "currency", "description")


class ApproveForm(VersionForm):
    note = _text(label=_("Note (optional)"), required=False)


class RejectForm(VersionForm):
    reason = _text(label=_("Reason for rejecting"))


class CancelForm(VersionForm):
    reason = _text(label=_("Reason for cancelling"))


class FulfilForm(VersionForm):
    payout_reference = forms.CharField(
        label=_("Payout reference"),
        max_length=100,
        widget=UnfoldAdminTextInputWidget,
        help_text=_("Transaction, voucher or delivery number."),
    )
    fulfilled_on = forms.DateField(
        label=_("Paid / fulfilled on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: now."),
    )


class ReviseForm(VersionForm):
    amount = forms.DecimalField(label=_("New amount"), **MONEY)
    reason = _text(label=_("Why the amount changes"))


class BulkRejectForm(forms.Form):
    reason = _text(label=_("Reason for rejecting"))


class ResponsibilityForm(VersionForm):
    validity = forms.ChoiceField(
        label=_("Validity"), choices=Validity.choices, widget=UnfoldAdminSelectWidget
    )
    validity_reason = _text(label=_("Reason for the validity decision"), required=False)
    department = forms.ModelChoiceField(
        label=_("Responsible department"),
        queryset=Department.objects.filter(active=True),
        required=False,
        widget=UnfoldAdminSelectWidget,
    )
    assisting = forms.ModelMultipleChoiceField(
        label=_("Assisting departments"),
        queryset=Department.objects.filter(active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    fault = forms.ChoiceField(
        label=_("Fault attribution"), choices=Fault.choices, widget=UnfoldAdminSelectWidget
    )
    root_cause_category = forms.ModelChoiceField(
        label=_("Root-cause category"),
        queryset=RootCause.objects.filter(active=True),
        required=False,
        widget=UnfoldAdminSelectWidget,
    )
    finding = _text(label=_("Finding"), required=False)
    needs_other_departments = forms.BooleanField(
        label=_("Needs other departments"), required=False, widget=UnfoldBooleanWidget
    )


class RemedyPlanForm(VersionForm):
    apology = forms.BooleanField(
        label=_("Apology made"), required=False, widget=UnfoldBooleanWidget
    )
    apology_text = _text(label=_("Apology"), required=False)
    explanation = _text(label=_("Explanation given"), required=False)
    correction = _text(label=_("Correction of the fault (what was fixed)"), required=False)


class AnswerForm(forms.Form):
    answer = forms.ChoiceField(
        label=_("Customer's answer"),
        choices=[c for c in RemedyPlan.Answer.choices if c[0] != RemedyPlan.Answer.PENDING],
        widget=UnfoldAdminSelectWidget,
    )
    escalation_path = forms.ChoiceField(
        label=_("Escalation path offered (if rejected)"),
        choices=RemedyPlan.EscalationPath.choices,
        required=False,
        widget=UnfoldAdminSelectWidget,
    )
    escalation_note = _text(label=_("Escalation details"), required=False)


class LinkComplaintsForm(forms.Form):
    references = _text(
        label=_("Complaint references"),
        help_text=_("One or more references (C-2026-000123), separated by spaces or lines."),
    )


class RemedyDecisionForm(VersionForm):
    note = _text(label=_("Note / reason"), required=False)


class CurrencyForm(forms.Form):
    currency = forms.ChoiceField(choices=Currency.choices)
