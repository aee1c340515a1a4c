"""The API's `q` filter: the same search as the admin box (complaints/search.py); the
customer's name is a search key only with the pii:read scope."""

import pytest

from tests.factories import CustomerFactory, make_complaint

pytestmark = pytest.mark.django_db
LIST = "/api/v1/complaints/"


@pytest.fixture
def corpus(manager):
    wang = CustomerFactory(name="王伟", phone="+8613812340001")
    li = CustomerFactory(name="李华", phone="+8613812340003")
    return {
        "leak": make_complaint(user=manager, customer=li, subject="卫生间漏水到楼下"),
        "wang": make_complaint(user=manager, customer=wang, subject="电梯停运"),
        "other": make_complaint(user=manager, customer=li, subject="噪音扰民"),
    }


def _refs(response):
    assert response.status_code == 200, response.content
    return sorted(row["reference"] for row in response.json()["results"])


def test_q_finds_two_character_chinese_terms(full, corpus):
    assert _refs(full.get(LIST, {"q": "漏水"})) == [corpus["leak"].reference]
    assert _refs(full.get(LIST, {"q": "王伟"})) == [corpus["wang"].reference]
    assert _refs(full.get(LIST, {"q": "鳄鱼"})) == []


def test_q_searches_names_only_with_the_pii_scope(reader, corpus):
    assert _refs(reader.get(LIST, {"q": "王伟"})) == []
    assert _refs(reader.get(LIST, {"q": "漏水"})) == [corpus["leak"].reference]


def test_blank_q_lists_everything(full, corpus):
    assert len(_refs(full.get(LIST, {"q": "  "}))) == 3
