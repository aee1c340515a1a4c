"""Who may see which complaints and customers. One rule for the admin, downloads, exports and
the API:

- complaint managers, auditors and superusers (permission `view_all_complaints`) see all;
- staff see the complaints they recorded themselves (`created_by`);
- staff who handle complaints see those of their departments (responsible or assisting):
  department members, except those who only record complaints (add without change: intake
  agents record for the whole company and see what they recorded) unless they hold
  `view_department_complaints`;
- department-restricted API clients see their department's complaints, unrestricted ones all.

A customer is visible to someone who may see at least one of the customer's complaints, or
who recorded the customer (a customer is born with a complaint; a customer added in the
customer admin stays visible to whoever added it)."""

from django.db.models import Q, QuerySet

from .models import Complaint, Customer, DepartmentMembership

DEPARTMENT_PERMISSION = "complaints.view_department_complaints"


def sees_all(user) -> bool:
    return user.is_superuser or user.has_perm("complaints.view_all_complaints")


def sees_department(user) -> bool:
    """Department members see their department's complaints, except those who only record
    them (may add complaints but not change them: intake agents) unless given
    `view_department_complaints` explicitly."""
    if user.has_perm(DEPARTMENT_PERMISSION):
        return True
    records_only = user.has_perm("complaints.add_complaint") and not user.has_perm(
        "complaints.change_complaint"
    )
    return not records_only


def visible_complaints(user, complaints: QuerySet | None = None) -> QuerySet:
    complaints = Complaint.objects.all() if complaints is None else complaints
    if sees_all(user):
        return complaints
    mine = Q(created_by=user)
    if sees_department(user):
        departments = list(
            DepartmentMembership.objects.filter(user=user).values_list("department_id", flat=True)
        )
        if departments:
            mine |= _in_departments(departments)
    return complaints.filter(mine)


def client_complaints(client, complaints: QuerySet | None = None) -> QuerySet:
    """What an API client may read: its department's complaints (all without one). What a
    restricted client sends without a category lands in its department (services.intake);
    one it routes to another department by category is that department's to read."""
    complaints = Complaint.objects.all() if complaints is None else complaints
    if client.department_id is None:
        return complaints
    return complaints.filter(_in_departments([client.department_id]))


def _in_departments(departments: list[int]) -> Q:
    assisted = Complaint.assisting_departments.through.objects.filter(
        department_id__in=departments
    ).values("complaint_id")
    return Q(department_id__in=departments) | Q(pk__in=assisted)


def can_see(user, complaint: Complaint) -> bool:
    if sees_all(user):
        return True
    return visible_complaints(user, Complaint.objects.filter(pk=complaint.pk)).exists()


def visible_customers(user, customers: QuerySet | None = None) -> QuerySet:
    customers = Customer.objects.all() if customers is None else customers
    if sees_all(user):
        return customers
    seen = visible_complaints(user).order_by().values("customer_id")
    return customers.filter(Q(pk__in=seen) | Q(created_by=user))


def client_customers(client, customers: QuerySet | None = None) -> QuerySet:
    customers = Customer.objects.all() if customers is None else customers
    if client.department_id is None:
        return customers
    return customers.filter(pk__in=client_complaints(client).order_by().values("customer_id"))
