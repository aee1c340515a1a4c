"""Each role sees in the sidebar only what it may open; error pages are styled, translated
and inside the admin frame (defect 6)."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

RESTRICTED = {
    "SLA policies": "admin:complaints_slapolicy_changelist",
    "Business calendars": "admin:complaints_businesscalendar_changelist",
    "Holidays": "admin:complaints_calendarexception_changelist",
    "Staff users": "admin:auth_user_changelist",
}


def role_user(role: str, department, username: str):
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=role))
    MembershipFactory(department=department, user=user)
    return user


def client_for(user, language="en"):
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


def sidebar_links(html: str) -> set[str]:
    sidebar = html.split('id="nav-sidebar-inner"', 1)[-1] if "nav-sidebar-inner" in html else html
    return {url for url in (reverse(name) for name in RESTRICTED.values()) if url in sidebar}


def test_handler_sidebar_hides_pages_the_role_cannot_open(department):
    handler = role_user("Handler · 处理专员", department, "h")
    html = client_for(handler).get(reverse("admin:index")).content.decode()
    assert sidebar_links(html) == set()
    assert reverse("admin:complaints_complaint_changelist") in html


def test_every_sidebar_entry_opens_for_each_role(department):
    """Whatever the sidebar offers a role, the page opens (no 403 behind a menu entry)."""
    import re

    for role in (
        "Intake agent · 受理专员",
        "Handler · 处理专员",
        "Department head · 部门负责人",
        "Complaint manager · 投诉经理",
        "Auditor · 审计员",
        "System administrator · 系统管理员",
    ):
        user = role_user(role, department, f"u{abs(hash(role)) % 10**6}")
        client = client_for(user)
        html = client.get(reverse("admin:index")).content.decode()
        nav = html.split("<nav", 1)[1].split("</nav>", 1)[0] if "<nav" in html else html
        links = set(re.findall(r'href="(/admin/[^"?#]+)"', nav))
        assert links, role
        for link in links:
            status = client.get(link).status_code
            assert status == 200, (role, link, status)


def test_manager_sidebar_shows_deadline_settings(department):
    manager = role_user("Complaint manager · 投诉经理", department, "m")
    html = client_for(manager).get(reverse("admin:index")).content.decode()
    assert reverse("admin:complaints_slapolicy_changelist") in sidebar_links(html)


@pytest.mark.parametrize(
    ("language", "heading"), [("en", "You may not open this page"), ("zh-hans", "无权打开此页面")]
)
def test_403_is_styled_translated_and_inside_the_admin_frame(department, language, heading):
    handler = role_user("Handler · 处理专员", department, "h")
    response = client_for(handler, language).get(reverse("admin:auth_user_changelist"))
    assert response.status_code == 403
    html = response.content.decode()
    assert heading in html
    assert 'class="error-page' in html
    assert reverse("admin:complaints_complaint_changelist") in html  # the sidebar is there
    assert reverse("admin:index") in html


def test_404_inside_the_admin_frame_for_staff(department):
    handler = role_user("Handler · 处理专员", department, "h")
    response = client_for(handler).get("/admin/complaints/complaint/999999/change/")
    assert response.status_code in (302, 404)
    response = client_for(handler).get("/admin/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "Page not found" in html
    assert reverse("admin:complaints_complaint_changelist") in html


def test_404_for_visitors_is_styled_without_the_frame(client):
    response = client.get("/no-such-page/", headers={"accept-language": "zh-hans"})
    assert response.status_code == 404
    html = response.content.decode()
    assert "页面不存在" in html
    assert 'class="error-page' in html


def test_404_under_api_is_json(client):
    response = client.get("/api/v1/no-such-endpoint/")
    assert response.status_code == 404
    assert response.json()["detail"]


def test_cached_sidebar_never_shows_one_users_menu_to_another(department):
    """The sidebar's navigation list is rendered once per distinct content and reused
    (complaints.templatetags.sidebar_cache): a manager's menu cached first must not reach a
    handler, and a permission change shows on the next page."""
    from complaints.templatetags import sidebar_cache

    sidebar_cache.clear()
    manager = role_user("Complaint manager · 投诉经理", department, "m")
    handler = role_user("Handler · 处理专员", department, "h")
    slas = reverse("admin:complaints_slapolicy_changelist")
    index = reverse("admin:index")
    manager_client, handler_client = client_for(manager), client_for(handler)

    assert slas in sidebar_links(manager_client.get(index).content.decode())
    cached = len(sidebar_cache._cache)
    assert cached >= 1
    assert sidebar_links(handler_client.get(index).content.decode()) == set()
    assert slas in sidebar_links(manager_client.get(index).content.decode())
    assert len(sidebar_cache._cache) == cached + 1  # the manager's entry was reused
    # In Chinese, the same permissions: another entry, not the English one.
    html = client_for(manager, "zh-hans").get(index).content.decode()
    assert slas in sidebar_links(html)
    assert "所有应用" in html and "All applications" not in html

    handler.groups.add(Group.objects.get(name="Complaint manager · 投诉经理"))
    assert slas in sidebar_links(handler_client.get(index).content.decode())


def test_cached_sidebar_shows_each_users_own_badge(department, monkeypatch):
    """Users with the same menu share one cached rendering; the inbox count in it is each
    user's own (a placeholder filled per request)."""
    import re

    from complaints.admin import alerts
    from complaints.templatetags import sidebar_cache

    sidebar_cache.clear()
    counts = {"h1": 3, "h2": 0, "h3": 17}
    monkeypatch.setattr(alerts, "unread_count", lambda request: counts[request.user.username])
    index = reverse("admin:index")

    def badges(username):
        client = client_for(role_user("Handler · 处理专员", department, username))
        html = client.get(index).content.decode().split('id="nav-sidebar-apps"', 1)[1]
        return re.findall(r"sidebar-badge[^>]*>\s*([^<\s]*)\s*</span>", html)

    assert badges("h1") == ["3"]
    assert badges("h2") == []
    assert badges("h3") == ["17"]
    assert len(sidebar_cache._cache) == 2  # with a badge, without one


