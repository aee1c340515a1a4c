"""The timeline's labels (admin.complaints.timeline_events): the kind, contact channel and
direction and the status names are looked up once per page instead of get_FOO_display()
and a template loop over every status per event (issue 15, change page of 200 events).
The entries are compared with the template as it was, in both languages."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Engine
from django.utils import timezone, translation

from complaints.admin import desk
from complaints.admin.complaints import timeline_events
from complaints.models import ComplaintEvent, Status
from tests.factories import make_complaint

pytestmark = pytest.mark.django_db

# complaints/admin/timeline_items.html as it was: get_FOO_display() and a loop over the statuses.
AS_IT_WAS = {
    "{{ event.kind_display }}": "{{ event.get_kind_display }}",
    "{{ event.contact_channel_display }}": "{{ event.get_contact_channel_display }}",
    "{{ event.contact_direction_display }}": "{{ event.get_contact_direction_display }}",
    "{{ event.from_status_label }}": (
        "{% for value, label in status_labels.items %}"
        "{% if value == event.from_status %}{{ label }}{% endif %}{% endfor %}"
    ),
    "{{ event.to_status_label }}": (
        "{% for value, label in status_labels.items %}"
        "{% if value == event.to_status %}{{ label }}{% endif %}{% endfor %}"
    ),
}


def original_template() -> str:
    path = Path(settings.BASE_DIR) / "complaints/templates/complaints/admin/timeline_items.html"
    text = path.read_text()
    for now, was in AS_IT_WAS.items():
        assert now in text
        text = text.replace(now, was)
    return text


def _normalized(html: str) -> str:
    return re.sub(r"\s*([<>])\s*", r"\1", re.sub(r"\s+", " ", html))


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_timeline_entries_are_the_original_templates(manager, language):
    complaint = make_complaint(user=manager)
    now = timezone.now()
    Kind, Direction = ComplaintEvent.Kind, ComplaintEvent.Direction
    varied = [
        {"kind": Kind.STATUS, "from_status": Status.NEW, "to_status": Status.ACKNOWLEDGED},
        {"kind": Kind.STATUS, "from_status": "", "to_status": Status.INVESTIGATING},
        {"kind": Kind.STATUS, "from_status": "legacy", "to_status": "gone"},
        {
            "kind": Kind.CONTACT,
            "contact_channel": "phone",
            "contact_direction": Direction.INBOUND,
            "note": "<b>called</b> & asked",
        },
        {"kind": Kind.CONTACT, "contact_channel": "email", "contact_direction": ""},
        {"kind": Kind.CONTACT, "contact_channel": "pigeon", "contact_direction": "up"},
        {"kind": "unknown-kind", "note": "kept as stored"},
        {"kind": Kind.NOTE, "note": "注意 <script>", "actor": None},
        {"kind": Kind.FIELD_CHANGE, "data": {"changes": {"subject": ["a", "b"]}}},
    ]
    for index, fields in enumerate(varied):
        fields = {"actor": manager, **fields}
        ComplaintEvent.objects.create(
            complaint=complaint, created_at=now - timedelta(minutes=index), **fields
        )
    with translation.override(language):
        context = desk.timeline_page(complaint)
        assert len(context["timeline"]) > len(varied)
        engine = Engine.get_default()
        ours = engine.get_template("complaints/admin/timeline_items.html").render(Context(context))
        theirs = engine.from_string(original_template()).render(
            Context({**context, "timeline": timeline_events(complaint)})
        )
    assert _normalized(ours) == _normalized(theirs)
    assert "Status change" in theirs or "状态" in theirs


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_absent_event_data_reads_as_before_without_failed_lookups(manager, language, monkeypatch):
    """What the template reads of an event is always there (None when absent), so no lookup
    fails (each failure cost a dir() of the dict or model instance); the entries are the
    same as with the events' plain data."""
    import builtins

    from django.template import base

    complaint = make_complaint(user=manager)
    now = timezone.now()
    Kind = ComplaintEvent.Kind
    varied = [
        {"kind": Kind.NOTE, "note": "plain", "data": {}},
        {"kind": Kind.NOTE, "data": ["not", "a", "dict"]},
        {"kind": Kind.NOTE, "data": {"message": {"key": "unknown"}, "follow_up_on": "2026-01-02"}},
        {"kind": Kind.STATUS, "to_status": Status.MERGED, "data": {"merged_into": "C-1"}},
        {"kind": Kind.STATUS, "to_status": Status.NEW, "data": {"merged_from": "C-2"}},
        {"kind": Kind.FIELD_CHANGE, "data": {"changes": {"subject": ["a", None]}}},
        {"kind": Kind.ASSIGNMENT, "data": {"assignee": ["x", "y"]}},
        {"kind": Kind.ASSIGNMENT, "data": {"assignee": [None, manager.pk], "automatic": True}},
        {"kind": Kind.ALERT, "data": {"kind": "resolve", "level": "warning", "recipients": 2}},
        {"kind": Kind.ATTACHMENT, "data": {"attachment_id": 7, "content_type": "image/png"}},
    ]
    for index, fields in enumerate(varied):
        ComplaintEvent.objects.create(
            complaint=complaint, created_at=now - timedelta(minutes=index), actor=manager, **fields
        )
    engine = Engine.get_default()
    template = engine.get_template("complaints/admin/timeline_items.html")
    with translation.override(language):
        context = desk.timeline_page(complaint)
        misses = []

        def spy(value):
            misses.append(type(value).__name__)
            return builtins.dir(value)

        monkeypatch.setattr(base, "dir", spy, raising=False)
        ours = template.render(Context(context))
        monkeypatch.undo()
        # Only the event whose data is not an object (never written by the product) misses.
        assert set(misses) <= {"list"}
        plain = desk.timeline_page(complaint)
        for event in plain["timeline"]:  # as the events were before: plain data, no defaults
            if isinstance(event.data, dict):
                event.data = dict(event.data)
            for name in ("alert_info", "automatic"):
                if not event.__dict__.get(name):
                    del event.__dict__[name]
        theirs = template.render(Context(plain))
    assert _normalized(ours) == _normalized(theirs)
    assert "C-1" in ours and "C-2" in ours and "2026-01-02" in ours
