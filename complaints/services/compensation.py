"""Compensation under the approval authority matrix (分级审批).

State machine::

    proposed → approved → fulfilled
    proposed → rejected
    proposed | approved → cancelled

Every function validates, locks (the complaint row first, then the compensation: two
approvals on one complaint are serialised, so the per-complaint limit cannot be overrun and
two approvers of one item cannot both win), writes, appends a timeline event whose text is a
stored message (both languages), bumps the versions and schedules notices after commit. A
ServiceError means nothing was written. Who may approve how much: services/authority.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ..messages import stored
from ..models import (
    Compensation,
    CompensationKind,
    Complaint,
    ComplaintEvent,
    Currency,
    Status,
    TierGuidance,
    Validity,
)
from ..selectors import can_see
from .authority import (
    granted_total,
    name,
    own_limit,
    who_can_approve,
    within_limit,
)
from .errors import NotPermitted, ServiceError, StaleVersion
from .money import fmt, kind_message, parse_amount

ZERO = Decimal("0.00")
CStatus = Compensation.Status
# Complaint statuses in which new compensation may be proposed.
PROPOSABLE = (
    Status.NEW,
    Status.ACKNOWLEDGED,
    Status.INVESTIGATING,
    Status.AWAITING_CUSTOMER,
    Status.SOLUTION_PROPOSED,
    Status.REOPENED,
    Status.RESOLVED,
)


# -- helpers ----------------------------------------------------------------------------


def _require(user, perm: str) -> None:
    if user is None or not user.is_active or not user.has_perm(perm):
        raise NotPermitted(_("You do not have permission to do this."))


def _lock(compensation_id: int) -> tuple[Complaint, Compensation]:
    """Lock the complaint, then the compensation (always in this order)."""
    complaint_id = (
        Compensation.objects.filter(pk=compensation_id)
        .values_list("complaint_id", flat=True)
        .first()
    )
    if complaint_id is None:
        raise ServiceError(_("This compensation does not exist."))
    complaint = Complaint.objects.select_for_update(of=("self",)).get(pk=complaint_id)
    compensation = (
        Compensation.objects.select_for_update(of=("self",))
        .select_related("proposed_by", "decided_by")
        .get(pk=compensation_id)
    )
    compensation.complaint = complaint
    return complaint, compensation


def _check_version(compensation: Compensation, expected_version: int | None) -> None:
    if expected_version is not None and compensation.version != expected_version:
        raise StaleVersion(
            _(
                "Compensation #%(id)s was changed by someone else after you opened it. Nothing "
                "was saved; review its current state and try again."
            )
            % {"id": compensation.pk}
        )


def _check_visible(user, complaint: Complaint) -> None:
    if not can_see(user, complaint):
        raise NotPermitted(_("You do not have permission to do this."))


def _refuse_transition(compensation: Compensation, action: str) -> ServiceError:
    return ServiceError(
        _("Compensation #%(id)s is “%(status)s” and cannot be %(action)s.")
        % {"id": compensation.pk, "status": compensation.get_status_display(), "action": action}
    )


def _params(compensation: Compensation) -> dict:
    return {
        "id": compensation.pk,
        "kind": kind_message(compensation.kind),
        "amount": fmt(compensation.amount, compensation.currency),
    }


def _event(compensation: Compensation, message: dict, *, user, now, note: str = "", **data):
    ComplaintEvent.objects.create(
        complaint_id=compensation.complaint_id,
        kind=ComplaintEvent.Kind.COMPENSATION,
        actor=user,
        created_at=now,
        note=note,
        data={
            "message": message,
            "compensation": compensation.pk,
            "amount": str(compensation.amount),
            "currency": compensation.currency,
            "status": compensation.status,
            **data,
        },
    )


def _save(compensation: Compensation, complaint: Complaint, now, fields: list[str]) -> None:
    compensation.version += 1
    compensation.updated_at = now
    compensation.save(update_fields=[*fields, "version", "updated_at"])
    Complaint.objects.filter(pk=complaint.pk).update(updated_at=now)


# -- actions ----------------------------------------------------------------------------


def suggestion(complaint: Complaint, kind: str, currency: str = Currency.CNY):
    """The tier guidance row for this complaint's customer and kind (None if there is none)."""
    return TierGuidance.objects.filter(
        kind=kind, tier=complaint.customer.tier, currency=currency
    ).first()


