"""Reply templates (macros): which ones a user is offered on a complaint, and filling in their
placeholders.

Filling in is a plain substitution of the whitelisted names in models.desk.PLACEHOLDERS,
never str.format or the template engine: `{customer_name.__class__}` or `{{ x }}` stay text
(and cannot be saved in the first place). The values are those the user may read: without
the personal-data permission the customer's name is masked, as everywhere else."""

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import override

from ..models import Complaint, DepartmentMembership, ReplyTemplate
from ..models.desk import BRACED, PLACEHOLDERS
from ..privacy import can_read, mask_name

LANGUAGES = ("zh-hans", "en")


def usable_templates(user, complaint: Complaint, *, kind: str) -> QuerySet:
    """Active templates for a contact or a note on this complaint: the ones for everyone, the
    user's departments' and the complaint's department's (also for complaint managers, who
    would otherwise scroll through every department's)."""
    return _usable(user, complaint, kinds=[kind, ReplyTemplate.Kind.BOTH])


def _usable(user, complaint: Complaint, *, kinds: list[str]) -> QuerySet:
    rows = ReplyTemplate.objects.filter(active=True, kind__in=kinds)
    departments = Q(department__isnull=True)
    if complaint.department_id:
        departments |= Q(department_id=complaint.department_id)
    if user is not None:
        own = DepartmentMembership.objects.filter(user=user).values("department_id")
        departments |= Q(department_id__in=own)
    return rows.filter(departments).order_by("sort_order", "name", "pk")


def values_for(complaint: Complaint, user, *, language: str) -> dict[str, str]:
    """The placeholder values for `user` on `complaint`, dates and names in `language`."""
    name = complaint.customer.name if complaint.customer_id else ""
    if not can_read(user):
        name = mask_name(name)
    due = complaint.resolve_due_at or complaint.due_at
    with override(language):
        department = str(complaint.department) if complaint.department_id else "—"
    return {
        "customer_name": name,
        "reference": complaint.reference,
        "subject": complaint.subject,
        "due_date": timezone.localtime(due).strftime("%Y-%m-%d") if due else "—",
        "agent_name": (user.get_full_name() or user.get_username()) if user else "",
        "department": department,
    }


def fill(text: str, values: dict[str, str]) -> str:
    """Replace each known {name}; anything else in braces stays as typed."""
    return BRACED.sub(
        lambda m: values[m.group(1)] if m.group(1) in PLACEHOLDERS else m.group(0), text or ""
    )


def render(template: ReplyTemplate, complaint: Complaint, user, *, language: str) -> str:
    return fill(template.body_in(language), values_for(complaint, user, language=language))


def pickers(user, complaint: Complaint, *, kinds: list[str]) -> dict[str, list[dict]]:
    """`picker()` for each of `kinds` (the complaint page's contact and note pickers): one
    query for the templates of all of them and the placeholder values worked out once."""
    values = {lang: values_for(complaint, user, language=lang) for lang in LANGUAGES}
    wanted = [*kinds, ReplyTemplate.Kind.BOTH]
    rows = _usable(user, complaint, kinds=wanted)
    options = {kind: [] for kind in kinds}
    for template in rows:
        option = {
            "id": template.pk,
            "name": template.localized_name(),
            "texts": {lang: fill(template.body_in(lang), values[lang]) for lang in LANGUAGES},
        }
        for kind in kinds:  # in the query's order, as picker() lists them
            if template.kind in (kind, ReplyTemplate.Kind.BOTH):
                options[kind].append(option)
    return options


def picker(user, complaint: Complaint, *, kind: str) -> list[dict]:
    """What the page's template picker needs: each template's name and text, filled in for
    this complaint, in both languages (one query for the templates)."""
    values = {lang: values_for(complaint, user, language=lang) for lang in LANGUAGES}
    options = []
    for template in usable_templates(user, complaint, kind=kind):
        options.append(
            {
                "id": template.pk,
                "name": template.localized_name(),
                "texts": {lang: fill(template.body_in(lang), values[lang]) for lang in LANGUAGES},
            }
        )
    return options
