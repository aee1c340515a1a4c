"""The authority matrix (分级审批): who may approve how much, read from ApprovalLimit rows.

A person may approve a compensation when they hold "approve compensations", can see its
complaint, did not propose it, and one active row of one of their roles (for the complaint's
department or for every department, in its currency) covers both the amount and the
complaint's granted total with it."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

from ..models import GRANTED, ApprovalLimit, Compensation, Complaint, DepartmentMembership

ZERO = Decimal("0.00")
NAMED_APPROVERS = 5  # how many approvers a refusal names


def granted_total(complaint_id: int, currency: str, *, exclude_id: int | None = None) -> Decimal:
    """Approved and paid compensation of a complaint in one currency (in the database)."""
    rows = Compensation.objects.filter(
        complaint_id=complaint_id, currency=currency, status__in=GRANTED
    )
    if exclude_id is not None:
        rows = rows.exclude(pk=exclude_id)
    total = rows.aggregate(total=Sum("amount"))["total"]
    return ZERO if total is None else Decimal(total).quantize(Decimal("0.01"))


def rows_for(department_id: int | None, currency: str) -> QuerySet:
    where = Q(department__isnull=True)
    if department_id is not None:
        where |= Q(department_id=department_id)
    return ApprovalLimit.objects.filter(where, active=True, currency=currency)


def limits_of(user, *, department_id: int | None, currency: str) -> list[ApprovalLimit]:
    """The matrix rows that apply to this person for a complaint of this department."""
    if user is None or not user.is_active:
        return []
    return list(rows_for(department_id, currency).filter(group__in=user.groups.all()))


def covers(row: ApprovalLimit, amount: Decimal, total: Decimal) -> bool:
    return amount <= row.max_per_compensation and total + amount <= row.max_per_complaint


def within_limit(user, *, department_id, currency, amount: Decimal, total: Decimal) -> bool:
    return any(
        covers(row, amount, total)
        for row in limits_of(user, department_id=department_id, currency=currency)
    )


def own_limit(user, *, department_id, currency) -> tuple[Decimal, Decimal]:
    """(per compensation, per complaint) this person may approve; (0, 0) without a row."""
    rows = limits_of(user, department_id=department_id, currency=currency)
    if not rows:
        return ZERO, ZERO
    return (max(r.max_per_compensation for r in rows), max(r.max_per_complaint for r in rows))


def holders(codename: str) -> Q:
    """Users holding complaints.<codename> directly, through a role, or as superusers."""
    perm = Permission.objects.filter(content_type__app_label="complaints", codename=codename)
    User = get_user_model()
    by_group = Group.permissions.through.objects.filter(permission__in=perm).values("group_id")
    in_group = User.groups.through.objects.filter(group_id__in=by_group).values("user_id")
    direct = User.user_permissions.through.objects.filter(permission__in=perm).values("user_id")
    return Q(is_superuser=True) | Q(pk__in=in_group) | Q(pk__in=direct)


def eligible_approvers(
    complaint: Complaint, *, amount: Decimal, currency: str, total: Decimal, exclude=()
) -> QuerySet:
    """Everyone who may approve this amount on this complaint now (one query): holds the
    permission, sees the complaint, and a matrix row of one of their roles covers it."""
    User = get_user_model()
    rows = [
        row for row in rows_for(complaint.department_id, currency) if covers(row, amount, total)
    ]
    groups = {row.group_id for row in rows}
    in_limit = User.groups.through.objects.filter(group_id__in=groups).values("user_id")
    departments = [complaint.department_id] if complaint.department_id else []
    departments += list(complaint.assisting_departments.values_list("pk", flat=True))
    sees = holders("view_all_complaints") | Q(pk=complaint.created_by_id)
    if departments:
        members = DepartmentMembership.objects.filter(department_id__in=departments)
        sees |= Q(pk__in=members.values("user_id"))
    return (
        User.objects.filter(is_active=True, pk__in=in_limit)
        .filter(holders("approve_compensation"))
        .filter(sees)
        .exclude(pk__in=[u for u in exclude if u is not None])
        .order_by("username")
    )


def name(user) -> str:
    return user.get_full_name() or user.get_username()


def who_can_approve(compensation: Compensation, total: Decimal) -> str:
    people = list(
        eligible_approvers(
            compensation.complaint,
            amount=compensation.amount,
            currency=compensation.currency,
            total=total,
            exclude=[compensation.proposed_by_id],
        )[: NAMED_APPROVERS + 1]
    )
    if not people:
        return _(
            "Nobody's approval limit covers it; a complaint manager must raise the authority "
            "matrix."
        )
    names = ", ".join(name(u) for u in people[:NAMED_APPROVERS])
    if len(people) > NAMED_APPROVERS:
        names += " …"
    return _("It can be approved by: %(names)s.") % {"names": names}


def awaiting_approval_by(user, compensations: QuerySet | None = None) -> QuerySet:
    """Proposals this person could approve by amount (each is checked again on approval):
    not their own, on complaints they see, within a per-compensation limit of their roles."""
    from ..selectors import visible_complaints

    rows = Compensation.objects.all() if compensations is None else compensations
    rows = rows.filter(status=Compensation.Status.PROPOSED).exclude(proposed_by=user)
    if user is None or not user.is_active or not user.has_perm("complaints.approve_compensation"):
        return rows.none()
    limits = ApprovalLimit.objects.filter(active=True, group__in=user.groups.all())
    covered = Q(pk__in=[])
    for row in limits:
        condition = Q(currency=row.currency, amount__lte=row.max_per_compensation)
        if row.department_id is not None:
            condition &= Q(complaint__department_id=row.department_id)
        covered |= condition
    return rows.filter(covered, complaint__in=visible_complaints(user))
