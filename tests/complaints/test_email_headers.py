"""Every header value of every email the product sends is normalised in one place
(complaints/services/email.py): line and paragraph separators, vertical tab, form feed, NEL
and other control characters in a complaint subject never make an email fail."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from complaints.models import DeadlineAlert, NotificationList, Severity
from complaints.services import alerts
from complaints.services.email import header_value
from tests.factories import make_complaint

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
# (No NUL: PostgreSQL cannot store it in a subject; header_value handles it, tested below.)
BREAKERS = ["\r", "\n", "\r\n", "\u2028", "\u2029", "\x0b", "\x0c", "\x85", "\x1c", "\t"]


@pytest.mark.parametrize("breaker", BREAKERS, ids=[repr(b) for b in BREAKERS])
def test_crisis_email_with_a_breaking_subject_is_sent(manager, breaker):
    crisis = NotificationList.objects.get(code=NotificationList.CRISIS)
    crisis.extra_emails = "press-office@example.com"
    crisis.save()
    at = datetime(2026, 11, 2, 9, 0, tzinfo=SH)
    with time_machine.travel(at, tick=False):
        complaint = make_complaint(
            user=manager,
            received_at=at,
            media_risk=True,
            subject=f"Gas leak{breaker}Bcc: victim@example.com{breaker}in block 7",
        )
    assert complaint.severity == Severity.CRISIS
    (alert_id,) = alerts.process_one(complaint.pk, now=at)
    assert alerts.deliver(alert_id, now=at) == "sent"
    (message,) = mail.outbox
    subject = message.message()["Subject"]
    for char in BREAKERS:
        assert char not in subject
    assert "Gas leak Bcc: victim@example.com in block 7" in message.subject
    assert message.recipients() == ["press-office@example.com"]
    assert DeadlineAlert.objects.get(pk=alert_id).delivery == DeadlineAlert.Delivery.SENT


def test_header_value_is_one_clean_line():
    assert header_value(" a\u2028\u2029b \x85 c\r\n\x0bd\x00e ") == "a b c d e"
    assert header_value("x" * 300, max_length=250) == "x" * 250
    assert header_value("正常的主题") == "正常的主题"
