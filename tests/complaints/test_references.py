"""Complaint reference numbers: C-YYYY-NNNNNN, one sequence per year, never duplicated."""

import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import DataError, IntegrityError, connection, transaction

from complaints.models import Channel, Complaint, ReferenceCounter
from complaints.services import lifecycle
from complaints.services.references import format_reference, next_reference, reserve_numbers
from tests.factories import CustomerFactory


def test_format_reference():
    assert format_reference(2026, 7) == "C-2026-000007"
    assert format_reference(2026, 123456) == "C-2026-123456"


@pytest.mark.django_db
def test_reserve_numbers_hands_out_consecutive_blocks():
    assert reserve_numbers(2026) == range(1, 2)
    assert reserve_numbers(2026, 5) == range(2, 7)
    assert reserve_numbers(2026, 1) == range(7, 8)
    assert ReferenceCounter.objects.get(year=2026).last == 7


@pytest.mark.django_db
def test_each_year_has_its_own_sequence():
    assert next_reference(2026) == "C-2026-000001"
    assert next_reference(2026) == "C-2026-000002"
    assert next_reference(2027) == "C-2027-000001"
    assert next_reference(2026) == "C-2026-000003"


@pytest.mark.django_db
@pytest.mark.parametrize("count", [0, -1])
def test_reserve_numbers_refuses_nonpositive_count(count):
    with pytest.raises(ValueError):
        reserve_numbers(2026, count)
    assert not ReferenceCounter.objects.exists()


@pytest.mark.django_db
def test_number_of_a_rolled_back_intake_is_not_duplicated():
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        assert next_reference(2026) == "C-2026-000001"
        raise Boom
    # the reservation rolled back with the transaction: the number is handed out once only
    assert next_reference(2026) == "C-2026-000001"
    assert next_reference(2026) == "C-2026-000002"


@pytest.mark.django_db
@pytest.mark.parametrize("last", [0, 41, 999_999])
def test_intake_numbers_the_complaint_as_next_reference_does(manager, last):
    """PostgreSQL numbers the complaint in its INSERT (with the timeline event); other
    databases take next_reference first. Either way the same reference and timeline."""
    now = datetime(2026, 5, 6, 4, 0, tzinfo=UTC)
    if last:
        ReferenceCounter.objects.create(year=2026, last=last)
    complaint = lifecycle.register_complaint(
        Complaint(channel=Channel.WEB, customer=CustomerFactory(), subject="Lift", received_at=now),
        user=manager,
        now=now,
    )
    assert complaint.reference == format_reference(2026, last + 1)
    stored = Complaint.objects.get()
    assert (stored.pk, stored.reference) == (complaint.pk, complaint.reference)
    assert ReferenceCounter.objects.get(year=2026).last == last + 1
    [event] = stored.events.all()
    assert (event.kind, event.to_status, event.actor, event.created_at) == (
        "created",
        "new",
        manager,
        now,
    )
    assert event.data["channel"] == "web" and event.data["severity"] == stored.severity


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_over_long_subject_is_refused_not_cut_short(manager):
    """The one-statement insert binds text without its length (a cast to varchar(n) would
    store a longer subject cut short): the column refuses it, as the ORM's INSERT does, and
    nothing is stored or numbered."""
    now = datetime(2026, 5, 6, 4, 0, tzinfo=UTC)
    ReferenceCounter.objects.create(year=2026, last=41)
    limit = Complaint._meta.get_field("subject").max_length
    with pytest.raises(DataError), transaction.atomic():
        lifecycle.register_complaint(
            Complaint(
                channel=Channel.WEB,
                customer=CustomerFactory(),
                subject="漏" * (limit + 1),
                received_at=now,
            ),
            user=manager,
            now=now,
        )
    assert not Complaint.objects.exists()
    assert ReferenceCounter.objects.get(year=2026).last == 41


# -- concurrency (PostgreSQL: real row locks between connections) --------------------------


