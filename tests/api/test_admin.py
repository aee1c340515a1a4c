"""The admin of API clients: keys are shown once, never again, and can be replaced."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from complaints.models import ApiClient
from tests.factories import UserFactory, form_fields

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:complaints_apiclient_changelist")
ADD = reverse("admin:complaints_apiclient_add")
KEY = re.compile(r"rdx_[A-Za-z0-9_\-]{40,}")


def change_url(client):
    return reverse("admin:complaints_apiclient_change", args=[client.pk])


def delete_url(client):
    return reverse("admin:complaints_apiclient_delete", args=[client.pk])


@pytest.fixture
def admin_client(login_client, superuser):
    return login_client(superuser)


def keys_in(response) -> list[str]:
    return KEY.findall(" ".join(str(m) for m in get_messages(response.wsgi_request)))


def add_client(admin_client, **fields):
    page = admin_client.get(ADD)
    data = form_fields(page.content.decode(), "apiclient_form")
    data.update(fields)
    return admin_client.post(ADD, data)


def test_list_shows_the_clients(admin_client, make_api_client, department):
    make_api_client(["complaints:read", "pii:read"], department=department, name="crm")
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "crm" in html
    assert "complaints:read, pii:read" in html
    assert "Property management" in html
    for column in ("owner", "active", "scope_list", "department", "created_at", "last_used_at"):
        assert f"column-{column}" in html


def test_add_form_offers_the_scopes_as_checkboxes(admin_client):
    html = admin_client.get(ADD).content.decode()
    for scope in ("complaints:read", "complaints:write", "compensations:read", "pii:read"):
        assert re.search(rf'type="checkbox"[^>]*name="scopes"[^>]*value="{scope}"', html) or (
            re.search(rf'name="scopes"[^>]*type="checkbox"[^>]*value="{scope}"', html)
        ), scope
    assert "key_hash" not in html


def test_adding_a_client_shows_its_key_once(admin_client, department):
    response = add_client(
        admin_client,
        name=["crm"],
        owner=["CRM team"],
        scopes=["complaints:read", "complaints:write"],
        department=[str(department.pk)],
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [key] = keys_in(response)
    client = ApiClient.objects.get(name="crm")
    assert client.scopes == ["complaints:read", "complaints:write"]
    assert client.department == department
    assert client.key_matches(key)
    assert key.startswith(client.key_prefix)

    # The message is shown on the next page, and only there.
    shown = admin_client.get(response["Location"]).content.decode()
    assert key in shown and "copy it now" in shown
    assert key not in admin_client.get(CHANGELIST).content.decode()
    change = admin_client.get(change_url(client)).content.decode()
    assert key not in change
    assert client.key_hash not in change
    assert client.key_prefix in change  # recognisable without revealing it


def test_scopes_are_required_and_known(admin_client):
    response = add_client(admin_client, name=["crm"], scopes=[])
    assert response.status_code == 200
    response = add_client(admin_client, name=["crm"], scopes=["complaints:delete"])
    assert response.status_code == 200
    assert not ApiClient.objects.exists()


def test_editing_a_client_keeps_its_key(admin_client, make_api_client, api):
    client, key = make_api_client(["complaints:read"], name="crm")
    page = admin_client.get(change_url(client)).content.decode()
    assert key not in page
    data = form_fields(page, "apiclient_form")
    data["scopes"] = ["complaints:read", "pii:read"]
    data["owner"] = ["New owner"]
    response = admin_client.post(change_url(client), data)
    assert response.status_code == 302
    assert keys_in(response) == []
    client.refresh_from_db()
    assert client.scopes == ["complaints:read", "pii:read"]
    assert client.owner == "New owner"
    assert client.key_matches(key)
    assert api(key).get("/api/v1/departments/").status_code == 200


def test_deactivating_a_client_locks_it_out(admin_client, make_api_client, api):
    client, key = make_api_client(["complaints:read"], name="crm")
    data = form_fields(admin_client.get(change_url(client)).content.decode(), "apiclient_form")
    data.pop("active", None)
    assert admin_client.post(change_url(client), data).status_code == 302
    assert api(key).get("/api/v1/departments/").status_code == 401


def test_issue_a_new_key(admin_client, make_api_client, api):
    client, old = make_api_client(["complaints:read"], name="crm")
    response = admin_client.post(
        CHANGELIST, {"action": "issue_new_key", "_selected_action": [str(client.pk)]}
    )
    assert response.status_code == 302
    [new] = keys_in(response)
    assert new != old
    assert api(old).get("/api/v1/departments/").status_code == 401
    assert api(new).get("/api/v1/departments/").status_code == 200
    assert new in admin_client.get(response["Location"]).content.decode()  # the one showing
    assert new not in admin_client.get(change_url(client)).content.decode()


def test_issue_new_keys_for_several_clients(admin_client, make_api_client):
    a, _ = make_api_client(["complaints:read"], name="a")
    b, _ = make_api_client(["complaints:read"], name="b")
    response = admin_client.post(
        CHANGELIST, {"action": "issue_new_key", "_selected_action": [str(a.pk), str(b.pk)]}
    )
    keys = keys_in(response)
    assert len(keys) == 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert a.key_matches(keys[0]) and b.key_matches(keys[1])


def test_issuing_keys_needs_the_change_permission(login_client, make_api_client):
    client, key = make_api_client(["complaints:read"], name="crm")
    viewer = login_client(UserFactory(perms=["complaints.view_apiclient"]))
    assert viewer.get(CHANGELIST).status_code == 200
    response = viewer.post(
        CHANGELIST, {"action": "issue_new_key", "_selected_action": [str(client.pk)]}
    )
    client.refresh_from_db()
    assert client.key_matches(key)
    assert keys_in(response) == []


def test_only_a_never_used_client_can_be_deleted(admin_client, make_api_client, api):
    unused, _ = make_api_client(["complaints:read"], name="typo")
    used, key = make_api_client(["complaints:read"], name="crm")
    api(key).get("/api/v1/departments/")

    assert admin_client.get(delete_url(used)).status_code == 403
    assert admin_client.post(delete_url(used), {"post": "yes"}).status_code == 403
    assert admin_client.post(delete_url(unused), {"post": "yes"}).status_code == 302
    assert list(ApiClient.objects.values_list("name", flat=True)) == ["crm"]

    # No bulk delete (it would bypass the check).
    actions = admin_client.get(CHANGELIST).content.decode()
    assert "delete_selected" not in actions


def test_sidebar_has_api_clients(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    assert CHANGELIST in html
    assert "API clients" in html


# -- reissuing follows the rule of creation (issue 10, medium 7) -------------------------------

KEY_MANAGER_PERMS = [
    "complaints.view_apiclient",
    "complaints.add_apiclient",
    "complaints.change_apiclient",
    "complaints.view_complaint",
    "complaints.add_complaint",
]


@pytest.fixture
def key_manager(login_client):
    """May manage API clients; sees all complaints; holds complaints:read and :write, not
    pii:read."""
    perms = [*KEY_MANAGER_PERMS, "complaints.view_all_complaints"]
    return login_client(UserFactory(username="keys", perms=perms))


def reissue(client_, *clients):
    return client_.post(
        CHANGELIST,
        {"action": "issue_new_key", "_selected_action": [str(c.pk) for c in clients]},
    )


def test_a_new_key_needs_every_scope_of_the_client(key_manager, make_api_client, api):
    pii, pii_key = make_api_client(["complaints:read", "pii:read"], name="pii")
    plain, plain_key = make_api_client(["complaints:read"], name="plain")
    response = reissue(key_manager, pii, plain)

    pii.refresh_from_db()
    assert pii.key_matches(pii_key)  # not replaced: the integration keeps working
    assert api(pii_key).get("/api/v1/departments/").status_code == 200
    keys = keys_in(response)
    assert len(keys) == 1  # the one they may hand out
    plain.refresh_from_db()
    assert plain.key_matches(keys[0])
    text = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "pii:read" in text


def test_a_new_key_for_a_wider_department_is_refused(login_client, make_api_client, department):
    from tests.factories import DepartmentFactory, MembershipFactory

    user = UserFactory(username="head", perms=KEY_MANAGER_PERMS)
    MembershipFactory(user=user, department=department)
    other = DepartmentFactory(code="finance")
    everywhere, key_all = make_api_client(["complaints:read"], name="all")
    elsewhere, key_other = make_api_client(["complaints:read"], department=other, name="other")
    own, key_own = make_api_client(["complaints:read"], department=department, name="own")
    response = reissue(login_client(user), everywhere, elsewhere, own)

    for client, key in ((everywhere, key_all), (elsewhere, key_other)):
        client.refresh_from_db()
        assert client.key_matches(key)
    own.refresh_from_db()
    assert not own.key_matches(key_own)
    assert len(keys_in(response)) == 1


def test_creating_a_client_wider_than_ones_departments_is_refused(login_client, department):
    from tests.factories import MembershipFactory

    user = UserFactory(username="head", perms=KEY_MANAGER_PERMS)
    MembershipFactory(user=user, department=department)
    client = login_client(user)
    response = add_client(client, name=["x"], owner=["IT"], scopes=["complaints:read"])
    assert response.status_code == 200  # the form again
    assert not ApiClient.objects.exists()
    add_client(
        client,
        name=["x"],
        owner=["IT"],
        scopes=["complaints:read"],
        department=[str(department.pk)],
    )
    assert ApiClient.objects.get().department == department
