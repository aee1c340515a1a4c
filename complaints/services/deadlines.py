"""Which deadline is pending next. The SLA clock that sets the *_due_at fields is services/sla."""

from datetime import datetime

from ..models import OPEN_STATUSES, Complaint, Status


def earliest_pending(
    status: str,
    met: tuple[datetime | None, datetime | None, datetime | None],
    due: tuple[datetime | None, datetime | None, datetime | None],
) -> datetime | None:
    """The earliest deadline not yet met, or None (finished and paused work have none).

    `met` and `due` are (acknowledge, first response, resolve)."""
    if status not in OPEN_STATUSES or status == Status.AWAITING_CUSTOMER:
        return None
    pending = [d for m, d in zip(met, due, strict=True) if m is None and d is not None]
    return min(pending) if pending else None


def next_due_at(complaint: Complaint) -> datetime | None:
    return earliest_pending(
        complaint.status,
        (complaint.acknowledged_at, complaint.first_response_at, complaint.resolved_at),
        (complaint.ack_due_at, complaint.response_due_at, complaint.resolve_due_at),
    )
