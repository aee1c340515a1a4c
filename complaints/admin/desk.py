"""The complaint page's daily-work parts: the paged timeline, the contact and note pages with
their reply-template picker, and what the page shows of a wait for the customer.

ComplaintAdmin (admin/complaints.py) routes its URLs here; the rules live in the services
(lifecycle, replies, awaiting)."""

from django import forms
from django.contrib import messages
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ..models import ComplaintEvent, ReplyTemplate, Status
from ..services import awaiting, lifecycle, replies
from ..services.attachments import INLINE_TYPES
from ..services.errors import ServiceError
from .forms import ContactForm, NoteForm

TIMELINE_PAGE = 20  # events on the complaint page; older ones page in by keyset


def template_language(request) -> str:
    """The picker starts in the agent's language; the page offers the other one."""
    return "en" if (get_language() or "").lower().startswith("en") else "zh-hans"


def timeline_page(complaint, *, before: ComplaintEvent | None = None) -> dict:
    from .complaints import timeline_events  # noqa: PLC0415 - that module imports this one

    events = timeline_events(complaint, before=before, limit=TIMELINE_PAGE + 1)
    older = None
    if len(events) > TIMELINE_PAGE:
        events = events[:TIMELINE_PAGE]
        older = reverse("admin:complaints_complaint_timeline", args=[complaint.pk])
        older += f"?before={events[-1].pk}"
    return {
        "timeline": events,
        "timeline_older_url": older,
        "timeline_older_fragment_url": f"{older}&fragment=1" if older else None,
        "status_labels": dict(Status.choices),
        "inline_types": sorted(INLINE_TYPES),
    }


def page_context(request, complaint, *, can_change: bool) -> dict:
    context = timeline_page(complaint)
    period = awaiting.current(complaint)
    context.update(
        awaiting=period,
        awaiting_close_at=awaiting.close_due_at(period) if period else None,
        follow_up_url=reverse("admin:complaints_complaint_follow_up", args=[complaint.pk])
        if period and can_change
        else None,
        template_language=template_language(request),
        contact_templates=[],
        note_templates=[],
    )
    if can_change:
        Kind = ReplyTemplate.Kind
        options = replies.pickers(request.user, complaint, kinds=[Kind.CONTACT, Kind.NOTE])
        context["contact_templates"] = options[Kind.CONTACT]
        context["note_templates"] = options[Kind.NOTE]
    return context


def contact_form(complaint, *args, **kwargs) -> ContactForm:
    return ContactForm(*args, awaiting=complaint.status == Status.AWAITING_CUSTOMER, **kwargs)


def timeline_view(model_admin, request, object_id):
    """Older timeline entries: a fragment for the page's "Show older" (JS), else a page."""
    complaint = model_admin.get_object(request, object_id)
    if complaint is None or not model_admin.has_view_or_change_permission(request, complaint):
        raise Http404
    before = None
    if (before_id := _int(request.GET.get("before"))) is not None:
        before = (
            ComplaintEvent.objects.filter(pk=before_id)
            .filter(Q(complaint=complaint) | Q(complaint__merged_into=complaint))
            .only("pk", "created_at")
            .first()
        )
        if before is None:
            raise Http404
    context = timeline_page(complaint, before=before)
    if request.GET.get("fragment"):
        return TemplateResponse(request, "complaints/admin/timeline_items.html", context)
    context.update(
        model_admin.admin_site.each_context(request),
        opts=model_admin.opts,
        title=f"{complaint.reference} · {_('Timeline')}",
        complaint=complaint,
        change_url=reverse("admin:complaints_complaint_change", args=[complaint.pk]),
    )
    return TemplateResponse(request, "complaints/admin/timeline_page.html", context)


class FollowUpForm(forms.Form):
    follow_up_on = forms.DateField(label=_("follow up on"))


