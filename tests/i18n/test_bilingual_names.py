"""Bilingual reference data (issue 11): the reader's language in lists, pickers and filters;
search matches the Chinese and the English name; no query per row."""

import pytest
from django.urls import reverse
from django.utils import translation

from complaints.models import BusinessCalendar, NotificationList, SLAPolicy
from complaints.services.categories import rebuild_paths
from tests.factories import CategoryFactory, DepartmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(login_client, superuser):
    return login_client(superuser)


def pick(client, model, field, term, language):
    response = client.get(
        "/admin/autocomplete/",
        {"app_label": "complaints", "model_name": model, "field_name": field, "term": term},
        headers={"accept-language": language},
    )
    assert response.status_code == 200
    return [r["text"] for r in response.json()["results"]]


def test_pickers_match_both_names_and_show_the_readers(admin_client):
    DepartmentFactory(code="wuye", name="物业管理部", name_en="Property Management")
    assert pick(admin_client, "complaint", "department", "Property", "en") == [
        "Property Management"
    ]
    assert pick(admin_client, "complaint", "department", "Property", "zh-hans") == ["物业管理部"]
    assert pick(admin_client, "complaint", "department", "物业", "en") == ["Property Management"]


def test_category_full_names_in_both_languages(admin_client):
    parent = CategoryFactory(code="building", name="建筑", name_en="Building")
    CategoryFactory(code="leak", name="渗漏", name_en="Leaks", parent=parent)
    rebuild_paths()
    assert pick(admin_client, "complaint", "category", "Leaks", "en") == ["Building / Leaks"]
    assert pick(admin_client, "complaint", "category", "Leaks", "zh-hans") == ["建筑 / 渗漏"]


def test_reference_data_from_migrations_is_bilingual():
    with translation.override("en"):
        assert str(BusinessCalendar.objects.get(code="cn")) == "China mainland office hours"
        assert str(NotificationList.objects.get(code="crisis")) == "Crisis list"
        assert str(SLAPolicy.objects.get(severity=1)) == "1 · Crisis"
    with translation.override("zh-hans"):
        assert str(BusinessCalendar.objects.get(code="cn")) == "中国大陆办公时间"
        assert str(NotificationList.objects.get(code="crisis")) == "危机通报名单"
        assert str(SLAPolicy.objects.get(severity=1)) == "1 · 危机"


def test_department_list_in_english_without_a_query_per_row(
    admin_client, django_assert_max_num_queries
):
    for i in range(3):
        DepartmentFactory(code=f"d{i}", name=f"部门{i}", name_en=f"Dept {i}")
    url = reverse("admin:complaints_department_changelist")
    with django_assert_max_num_queries(20):
        html = admin_client.get(url, headers={"accept-language": "en"}).content.decode()
    for i in range(3):
        assert f"Dept {i}" in html and f"部门{i}" not in html
    for i in range(3, 30):
        DepartmentFactory(code=f"d{i}", name=f"部门{i}", name_en=f"Dept {i}")
    with django_assert_max_num_queries(20):
        admin_client.get(url, headers={"accept-language": "en"})