def check_proposal(
    complaint: Complaint, *, user, kind: str, amount, description: str, currency: str
):
    """Validate a proposal (the form calls it too); returns the parsed amount."""
    _require(user, "complaints.add_compensation")
    if kind not in CompensationKind.values:
        raise ServiceError(_("Choose a kind of compensation."))
    if currency not in Currency.values:
        raise ServiceError(_("Choose a currency."))
    amount = parse_amount(amount, kind=kind)
    if not (description or "").strip():
        raise ServiceError(_("Describe the compensation."))
    _check_visible(user, complaint)
    if complaint.status not in PROPOSABLE:
        raise ServiceError(
            _("A complaint that is “%(status)s” cannot receive new compensation.")
            % {"status": complaint.get_status_display()}
        )
    if complaint.validity == Validity.INVALID:
        raise ServiceError(_("The complaint was judged invalid: no compensation."))
    return amount


def propose(
    complaint_id: int,
    *,
    user,
    kind: str,
    amount,
    description: str,
    currency: str = Currency.CNY,
    now: datetime | None = None,
) -> Compensation:
    """Propose a compensation; it waits for an approver whose limit covers it."""
    now = now or timezone.now()
    _require(user, "complaints.add_compensation")
    description = (description or "").strip()
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update(of=("self",)).get(pk=complaint_id)
        amount = check_proposal(
            complaint,
            user=user,
            kind=kind,
            amount=amount,
            description=description,
            currency=currency,
        )
        compensation = Compensation.objects.create(
            complaint=complaint,
            kind=kind,
            amount=amount,
            currency=currency,
            description=description,
            proposed_by=user,
            proposed_at=now,
            created_at=now,
            updated_at=now,
        )
        total = granted_total(complaint.pk, currency)
        mine = within_limit(
            user,
            department_id=complaint.department_id,
            currency=currency,
            amount=amount,
            total=total,
        )
        if mine:
            message = stored(
                gettext_noop("Compensation #%(id)s proposed: %(kind)s, %(amount)s"),
                **_params(compensation),
            )
        else:
            message = stored(
                gettext_noop(
                    "Compensation #%(id)s proposed: %(kind)s, %(amount)s; above the proposer's "
                    "approval limit, it waits for an approver whose limit covers it"
                ),
                **_params(compensation),
            )
        _event(
            compensation,
            message,
            user=user,
            now=now,
            note=description,
            kind=kind,
            over_proposer_limit=not mine,
        )
        Complaint.objects.filter(pk=complaint.pk).update(updated_at=now)
        from . import compensation_alerts

        compensation_alerts.request_approval(compensation, complaint, total=total, now=now)
    return compensation


def check_can_approve(user, compensation: Compensation, total: Decimal) -> None:
    """Raise (naming who can approve) unless `user` may approve this compensation now."""
    _require(user, "complaints.approve_compensation")
    _check_visible(user, compensation.complaint)
    if compensation.proposed_by_id == user.pk:
        raise NotPermitted(
            _("You proposed compensation #%(id)s; someone else must approve it (four-eyes).")
            % {"id": compensation.pk}
            + " "
            + who_can_approve(compensation, total)
        )
    if not within_limit(
        user,
        department_id=compensation.complaint.department_id,
        currency=compensation.currency,
        amount=compensation.amount,
        total=total,
    ):
        per_one, per_complaint = own_limit(
            user, department_id=compensation.complaint.department_id, currency=compensation.currency
        )
        raise NotPermitted(
            _(
                "Compensation #%(id)s (%(amount)s; with it the complaint's granted total is "
                "%(total)s) is above your approval limit (%(per_one)s per compensation, "
                "%(per_complaint)s per complaint)."
            )
            % {
                "id": compensation.pk,
                "amount": fmt(compensation.amount, compensation.currency),
                "total": fmt(total + compensation.amount, compensation.currency),
                "per_one": fmt(per_one, compensation.currency),
                "per_complaint": fmt(per_complaint, compensation.currency),
            }
            + " "
            + who_can_approve(compensation, total)
        )


