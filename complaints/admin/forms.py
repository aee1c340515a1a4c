from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminEmailInputWidget, UnfoldAdminTextInputWidget

from ..models import (
    Attachment,
    Channel,
    Complaint,
    ComplaintEvent,
    Customer,
    Department,
    Severity,
    Status,
)
from ..selectors import visible_complaints
from ..services import awaiting, intake, lifecycle
from ..services.attachments import validate_upload
from ..services.customers import normalize_phone
from ..services.errors import ServiceError, StaleVersion
from ..services.intake import CustomerDetails
from ..validators import validate_contacted_at


class ComplaintForm(forms.ModelForm):
    """The complaint form. Validation mirrors the lifecycle service, which re-checks on save."""

    loaded_version = forms.IntegerField(
        widget=forms.HiddenInput, required=False, label=_("version of the record")
    )
    # Plain form fields get no admin widget by themselves: Unfold's, like the model fields.
    new_customer_name = forms.CharField(
        label=_("new customer: name"), required=False, widget=UnfoldAdminTextInputWidget
    )
    new_customer_phone = forms.CharField(
        label=_("new customer: phone"),
        required=False,
        widget=UnfoldAdminTextInputWidget(attrs={"type": "tel", "autocomplete": "off"}),
    )
    new_customer_email = forms.EmailField(
        label=_("new customer: email"), required=False, widget=UnfoldAdminEmailInputWidget
    )

    class Meta:
        model = Complaint
        # Severity is not a form field: the rules set it, staff override it with a reason.
        fields = (*lifecycle.EDITABLE_FIELDS, "assisting_departments")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "customer" in self.fields:
            self.fields["customer"].required = False
            self.fields["customer"].help_text = _(
                "Search by phone or name among the customers you can see. Not found? Fill in "
                "the new customer fields: a customer on file with that phone or email is linked."
            )
        if self.instance.pk:
            self.fields["loaded_version"].initial = self.instance.version
        self.stale_fields: list[str] = []
        self.new_customer: dict | None = None

    def clean_new_customer_phone(self):
        raw = self.cleaned_data.get("new_customer_phone", "")
        try:
            return normalize_phone(raw)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc

    def clean(self):
        cleaned = super().clean()
        if not self.instance.pk:
            self._clean_customer(cleaned)
        if "assignee" in cleaned:
            department = cleaned.get("department")
            if department is None and cleaned.get("category") and not self.instance.pk:
                department = cleaned["category"].default_department
            try:
                lifecycle.check_assignment(department, cleaned.get("assignee"))
            except ServiceError as exc:
                self.add_error("assignee", exc.message)
        if self.instance.pk and not self.errors:
            self._check_version(cleaned)
        return cleaned

    def _clean_customer(self, cleaned):
        if cleaned.get("customer"):
            return
        details = CustomerDetails(
            name=cleaned.get("new_customer_name", ""),
            phone=cleaned.get("new_customer_phone", ""),
            email=cleaned.get("new_customer_email", ""),
        )
        if not (details.name.strip() or details.phone or details.email):
            self.add_error("customer", _("Choose a customer or enter a new one below."))
            return
        # Only checked here; ComplaintAdmin.save_model records it with the complaint through
        # services.intake (which matches a customer on file first, and retries a conflicting
        # insert as a match). A refused form is re-rendered, not rolled back.
        if intake.find_customer(details) is None:
            if not details.name.strip():
                self.add_error("new_customer_name", _("A new customer needs a name."))
                return
            try:
                Customer(name=details.name, phone=details.phone, email=details.email).full_clean(
                    validate_unique=False, validate_constraints=False
                )
            except ValidationError as exc:
                self.add_error("new_customer_name", exc.messages)
                return
        self.new_customer = details

    def record(self, *, user, assisting=()) -> "intake.IntakeResult":
        """Record the new complaint (after is_valid) for the chosen or entered customer."""
        return intake.record_complaint(
            self.instance,
            customer=self.cleaned_data.get("customer") or None,
            details=None if self.cleaned_data.get("customer") else self.new_customer,
            user=user,
            assisting=assisting,
        )

    def _check_version(self, cleaned):
        # The admin view runs in a transaction: this lock holds until the save commits.
        current = Complaint.objects.select_for_update().get(pk=self.instance.pk)
        posted = cleaned.get("loaded_version")
        try:
            lifecycle.validate_edit(current, self.edited_fields(), expected_version=posted)
        except ServiceError as exc:
            if isinstance(exc, StaleVersion):
                # Keep everything the user typed; a second save is a conscious overwrite.
                self.data = self.data.copy()
                self.data["loaded_version"] = current.version
                self.stale_fields = [f for f in self.changed_data if f != "loaded_version"]
            raise forms.ValidationError(exc.message) from exc

    def edited_fields(self) -> dict:
        return {
            f: self.cleaned_data[f]
            for f in self.changed_data
            if f in lifecycle.EDITABLE_FIELDS and f in self.cleaned_data
        }


class SeverityOverrideForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    severity = forms.TypedChoiceField(label=_("severity"), choices=Severity.choices, coerce=int)
    reason = forms.CharField(
        label=_("reason"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why the rules' level is wrong here. Kept until the override is cleared."),
    )


class TransitionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("note"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    merge_into = forms.CharField(
        label=_("merge into (reference)"),
        required=False,
        help_text=_("The reference of the complaint that continues, e.g. C-2026-000123."),
    )

    def __init__(self, *args, edge, user=None, complaint=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.edge, self.user = edge, user
        # What the step needs is asked here and saved with it (the service checks it again).
        if edge.needs_department and complaint is not None and complaint.department_id is None:
            self.fields["department"] = forms.ModelChoiceField(
                label=_("responsible department"),
                queryset=Department.objects.filter(active=True),
                help_text=_("The department that answers for this complaint from now on."),
            )
        if edge.needs_solution:
            self.fields["solution"] = forms.CharField(
                label=_("proposed solution"),
                widget=forms.Textarea(attrs={"rows": 5}),
                initial=complaint.solution if complaint is not None else "",
                help_text=_("What we offer the customer; it is recorded on the complaint."),
            )
        if edge.needs_resolution:
            self.fields["resolution"] = forms.CharField(
                label=_("resolution summary"),
                widget=forms.Textarea(attrs={"rows": 5}),
                initial=complaint.resolution if complaint is not None else "",
                help_text=_("What was done and agreed; it is recorded on the complaint."),
            )
        if edge.note_required:
            self.fields["note"].required = True
            self.fields["note"].label = edge.note_label
        if edge.target == Status.AWAITING_CUSTOMER:
            # Saved with the step (lifecycle.transition); the assignee is reminded that day.
            today = timezone.localdate()
            limits = {
                "min": today.isoformat(),
                "max": (today + timedelta(days=awaiting.MAX_AHEAD_DAYS)).isoformat(),
            }
            self.fields["follow_up_on"] = forms.DateField(
                label=_("follow up on"),
                initial=awaiting.default_follow_up,
                widget=forms.DateInput(attrs={"type": "date", **limits}, format="%Y-%m-%d"),
                help_text=_(
                    "If the customer has not answered by then, the assignee is reminded that "
                    "morning (inbox and email)."
                ),
            )
        if not edge.needs_merge_target:
            del self.fields["merge_into"]
        else:
            self.fields["merge_into"].required = True

    def clean_follow_up_on(self):
        value = self.cleaned_data["follow_up_on"]
        try:
            awaiting.check_follow_up(value, now=timezone.now())
        except ServiceError as exc:
            raise forms.ValidationError(exc.message) from exc
        return value

    def changes(self) -> dict:
        """The complaint fields to fill in with the step (for lifecycle.transition)."""
        return {
            field: self.cleaned_data[field]
            for field in self.edge.inputs
            if field in self.fields and field in self.cleaned_data
        }

    def clean_merge_into(self):
        reference = self.cleaned_data["merge_into"].strip().upper()
        candidates = Complaint.objects.all()
        if self.user is not None:
            candidates = visible_complaints(self.user, candidates)
        target = candidates.filter(reference=reference).first()
        if target is None:
            # The same answer whether it does not exist or is another department's.
            raise forms.ValidationError(
                _("No complaint you can see has the reference %s.") % reference
            )
        return target


class NoteForm(forms.Form):
    text = forms.CharField(label=_("internal note"), widget=forms.Textarea(attrs={"rows": 3}))


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label=_("channel"), choices=Channel.choices)
    direction = forms.ChoiceField(
        label=_("direction"), choices=ComplaintEvent.Direction.choices, initial="out"
    )
    contacted_at = forms.DateTimeField(
        label=_("when"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        validators=[validate_contacted_at],
        help_text=_("Leave empty for now."),
    )
    summary = forms.CharField(label=_("summary"), widget=forms.Textarea(attrs={"rows": 3}))
    resume = forms.BooleanField(
        label=_("The customer answered: resume the investigation"),
        required=False,
        help_text=_("Any contact logged while waiting restarts the wait for the customer."),
    )

    def __init__(self, *args, awaiting: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not awaiting:  # offered only while the complaint waits for the customer
            del self.fields["resume"]


class AttachmentForm(forms.ModelForm):
    class Meta:
        model = Attachment
        fields = ("file",)

    def clean_file(self):
        uploaded = self.cleaned_data.get("file")
        if uploaded is not None and hasattr(uploaded, "content_type"):
            try:
                validate_upload(uploaded)
            except ServiceError as exc:
                raise forms.ValidationError(exc.message) from exc
        return uploaded
