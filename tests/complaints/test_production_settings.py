"""Production refuses to start on development fallbacks (SQLite, the folder broker, a
per-process cache), and the demo commands (published passwords) refuse to run there."""

import os
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from complaints.models import Complaint

BASE = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": "x" * 60 + "-production-secret-for-the-check",
    "ALLOWED_HOSTS": "redress.example.com",
    "DATABASE_URL": "sqlite:////tmp/redress-production-check.sqlite3",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
}


def check(**env):
    environ = {k: v for k, v in os.environ.items() if k not in BASE}
    environ.update({k: v for k, v in {**BASE, **env}.items() if v is not None})
    return subprocess.run(
        [sys.executable, "manage.py", "check"], env=environ, capture_output=True, text=True
    )


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL"])
def test_production_refuses_to_start_without(missing):
    result = check(**{missing: None})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_starts_with_everything_set():
    result = check()
    assert result.returncode == 0, result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("command", ["seed_demo", "demo_superuser"])
def test_demo_commands_refuse_in_production(settings, command):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command(command, verbosity=0)
    assert not get_user_model().objects.exists()
    assert not Complaint.objects.exists()


def _pg_options(**env) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DJANGO_ENV")}
    environ.update(env)
    code = (
        "from config import settings; "
        "print(settings.DATABASES['default']['OPTIONS'].get('options'))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_jit_off_keeps_the_urls_own_connection_options_and_can_be_turned_off():
    url = "postgres://u@db/redress?options=-c%20search_path%3Dredress"
    assert _pg_options(DATABASE_URL=url) == "-c search_path=redress -c jit=off"
    assert _pg_options(DATABASE_URL="postgres://u@db/redress") == "-c jit=off"
    off = _pg_options(DATABASE_URL=url, REDRESS_PG_JIT_OFF="false")
    assert off == "-c search_path=redress"
