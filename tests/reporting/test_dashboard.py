"""The dashboard page and the admin landing page: render in both languages, every figure
links to the complaint list showing exactly that many complaints, department heads see only
their departments."""

import re
from datetime import date
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from complaints.models import DepartmentMembership
from reporting.services import summaries
from tests.conftest import ALL_COMPLAINT_PERMS
from tests.factories import DepartmentFactory, MembershipFactory, UserFactory

from .conftest import NOW

pytestmark = pytest.mark.django_db

URL = "/admin/dashboard/"
NOVEMBER = "?date_from=2026-11-01&date_to=2026-11-30"
MANAGER_PERMS = [*ALL_COMPLAINT_PERMS, "reporting.view_dashboard"]


def client_for(user, language="en") -> Client:
    user.save()
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


@pytest.fixture
def manager_dash(dataset):
    summaries.rebuild(now=NOW)
    return client_for(UserFactory(username="boss", perms=MANAGER_PERMS))


def card(html: str, key: str) -> str:
    match = re.search(rf'data-kpi="{key}">(.*?)</div>\s*</div>', html, re.S)
    assert match, key
    return match.group(1)


def card_value(html: str, key: str) -> str:
    value = re.search(r'reporting-card-value">\s*(?:<a href="[^"]*">)?([^<]+)', card(html, key))
    return value.group(1).strip()


def links(fragment: str) -> list[tuple[str, str]]:
    return [
        (unescape(href), text.strip())
        for href, text in re.findall(r'href="([^"]+)">([^<]+)<', fragment)
    ]


def listed(client, link: str) -> int:
    response = client.get(link)
    assert response.status_code == 200, link
    assert "?e=1" not in response.url if hasattr(response, "url") else True
    return response.context["cl"].result_count


@pytest.mark.parametrize("source", ["", "&live=on"])
def test_cards_show_the_figures(manager_dash, source):
    html = manager_dash.get(URL + NOVEMBER + source).content.decode()
    assert card_value(html, "received") == "9"
    assert card_value(html, "valid") == "6"
    assert card_value(html, "closure") == "33.3 %"
    assert card_value(html, "ack_on_time") == "60.0 %"
    assert card_value(html, "resolve_on_time") == "33.3 %"
    assert card_value(html, "reopened") == "50.0 %"
    assert card_value(html, "open") == "5"
    assert card_value(html, "overdue") == "2"
    frt = card_value(html, "frt")
    assert frt == ("1.0 h" if source else "1.5 h")  # exact live; interpolated from summaries
    assert card_value(html, "compensation") == "¥ 350.50"
    assert card_value(html, "compensation_per_complaint") == "¥ 175.25"
    assert card_value(html, "csat") == "50.0 %"
    assert card_value(html, "repeat") == "16.7 %"


def test_every_card_number_opens_exactly_its_complaints(manager_dash):
    html = manager_dash.get(URL + NOVEMBER).content.decode()
    checked = 0
    for key in (
        "received",
        "valid",
        "closure",
        "ack_on_time",
        "resolve_on_time",
        "reopened",
        "open",
        "overdue",
        "frt",
        "ttr",
        "compensation",
        "csat",
        "repeat",
    ):
        for href, text in links(card(html, key)):
            if text.isdigit():
                assert listed(manager_dash, href) == int(text), (key, href)
                checked += 1
    assert checked >= 20


def test_table_numbers_open_exactly_their_complaints(manager_dash, dataset):
    html = manager_dash.get(URL + NOVEMBER).content.decode()
    charts = html[html.index('class="reporting-charts"') :]
    checked = 0
    for href, text in links(charts):
        if re.fullmatch(r"\d+", text) and text != "0":
            assert listed(manager_dash, href) == int(text), href
            checked += 1
        elif m := re.fullmatch(r"(\d+) / (\d+)", text):
            assert listed(manager_dash, href) == int(m.group(2)), href
            checked += 1
    assert checked >= 12
    # the league table: department A received 8, B 1
    league = html[html.index('class="reporting-league"') :]
    assert ">8</a>" in league and ">1</a>" in league


