"""The complaint list's form filters are rendered once per process and language while
nothing is chosen in them (complaints.templatetags.filter_cache): a chosen value, the other
language and facet counts still show."""

import re

import pytest
from django.urls import reverse
from django.utils.translation import override

from complaints.models import Status
from complaints.templatetags import filter_cache

pytestmark = pytest.mark.django_db


def checked_statuses(html: str) -> set[str]:
    boxes = re.findall(r"<input[^>]*name=\"status__exact\"[^>]*>", html)
    return {
        re.search(r'value="([^"]*)"', b).group(1) for b in boxes if re.search(r"\schecked[\s>]", b)
    }


def test_cached_filters_show_the_chosen_value_and_the_language(manager_client, department):
    filter_cache.clear()
    url = reverse("admin:complaints_complaint_changelist")
    html = manager_client.get(url).content.decode()
    assert checked_statuses(html) == set()
    assert len(filter_cache._cache) >= 5  # status, severity, channel, 3 autocompletes
    cached = len(filter_cache._cache)
    manager_client.get(url)
    assert len(filter_cache._cache) == cached  # reused, not rendered again

    chosen = manager_client.get(f"{url}?status__exact={Status.NEW}").content.decode()
    assert checked_statuses(chosen) == {Status.NEW}
    assert checked_statuses(manager_client.get(url).content.decode()) == set()

    zh = manager_client.get(url, headers={"accept-language": "zh-hans"}).content.decode()
    panel = zh.split('id="changelist-filter"', 1)[1]
    with override("en"):
        english = str(Status.NEW.label)
    with override("zh-hans"):
        chinese = str(Status.NEW.label)
    assert (
        english != chinese
        and chinese in panel
        and f">{english}<" not in panel.replace("\n", "").replace(" ", "")
    )
    assert len(filter_cache._cache) > cached  # another language, other entries


def _normalized(html: str) -> str:
    """The filter panel with insignificant whitespace (between and around tags) removed."""
    panel = html.split('id="changelist-filter"', 1)[1].split('id="changelist-filter-extra', 1)[0]
    return re.sub(r"\s*([<>])\s*", r"\1", re.sub(r"\s+", " ", panel))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_filters_of_links_are_rendered_as_unfolds_template(manager_client, language, monkeypatch):
    """complaints.templatetags.link_filter writes admin/filter.html's markup itself."""
    from complaints.admin.complaints import LinkFilter
    from reporting.admin import FigureFilter

    url = reverse("admin:complaints_complaint_changelist")
    queries = ["", "mine=assigned", "deadline=overdue&kpi=valid&q=a%22b%3C%26", "escalated=x"]
    ours = [
        manager_client.get(f"{url}?{q}", headers={"accept-language": language}).content.decode()
        for q in queries
    ]
    assert "complaints.admin.complaints.LinkFilter" not in ours[0]
    monkeypatch.setattr(LinkFilter, "template", "admin/filter.html")
    monkeypatch.setattr(FigureFilter, "template", "admin/filter.html")
    for query, html in zip(queries, ours, strict=True):
        theirs = manager_client.get(f"{url}?{query}", headers={"accept-language": language})
        assert _normalized(html) == _normalized(theirs.content.decode()), query
    assert "q=a%22b%3C%26" in _normalized(ours[2])  # the search, kept in each link, encoded


def test_cached_action_form_follows_the_users_actions_and_language(
    manager_client, handler_client, department
):
    """The action dropdown is rendered once per language and set of actions
    (filter_cache.cached_action_form): one user's actions never show to another."""
    url = reverse("admin:complaints_complaint_changelist")

    def actions(client, language="en"):
        html = client.get(url, headers={"accept-language": language}).content.decode()
        select = re.search(r'<select name="action".*?</select>', html, re.S).group(0)
        return re.findall(r'<option value="([^"]*)"[^>]*>\s*([^<]*?)\s*</option>', select)

    manager = actions(manager_client)
    assert any(value == "close_selected" for value, _label in manager)
    assert all(value != "close_selected" for value, _label in actions(handler_client))
    assert actions(manager_client) == manager
    chinese = actions(manager_client, "zh-hans")
    assert [v for v, _label in chinese] == [v for v, _label in manager]
    assert chinese != manager  # the labels in Chinese