def approve(
    compensation_id: int,
    *,
    user,
    note: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Compensation:
    now = now or timezone.now()
    _require(user, "complaints.approve_compensation")
    with transaction.atomic():
        complaint, compensation = _lock(compensation_id)
        _check_version(compensation, expected_version)
        if compensation.status != CStatus.PROPOSED:
            raise _already_decided(compensation, _("approved"))
        total = granted_total(complaint.pk, compensation.currency, exclude_id=compensation.pk)
        check_can_approve(user, compensation, total)
        compensation.status = CStatus.APPROVED
        compensation.decided_by, compensation.decided_at = user, now
        compensation.decision_note = (note or "").strip()
        _save(compensation, complaint, now, ["status", "decided_by", "decided_at", "decision_note"])
        _event(
            compensation,
            stored(
                gettext_noop("Compensation #%(id)s approved: %(kind)s, %(amount)s"),
                **_params(compensation),
            ),
            user=user,
            now=now,
            note=compensation.decision_note,
            granted_total=str(total + compensation.amount),
        )
    return compensation


def _already_decided(compensation: Compensation, action: str) -> ServiceError:
    if compensation.decided_by_id and compensation.status != CStatus.PROPOSED:
        return ServiceError(
            _("Compensation #%(id)s cannot be %(action)s: it is already “%(status)s” (%(who)s).")
            % {
                "id": compensation.pk,
                "action": action,
                "status": compensation.get_status_display(),
                "who": name(compensation.decided_by),
            }
        )
    return _refuse_transition(compensation, action)


def reject(
    compensation_id: int,
    *,
    user,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Compensation:
    """Turn a proposal down. Anyone who may approve compensations and sees the complaint may
    reject (no limit: refusing money needs no authority over the amount), except the proposer
    (who cancels instead)."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    _require(user, "complaints.approve_compensation")
    if not reason:
        raise ServiceError(_("Give a reason for rejecting."))
    with transaction.atomic():
        complaint, compensation = _lock(compensation_id)
        _check_version(compensation, expected_version)
        if compensation.status != CStatus.PROPOSED:
            raise _already_decided(compensation, _("rejected"))
        _check_visible(user, complaint)
        if compensation.proposed_by_id == user.pk:
            raise NotPermitted(
                _("You proposed compensation #%(id)s: cancel it instead of rejecting it.")
                % {"id": compensation.pk}
            )
        compensation.status = CStatus.REJECTED
        compensation.decided_by, compensation.decided_at = user, now
        compensation.decision_note = reason
        _save(compensation, complaint, now, ["status", "decided_by", "decided_at", "decision_note"])
        _event(
            compensation,
            stored(
                gettext_noop("Compensation #%(id)s rejected: %(kind)s, %(amount)s"),
                **_params(compensation),
            ),
            user=user,
            now=now,
            note=reason,
        )
    return compensation


def mark_fulfilled(
    compensation_id: int,
    *,
    user,
    payout_reference: str,
    fulfilled_at: datetime | None = None,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Compensation:
    """Record that an approved compensation was paid out or delivered."""
    now = now or timezone.now()
    fulfilled_at = fulfilled_at or now
    payout_reference = (payout_reference or "").strip()
    _require(user, "complaints.fulfil_compensation")
    if not payout_reference:
        raise ServiceError(
            _("Give the payout reference (transaction, voucher or delivery number).")
        )
    if len(payout_reference) > 100:
        raise ServiceError(_("The payout reference is at most 100 characters."))
    if fulfilled_at > now + timezone.timedelta(minutes=5):
        raise ServiceError(_("The payout date cannot be in the future."))
    with transaction.atomic():
        complaint, compensation = _lock(compensation_id)
        _check_version(compensation, expected_version)
        _check_visible(user, complaint)
        if compensation.status != CStatus.APPROVED:
            raise _refuse_transition(compensation, _("recorded as paid"))
        if compensation.decided_at and fulfilled_at < compensation.decided_at:
            raise ServiceError(_("The payout cannot be earlier than the approval."))
        compensation.status = CStatus.FULFILLED
        compensation.fulfilled_at, compensation.fulfilled_by = fulfilled_at, user
        compensation.payout_reference = payout_reference
        _save(
            compensation,
            complaint,
            now,
            ["status", "fulfilled_at", "fulfilled_by", "payout_reference"],
        )
        _event(
            compensation,
            stored(
                gettext_noop(
                    "Compensation #%(id)s paid / fulfilled: %(kind)s, %(amount)s, payout "
                    "reference %(ref)s"
                ),
                **_params(compensation),
                ref=payout_reference,
            ),
            user=user,
            now=now,
            fulfilled_at=timezone.localtime(fulfilled_at).isoformat(),
        )
    return compensation


def cancel(
    compensation_id: int,
    *,
    user,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Compensation:
    """Withdraw a proposal or an approved compensation not yet paid."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    _require(user, "complaints.change_compensation")
    if not reason:
        raise ServiceError(_("Give a reason for cancelling."))
    with transaction.atomic():
        complaint, compensation = _lock(compensation_id)
        _check_version(compensation, expected_version)
        _check_visible(user, complaint)
        if compensation.status not in (CStatus.PROPOSED, CStatus.APPROVED):
            raise _refuse_transition(compensation, _("cancelled"))
        previous = compensation.status
        compensation.status = CStatus.CANCELLED
        compensation.cancelled_at, compensation.cancel_reason = now, reason
        _save(compensation, complaint, now, ["status", "cancelled_at", "cancel_reason"])
        _event(
            compensation,
            stored(
                gettext_noop("Compensation #%(id)s cancelled: %(kind)s, %(amount)s"),
                **_params(compensation),
            ),
            user=user,
            now=now,
            note=reason,
            previous_status=previous,
        )
    return compensation


def revise_amount(
    compensation_id: int,
    *,
    user,
    amount,
    reason: str,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> Compensation:
    """Change the amount of a proposal still awaiting approval (the old and new amounts go on
    the timeline); an approved amount is never changed — cancel and propose again."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    _require(user, "complaints.change_compensation")
    if not reason:
        raise ServiceError(_("Give a reason for the new amount."))
    with transaction.atomic():
        complaint, compensation = _lock(compensation_id)
        _check_version(compensation, expected_version)
        _check_visible(user, complaint)
        if compensation.status != CStatus.PROPOSED:
            raise _refuse_transition(compensation, _("changed"))
        new = parse_amount(amount, kind=compensation.kind)
        old = compensation.amount
        if new == old:
            return compensation
        compensation.amount = new
        _save(compensation, complaint, now, ["amount"])
        _event(
            compensation,
            stored(
                gettext_noop("Compensation #%(id)s amount changed from %(old)s to %(new)s"),
                id=compensation.pk,
                old=fmt(old, compensation.currency),
                new=fmt(new, compensation.currency),
            ),
            user=user,
            now=now,
            note=reason,
            old_amount=str(old),
        )
    return compensation


# -- bulk decisions (the admin queue) -----------------------------------------------------


@dataclass
class BulkResult:
    done: int = 0
    refused: int = 0
    errors: list[str] | None = None

    def add_error(self, message: str) -> None:
        self.refused += 1
        self.errors = [*(self.errors or []), message]


def bulk_approve(ids, *, user, now: datetime | None = None) -> BulkResult:
    """Approve each item on its own (own transaction, own limit check): one refusal never
    blocks the others."""
    result = BulkResult()
    for compensation_id in sorted(set(ids)):
        try:
            approve(compensation_id, user=user, now=now)
        except ServiceError as exc:
            result.add_error(str(exc.message))
        else:
            result.done += 1
    return result


def bulk_reject(ids, *, user, reason: str, now: datetime | None = None) -> BulkResult:
    result = BulkResult()
    for compensation_id in sorted(set(ids)):
        try:
            reject(compensation_id, user=user, reason=reason, now=now)
        except ServiceError as exc:
            result.add_error(str(exc.message))
        else:
            result.done += 1
    return result
