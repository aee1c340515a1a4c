from django.utils import translation
from django.utils.translation import gettext_noop

from complaints.messages import render, stored


def test_stored_message_renders_in_the_readers_language():
    value = stored(gettext_noop("Timeline"))
    assert value == {"msg": "Timeline", "params": {}}
    with translation.override("en"):
        assert render(value) == "Timeline"
    with translation.override("zh-hans"):
        assert render(value) != "Timeline"


def test_parameters_and_nested_messages():
    value = stored("%(who)s moved it to %(status)s", who="Li", status=stored("Timeline"))
    with translation.override("en"):
        assert render(value) == "Li moved it to Timeline"


def test_broken_placeholders_never_break_a_page():
    assert render(stored("%(missing)s left", other=1)) == "%(missing)s left"
    assert render(None) == ""
    assert render("plain") == "plain"
