"""Incidents (mass complaints): link complaints, approve one remedy for all of them at the
incident level, then apply it as one approved Compensation per complaint.

Approval fixes what is covered: the complaints linked at that moment (links with id up to
`last_link_id`; linking locks the incident row, so the snapshot is exact) and the total
(amount per complaint × their number), which the approver's limit must cover. Application
runs in a Celery task after commit, in bounded batches each in its own durable transaction,
moving a cursor over the links; the unique constraint (incident remedy, complaint) and the
"not yet compensated" filter make a second run create nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Count, Max
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
    Incident,
    IncidentLink,
    IncidentRemedy,
    Status,
)
from . import authority
from . import compensation as comp
from .errors import NotPermitted, ServiceError, StaleVersion

RStatus, Progress = IncidentRemedy.Status, IncidentRemedy.Progress
BATCH_SIZE = 2000
# Complaints that never receive an incident remedy (a duplicate or an unfounded complaint).
EXCLUDED = (Status.MERGED, Status.INVALID)


def _require(user, perm: str) -> None:
    if user is None or not user.is_active or not user.has_perm(perm):
        raise NotPermitted(_("You do not have permission to do this."))


def link_complaints(incident_id: int, complaint_ids, *, user, now: datetime | None = None):
    """Link complaints (the caller passes ids the user may see) to an incident.
    Returns (linked, already linked elsewhere or here)."""
    now = now or timezone.now()
    _require(user, "complaints.change_incident")
    ids = sorted({int(pk) for pk in complaint_ids})
    if not ids:
        raise ServiceError(_("Choose the complaints to link."))
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if incident.status != Incident.Status.OPEN:
            raise ServiceError(_("The incident is closed; reopen it to link complaints."))
        taken = set(
            IncidentLink.objects.filter(complaint_id__in=ids).values_list("complaint_id", flat=True)
        )
        new = [pk for pk in ids if pk not in taken]
        found = set(Complaint.objects.filter(pk__in=new).values_list("pk", flat=True))
        new = [pk for pk in new if pk in found]
        IncidentLink.objects.bulk_create(
            [
                IncidentLink(incident=incident, complaint_id=pk, linked_by=user, linked_at=now)
                for pk in new
            ]
        )
        message = stored(
            gettext_noop("Linked to incident %(code)s: %(title)s"),
            code=incident.code,
            title=incident.title,
        )
        ComplaintEvent.objects.bulk_create(
            [
                ComplaintEvent(
                    complaint_id=pk,
                    kind=ComplaintEvent.Kind.INCIDENT,
                    actor=user,
                    created_at=now,
                    data={"message": message, "incident": incident.pk},
                )
                for pk in new
            ]
        )
        Complaint.objects.filter(pk__in=new).update(updated_at=now)
    return len(new), len(ids) - len(new)


def propose_remedy(
    incident_id: int,
    *,
    user,
    kind: str,
    amount_per_complaint,
    description: str,
    currency: str = Currency.CNY,
    now: datetime | None = None,
) -> IncidentRemedy:
    now = now or timezone.now()
    _require(user, "complaints.add_incidentremedy")
    if kind not in CompensationKind.values:
        raise ServiceError(_("Choose a kind of compensation."))
    if currency not in Currency.values:
        raise ServiceError(_("Choose a currency."))
    amount = comp.parse_amount(amount_per_complaint, kind=kind)
    description = (description or "").strip()
    if not description:
        raise ServiceError(_("Describe the compensation."))
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        if incident.status != Incident.Status.OPEN:
            raise ServiceError(_("The incident is closed."))
        return IncidentRemedy.objects.create(
            incident=incident,
            kind=kind,
            amount_per_complaint=amount,
            currency=currency,
            description=description,
            proposed_by=user,
            proposed_at=now,
            updated_at=now,
        )


def _lock_remedy(remedy_id: int, expected_version) -> tuple[Incident, IncidentRemedy]:
    incident_id = (
        IncidentRemedy.objects.filter(pk=remedy_id).values_list("incident_id", flat=True).first()
    )
    if incident_id is None:
        raise ServiceError(_("This remedy does not exist."))
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    remedy = IncidentRemedy.objects.select_for_update().get(pk=remedy_id)
    if expected_version is not None and remedy.version != expected_version:
        raise StaleVersion(
            _("The remedy was changed by someone else after you opened it. Nothing was saved.")
        )
    return incident, remedy


def _covering(user, incident: Incident, remedy: IncidentRemedy, total) -> bool:
    rows = authority.limits_of(user, department_id=incident.department_id, currency=remedy.currency)
    return any(
        total <= row.max_per_compensation and remedy.amount_per_complaint <= row.max_per_complaint
        for row in rows
    )


def approve_remedy(
    remedy_id: int,
    *,
    user,
    note: str = "",
    expected_version: int | None = None,
    now: datetime | None = None,
) -> IncidentRemedy:
    """Approve once for every complaint linked now; the application starts after commit."""
    now = now or timezone.now()
    _require(user, "complaints.approve_compensation")
    with transaction.atomic():
        incident, remedy = _lock_remedy(remedy_id, expected_version)
        if remedy.status != RStatus.PROPOSED:
            raise ServiceError(
                _("The remedy is “%(status)s” and cannot be approved.")
                % {"status": remedy.get_status_display()}
            )
        if remedy.proposed_by_id == user.pk:
            raise NotPermitted(_("You proposed this remedy; someone else must approve it."))
        links = IncidentLink.objects.filter(incident=incident).aggregate(
            n=Count("id"), last=Max("id")
        )
        count = links["n"] or 0
        if not count:
            raise ServiceError(_("No complaints are linked to the incident yet."))
        total = remedy.amount_per_complaint * count
        if not _covering(user, incident, remedy, total):
            who = _remedy_approvers(incident, remedy, total)
            raise NotPermitted(
                _(
                    "The remedy totals %(total)s (%(amount)s × %(count)d complaints), above your "
                    "approval limit."
                )
                % {
                    "total": comp.fmt(total, remedy.currency),
                    "amount": comp.fmt(remedy.amount_per_complaint, remedy.currency),
                    "count": count,
                }
                + " "
                + who
            )
        remedy.status = RStatus.APPROVED
        remedy.decided_by, remedy.decided_at = user, now
        remedy.decision_note = (note or "").strip()
        remedy.approved_count, remedy.approved_total = count, total
        remedy.last_link_id = links["last"]
        remedy.progress = Progress.QUEUED
        remedy.version += 1
        remedy.updated_at = now
        remedy.save()
        schedule_application(remedy.pk)
    return remedy


def _remedy_approvers(incident, remedy, total) -> str:
    from django.contrib.auth import get_user_model

    rows = authority.rows_for(incident.department_id, remedy.currency)
    groups = [
        r.group_id
        for r in rows
        if total <= r.max_per_compensation and remedy.amount_per_complaint <= r.max_per_complaint
    ]
    people = list(
        get_user_model()
        .objects.filter(is_active=True, groups__in=groups)
        .filter(authority.holders("approve_compensation"))
        .exclude(pk=remedy.proposed_by_id)
        .distinct()
        .order_by("username")[: authority.NAMED_APPROVERS]
    )
    if not people:
        return _(
            "Nobody's approval limit covers it; a complaint manager must raise the authority "
            "matrix."
        )
    return _("It can be approved by: %(names)s.") % {
        "names": ", ".join(u.get_full_name() or u.get_username() for u in people)
    }


def reject_remedy(remedy_id: int, *, user, reason: str, now: datetime | None = None):
    now = now or timezone.now()
    reason = (reason or "").strip()
    _require(user, "complaints.approve_compensation")
    if not reason:
        raise ServiceError(_("Give a reason for rejecting."))
    with transaction.atomic():
        _incident, remedy = _lock_remedy(remedy_id, None)
        if remedy.status != RStatus.PROPOSED:
            raise ServiceError(
                _("The remedy is “%(status)s” and cannot be rejected.")
                % {"status": remedy.get_status_display()}
            )
        if remedy.proposed_by_id == user.pk:
            raise NotPermitted(_("You proposed this remedy: cancel it instead."))
        remedy.status = RStatus.REJECTED
        remedy.decided_by, remedy.decided_at, remedy.decision_note = user, now, reason
        remedy.version += 1
        remedy.updated_at = now
        remedy.save()
    return remedy


def cancel_remedy(remedy_id: int, *, user, reason: str, now: datetime | None = None):
    now = now or timezone.now()
    reason = (reason or "").strip()
    _require(user, "complaints.change_incidentremedy")
    if not reason:
        raise ServiceError(_("Give a reason for cancelling."))
    with transaction.atomic():
        _incident, remedy = _lock_remedy(remedy_id, None)
        if remedy.status != RStatus.PROPOSED:
            raise ServiceError(
                _(
                    "Only a remedy awaiting approval can be cancelled; cancel applied "
                    "compensations one by one."
                )
            )
        remedy.status = RStatus.CANCELLED
        remedy.decision_note = reason
        remedy.version += 1
        remedy.updated_at = now
        remedy.save()
    return remedy


def schedule_application(remedy_id: int) -> None:
    """Apply after commit in a worker (never inline in a request)."""
    from ..tasks import apply_incident_remedy, enqueue

    transaction.on_commit(lambda: enqueue(apply_incident_remedy, remedy_id))


def reapply(remedy_id: int, *, user) -> None:
    """Run the application again from the first link (e.g. after a worker crash): complaints
    already compensated by this remedy get nothing new."""
    _require(user, "complaints.change_incidentremedy")
    with transaction.atomic():
        _incident, remedy = _lock_remedy(remedy_id, None)
        if remedy.status != RStatus.APPROVED:
            raise ServiceError(_("Only an approved remedy can be applied."))
        IncidentRemedy.objects.filter(pk=remedy.pk).update(
            applied_through_link=0, progress=Progress.QUEUED
        )
        schedule_application(remedy.pk)


def apply_batch(remedy_id: int, *, batch_size: int = BATCH_SIZE, now: datetime | None = None):
    """One batch in its own durable transaction; returns how many compensations it created,
    or None when the remedy is fully applied (or not applicable)."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        remedy = (
            IncidentRemedy.objects.select_for_update()
            .select_related("incident")
            .filter(pk=remedy_id)
            .first()
        )
        if remedy is None or remedy.status != RStatus.APPROVED or remedy.last_link_id is None:
            return None
        links = list(
            IncidentLink.objects.filter(
                incident_id=remedy.incident_id,
                id__gt=remedy.applied_through_link,
                id__lte=remedy.last_link_id,
            )
            .order_by("id")
            .values_list("id", "complaint_id", "complaint__status")[:batch_size]
        )
        if not links:
            if remedy.progress != Progress.DONE:
                IncidentRemedy.objects.filter(pk=remedy.pk).update(
                    progress=Progress.DONE, apply_finished_at=now, updated_at=now
                )
            return None
        wanted = [cid for _lid, cid, status in links if status not in EXCLUDED]
        have = set(
            Compensation.objects.filter(
                incident_remedy=remedy, complaint_id__in=wanted
            ).values_list("complaint_id", flat=True)
        )
        new = [
            Compensation(
                complaint_id=cid,
                kind=remedy.kind,
                amount=remedy.amount_per_complaint,
                currency=remedy.currency,
                description=remedy.description,
                status=Compensation.Status.APPROVED,
                proposed_by_id=remedy.proposed_by_id,
                proposed_at=remedy.proposed_at,
                decided_by_id=remedy.decided_by_id,
                decided_at=remedy.decided_at,
                decision_note=remedy.decision_note,
                incident_remedy=remedy,
                created_at=now,
                updated_at=now,
            )
            for cid in wanted
            if cid not in have
        ]
        Compensation.objects.bulk_create(new)
        kind = comp.kind_message(remedy.kind)
        amount = comp.fmt(remedy.amount_per_complaint, remedy.currency)
        ComplaintEvent.objects.bulk_create(
            [
                ComplaintEvent(
                    complaint_id=c.complaint_id,
                    kind=ComplaintEvent.Kind.COMPENSATION,
                    actor_id=remedy.decided_by_id,
                    created_at=now,
                    data={
                        "message": stored(
                            gettext_noop(
                                "Compensation #%(id)s approved for incident %(code)s: "
                                "%(kind)s, %(amount)s"
                            ),
                            id=c.pk,
                            code=remedy.incident.code,
                            kind=kind,
                            amount=amount,
                        ),
                        "compensation": c.pk,
                        "amount": str(c.amount),
                        "currency": c.currency,
                        "status": c.status,
                        "incident_remedy": remedy.pk,
                    },
                )
                for c in new
            ]
        )
        if new:
            Complaint.objects.filter(pk__in=[c.complaint_id for c in new]).update(updated_at=now)
        IncidentRemedy.objects.filter(pk=remedy.pk).update(
            applied_through_link=links[-1][0],
            applied_count=remedy.applied_count + len(new),
            progress=Progress.RUNNING,
            apply_started_at=remedy.apply_started_at or now,
            updated_at=now,
        )
        return len(new)


def apply_remedy(remedy_id: int, *, batch_size: int = BATCH_SIZE, now: datetime | None = None):
    """Apply batch after batch until done; returns the number of compensations created."""
    created = 0
    while True:
        n = apply_batch(remedy_id, batch_size=batch_size, now=now)
        if n is None:
            return created
        created += n
