"""Chinese search by character bigrams (complaints/search.py): two-character terms find
exactly the complaints whose subject or customer name contains them, and on PostgreSQL they
are lookups in the bigram indexes, not scans."""

import pytest
from django.db import connection, transaction
from django.urls import reverse

from complaints.models import Complaint, Customer
from complaints.search import matches, search_complaints, term_bigrams
from tests.factories import CustomerFactory, make_complaint

from .test_admin_list import shown_references

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:complaints_complaint_changelist")


@pytest.fixture
def corpus(manager):
    wang = CustomerFactory(name="王伟", phone="+8613812340001")
    wangxiao = CustomerFactory(name="王小伟", phone="+8613812340002")
    li = CustomerFactory(name="李华", phone="+8613812340003")
    return {
        "leak": make_complaint(user=manager, customer=li, subject="3栋1201卫生间漏水到楼下"),
        "ceiling": make_complaint(user=manager, customer=li, subject="天花板漏水"),
        "wang": make_complaint(user=manager, customer=wang, subject="电梯停运"),
        "wangxiao": make_complaint(user=manager, customer=wangxiao, subject="噪音扰民"),
        "scattered": make_complaint(user=manager, customer=li, subject="水漏水"),
    }


def _search(client, term):
    return sorted(shown_references(client.get(CHANGELIST, {"q": term})))


def _refs(corpus, *keys):
    return sorted(corpus[k].reference for k in keys)


def test_two_character_subject_term(manager_client, corpus):
    assert _search(manager_client, "漏水") == _refs(corpus, "leak", "ceiling", "scattered")


def test_two_character_name_term_is_a_substring_match(manager_client, corpus):
    # 王伟 is in 王伟 but not in 王小伟 (which has the characters, not the pair).
    assert _search(manager_client, "王伟") == _refs(corpus, "wang")


def test_longer_term_needs_the_contiguous_text_not_just_its_bigrams(manager_client, corpus):
    # 漏水漏 has the bigrams 漏水 and 水漏, both in 水漏水, but 水漏水 does not contain it.
    assert _search(manager_client, "漏水漏") == []
    assert _search(manager_client, "卫生间漏水") == _refs(corpus, "leak")


def test_term_matching_nothing(manager_client, corpus):
    assert _search(manager_client, "鳄鱼") == []


def test_nul_characters_are_ignored_not_an_error(corpus):
    def found(term):
        rows = search_complaints(Complaint.objects.all(), term, pii=True)
        return sorted(c.reference for c in rows)

    assert found("漏\x00水") == []  # 漏 水: two words, not the pair
    assert found("\x00漏水") == _refs(corpus, "leak", "ceiling", "scattered")


def test_single_character_still_searches(manager_client, corpus):
    assert _search(manager_client, "李") == _refs(corpus, "leak", "ceiling", "scattered")


def test_without_personal_data_right_names_are_no_search_key(corpus):
    found = search_complaints(Complaint.objects.all(), "王伟", pii=False)
    assert list(found) == []
    found = search_complaints(Complaint.objects.all(), "王伟", pii=True)
    assert [c.reference for c in found] == [corpus["wang"].reference]


def test_term_bigrams_skip_whitespace_and_ignore_case():
    assert term_bigrams("漏 水ab") == {"AB", "水A"}
    assert term_bigrams("漏") == set()


@pytest.mark.postgres
def test_database_bigrams_match_the_python_rule():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT redress_bigrams(%s), redress_bigrams(''), redress_bigrams('漏')", ["漏 水ab"]
        )
        bigrams, empty, single = cursor.fetchone()
    assert set(bigrams) == term_bigrams("漏 水ab")
    assert empty == [] and single == []


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        # The indexes as on fresh tables (rolled back with the test): rows earlier tests of
        # this process inserted and rolled back leave them larger, and on a table of a few
        # rows the planner then took another index of about the same cost.
        cursor.execute("REINDEX TABLE complaints_complaint")
        cursor.execute("REINDEX TABLE complaints_customer")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
def test_two_character_search_is_an_index_lookup(corpus):
    plan = _plan(search_complaints(Complaint.objects.all(), "漏水", pii=False))
    assert "complaint_subject_bigram" in plan
    customers = Customer.objects.all()
    plan = _plan(customers.filter(matches("name", "王伟", vendor="postgresql")))
    assert "customer_name_bigram" in plan


@pytest.mark.postgres
def test_two_character_term_is_not_also_a_trigram_scan(corpus):
    # pg_trgm holds no trigram of a two-character term: ANDed in, its index was read whole.
    plan = _plan(search_complaints(Complaint.objects.all(), "漏水", pii=False))
    assert "complaint_subject_trgm" not in plan
    assert "~~" not in plan  # no LIKE at all: the bigram is the exact match


@pytest.mark.postgres
def test_longer_term_uses_the_trigram_index_alone(corpus):
    found = Complaint.objects.filter(matches("subject", "卫生间漏水", vendor="postgresql"))
    sql, params = found.query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        for scan in ("seqscan", "indexscan", "indexonlyscan"):  # leave bitmap scans only
            cursor.execute(f"SET LOCAL enable_{scan} = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "complaint_subject_trgm" in plan
    assert "complaint_subject_bigram" not in plan


def test_two_character_latin_term_ignores_case(manager_client, corpus):
    shouting = make_complaint(user=corpus["leak"].created_by, subject="WiFi 断线")
    assert shouting.reference in _search(manager_client, "wi")
