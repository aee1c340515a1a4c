"""Redis down must not take the API or the admin login down.

The test starts a redis-server of its own on a free port (never the shared one), points the
cache at it, kills it, and checks that API intake and reads, and the admin login with its
lockout, still work."""

import shutil
import socket
import subprocess
import time

import pytest
from django.core.cache import caches
from django.urls import reverse
from rest_framework.test import APIClient

from complaints import cache as shared_cache
from complaints.api.auth import ResilientThrottle
from complaints.models import ApiClient, Complaint

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def own_redis(settings, tmp_path):
    port = _free_port()
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.05)
    settings.CACHES = {
        "default": {
            "BACKEND": "complaints.cache.RedisCache",  # production's (config/settings.py)
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "KEY_PREFIX": "redress-test",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    caches["default"].set("probe", 1)
    assert caches["default"].get("probe") == 1  # the cache really is this Redis

    def kill():
        process.kill()
        process.wait(timeout=10)

    yield kill
    # This process's throttle circuit opened when Redis died: close it for the next tests.
    shared_cache.reset()
    ResilientThrottle.fallback.clear()
    if process.poll() is None:
        process.kill()
        process.wait(timeout=10)


def _intake(client, key):
    return client.post(
        "/api/v1/complaints/",
        {
            "channel": "web",
            "subject": "Lift broken",
            "description": "Since Monday.",
            "customer": {"name": "Li Si", "phone": "13812345678"},
        },
        format="json",
        headers={"Idempotency-Key": key},
    )


def _login(client, username, password):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": "/admin/"},
        HTTP_ACCEPT_LANGUAGE="en",
    )


def test_api_and_login_keep_working_when_redis_dies(own_redis, superuser, settings, client):
    settings.REDRESS_LOGIN_FAILURE_LIMIT = 3
    superuser.set_password("right-password-2026")
    superuser.save()
    api_client = ApiClient(
        name="crm", owner="IT", scopes=["complaints:read", "complaints:write", "pii:read"]
    )
    key = api_client.new_key()
    api_client.save()
    api = APIClient(headers={"accept-language": "en"})
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert _intake(api, "before").status_code == 201

    own_redis()  # Redis is gone

    assert _intake(api, "after").status_code == 201
    assert Complaint.objects.count() == 2
    assert api.get("/api/v1/complaints/").status_code == 200
    assert _login(client, superuser.username, "right-password-2026").status_code == 302
    client.logout()
    # The lockout lives in the database: still enforced without Redis.
    for _ in range(3):
        assert _login(client, superuser.username, "wrong").status_code == 200
    locked = _login(client, superuser.username, "right-password-2026")
    assert locked.status_code == 200
    assert "Too many failed logins" in locked.content.decode()
