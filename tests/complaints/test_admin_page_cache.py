"""The admin page's fixed parts rendered once per process (issue 15): the skeleton's theme
colours, command palette and shortcuts, the sidebar's user menu
(complaints/templatetags/fragment_cache.py, config/templates/unfold/layouts/skeleton.html),
the complaint list's column headers (complaints/admin/list_headers.py), the list's media,
the filter panel's buttons and the empty date range filter. Each page is compared whole
with the page unfold's own templates render (its change_list.html, rows included), in both
languages, for a manager, a department handler and a user without the personal-data right."""

import re

import pytest
from django.conf import settings
from django.test import override_settings
from django.urls import reverse

from complaints.admin import list_headers
from complaints.admin.complaints import ComplaintAdmin
from complaints.templatetags import filter_cache, fragment_cache
from tests.factories import CustomerFactory, make_complaint

from .test_privacy import masked_client, masked_user  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:complaints_complaint_changelist")
CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')


def _normalized(html: str) -> str:
    html = CSRF.sub(r"\1-\2", html)
    return re.sub(r"\s*([<>])\s*", r"\1", re.sub(r"\s+", " ", html))


def unfolds_own_templates():
    """The project's templates without config/templates (unfold's skeleton) and every
    fragment rendered each time."""
    templates = [{**settings.TEMPLATES[0], "DIRS": []}]
    return override_settings(TEMPLATES=templates)


@pytest.fixture
def listed(manager, department):
    customer = CustomerFactory(name="欧阳娜娜", phone="+8613812345678", email="n@example.com")
    return [
        make_complaint(user=manager, customer=customer, subject="<b>Leak</b> & more"),
        make_complaint(user=manager, department=department, subject="漏水"),
    ]


def _pages(client, urls, language):
    return [client.get(url, headers={"accept-language": language}).content.decode() for url in urls]


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("who", ["manager", "handler", "masked"])
def test_list_pages_are_unfolds_pages(
    request, who, language, listed, monkeypatch, manager_client, handler_client
):
    client = {
        "manager": manager_client,
        "handler": handler_client,
        "masked": request.getfixturevalue("masked_client") if who == "masked" else None,
    }[who]
    urls = [
        CHANGELIST,
        f"{CHANGELIST}?q={listed[0].reference}",
        f"{CHANGELIST}?q=13812345678",
        f"{CHANGELIST}?o=-3.1",  # sorted by two columns: priorities and toggles
        f"{CHANGELIST}?status__exact=new&q=a%22b%3C%26",
        reverse("admin:complaints_customer_changelist"),
        reverse("admin:index"),
    ]
    fragment_cache.clear()
    filter_cache.clear()
    ours = _pages(client, urls, language)
    again = _pages(client, urls, language)  # from the caches
    monkeypatch.setattr(fragment_cache, "ENABLED", False)
    monkeypatch.setattr(list_headers, "ENABLED", False)
    # unfold's own list page too: its rows, headers, media (complaint_change_list.html).
    monkeypatch.setattr(ComplaintAdmin, "change_list_template", None)
    monkeypatch.setattr(filter_cache, "_key", lambda context: None)  # filters: each time
    with unfolds_own_templates():
        theirs = _pages(client, urls, language)
    for url, first, second, original in zip(urls, ours, again, theirs, strict=True):
        assert "unfold-theme-colors" in original and 'id="search-input-command"' in original
        assert _normalized(first) == _normalized(original), url
        assert _normalized(second) == _normalized(original), url


def test_the_user_menu_is_each_users_own(manager_client, handler_client, manager, handler):
    manager.first_name, handler.first_name = "Managerfirstname", "Handlerfirstname"
    manager.save(update_fields=["first_name"])
    handler.save(update_fields=["first_name"])
    fragment_cache.clear()
    for _ in range(2):
        mine = manager_client.get(CHANGELIST).content.decode()
        theirs = handler_client.get(CHANGELIST).content.decode()
        assert "Managerfirstname" in mine and "Managerfirstname" not in theirs
        assert "Handlerfirstname" in theirs and "Handlerfirstname" not in mine


def test_the_csrf_token_is_the_requests_own(manager_client):
    """The cached user menu's forms (language, logout) carry this request's token."""
    fragment_cache.clear()
    for _ in range(2):
        response = manager_client.get(CHANGELIST)
        html = response.content.decode()
        logout = html.split('id="logout-form"', 1)[1].split("</form>", 1)[0]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', logout).group(1)
        assert "csrftoken" not in token
        # A masked token of this request's secret (the middleware accepts it).
        from django.middleware.csrf import _unmask_cipher_token

        secret = response.wsgi_request.META["CSRF_COOKIE"]
        assert _unmask_cipher_token(token) == secret


def test_the_shortcuts_follow_the_browser(manager_client):
    fragment_cache.clear()
    mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)"
    on_mac = manager_client.get(CHANGELIST, headers={"user-agent": mac}).content.decode()
    other = manager_client.get(CHANGELIST, headers={"user-agent": "Mozilla/5.0 (X11)"})
    assert "keyboard_command_key" in on_mac
    assert "keyboard_command_key" not in other.content.decode()
