"""One intake service for the admin and the API: customer identity backed by the database.

Customers are unique by normalised phone, email and external id (conditional unique
constraints on the canonical customers); intake matches an existing customer before creating
one, and a conflicting concurrent insert is retried as a match (tests/api/test_concurrency.py
runs that race on PostgreSQL)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from complaints.models import Channel, Complaint, Customer
from complaints.services import intake
from complaints.services.intake import CustomerDetails, IntakeError
from tests.factories import CustomerFactory, DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def new_complaint(**fields) -> Complaint:
    fields.setdefault("channel", Channel.HOTLINE)
    fields.setdefault("subject", "Water leaking from the ceiling")
    fields.setdefault("description", "Since Monday water drips in the bathroom.")
    return Complaint(**fields)


def test_new_customer_is_created_and_marked_as_not_matched(manager):
    result = intake.record_complaint(
        new_complaint(),
        details=CustomerDetails(name=" 张伟 ", phone="138 1234 5678", email="Zhang@Example.com"),
        user=manager,
    )
    assert result.matched is False
    assert result.earlier_complaints == 0
    customer = Customer.objects.get()
    assert (customer.name, customer.phone, customer.email) == (
        "张伟",
        "+8613812345678",
        "zhang@example.com",
    )
    assert customer.created_by == manager
    assert result.complaint.customer == customer == result.customer
    assert result.complaint.pk is not None


@pytest.mark.parametrize(
    "details",
    [
        CustomerDetails(phone="+86 138-1234-5678"),
        CustomerDetails(email="  LI.SI@example.COM "),
        CustomerDetails(external_id=" CRM-7 "),
        CustomerDetails(name="Somebody else", phone="008613812345678"),
    ],
    ids=["phone", "email", "external-id", "other-name"],
)
def test_returning_customer_is_matched_in_any_format(manager, details):
    existing = CustomerFactory(
        name="李四", phone="+8613812345678", email="li.si@example.com", external_id="CRM-7"
    )
    first = intake.record_complaint(new_complaint(), customer=existing, user=manager)
    assert first.matched is True

    result = intake.record_complaint(new_complaint(), details=details, user=manager)

    assert result.matched is True
    assert result.customer == existing
    assert result.earlier_complaints == 1
    assert Customer.objects.count() == 1
    existing.refresh_from_db()
    assert existing.name == "李四"  # a match never rewrites the customer on file


def test_the_database_refuses_a_second_customer_with_the_same_phone_email_or_id():
    CustomerFactory(phone="+8613812345678", email="a@example.com", external_id="CRM-1")
    for fields in (
        {"phone": "+8613812345678"},
        {"phone": "", "email": "a@example.com"},
        {"phone": "", "external_id": "CRM-1"},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            Customer.objects.create(name="Twin", **fields)
    # Empty values are not identities: many customers have no email.
    CustomerFactory(phone="", email="")
    CustomerFactory(phone="", email="")


def test_a_flagged_duplicate_is_outside_the_uniqueness_and_never_matched(manager):
    canonical = CustomerFactory(phone="+8613812345678")
    twin = Customer.objects.create(
        name="Twin", phone="+8613812345678", duplicate_of=canonical
    )  # as the data migration leaves an older duplicate
    result = intake.record_complaint(
        new_complaint(), details=CustomerDetails(phone="13812345678"), user=manager
    )
    assert result.customer == canonical != twin


def test_conflict_on_insert_is_retried_as_a_match(manager, monkeypatch):
    """The race: the lookup finds nothing, another intake commits the same customer, our
    insert hits the unique constraint. The savepoint is rolled back and the retry matches."""
    other = {}
    real_lookup = intake._find_customer

    def lookup_then_someone_else_inserts(details):
        found = real_lookup(details)
        if not other:
            other["customer"] = Customer.objects.create(name="Concurrent", phone=details.phone)
            return None  # as if the other insert was not yet visible
        return found

    monkeypatch.setattr(intake, "_one_statement", lambda: False)  # lookup, then insert
    monkeypatch.setattr(intake, "_find_customer", lookup_then_someone_else_inserts)
    result = intake.record_complaint(
        new_complaint(), details=CustomerDetails(name="王五", phone="13900001111"), user=manager
    )
    assert result.customer == other["customer"]
    assert result.matched is True
    assert Customer.objects.count() == 1
    assert Complaint.objects.get().customer == other["customer"]


@pytest.mark.postgres
def test_one_statement_lookup_and_insert_retries_a_conflict_as_a_match(manager, monkeypatch):
    """PostgreSQL looks up and inserts in one statement (ON CONFLICT DO NOTHING): when a
    concurrent intake inserted the person first, nothing is returned and the lookup runs
    again. Here the first round is made to report that conflict."""
    other = {}
    real = intake._find_or_insert

    def conflict_first(details, customer):
        if not other:
            other["customer"] = Customer.objects.create(name="Concurrent", phone=details.phone)
            return None, False  # as if our insert met the other one's row
        return real(details, customer)

    monkeypatch.setattr(intake, "_find_or_insert", conflict_first)
    result = intake.record_complaint(
        new_complaint(), details=CustomerDetails(name="王五", phone="13900001111"), user=manager
    )
    assert result.customer == other["customer"]
    assert result.matched is True
    assert Customer.objects.count() == 1


@pytest.mark.postgres
def test_one_statement_inserts_a_new_customer_with_every_field(manager):
    result = intake.record_complaint(
        new_complaint(),
        details=CustomerDetails(name="赵六", phone="13900002222", external_id="CRM-9"),
        user=manager,
    )
    assert result.matched is False
    stored = Customer.objects.get()
    assert stored == result.customer
    assert (stored.name, stored.phone, stored.external_id, stored.created_by) == (
        "赵六",
        "+8613900002222",
        "CRM-9",
        manager,
    )
    assert (stored.tier, stored.version, stored.duplicate_of) == ("standard", 1, None)
    assert stored.created_at == result.customer.created_at
    again = intake.record_complaint(
        new_complaint(), details=CustomerDetails(name="x", external_id="CRM-9"), user=manager
    )
    assert (again.customer, again.matched) == (stored, True)


def test_a_new_customer_needs_a_name_and_nothing_is_written(manager):
    with pytest.raises(IntakeError) as error:
        intake.record_complaint(
            new_complaint(), details=CustomerDetails(phone="13900001111"), user=manager
        )
    assert "name" in error.value.errors
    assert Customer.objects.count() == 0
    assert Complaint.objects.count() == 0


def test_an_invalid_phone_is_a_field_error(manager):
    with pytest.raises(IntakeError) as error:
        intake.record_complaint(
            new_complaint(), details=CustomerDetails(name="A", phone="hello"), user=manager
        )
    assert "phone" in error.value.errors
    assert not Customer.objects.exists()


def test_earlier_complaints_counts_only_what_the_recorder_may_see(manager):
    """The count is shown to the person recording: complaints they cannot open are not
    revealed through it."""
    service, other = DepartmentFactory(code="service"), DepartmentFactory(code="works")
    agent = UserFactory(
        username="agent",
        perms=["complaints.add_complaint", "complaints.view_complaint", "complaints.view_pii"],
    )
    customer = CustomerFactory(phone="+8613812345678")
    for department in (service, other, other):
        intake.record_complaint(
            new_complaint(department=department), customer=customer, user=manager
        )

    seen_by_manager = intake.record_complaint(
        new_complaint(), details=CustomerDetails(phone="13812345678"), user=manager
    )
    assert seen_by_manager.earlier_complaints == 3
    seen_by_agent = intake.record_complaint(
        new_complaint(), details=CustomerDetails(phone="13812345678"), user=agent
    )
    assert seen_by_agent.matched is True
    assert seen_by_agent.earlier_complaints == 0  # none they recorded themselves
    assert seen_by_agent.customer_was_visible is False


def test_migration_flags_existing_duplicates_and_keeps_every_customer(
    transactional_db, django_db_serialized_rollback
):
    """Existing data with duplicates: the oldest customer per phone / email / external id stays
    canonical, later ones get duplicate_of (no customer is deleted, complaints stay), and the
    unique constraints can then be created."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("complaints.migrations.0014_customer_identity")
    constraints = list(Customer._meta.constraints)
    with connection.schema_editor() as editor:
        for constraint in constraints:
            editor.remove_constraint(Customer, constraint)
    try:
        oldest = Customer.objects.create(name="A", phone="+8613800000001", email="a@x.cn")
        same_phone = Customer.objects.create(name="B", phone="+8613800000001")
        same_email = Customer.objects.create(name="C", email="A@X.cn ")
        same_id_1 = Customer.objects.create(name="D", external_id="CRM-1")
        same_id_2 = Customer.objects.create(name="E", external_id=" CRM-1")
        alone = Customer.objects.create(name="F", phone="+8613800000002", email="")
        with connection.schema_editor() as editor:
            migration.normalise_and_flag_duplicates(apps, editor)
    finally:
        with connection.schema_editor() as editor:
            for constraint in constraints:
                editor.add_constraint(Customer, constraint)  # fails if duplicates remain

    flags = dict(Customer.objects.values_list("name", "duplicate_of"))
    assert flags == {
        "A": None,
        "B": oldest.pk,
        "C": oldest.pk,
        "D": None,
        "E": same_id_1.pk,
        "F": None,
    }
    assert Customer.objects.get(pk=same_email.pk).email == "a@x.cn"
    assert Customer.objects.get(pk=same_id_2.pk).external_id == "CRM-1"
    assert {same_phone.pk, alone.pk} <= set(Customer.objects.values_list("pk", flat=True))


def test_model_validation_reports_the_clash():
    CustomerFactory(phone="+8613812345678")
    with pytest.raises(ValidationError):
        Customer(name="Twin", phone="+8613812345678").full_clean()


def test_earlier_complaints_are_not_counted_when_the_caller_does_not_show_them(manager):
    details = intake.CustomerDetails(name="王伟", phone="+8613900000077")
    intake.record_complaint(new_complaint(), details=details, user=manager)
    again = intake.record_complaint(
        new_complaint(), details=details, user=manager, count_earlier=False
    )
    assert again.matched and again.earlier_complaints is None
