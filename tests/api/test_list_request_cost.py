"""What the list endpoint skips or shares per request (issue #15) without changing answers:
no filterset when no filter parameter is sent, filters copied shallowly but bound to their
own filterset, one form class per language, and PostgreSQL times read by the fast loader
with the values of Django's own."""

from datetime import UTC, datetime
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import translation

from complaints import pg_times
from complaints.api.filters import ComplaintFilter
from complaints.models import Complaint
from tests.factories import make_complaint

pytestmark = pytest.mark.django_db
LIST = "/api/v1/complaints/"


def test_a_page_without_filter_parameters_builds_no_filterset(reader, department):
    made = make_complaint()
    with mock.patch.object(ComplaintFilter, "get_form_class") as form:
        response = reader.get(LIST)
        assert response.status_code == 200, response.content
        assert [row["reference"] for row in response.json()["results"]] == [made.reference]
        form.assert_not_called()


def test_a_filter_parameter_still_filters_and_validates(reader, department):
    make_complaint()
    assert reader.get(f"{LIST}?status=closed").json()["results"] == []
    assert len(reader.get(f"{LIST}?status=new&page_size=5").json()["results"]) == 1
    bad = reader.get(f"{LIST}?status=nonsense")
    assert bad.status_code == 400
    assert "status" in str(bad.json())


def test_filters_are_copies_bound_to_their_own_filterset():
    one, two = (ComplaintFilter({}, Complaint.objects.all()) for _ in range(2))
    for name in ("q", "department", "overdue"):
        declared = ComplaintFilter.base_filters[name]
        assert one.filters[name] is not declared and two.filters[name] is not one.filters[name]
        assert one.filters[name].parent is one and two.filters[name].parent is two
        assert one.filters[name].filter.f is one.filters[name]  # the method of its parent
        assert one.filters[name].filter.method.__self__ is one
        assert not hasattr(declared, "parent")


def test_the_form_class_is_built_once_per_language():
    with translation.override("en"):
        english = ComplaintFilter({}, Complaint.objects.all()).get_form_class()
        assert ComplaintFilter({}, Complaint.objects.all()).get_form_class() is english
    with translation.override("zh-hans"):
        chinese = ComplaintFilter({}, Complaint.objects.all()).get_form_class()
    assert chinese is not english
    assert list(chinese.base_fields) == list(ComplaintFilter.base_filters)


postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
TEXTS = [
    "2026-01-01 12:34:56.123456+00",
    "2026-01-01 12:34:56.5+00",
    "2026-01-01 12:34:56+00",
    "0099-06-30 23:59:59.000001+00",
    "9999-12-31 23:59:59.999999+00",
    "2026-03-10 10:00:00+08",
    "1900-01-01 00:00:00+05:53:28",
    "2000-01-01 00:00:00+00 BC",
    "infinity",
]


@postgres
@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("zone", [UTC, ZoneInfo("Asia/Shanghai"), None])
def test_the_fast_loader_reads_what_djangos_loader_reads(text, zone):
    from django.db.backends.postgresql.psycopg_any import BaseTzLoader

    connection.ensure_connection()
    pg = connection.connection
    django_loader = type("L", (BaseTzLoader,), {"timezone": zone})(1184, pg)
    fast = pg_times.loader_for(zone)(1184, pg)
    try:
        expected = django_loader.load(text.encode())
    except Exception as exc:  # e.g. infinity, BC: the same error
        with pytest.raises(type(exc)):
            fast.load(text.encode())
        return
    got = fast.load(text.encode())
    assert got == expected and got.tzinfo is expected.tzinfo
    assert got.isoformat() == expected.isoformat()


@postgres
def test_postgresql_connections_read_times_with_the_fast_loader(department):
    from psycopg.adapt import PyFormat  # noqa: F401  (psycopg 3 is there)
    from psycopg.pq import Format

    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, Format.TEXT)
    assert issubclass(loader, pg_times.FastTzLoader)
    assert loader.timezone == connection.timezone
    made = make_complaint(received_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
    assert Complaint.objects.get(pk=made.pk).received_at == made.received_at


def test_each_form_has_its_own_fields_sharing_what_validation_reads():
    one, two = (ComplaintFilter({"status": ["new"]}, Complaint.objects.all()).form for _ in "12")
    base = type(one).base_fields
    for name in ("status", "department", "received_after"):
        assert one.fields[name] is not two.fields[name] is not base[name]
        assert one.fields[name].widget is base[name].widget  # shared, read only
    one.fields["status"].required = True
    assert two.fields["status"].required is False and base["status"].required is False
    assert one.is_valid() and two.is_valid()
    assert one.cleaned_data["status"] == ["new"]
    bad = ComplaintFilter({"status": ["nonsense"]}, Complaint.objects.all()).form
    assert not bad.is_valid() and "status" in bad.errors
