"""Extension points for the apps built on complaints (followups, reporting).

complaints imports none of those apps (DESIGN.md: dependencies point towards complaints).
Where a complaints service must let them take part, it calls the functions registered here;
the apps register in their ``AppConfig.ready()``. Explicit lists rather than Django signals:
each point is named, documented below, and called at one visible place in a service.

- ``AFTER_REGISTERED``: ``fn(complaint, new_customer=...)`` after the intake transaction
  commits: the complaint as recorded (the instance the intake saved, not read again) and
  whether its customer was created by this intake (so has no earlier complaints).
- ``AFTER_RESOLVED``: ``fn(complaint_id)`` after the transaction that resolved a complaint
  commits. Errors are logged, never raised: the caller's work is done and committed, and
  the registering app must catch up by itself (e.g. a periodic task).
- ``CLOSE_BLOCKERS``: ``fn(complaint) -> str | None`` inside the close transition, with the
  complaint row locked; a returned text refuses the close with that message (nothing changes).
- ``SAME_PROBLEM``: ``fn(complaint) -> Q | None``: further earlier complaints that count as
  the same problem for the severity rule "complained about a third time" (beyond the same
  item reference).
- ``COMPLAINT_PANELS``: ``fn(request, complaint) -> str`` (safe HTML) shown on the complaint's
  admin page under the workflow panel.
"""

import logging
from collections.abc import Callable

from django.db import transaction
from django.db.models import Q

log = logging.getLogger(__name__)

AFTER_REGISTERED: list[Callable[[int], None]] = []
AFTER_RESOLVED: list[Callable[[int], None]] = []
CLOSE_BLOCKERS: list[Callable] = []
SAME_PROBLEM: list[Callable] = []
COMPLAINT_PANELS: list[Callable] = []


def register(point: list, fn: Callable) -> Callable:
    """Add `fn` to an extension point once (ready() may run more than once in tests)."""
    if fn not in point:
        point.append(fn)
    return fn


def after_commit(point: list, complaint, **kwargs) -> None:
    """Call every function of `point` with `complaint` (an id or an instance, as the point
    says) once the current transaction commits."""
    for fn in list(point):
        transaction.on_commit(lambda fn=fn: _safely(fn, complaint, **kwargs))


def _safely(fn: Callable, complaint, **kwargs) -> None:
    try:
        fn(complaint, **kwargs)
    except Exception:  # noqa: BLE001 - the complaint's own change is committed already
        log.exception(
            "Hook %s failed for complaint %s",
            getattr(fn, "__name__", fn),
            getattr(complaint, "pk", complaint),
        )


def close_blocker(complaint) -> str | None:
    for fn in CLOSE_BLOCKERS:
        reason = fn(complaint)
        if reason:
            return reason
    return None


def same_problem(complaint) -> Q | None:
    found = [q for fn in SAME_PROBLEM if (q := fn(complaint)) is not None]
    if not found:
        return None
    combined = found[0]
    for q in found[1:]:
        combined |= q
    return combined


def panels(request, complaint) -> list[str]:
    return [html for fn in COMPLAINT_PANELS if (html := fn(request, complaint))]