def test_previous_period_link(manager_dash):
    html = manager_dash.get(URL + NOVEMBER).content.decode()
    href = re.search(r'previous period:\s*<a href="([^"]+)">1<', card(html, "received")).group(1)
    query = parse_qs(urlsplit(unescape(href)).query)
    assert query["received_at_from"] == ["2026-10-02"] and query["received_at_to"] == ["2026-10-31"]
    assert listed(manager_dash, unescape(href)) == 1


@pytest.mark.parametrize(
    "language,heading", [("en", "Complaints dashboard"), ("zh-hans", "投诉仪表板")]
)
def test_renders_in_both_languages_with_local_charting(manager_dash, language, heading, dataset):
    user = UserFactory(username=f"boss-{language}", perms=MANAGER_PERMS)
    html = client_for(user, language).get(URL + NOVEMBER).content.decode()
    assert heading in html
    assert "/static/reporting/vendor/chart.umd.min.js" in html
    assert "cdn" not in html.lower()
    assert 'id="reporting-data"' in html
    css = client_for(user, language).get("/static/reporting/dashboard.css")
    assert "@media print" in b"".join(css.streaming_content).decode()


def test_landing_page_is_the_dashboard_for_managers_not_for_handlers(manager_dash, dataset):
    html = manager_dash.get("/admin/").content.decode()
    assert "reporting-cards" in html
    handler = UserFactory(username="clerk", perms=["complaints.view_complaint"])
    page = client_for(handler).get("/admin/")
    assert page.status_code == 200 and "reporting-cards" not in page.content.decode()
    assert client_for(handler).get(URL).status_code == 403


def test_default_is_the_last_90_days(manager_dash):
    html = manager_dash.get(URL).content.decode()
    assert 'name="date_from" value="2026-09-02"' in html
    assert 'name="date_to" value="2026-11-30"' in html
    assert card_value(html, "received") == "10"  # c9 (15 Oct) too


def test_bad_filters_are_reported_and_the_default_shown(manager_dash):
    html = manager_dash.get(URL + "?date_from=2026-12-01&date_to=2026-11-01").content.decode()
    assert "The start date is after the end date." in html
    assert "reporting-cards" in html


@pytest.fixture
def head_b(dataset):
    summaries.rebuild(now=NOW)
    user = UserFactory(
        username="head-b",
        perms=[
            "complaints.view_complaint",
            "complaints.change_complaint",
            "complaints.view_department_complaints",
            "reporting.view_dashboard",
        ],
    )
    MembershipFactory(department=dataset["b"], user=user, role=DepartmentMembership.Role.HEAD)
    return client_for(user)


def test_department_head_sees_only_their_department(head_b, dataset):
    html = head_b.get(URL + NOVEMBER).content.decode()
    assert card_value(html, "received") == "1"
    assert card_value(html, "valid") == "1"
    assert card_value(html, "open") == "1"
    assert "Property A" not in html
    href = {t: h for h, t in links(card(html, "received"))}["1"]
    assert "mine=departments" in href
    assert listed(head_b, href) == 1


def test_department_head_cannot_pick_another_department(head_b, dataset):
    html = head_b.get(URL + NOVEMBER + f"&department={dataset['a'].pk}").content.decode()
    assert "Select a valid choice" in html
    # the default view instead: the last 90 days of department B only (c8)
    assert card_value(html, "received") == "1"
    assert "Property A" not in html.split('class="reporting-cards"')[1]


def test_dates_out_of_range_are_reported(manager_dash):
    html = manager_dash.get(URL + "?date_from=9999-12-01&date_to=9999-12-31").content.decode()
    assert "Dates must lie between 1900 and 2999." in html


@pytest.mark.parametrize("url", ["/admin/", URL, URL + "?department={a}&category={leak}"])
def test_pages_read_the_summaries_not_the_complaints(manager_dash, dataset, url):
    """The landing page and the dashboard with its defaults add up summary rows only (a fixed,
    small number of queries); the complaint table is not read. Two filters have no summary
    level with every measure: those widgets read the complaints."""
    from django.core.signals import request_started
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    url = url.format(a=dataset["a"].pk, leak=dataset["c1"].category_id)
    manager_dash.get(url)
    request_started.disconnect(reset_queries)
    try:
        with CaptureQueriesContext(connection) as queries:
            assert manager_dash.get(url).status_code == 200
    finally:
        request_started.connect(reset_queries)
    direct = [q["sql"] for q in queries if '"complaints_complaint"' in q["sql"]]
    if "category" in url:
        # department × category keeps every measure but the duration histograms: the cards
        # and the backlog read it; the histograms and the breakdowns by a third dimension
        # read the complaints, on PostgreSQL in one grouped read (SQLite: one each)
        assert 0 < len(direct) <= (1 if connection.vendor == "postgresql" else 5)
        # (the cards: their level, and the histograms ahead; one more in a test's own
        # transaction: the read's savepoint is rolled back, then released)
        assert len(queries) <= 22
    else:
        assert direct == []
        assert len(queries) <= 20