def follow_up_view(model_admin, request, object_id):
    """Move the follow-up date of a complaint waiting for the customer (from its page)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    complaint = model_admin._get_changeable(request, object_id)
    form = FollowUpForm(request.POST)
    url = reverse("admin:complaints_complaint_change", args=[complaint.pk]) + "#awaiting"
    if not form.is_valid():
        messages.error(request, _("Enter a valid follow-up date."))
        return HttpResponseRedirect(url)
    try:
        period = awaiting.reschedule(
            complaint.pk, user=request.user, follow_up_on=form.cleaned_data["follow_up_on"]
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("Follow-up date set to %(date)s.") % {"date": period.follow_up_on.isoformat()},
        )
    return HttpResponseRedirect(url)


def entry_view(model_admin, request, object_id, *, kind: str):
    """The "log customer contact" and "add note" pages (GET: the form with the template
    picker, ?template=<id>&lang=en|zh-hans fills it in without JavaScript; POST: save)."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    complaint = model_admin._get_changeable(request, object_id)
    is_note = kind == ReplyTemplate.Kind.NOTE
    title = _("Add note") if is_note else _("Log customer contact")
    text_field = "text" if is_note else "summary"

    def make_form(*args, **kwargs):
        return NoteForm(*args, **kwargs) if is_note else contact_form(complaint, *args, **kwargs)

    if request.method == "GET":
        initial = {}
        language = request.GET.get("lang") or template_language(request)
        language = "en" if language.lower().startswith("en") else "zh-hans"
        if (template_id := _int(request.GET.get("template"))) is not None:
            template = (
                replies.usable_templates(request.user, complaint, kind=kind)
                .filter(pk=template_id)
                .first()
            )
            if template is not None:
                initial[text_field] = replies.render(
                    template, complaint, request.user, language=language
                )
        return _entry_page(
            model_admin, request, complaint, make_form(initial=initial), title, kind, language
        )
    form = make_form(request.POST)
    error = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                if is_note:
                    lifecycle.add_note(complaint.pk, user=request.user, text=data["text"])
                else:
                    lifecycle.log_contact(
                        complaint.pk,
                        user=request.user,
                        channel=data["channel"],
                        direction=data["direction"],
                        summary=data["summary"],
                        contacted_at=data.get("contacted_at"),
                    )
                    if data.get("resume"):
                        lifecycle.transition(complaint.pk, Status.INVESTIGATING, user=request.user)
        except ServiceError as exc:
            error = exc.message
        else:
            if is_note:
                messages.success(request, _("Note added."))
            elif data.get("resume"):
                messages.success(request, _("Contact logged; the investigation resumes."))
            else:
                messages.success(request, _("Contact logged."))
            url = reverse("admin:complaints_complaint_change", args=[complaint.pk])
            return HttpResponseRedirect(url + "#timeline")
    return _entry_page(
        model_admin,
        request,
        complaint,
        form,
        title,
        kind,
        template_language(request),
        error=error,
    )


def _entry_page(model_admin, request, complaint, form, title, kind, language, error=None):
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "title": f"{complaint.reference} · {title}",
        "complaint": complaint,
        "form": form,
        "submit_label": _("Save"),
        "error": error,
        "change_url": reverse("admin:complaints_complaint_change", args=[complaint.pk]),
        "templates": replies.picker(request.user, complaint, kind=kind),
        "template_language": language,
        "target": "id_text" if kind == ReplyTemplate.Kind.NOTE else "id_summary",
    }
    return TemplateResponse(request, "complaints/admin/entry_form.html", context)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def attachment_preview(attachment) -> str:
    """A thumbnail (images) or a "view" link (PDF) for an attachment row; the inline view
    checks the bytes again before showing anything in the browser."""
    from django.utils.html import format_html

    from ..services.attachments import IMAGE_TYPES, INLINE_TYPES

    if not attachment.pk or attachment.content_type not in INLINE_TYPES:
        return "-"
    url = reverse("complaints:attachment-view", args=[attachment.pk])
    if attachment.content_type in IMAGE_TYPES:
        return format_html(
            '<a class="attachment-preview" href="{}" target="_blank" rel="noopener" title="{}">'
            '<img src="{}" alt="{}" loading="lazy" '
            'class="max-h-20 max-w-32 rounded-default border border-base-200 object-contain">'
            "</a>",
            url,
            _("Open the image"),
            url,
            attachment.original_name,
        )
    return format_html(
        '<a class="attachment-preview text-primary-600 underline" href="{}" target="_blank" '
        'rel="noopener">{}</a>',
        url,
        _("View PDF"),
    )
