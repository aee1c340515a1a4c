"""manage.py create_api_client: prints the key once, stores only its hash."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from complaints.models import ApiClient

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    call_command("create_api_client", *args, stdout=out)
    return out.getvalue()


def printed_key(output: str) -> str:
    [key] = [line for line in output.splitlines() if line.startswith("rdx_")]
    return key


def test_creates_a_client_and_prints_its_key_once(department):
    output = run(
        "crm",
        "--scope",
        "complaints:read",
        "--scope",
        "complaints:write",
        "--scope",
        "pii:read",
        "--department",
        "property",
        "--owner",
        "CRM team",
    )
    key = printed_key(output)
    assert output.count(key) == 1
    client = ApiClient.objects.get(name="crm")
    assert client.scopes == ["complaints:read", "complaints:write", "pii:read"]
    assert client.department == department
    assert client.owner == "CRM team"
    assert client.active
    # Only a hash is stored: the key appears in no column.
    assert client.key_hash == hashlib.sha256(key.encode()).hexdigest()
    row = ApiClient.objects.filter(pk=client.pk).values().get()
    assert all(key not in str(value) for value in row.values())
    # The printed key works.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/departments/").status_code == 200


def test_repeated_scope_is_stored_once():
    run("erp", "--scope", "complaints:read", "--scope", "complaints:read")
    assert ApiClient.objects.get().scopes == ["complaints:read"]
    assert ApiClient.objects.get().department is None


def test_each_client_gets_its_own_key():
    a = printed_key(run("a", "--scope", "complaints:read"))
    b = printed_key(run("b", "--scope", "complaints:read"))
    assert a != b


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x", "--scope", "complaints:delete"], "invalid choice"),
        (["x"], "--scope"),
        (["x", "--scope", "complaints:read", "--department", "nowhere"], "nowhere"),
        (["taken", "--scope", "complaints:read"], "exists"),
        (["y" * 101, "--scope", "complaints:read"], "100"),
    ],
    ids=["bad-scope", "no-scope", "unknown-department", "duplicate-name", "long-name"],
)
def test_bad_input_is_an_error_and_creates_nothing(args, message):
    ApiClient.objects.create(name="taken", scopes=["complaints:read"], key_prefix="rdx_taken")
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert list(ApiClient.objects.values_list("name", flat=True)) == ["taken"]