def test_the_cached_dashboard_follows_the_summaries(manager_dash, dataset):
    """The page keeps the built dashboard until summary rows change: a change shows after
    the refresh that writes it (not before: the page reads the summaries)."""
    from datetime import timedelta

    from complaints.services import lifecycle

    html = manager_dash.get(URL + NOVEMBER).content.decode()
    assert card_value(html, "valid") == "6"
    user = UserFactory(username="editor", perms=ALL_COMPLAINT_PERMS)
    later = NOW + timedelta(minutes=3)
    lifecycle.transition(dataset["c10"].pk, "invalid", user=user, note="Spam", now=later)
    assert card_value(manager_dash.get(URL + NOVEMBER).content.decode(), "valid") == "6"
    assert summaries.refresh(now=later).days == 1
    assert card_value(manager_dash.get(URL + NOVEMBER).content.decode(), "valid") == "5"
    summaries.refresh(now=later + timedelta(minutes=10))
    assert summaries.refresh(now=later + timedelta(minutes=20)).days == 0
    assert card_value(manager_dash.get(URL + NOVEMBER).content.decode(), "valid") == "5"


def test_the_landing_page_builds_the_admin_app_list_once(manager_dash):
    """The sidebar's "all applications" and the index view share one app list per request
    (config.admin_site.memoize_app_list): building it was a large share of the page."""
    from unittest import mock

    from django.contrib import admin

    from complaints.templatetags import sidebar_cache

    sidebar_cache.clear()
    built = mock.Mock(wraps=type(admin.site)._build_app_dict)
    with mock.patch.object(
        type(admin.site), "_build_app_dict", lambda site, *a, **k: built(site, *a, **k)
    ):
        html = manager_dash.get("/admin/").content.decode()
        assert "reporting-card-value" in html
        assert built.call_count == 1
        # With the sidebar found in its cache the page needs no app list at all.
        assert "reporting-card-value" in manager_dash.get("/admin/").content.decode()
        assert built.call_count == 1


def test_widget_labels_follow_renamed_reference_data(dataset):
    """The category, root-cause and department labels come from a per-process copy of the
    names (reference_cache), in the reader's language, and a rename shows at once."""
    from django.utils import translation

    from reporting import dashboard
    from reporting.queries import Filters

    summaries.rebuild(now=NOW)
    filters = Filters(date_from=date(2026, 11, 1), date_to=date(2026, 11, 30))

    def labels():
        built = dashboard.build(filters, now=NOW)
        return (
            {p["label"] for p in built["charts"]["pareto"]},
            {c["label"] for c in built["charts"]["causes"]},
            {row["label"] for row in built["league"]},
        )

    with translation.override("en"):
        assert labels() == (
            {str(dataset["leak"]), str(dataset["noise"])},
            {"Old pipes"},
            {
                "Property A",
                "Sales B",
            },
        )
    with translation.override("zh-hans"):
        assert "管道老化" in labels()[1]
    dataset["a"].name = dataset["a"].name_en = "Property Alpha"
    dataset["a"].save()
    dataset["cause"].name_en = "Ageing pipes"
    dataset["cause"].save()
    with translation.override("en"):
        _categories, causes, departments = labels()
    assert causes == {"Ageing pipes"} and "Property Alpha" in departments


@pytest.mark.django_db
def test_labels_of_ids_the_process_copy_does_not_know_are_read():
    """A department made in another process since this one loaded its copy of the names is
    labelled from the database, not "(no department)"."""
    from reporting import dashboard

    department = DepartmentFactory(name="新部门", name_en="New department")
    names = {"department": {}, "category": {}, "root_cause": {}}  # an older copy
    assert dashboard.names_for(names, "department", [department.pk, None]) == {
        department.pk: ("新部门", "New department")
    }
