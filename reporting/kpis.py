"""What every reporting figure means: the one place that defines them.

The dashboard, the monthly department report, the REST API, the summary tables and the
admin list filter behind every dashboard link all use the conditions and measures below;
nothing else decides what counts.

Cohort. A complaint belongs to the local day (settings.TIME_ZONE) it was *received*; a date
range selects the complaints received in it, and every figure describes that cohort as it
stands now (a complaint received in March and closed in May counts as closed for March).

Definitions (per complaint):

- **received**: every recorded complaint, whatever became of it.
- **valid**: not judged invalid (`validity = invalid` or status *invalid*) and not merged into
  another complaint (a duplicate is counted once, on the complaint it was merged into).
  Complaints whose validity is still "not yet judged" count as valid.
  Every rate below is taken over valid complaints only.
- **closed** (办结): a valid complaint whose status is *resolved* or *closed*.
  **Closure rate** = closed / valid.
- **acknowledged on time**: `acknowledged_at <= ack_due_at`. It is *measured* once the outcome
  is known: the complaint was acknowledged, or its acknowledgement deadline has passed
  without it (late). Not yet acknowledged and not yet due: not counted either way.
  **Acknowledged on time %** = on time / measured.
- **resolved on time**: `resolved_at <= resolve_due_at` (after a reopening the new resolution
  deadline and the new resolution count). Measured once resolved, or once the resolution
  deadline has passed while the complaint is still open and not waiting for the customer
  (the clock stands then, so the deadline will move).
- **reopened**: `reopened_count > 0`. **Reopened rate** = reopened / valid complaints that
  were resolved at least once (resolved now, or reopened).
- **time to first response / to resolution**: working time on the complaint's SLA clock (the
  calendar of its SLA policy, the same clock as its deadlines; 24x7 for crisis policies)
  from receipt to the first outbound contact / to the (last) resolution, less the working time
  the clock stood while awaiting the customer. The services store these durations on the
  complaint when the contact is logged and when the complaint is resolved
  (`Complaint.first_response_work_seconds`, `resolution_work_seconds`), so reports only
  aggregate columns. Median and 90th percentile: exact on the live path; from summaries they
  are interpolated within histogram buckets (`HOUR_EDGES`), at most one bucket's width off.
- **compensation**: approved or fulfilled compensations of valid complaints, in CNY (amounts
  in other currencies are not converted and not counted). **Compensation total** = their sum;
  **per compensated complaint** = total / valid complaints with at least one of them.
- **repeat**: a valid complaint linked as repeating an earlier one of the same customer
  (followups.RepeatLink: same category or item within the repeat window). **Repeat rate** =
  repeats / valid.
- **CSAT after recovery**: over valid complaints with at least one satisfaction answer
  (survey "satisfaction with the outcome" or return-visit satisfaction, 1-5), the share whose
  every answer is 4 or 5 (one dissatisfied answer makes the complaint not satisfied).
- **open backlog**: complaints in an open status now (any received date); age = whole days
  since receipt. **Overdue**: open with a pending deadline already passed (`due_at < now`,
  the admin's "Overdue" filter).

Measures are sums of 0/1 indicators (or of seconds) over complaints, so they add up across
days, departments, categories, channels and severities: the summary table stores the sums
per cell and the dashboard adds the cells it needs.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    BigIntegerField,
    Case,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils.translation import gettext_lazy as _

from complaints.models import OPEN_STATUSES, Status, Validity

# Histogram bucket edges for working-time durations, in hours: bucket i holds durations in
# [HOUR_EDGES[i-1], HOUR_EDGES[i]) (bucket 0 from 0, the last one open-ended).
HOUR_EDGES = (0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 40, 48, 72, 96, 120, 160, 240)
BUCKETS = len(HOUR_EDGES) + 1

# Conditions (Q over Complaint). `now` only matters for deadlines that passed unmet.
VALID = ~Q(status__in=[Status.INVALID, Status.MERGED]) & ~Q(validity=Validity.INVALID)
INVALID = ~VALID
CLOSED = VALID & Q(status__in=[Status.RESOLVED, Status.CLOSED])
OPEN = Q(status__in=OPEN_STATUSES)
ACK_ON_TIME = VALID & Q(acknowledged_at__isnull=False, acknowledged_at__lte=F("ack_due_at"))
RESOLVE_ON_TIME = VALID & Q(resolved_at__isnull=False, resolved_at__lte=F("resolve_due_at"))
EVER_RESOLVED = VALID & (Q(resolved_at__isnull=False) | Q(reopened_count__gt=0))
REOPENED = VALID & Q(reopened_count__gt=0)
FRT_KNOWN = VALID & Q(first_response_work_seconds__isnull=False)
TTR_KNOWN = VALID & Q(resolution_work_seconds__isnull=False)


def ack_measured(now: datetime) -> Q:
    return (
        VALID
        & Q(ack_due_at__isnull=False)
        & (Q(acknowledged_at__isnull=False) | Q(ack_due_at__lt=now))
    )


def ack_late(now: datetime) -> Q:
    return ack_measured(now) & ~Q(
        acknowledged_at__isnull=False, acknowledged_at__lte=F("ack_due_at")
    )


def resolve_measured(now: datetime) -> Q:
    unresolved_past_due = (
        Q(resolved_at__isnull=True, resolve_due_at__lt=now)
        & OPEN
        & ~Q(status=Status.AWAITING_CUSTOMER)
    )
    return (
        VALID
        & Q(resolve_due_at__isnull=False)
        & (Q(resolved_at__isnull=False) | unresolved_past_due)
    )


def resolve_late(now: datetime) -> Q:
    return resolve_measured(now) & ~Q(
        resolved_at__isnull=False, resolved_at__lte=F("resolve_due_at")
    )


GRANTED = ("approved", "fulfilled")  # Compensation.Status values that count as given


def _granted():
    from complaints.models.compensation import Compensation

    return Compensation.objects.filter(complaint=OuterRef("pk"), status__in=GRANTED, currency="CNY")


def compensated() -> Q:
    return VALID & Exists(_granted())


def _compensation_cents() -> Case:
    total = Subquery(
        _granted().order_by().values("complaint").annotate(s=Sum("amount")).values("s"),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    return Case(
        When(compensated(), then=Cast(total * 100, BigIntegerField())),
        default=Value(0),
        output_field=BigIntegerField(),
    )


def repeated() -> Q:
    from followups.models import RepeatLink

    return VALID & Exists(RepeatLink.objects.filter(complaint=OuterRef("pk")))


def _answers(**score):
    """Satisfaction answers of the complaint matching `score` (e.g. lt=4, isnull=False)."""
    from followups.models import FollowUp, SurveyInvitation

    ((lookup, value),) = score.items()
    surveys = SurveyInvitation.objects.filter(
        complaint=OuterRef("pk"), **{f"outcome_score__{lookup}": value}
    )
    visits = FollowUp.objects.filter(complaint=OuterRef("pk"), **{f"satisfaction__{lookup}": value})
    return Exists(surveys) | Exists(visits)


def csat_measured() -> Q:
    return VALID & _answers(isnull=False)


def csat_satisfied() -> Q:
    return csat_measured() & ~_answers(lt=4)


def csat_state() -> Case:
    """Both CSAT measures of a complaint in one expression, its answers looked up once (the
    summary rebuild): 0 not measured, 1 measured and not satisfied, 2 satisfied, i.e.
    csat_measured = (state >= 1) and csat_satisfied = (state = 2)."""
    return Case(
        When(~csat_measured(), then=Value(0)),
        When(_answers(lt=4), then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )


def _bucket(field: str, i: int) -> Q:
    q = VALID & Q(**{f"{field}__isnull": False})
    if i > 0:
        q &= Q(**{f"{field}__gte": int(HOUR_EDGES[i - 1] * 3600)})
    if i < len(HOUR_EDGES):
        q &= Q(**{f"{field}__lt": int(HOUR_EDGES[i] * 3600)})
    return q


def _count(q: Q) -> Case:
    return Case(When(q, then=Value(1)), default=Value(0), output_field=IntegerField())


def _seconds(q: Q, field: str) -> Case:
    return Case(
        When(q, then=Coalesce(F(field), Value(0))), default=Value(0), output_field=IntegerField()
    )


FRT_BUCKETS = tuple(f"frt_b{i:02d}" for i in range(BUCKETS))
TTR_BUCKETS = tuple(f"ttr_b{i:02d}" for i in range(BUCKETS))
# Histogram measure names -> the duration they bucket.
HISTOGRAMS = {
    "first_response_work_seconds": FRT_BUCKETS,
    "resolution_work_seconds": TTR_BUCKETS,
}


def bucket_index(field: str) -> Case:
    """The histogram bucket (0 .. BUCKETS - 1) a complaint's duration falls in, None when it
    is not measured: bucket i of `field` is 1 exactly when the measure of the same name
    (`_bucket`) is. The summary rebuild computes this once per complaint instead of one
    condition per bucket."""
    whens = [When(~(VALID & Q(**{f"{field}__isnull": False})), then=Value(None))]
    whens += [
        When(Q(**{f"{field}__lt": int(edge * 3600)}), then=Value(i))
        for i, edge in enumerate(HOUR_EDGES)
    ]
    return Case(*whens, default=Value(len(HOUR_EDGES)), output_field=IntegerField())


def measures(now: datetime) -> dict:
    """Every summable measure as a per-complaint expression (summed by the summary rebuild
    and by the live queries alike)."""
    result = {
        "received": Value(1, output_field=IntegerField()),
        "valid": _count(VALID),
        "closed": _count(CLOSED),
        "ack_measured": _count(ack_measured(now)),
        "ack_on_time": _count(ACK_ON_TIME & ack_measured(now)),
        "resolve_measured": _count(resolve_measured(now)),
        "resolve_on_time": _count(RESOLVE_ON_TIME & resolve_measured(now)),
        "ever_resolved": _count(EVER_RESOLVED),
        "reopened": _count(REOPENED),
        "open": _count(OPEN),
        "overdue": _count(OPEN & Q(due_at__lt=now)),
        "frt_count": _count(FRT_KNOWN),
        "frt_seconds": _seconds(FRT_KNOWN, "first_response_work_seconds"),
        "ttr_count": _count(TTR_KNOWN),
        "ttr_seconds": _seconds(TTR_KNOWN, "resolution_work_seconds"),
        "compensated": _count(compensated()),
        "compensation_cents": _compensation_cents(),
        "repeated": _count(repeated()),
        "csat_measured": _count(csat_measured()),
        "csat_satisfied": _count(csat_satisfied()),
    }
    for i, name in enumerate(FRT_BUCKETS):
        result[name] = _count(_bucket("first_response_work_seconds", i))
    for i, name in enumerate(TTR_BUCKETS):
        result[name] = _count(_bucket("resolution_work_seconds", i))
    return result


# The names of the measures, in the order measures() gives them (the summary's columns).
MEASURES = (
    "received",
    "valid",
    "closed",
    "ack_measured",
    "ack_on_time",
    "resolve_measured",
    "resolve_on_time",
    "ever_resolved",
    "reopened",
    "open",
    "overdue",
    "frt_count",
    "frt_seconds",
    "ttr_count",
    "ttr_seconds",
    "compensated",
    "compensation_cents",
    "repeated",
    "csat_measured",
    "csat_satisfied",
    *FRT_BUCKETS,
    *TTR_BUCKETS,
)


def condition(key: str, now: datetime) -> Q | None:
    """The complaints behind a figure, for the admin list filter the dashboard links to."""
    conditions = {
        "valid": VALID,
        "invalid": INVALID,
        "closed": CLOSED,
        "not_closed": VALID & ~CLOSED,
        "ack_measured": ack_measured(now),
        "ack_on_time": ACK_ON_TIME & ack_measured(now),
        "ack_late": ack_late(now),
        "resolve_measured": resolve_measured(now),
        "resolve_on_time": RESOLVE_ON_TIME & resolve_measured(now),
        "resolve_late": resolve_late(now),
        "ever_resolved": EVER_RESOLVED,
        "reopened": REOPENED,
        "frt_known": FRT_KNOWN,
        "ttr_known": TTR_KNOWN,
        "open": OPEN,
        "compensated": compensated(),
        "repeated": repeated(),
        "csat_measured": csat_measured(),
        "csat_satisfied": csat_satisfied(),
    }
    return conditions.get(key)


# The admin list filter's choices (what a dashboard link shows as the active filter).
CONDITION_LABELS = {
    "valid": _("Valid"),
    "invalid": _("Invalid or merged"),
    "closed": _("Closed (resolved or closed)"),
    "not_closed": _("Valid, not yet closed"),
    "ack_measured": _("Acknowledgement measured"),
    "ack_on_time": _("Acknowledged on time"),
    "ack_late": _("Acknowledged late (or not yet, overdue)"),
    "resolve_measured": _("Resolution measured"),
    "resolve_on_time": _("Resolved on time"),
    "resolve_late": _("Resolved late (or not yet, overdue)"),
    "ever_resolved": _("Resolved at least once"),
    "reopened": _("Reopened"),
    "frt_known": _("First response given"),
    "ttr_known": _("Resolved (time known)"),
    "open": _("Open"),
    "compensated": _("Compensated (CNY, approved or paid)"),
    "repeated": _("Repeat complaints"),
    "csat_measured": _("Satisfaction answered"),
    "csat_satisfied": _("Satisfied (every answer 4 or 5)"),
}


def local_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def grouping_bits(kept, grouped) -> int:
    """What SQL's GROUPING(grouped...) gives the rows of a grouping set that keeps `kept`: a
    bit set for each of the `grouped` columns it sums over, the first one the highest."""
    return sum(1 << (len(grouped) - 1 - i) for i, c in enumerate(grouped) if c not in kept)
