"""Which deadline is pending next. The SLA clock that sets the *_due_at fields lives elsewhere."""

from ..models import Complaint, Status


def next_due_at(complaint: Complaint):
    """The earliest deadline not yet met, or None (closed work and paused work have none)."""
    if not complaint.is_open or complaint.status == Status.AWAITING_CUSTOMER:
        return None
    pending = []
    if complaint.acknowledged_at is None and complaint.ack_due_at:
        pending.append(complaint.ack_due_at)
    if complaint.first_response_at is None and complaint.response_due_at:
        pending.append(complaint.response_due_at)
    if complaint.resolved_at is None and complaint.resolve_due_at:
        pending.append(complaint.resolve_due_at)
    return min(pending) if pending else None
