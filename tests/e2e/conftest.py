"""Browser tests: Playwright for Python driving the system Chromium against pytest-django's
live server.

- The browser is Debian's /usr/bin/chromium (Playwright's own browser download does not work
  on our machines); `REDRESS_CHROMIUM` points elsewhere. `make browser` installs it.
- Without the binary the tests are skipped with a loud reason locally; under CI (`CI` set) a
  missing browser is an error, so a CI run never passes on skipped browser tests.
- Each test gets a fresh browser context (own cookies) and leaves a full-page screenshot
  under var/e2e/ (CI keeps that folder as an artifact); a failing test's screenshot is named
  `FAILED-...`.
- The live server listens on an ephemeral port per process, so `pytest -n 2` has no clashes.
- They run in their own pytest process (`make test` runs `pytest tests/e2e` after the rest);
  collected together with other tests they are deselected, saying so.
- Tests use the database with `transaction=True` (the live server runs in another thread)
  and `serialized_rollback=True`, so the roles, SLA policies and calendar created by the
  migrations are there for every test and again for the tests that follow.
"""

import os
import re
import warnings
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in a
# thread with a running loop unless told it is safe (it is: the loop never runs our code).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("REDRESS_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "e2e"
PASSWORD = "e2e-pass-2026!"
MISSING = (
    f"BROWSER TESTS SKIPPED: no Chromium at {CHROMIUM}. Install it with `make browser` "
    "(Debian packages chromium chromium-driver fonts-noto-cjk); CI fails instead of skipping."
)


def chromium_available() -> bool:
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


SEPARATE = (
    "BROWSER TESTS DESELECTED: tests/e2e run in their own pytest process (`make test` does: "
    "`pytest tests/e2e`); after other database tests the migrated data they need is gone."
)


def pytest_collection_modifyitems(config, items):
    e2e = [item for item in items if item.path.is_relative_to(Path(__file__).parent)]
    if e2e and len(e2e) < len(items):
        # Other tests in this process flush the database (transactional tests) or replace the
        # connection holding the serialized migrated data, so a later browser test would find
        # no roles or SLA policies. They run alone instead.
        config.hook.pytest_deselected(items=e2e)
        items[:] = [item for item in items if item not in e2e]
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(SEPARATE, yellow=True, bold=True)
        return
    for item in e2e:
        item.add_marker(pytest.mark.e2e)
        item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))
    if e2e and not chromium_available():
        if os.environ.get("CI"):
            raise pytest.UsageError(f"CI needs the browser: no Chromium at {CHROMIUM}")
        warnings.warn(MISSING, stacklevel=1)
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(MISSING, red=True, bold=True)
        for item in e2e:
            item.add_marker(pytest.mark.skip(reason=MISSING))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash[_outcome] = report
    return report


_outcome = pytest.StashKey()


@pytest.fixture(scope="session")
def _playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        # Root in containers and CI: Chromium's sandbox needs user namespaces it may not have.
        args=["--no-sandbox", "--disable-dev-shm-usage"],
    )
    yield browser
    browser.close()


@pytest.fixture
def new_page(browser, live_server, request):
    """new_page(language="en") -> a Page in a fresh context, base URL = the live server.
    Each page's final state is screenshotted to var/e2e/ when the test ends."""
    pages = []

    def make(language="en", width=1440, height=900):
        context = browser.new_context(
            base_url=live_server.url,
            locale="zh-CN" if language.startswith("zh") else "en-US",
            extra_http_headers={"Accept-Language": language},
            viewport={"width": width, "height": height},
            timezone_id="Asia/Shanghai",
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        pages.append(page)
        return page

    yield make

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    report = request.node.stash.get(_outcome, None)
    prefix = "FAILED-" if report is not None and report.failed else ""
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    for index, page in enumerate(pages):
        suffix = f"-{index}" if index else ""
        (SCREENSHOTS / f"FAILED-{name}{suffix}.png").unlink(missing_ok=True)  # an earlier run's
        try:
            page.screenshot(path=SCREENSHOTS / f"{prefix}{name}{suffix}.png", full_page=True)
        except Exception as exc:  # a crashed page must not hide the test's own failure
            warnings.warn(f"screenshot of {name} failed: {exc}", stacklevel=1)
        page.context.close()


@pytest.fixture
def make_staff(db):
    """make_staff(role, username=None, departments=()) -> a staff user in the real role group
    (README "Roles"); role is a key of ROLE_GROUPS or "superuser"."""
    from django.contrib.auth.models import Group

    from tests.factories import MembershipFactory, UserFactory

    def make(role, username=None, departments=(), **fields):
        username = username or role.replace(" ", "-")
        fields.setdefault("first_name", username.capitalize())
        user = UserFactory(username=username, is_superuser=(role == "superuser"), **fields)
        user.set_password(PASSWORD)
        user.save()
        if role != "superuser":
            user.groups.add(Group.objects.get(name=ROLE_GROUPS[role]))
        for department in departments:
            MembershipFactory(user=user, department=department)
        return user

    return make


ROLE_GROUPS = {
    "intake": "Intake agent · 受理专员",
    "handler": "Handler · 处理专员",
    "head": "Department head · 部门负责人",
    "manager": "Complaint manager · 投诉经理",
    "approver": "Compensation approver · 补偿审批人",
    "auditor": "Auditor · 审计员",
    "sysadmin": "System administrator · 系统管理员",
}


def login(page, username, password=PASSWORD, path="/admin/login/"):
    """Log in through the login form, as a person does."""
    page.goto(path)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_load_state()
    return page


@pytest.fixture
def logged_in(new_page, make_staff, live_server):
    """logged_in(role, language="en", departments=()) -> (page, user), logged in through the
    session cookie (the login form itself is tested in test_login.py)."""
    from django.conf import settings
    from django.test import Client

    def make(role, language="en", departments=(), username=None):
        user = make_staff(role, username=username, departments=departments)
        client = Client()
        client.force_login(user)
        page = new_page(language=language)
        page.context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": live_server.url,
                }
            ]
        )
        return page, user

    return make


@pytest.fixture
def superuser_page(logged_in):
    return logged_in("superuser")[0]


@pytest.fixture
def manager_page(logged_in):
    return logged_in("manager")[0]
