"""Who may see which complaints. One rule for the admin, downloads, exports and the API:

- complaint managers, auditors and superusers (permission `view_all_complaints`) see all;
- everyone else sees the complaints of their departments (responsible or assisting) and the
  ones they recorded themselves (intake agents)."""

from django.db.models import Q, QuerySet

from .models import Complaint, DepartmentMembership


def sees_all(user) -> bool:
    return user.is_superuser or user.has_perm("complaints.view_all_complaints")


def visible_complaints(user, complaints: QuerySet | None = None) -> QuerySet:
    complaints = Complaint.objects.all() if complaints is None else complaints
    if sees_all(user):
        return complaints
    departments = list(
        DepartmentMembership.objects.filter(user=user).values_list("department_id", flat=True)
    )
    mine = Q(created_by=user)
    if departments:
        assisted = Complaint.assisting_departments.through.objects.filter(
            department_id__in=departments
        ).values("complaint_id")
        mine |= Q(department_id__in=departments) | Q(pk__in=assisted)
    return complaints.filter(mine)


def can_see(user, complaint: Complaint) -> bool:
    if sees_all(user):
        return True
    return visible_complaints(user, Complaint.objects.filter(pk=complaint.pk)).exists()
