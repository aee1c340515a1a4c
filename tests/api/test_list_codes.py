"""The list names categories and departments from this process's copy of their codes
(complaints/api/rows.py `codes()`): the page's statement joins neither table, the answer is
the same as with the joins, and the copy follows changes (new rows, renamed codes). The
`department`/`category` filters take the id from the same copy."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from complaints.api import rows
from complaints.models import Category, Complaint, Department
from complaints.services import reference_cache
from tests.factories import CategoryFactory, DepartmentFactory, make_complaint

pytestmark = pytest.mark.django_db
LIST = "/api/v1/complaints/"


@pytest.fixture
def shared(monkeypatch):
    """A shared cache (as with Redis), and the test's reference data taken as committed by
    another process (the test's own open transaction would otherwise keep no copy)."""
    monkeypatch.setattr(reference_cache, "shared", lambda: True)

    def committed():
        reference_cache._pending.connection = None

    return committed


def joined_json() -> list[dict]:
    queryset = Complaint.objects.order_by("-received_at", "-id")
    return rows.complaint_json(rows.values(queryset), pii=False, now=_now())


def _now():
    from django.utils import timezone

    return timezone.now()


def get(reader, **params):
    with CaptureQueriesContext(connection) as ctx:
        response = reader.get(LIST, params)
    assert response.status_code == 200, response.content
    return response.json()["results"], [q["sql"] for q in ctx.captured_queries]


@pytest.fixture
def made(department):
    water = CategoryFactory(code="water", default_department=department)
    other = DepartmentFactory(code="维修-2")
    return [
        make_complaint(category=water, department=department),
        make_complaint(department=other),
        make_complaint(),
    ]


def test_the_page_names_codes_without_joining_them(reader, made, shared):
    shared()
    assert rows.codes() is not None
    results, sqls = get(reader)
    [page] = [sql for sql in sqls if "complaints_customer" in sql]
    assert "complaints_category" not in page and "complaints_department" not in page
    assert results == joined_json()
    assert {(r["category"], r["department"]) for r in results} >= {
        ("water", "property"),
        (None, "维修-2"),
    }


def test_without_a_shared_cache_the_codes_are_joined(reader, made):
    assert rows.codes() is None
    results, sqls = get(reader)
    [page] = [sql for sql in sqls if "complaints_customer" in sql]
    assert "complaints_category" in page and "complaints_department" in page
    assert results == joined_json()


def test_a_category_newer_than_the_copy_is_named(reader, made, shared, department):
    shared()
    assert "late" not in rows.codes().ids[Category]
    # Made after the copy and not announced (as if its commit's token were not seen yet).
    late = Category(code="late", name="Late", default_department=department)
    Category.objects.bulk_create([late])
    newer = Department.objects.bulk_create([Department(code="newer", name="Newer")])[0]
    make_complaint(category=Category.objects.get(code="late"), department=newer)
    shared()
    results, _sqls = get(reader)
    assert results[0]["category"] == "late" and results[0]["department"] == "newer"
    assert results == joined_json()


def test_a_renamed_code_shows_on_the_next_page(reader, made, shared, department):
    shared()
    assert "property" in {r["department"] for r in get(reader)[0]}
    department.code = "property-2"
    department.save()  # the signal drops the copies
    shared()
    results, _sqls = get(reader)
    assert {r["department"] for r in results} >= {"property-2"}
    assert "property" not in {r["department"] for r in results}


def test_the_department_filter_takes_the_id_from_the_copy(reader, made, shared, department):
    shared()
    rows.codes()  # the copy is loaded
    results, sqls = get(reader, department=department.code)
    assert [r["reference"] for r in results] == [made[0].reference]
    assert not [sql for sql in sqls if 'FROM "complaints_department"' in sql]
    # A code the copy does not know is asked of the database: new, or no such code.
    Department.objects.bulk_create([Department(code="fresh", name="Fresh")])
    shared()
    fresh = Department.objects.get(code="fresh")
    mine = make_complaint(department=fresh)
    shared()
    results, sqls = get(reader, department="fresh")
    assert [r["reference"] for r in results] == [mine.reference]
    assert get(reader, department="nowhere")[0] == []
    assert [r["reference"] for r in get(reader, category="water")[0]] == [made[0].reference]
