"""Intake: recording a complaint together with its customer. One service for every entry point
(the admin add form, the API, imports).

Customer identity is backed by the database: among canonical customers a normalised phone,
email or external id belongs to one customer (conditional unique constraints, see
models.Customer). The intake looks the customer up by external id, then phone, then email; if
nobody is found it inserts one inside a savepoint. When a concurrent intake inserted the same
person between our lookup and our insert, the insert hits the constraint, the savepoint is
rolled back and the lookup runs again (READ COMMITTED: it now sees the other row). So two
simultaneous intakes for one new customer give one customer and two complaints, never a 500.

A match never changes the customer on file (a caller's different spelling of their name is
not a reason to rewrite someone's record), and the result says what the recorder may learn:
`customer_was_visible` is False when the matched customer had no complaint the recorder may
see (another department's customer); callers then show only what was entered
(see api.views and the README "Customers" section)."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from ..models import Complaint, Customer
from ..selectors import client_complaints, client_customers, visible_complaints, visible_customers
from . import lifecycle
from .customers import normalize_email, normalize_phone
from .errors import ServiceError
from .references import bind_type, db_value

# A conflicting insert is retried as a lookup; more than a couple of rounds means the data
# contradicts itself (e.g. phone of one customer, email of another) rather than a race.
ATTEMPTS = 3


class IntakeError(ServiceError):
    """Invalid intake input, field by field ({"name": [...], "phone": [...]}); nothing written."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__(" ".join(message for messages in errors.values() for message in messages))