def sidebar_part(html: str) -> str:
    """The sidebar's navigation and "all applications" panel (the cached fragment)."""
    return html.split('id="nav-sidebar-apps"', 1)[1].split("openUserLinks", 1)[0]


def test_cached_sidebar_is_each_users_own_across_roles_languages_and_pages(department):
    """The sidebar is found by the answers of the permission checks it is made of
    (sidebar_cache.answers_key): whatever another user, language or page put in the cache
    first, each page shows the sidebar it shows with an empty cache."""
    from complaints.templatetags import sidebar_cache

    roles = ["Handler · 处理专员", "Department head · 部门负责人", "Complaint manager · 投诉经理"]
    users = [role_user(role, department, f"u{index}") for index, role in enumerate(roles)]
    users.append(UserFactory(username="root", is_superuser=True))
    outsider = role_user("Handler · 处理专员", department, "outsider")
    outsider.department_memberships.all().delete()  # reply templates: no department to add to
    users.append(outsider)
    pages = [reverse("admin:index"), reverse("admin:complaints_complaint_changelist")]
    visits = [(u, lang, page) for u in users for lang in ("en", "zh-hans") for page in pages]

    cold = {}
    for user, language, page in visits:
        sidebar_cache.clear()
        response = client_for(user, language).get(page)
        if response.status_code == 200:
            cold[(user.pk, language, page)] = sidebar_part(response.content.decode())
    assert len(set(cold.values())) > 4  # roles, languages and pages differ
    sidebar_cache.clear()
    for user, language, page in reversed(visits):
        if (user.pk, language, page) in cold:
            html = client_for(user, language).get(page).content.decode()
            assert sidebar_part(html) == cold[(user.pk, language, page)], (user, language, page)
    assert sidebar_cache._answers  # the cheap key was used


def test_cached_sidebar_shows_a_permission_given_to_the_user_at_once(department):
    from django.contrib.auth.models import Permission

    from complaints.templatetags import sidebar_cache

    sidebar_cache.clear()
    handler = role_user("Handler · 处理专员", department, "h")
    client = client_for(handler)
    page = reverse("admin:complaints_complaint_changelist")
    slas = reverse("admin:complaints_slapolicy_changelist")
    assert slas not in sidebar_links(client.get(page).content.decode())
    handler.user_permissions.add(Permission.objects.get(codename="view_slapolicy"))
    assert slas in sidebar_links(client.get(page).content.decode())
    handler.user_permissions.clear()
    assert slas not in sidebar_links(client.get(page).content.decode())


def test_a_page_with_its_sidebar_cached_builds_no_app_list_or_navigation(department):
    from unittest import mock

    from django.contrib import admin
    from unfold.sites import UnfoldAdminSite

    from complaints.templatetags import sidebar_cache

    sidebar_cache.clear()
    client = client_for(role_user("Complaint manager · 投诉经理", department, "m"))
    page = reverse("admin:complaints_complaint_changelist")
    first = client.get(page).content.decode()
    site = type(admin.site)
    apps = mock.Mock(wraps=site._build_app_dict)
    navigation = mock.Mock(wraps=UnfoldAdminSite._get_navigation_items)
    with (
        mock.patch.object(site, "_build_app_dict", lambda s, *a, **k: apps(s, *a, **k)),
        mock.patch.object(site, "_get_navigation_items", lambda s, *a: navigation(s, *a)),
    ):
        again = client.get(page).content.decode()
    assert sidebar_part(again) == sidebar_part(first)
    assert apps.call_count == 0 and navigation.call_count == 0