def run_in_threads(count: int, work) -> list[BaseException]:
    """Run work(index) in `count` threads started together; return the errors raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def target(index: int):
        try:
            barrier.wait(timeout=30)
            work(index)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker thread hung"
    return errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_intakes_get_unique_consecutive_references(manager):
    threads, per_thread = 8, 25
    # A year nobody has used yet: the first intakes also race to create the counter row.
    now = datetime(2031, 5, 6, 4, 0, tzinfo=UTC)
    customer = CustomerFactory()
    manager.has_perm("complaints.add_complaint")  # fill the permission cache once
    references: list[str] = []
    lock = threading.Lock()

    def work(index: int):
        for i in range(per_thread):
            complaint = lifecycle.register_complaint(
                Complaint(
                    channel=Channel.WEB,
                    customer=customer,
                    subject=f"Web complaint {index}-{i}",
                    description="Submitted through the web form.",
                    received_at=now,
                ),
                user=manager,
                now=now,
            )
            with lock:
                references.append(complaint.reference)

    errors = run_in_threads(threads, work)

    assert errors == []
    total = threads * per_thread
    assert len(references) == total
    assert len(set(references)) == total
    assert all(ref.startswith("C-2031-") for ref in references)
    assert sorted(int(ref.rsplit("-", 1)[1]) for ref in references) == list(range(1, total + 1))
    assert Complaint.objects.count() == total
    assert set(Complaint.objects.values_list("reference", flat=True)) == set(references)
    assert ReferenceCounter.objects.get(year=2031).last == total


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_reservations_for_a_fresh_year_never_overlap():
    threads, rounds = 8, 10
    year = 2040
    assert not ReferenceCounter.objects.filter(year=year).exists()
    blocks: list[range] = []
    lock = threading.Lock()

    def work(index: int):
        for i in range(rounds):
            block = reserve_numbers(year, (index + i) % 3 + 1)
            with lock:
                blocks.append(block)

    errors = run_in_threads(threads, work)

    assert errors == []
    numbers = sorted(n for block in blocks for n in block)
    total = sum((index + i) % 3 + 1 for index in range(threads) for i in range(rounds))
    assert numbers == list(range(1, total + 1))
    assert ReferenceCounter.objects.get(year=year).last == total


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_second_creator_of_the_counter_row_waits_and_takes_the_next_number(monkeypatch):
    """The IntegrityError path: B finds no row, tries to create it while A's creation is
    uncommitted, waits for A, fails on the primary key and then increments A's row."""
    year = 2041
    real_create = ReferenceCounter.objects.create
    integrity_errors: list[str] = []

    def spying_create(**kwargs):
        try:
            return real_create(**kwargs)
        except IntegrityError:
            integrity_errors.append(threading.current_thread().name)
            raise

    monkeypatch.setattr(ReferenceCounter.objects, "create", spying_create)
    a_reserved, b_ready = threading.Event(), threading.Event()
    b_pid: list[int] = []
    results: dict[str, range] = {}
    errors: list[BaseException] = []
    saw_b_waiting: list[bool] = []

    def thread_a():
        try:
            assert b_ready.wait(timeout=10)
            with transaction.atomic():
                results["A"] = reserve_numbers(year)
                a_reserved.set()
                # hold the uncommitted row until B is blocked on it (or give up after 10 s)
                deadline = time.monotonic() + 10
                waiting = False
                while not waiting and time.monotonic() < deadline:
                    with connection.cursor() as cursor:
                        cursor.execute(
                            "SELECT count(*) FROM pg_locks WHERE NOT granted AND pid = %s",
                            b_pid,
                        )
                        waiting = cursor.fetchone()[0] > 0
                    time.sleep(0.02)
                saw_b_waiting.append(waiting)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    def thread_b():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                b_pid.append(cursor.fetchone()[0])
            b_ready.set()
            assert a_reserved.wait(timeout=10)
            results["B"] = reserve_numbers(year)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    a = threading.Thread(target=thread_a, name="A")
    b = threading.Thread(target=thread_b, name="B")
    b.start()  # B learns its backend pid first, then waits for A
    a.start()
    a.join(timeout=30)
    b.join(timeout=30)

    assert errors == []
    assert saw_b_waiting == [True]
    assert integrity_errors == ["B"]
    assert results == {"A": range(1, 2), "B": range(2, 3)}
    assert ReferenceCounter.objects.get(year=year).last == 2


@pytest.mark.django_db
def test_db_value_sends_what_djangos_conversion_sends():
    """references.db_value passes plain values through itself (str, bool, int, aware
    times, keys): each equals Django's pre_save + get_db_prep_save, of the same type (e.g.
    psycopg's Int2/Int4 for small and plain integers)."""
    import warnings

    import time_machine
    from django.db.models import JSONField

    from complaints.models import Customer, IdempotencyRecord
    from complaints.services.references import db_value

    def djangos(field, instance):
        value = field.pre_save(instance, True)
        if value is None and not isinstance(field, JSONField):
            return None
        return field.get_db_prep_save(value, connection)

    with time_machine.travel(datetime(2026, 3, 10, 2, 0, tzinfo=UTC), tick=False):
        customer = CustomerFactory()
        complaint = Complaint(
            channel=Channel.WEB,
            subject="漏水",
            customer=customer,
            received_at=datetime(2026, 3, 10, 1, 0, tzinfo=UTC),
            households_affected=3,
            media_risk=True,
        )
        complaint = lifecycle.register_complaint(complaint, user=None)
        odd = Complaint(
            subject="x",
            households_affected="7",  # a string for an integer: converted by Django
            media_risk=1,  # an int for a boolean
            received_at=datetime(2026, 3, 10, 1, 0),  # naive: made aware, with a warning
            customer_id=customer.pk,
        )
        instances = [
            complaint,
            complaint.events.get(),
            IdempotencyRecord(key="k", request_hash="h", complaint=complaint),
            Customer(name="王伟", phone="+8613900000000", email="w@example.cn"),
            odd,
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for instance in instances:
                for field in type(instance)._meta.local_concrete_fields:
                    if field.primary_key:
                        continue
                    got, expected = db_value(field, instance), djangos(field, instance)
                    assert type(got) is type(expected), (field, got, expected)
                    if not isinstance(field, JSONField):
                        assert got == expected, (field, got, expected)
                    else:
                        assert getattr(got, "obj", got) == getattr(expected, "obj", expected)