@dataclass(frozen=True)
class CustomerDetails:
    """A customer as entered at intake (raw: normalised by the service)."""

    name: str = ""
    phone: str = ""
    email: str = ""
    external_id: str = ""

    def normalised(self) -> "CustomerDetails":
        errors: dict[str, list[str]] = {}
        try:
            phone = normalize_phone(self.phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
            phone = ""
        if errors:
            raise IntakeError(errors)
        return CustomerDetails(
            name=" ".join((self.name or "").split()),
            phone=phone,
            email=normalize_email(self.email),
            external_id=(self.external_id or "").strip(),
        )

    @property
    def identifies(self) -> bool:
        return bool(self.phone or self.email or self.external_id)


@dataclass(frozen=True)
class IntakeResult:
    complaint: Complaint
    customer: Customer
    matched: bool  # an existing customer was found (not created now)
    # The customer's earlier complaints the recorder may see (None: not counted, see
    # record_complaint's count_earlier).
    earlier_complaints: int | None
    customer_was_visible: bool = True  # the recorder could read the customer before
    entered: CustomerDetails = field(default_factory=CustomerDetails)


def validate_complaint(complaint: Complaint) -> None:
    """The intake rules every entry point shares (the admin form and the API serializer show
    the same messages): a subject is required, the description may be left empty (other systems
    often send only a subject; the admin form does not demand what the API does not)."""
    errors = {}
    complaint.subject = (complaint.subject or "").strip()
    complaint.description = (complaint.description or "").strip()
    if not complaint.subject:
        errors["subject"] = [_("Give the complaint a subject.")]
    if errors:
        raise IntakeError(errors)


def record_complaint(
    complaint: Complaint,
    *,
    customer: Customer | None = None,
    details: CustomerDetails | None = None,
    user=None,
    api_client=None,
    assisting=(),
    now=None,
    savepoint: bool = True,
    inserted_with=(),
    count_earlier: bool = True,
) -> IntakeResult:
    """Record `complaint` (unsaved, intake fields filled in) for `customer` (chosen on file) or
    for the customer `details` identify (matched, else created). Raises IntakeError or
    ServiceError with nothing written. `savepoint=False` inside a caller's transaction that
    is undone on any error anyway (the API's): two round trips fewer. `inserted_with`: rows
    inserted with the complaint (lifecycle.register_complaint). `count_earlier=False`: the
    caller does not show how many earlier complaints a matched customer has (the API's
    answer does not): one query fewer."""
    if (customer is None) == (details is None):
        raise ValueError("Give either customer or details.")
    validate_complaint(complaint)
    entered = details.normalised() if details is not None else CustomerDetails()
    if customer is None and not entered.identifies and not entered.name:
        raise IntakeError(
            {"customer": [_("Give at least the customer's name, phone, email or external id.")]}
        )
    with transaction.atomic(savepoint=savepoint):
        if customer is not None:
            lifecycle.check_customer_visible(user, customer)
            matched = True
        else:
            customer, matched = _match_or_create(entered, user=user)
        was_visible = not matched or _may_see_customer(customer, user=user, client=api_client)
        # A customer created just now has no earlier complaints (no query needed).
        if not count_earlier:
            earlier = None
        elif matched:
            earlier = _earlier_complaints(customer, user=user, client=api_client)
        else:
            earlier = 0
        complaint.customer = customer
        complaint.api_client = api_client
        if complaint.department_id is None and complaint.category_id is not None:
            complaint.department = complaint.category.default_department
        if complaint.department_id is None and api_client is not None:
            # Not routed by a category: a department's system sends its own department's
            # complaints (and must be able to read back what it sent).
            complaint.department = api_client.department
        complaint = lifecycle.register_complaint(
            complaint,
            user=user,
            now=now,
            assisting=assisting,
            new_customer=not matched,
            inserted_with=inserted_with,
        )
    return IntakeResult(
        complaint=complaint,
        customer=customer,
        matched=matched,
        earlier_complaints=earlier,
        customer_was_visible=was_visible,
        entered=entered,
    )


def find_or_create_customer(
    *, name: str = "", phone: str = "", email: str = "", external_id: str = "", user=None
) -> tuple[Customer, bool]:
    """The customer these details identify, created if nobody matches: (customer, created)."""
    details = CustomerDetails(name=name, phone=phone, email=email, external_id=external_id)
    with transaction.atomic():
        customer, matched = _match_or_create(details.normalised(), user=user)
    return customer, not matched


def find_customer(details: CustomerDetails) -> Customer | None:
    """The canonical customer the (raw) details identify, if any."""
    return _find_customer(details.normalised())


def _find_customer(details: CustomerDetails) -> Customer | None:
    """By external id, else phone, else email: one query for all three (each identifies at
    most one canonical customer)."""
    wanted = [
        (name, value)
        for name in ("external_id", "phone", "email")
        if (value := getattr(details, name))
    ]
    if not wanted:
        return None
    any_of = Q()
    for name, value in wanted:
        any_of |= Q(**{name: value})
    found = list(Customer.objects.filter(any_of, duplicate_of__isnull=True).order_by("pk")[:10])
    for name, value in wanted:
        for customer in found:
            if getattr(customer, name) == value:
                return customer
    return None


def _match_or_create(details: CustomerDetails, *, user) -> tuple[Customer, bool]:
    customer, invalid = None, None
    if details.name:
        customer = Customer(
            name=details.name,
            phone=details.phone,
            email=details.email,
            external_id=details.external_id,
            created_by=user if getattr(user, "pk", None) else None,
        )
        try:
            # created_by is the signed-in user (just loaded): no query to check it exists.
            customer.full_clean(
                exclude={"created_by"}, validate_unique=False, validate_constraints=False
            )
        except ValidationError as exc:
            customer, invalid = None, exc  # an error only if nobody on file matches
    for _attempt in range(ATTEMPTS):
        if customer is not None and details.identifies and _one_statement():
            found, made = _find_or_insert(details, customer)
            if found is not None or made:
                return (customer, False) if made else (found, True)
            customer = _fresh(customer)
            continue  # inserted by someone meanwhile: look again
        found = _find_customer(details)
        if found is not None:
            return found, True
        if not details.name:
            raise IntakeError({"name": [_("A new customer needs a name.")]})
        if customer is None:
            raise IntakeError(invalid.message_dict) from invalid
        try:
            with transaction.atomic():  # a savepoint: a conflict leaves the outer work intact
                customer.save(force_insert=True)
        except IntegrityError:
            customer = _fresh(customer)
            continue  # someone recorded this person meanwhile: look again
        return customer, False
    raise IntakeError(
        {
            "customer": [
                _(
                    "The phone, email and external id belong to different customers on file; "
                    "choose the customer instead."
                )
            ]
        }
    )


def _fresh(customer: Customer) -> Customer:
    """An unsaved copy of the customer to insert (a failed insert may have set fields)."""
    return Customer(
        name=customer.name,
        phone=customer.phone,
        email=customer.email,
        external_id=customer.external_id,
        created_by_id=customer.created_by_id,
    )


def _one_statement() -> bool:
    """PostgreSQL: the lookup and the insert are one statement (below)."""
    return connection.vendor == "postgresql"


_FIND_OR_INSERT: dict[tuple[str, ...], str] = {}


def _find_or_insert(details: CustomerDetails, customer: Customer) -> tuple[Customer | None, bool]:
    """One round trip for the lookup and, when nobody matches, the insert of `customer`
    (valid, unsaved): (the customer on file, False), or (None, True) with `customer` saved.
    (None, False): nobody matched, but a concurrent intake inserted the same person first (ON
    CONFLICT DO NOTHING waited for its commit; no savepoint is needed): look again."""
    wanted = tuple(name for name in ("external_id", "phone", "email") if getattr(details, name))
    sql = _FIND_OR_INSERT.get(wanted)
    fields = [f for f in Customer._meta.concrete_fields if not f.primary_key]
    if sql is None:
        quote = connection.ops.quote_name
        table = quote(Customer._meta.db_table)
        columns = ", ".join(quote(f.column) for f in Customer._meta.concrete_fields)
        any_of = " OR ".join(f"{quote(name)} = %s" for name in wanted)
        sql = _FIND_OR_INSERT[wanted] = (
            f"WITH found AS (SELECT {columns} FROM {table} "  # noqa: S608 - names, not input
            f"WHERE {quote('duplicate_of_id')} IS NULL AND ({any_of}) "
            f"ORDER BY {quote('id')} LIMIT 10), "
            f"made AS (INSERT INTO {table} ({', '.join(quote(f.column) for f in fields)}) "
            f"SELECT {', '.join(f'%s::{bind_type(f)}' for f in fields)} "
            f"WHERE NOT EXISTS (SELECT 1 FROM found) ON CONFLICT DO NOTHING "
            f"RETURNING {columns}) "
            f"SELECT false, {columns} FROM found UNION ALL SELECT true, {columns} FROM made"
        )
    params = [getattr(details, name) for name in wanted]
    params += [db_value(f, customer) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    names = [f.attname for f in Customer._meta.concrete_fields]
    if rows and rows[0][0]:
        customer.pk = rows[0][1]
        customer._state.adding, customer._state.db = False, connection.alias
        return None, True
    found = [Customer.from_db(connection.alias, names, row[1:]) for row in rows]
    for name in wanted:
        for candidate in found:
            if getattr(candidate, name) == getattr(details, name):
                return candidate, False
    return None, False


def _may_see_customer(customer: Customer, *, user, client) -> bool:
    if client is not None:
        if client.department_id is None:  # reads every customer (selectors): no query
            return True
        return client_customers(client, Customer.objects.filter(pk=customer.pk)).exists()
    if user is None:
        return False
    return visible_customers(user, Customer.objects.filter(pk=customer.pk)).exists()


def _earlier_complaints(customer: Customer, *, user, client) -> int:
    rows = Complaint.objects.filter(customer=customer)
    if client is not None:
        rows = client_complaints(client, rows)
    elif user is not None:
        rows = visible_complaints(user, rows)
    else:
        return 0
    return rows.count()
