"""Row locks and the optimistic-lock checks shared by everything that changes a complaint or
a customer from a form."""

from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Complaint, ComplaintEvent, Customer
from .errors import StaleVersion


def lock(complaint_id: int) -> Complaint:
    return (
        Complaint.objects.select_related("customer")
        .select_for_update(of=("self",))
        .get(pk=complaint_id)
    )


def check_version(complaint: Complaint, expected_version: int | None) -> None:
    """Refuse an edit made on a form loaded before someone else's change."""
    if expected_version is None or complaint.version == expected_version:
        return
    last = (
        ComplaintEvent.objects.filter(complaint=complaint)
        .select_related("actor")
        .order_by("-created_at", "-pk")
        .first()
    )
    who = (last.actor.get_full_name() or last.actor.get_username()) if last and last.actor else "?"
    when = timezone.localtime(last.created_at).strftime("%Y-%m-%d %H:%M") if last else "?"
    raise StaleVersion(
        _(
            "%(reference)s was changed by someone else (%(who)s, %(when)s) after you opened "
            "it. Nothing was saved; review the current state and try again."
        )
        % {"reference": complaint.reference, "who": who, "when": when}
    )


def check_customer_version(customer: Customer, expected_version: int | None) -> None:
    """The same refusal for a customer edited on a form loaded before someone else's save."""
    if expected_version is None or customer.version == expected_version:
        return
    raise StaleVersion(
        _(
            "This customer was changed by someone else (%(when)s) after you opened it. "
            "Nothing was saved; review the current state and save again to overwrite it."
        )
        % {"when": timezone.localtime(customer.updated_at).strftime("%Y-%m-%d %H:%M")}
    )
