"""The public survey page over HTTP: signed, expiring, single-use links; languages; rate
limit; dissatisfaction reopens the complaint."""

import re
import socket
from datetime import timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from complaints.messages import render
from complaints.models import ComplaintEvent, Status
from complaints.services.errors import ServiceError
from followups.models import FollowUp, Kind, MessageTemplate, SurveyInvitation
from followups.services import surveys

from .conftest import sh

pytestmark = pytest.mark.django_db
AT = sh(2026, 11, 2, 10, 0)
ANSWER = {"outcome_score": "4", "handling_score": "5", "solved": "yes", "comment": "Thanks!"}


@pytest.fixture(autouse=True)
def _local_cache(settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "s"}
    }
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(AT + timedelta(hours=2), tick=False)


@pytest.fixture
def invitation(resolved, cn2026, fmanager):
    complaint = resolved(AT, subject="Water leaking from the ceiling")
    with time_machine.travel(AT + timedelta(hours=1), tick=False):
        return surveys.create_invitation(complaint.pk, user=fmanager)


def url(invitation) -> str:
    return reverse("followups:survey", args=[surveys.make_token(invitation)])


def customer(language="zh-CN,zh;q=0.9") -> Client:
    return Client(headers={"accept-language": language}, enforce_csrf_checks=False)


def test_page_shows_only_reference_and_subject(invitation):
    response = customer().get(url(invitation))
    html = response.content.decode()
    assert response.status_code == 200
    assert invitation.complaint.reference in html and "Water leaking" in html
    customer_ = invitation.complaint.customer
    assert customer_.name not in html and customer_.phone not in html
    assert invitation.complaint.description not in html
    assert 'lang="zh-Hans"' in html and "满意度" in html  # the browser's language
    assert "cdn" not in html.lower() and "<script" not in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_language_switch_and_default(invitation):
    english = customer("en-US,en;q=0.9").get(url(invitation)).content.decode()
    assert 'lang="en"' in english and "How satisfied are you with the outcome?" in english
    switched = customer("en-US").get(url(invitation) + "?lang=zh-hans").content.decode()
    assert 'lang="zh-Hans"' in switched
    SurveyInvitation.objects.filter(pk=invitation.pk).update(language="en")
    assert 'lang="en"' in customer("zh-CN").get(url(invitation)).content.decode()


def test_answer_is_stored_once_and_shown_on_the_complaint(invitation, login_client, fmanager):
    with time_machine.travel(AT + timedelta(days=1), tick=False):
        response = customer().post(url(invitation) + "?lang=en", ANSWER)
    assert response.status_code == 200
    assert "Thank you for your answers." in response.content.decode()
    invitation.refresh_from_db()
    assert (invitation.outcome_score, invitation.handling_score, invitation.solved) == (4, 5, True)
    assert invitation.comment == "Thanks!" and invitation.answered_language == "en"
    assert invitation.used_at == AT + timedelta(days=1)
    complaint = invitation.complaint
    complaint.refresh_from_db()
    assert complaint.status == Status.RESOLVED
    # The pending satisfaction check of this resolution is done with the answer.
    check = FollowUp.objects.get(complaint=complaint, kind=Kind.SATISFACTION)
    assert (check.status, check.satisfaction, check.solved) == ("done", 4, True)
    page = login_client(fmanager).get(
        reverse("admin:complaints_complaint_change", args=[complaint.pk])
    )
    assert "Answered" in page.content.decode() and "outcome 4/5, handling 5/5" in (
        page.content.decode()
    )


def test_used_link_is_polite_and_changes_nothing(invitation):
    client = customer("en")
    client.post(url(invitation), ANSWER)
    events = ComplaintEvent.objects.count()
    again = client.post(url(invitation), {**ANSWER, "outcome_score": "1", "solved": "no"})
    assert again.status_code == 410
    assert "already been answered" in again.content.decode()
    assert client.get(url(invitation)).status_code == 410
    invitation.refresh_from_db()
    assert (invitation.outcome_score, invitation.solved) == (4, True)
    assert ComplaintEvent.objects.count() == events
    invitation.complaint.refresh_from_db()
    assert invitation.complaint.status == Status.RESOLVED


def test_expired_link_is_polite_and_changes_nothing(invitation):
    with time_machine.travel(invitation.expires_at + timedelta(seconds=1), tick=False):
        page = customer("en").get(url(invitation))
        post = customer("en").post(url(invitation), ANSWER)
    assert page.status_code == post.status_code == 410
    assert "expired" in post.content.decode()
    invitation.refresh_from_db()
    assert invitation.used_at is None and invitation.outcome_score is None


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "eyJpIjoxLCJuIjoiMDAifQ:1vQZ0a:forged-signature-xxxxxxxxxxxxxxxxxxxx",
        signing.dumps({"i": 1, "n": "0" * 32}, salt="followups.survey"),  # right key, wrong nonce
        signing.dumps({"i": 1, "n": "0" * 32}, salt="other.salt"),
    ],
)
def test_forged_or_tampered_token_is_404(invitation, token):
    assert customer().get(f"/s/{token}/").status_code == 404
    assert customer().post(f"/s/{token}/", ANSWER).status_code == 404
    assert SurveyInvitation.objects.get().used_at is None


def test_tampering_with_a_real_token_is_404(invitation):
    token = surveys.make_token(invitation)
    payload, rest = token.split(":", 1)
    other = signing.b64_encode(b'{"i":2,"n":"' + invitation.nonce.hex.encode() + b'"}').decode()
    assert customer().get(f"/s/{other}:{rest}/").status_code == 404


def test_dissatisfied_answer_reopens_with_the_reason(invitation):
    response = customer("en").post(
        url(invitation), {"outcome_score": "2", "handling_score": "3", "solved": "yes"}
    )
    assert response.status_code == 200
    complaint = invitation.complaint
    complaint.refresh_from_db()
    assert complaint.status == Status.REOPENED
    reopen = complaint.events.get(kind=ComplaintEvent.Kind.STATUS, to_status=Status.REOPENED)
    assert reopen.actor is None
    assert render(reopen.data["message"]) == (
        "Reopened automatically: in the satisfaction survey the customer gave a satisfaction "
        "of 2 out of 5."
    )


def test_invalid_answers_show_errors_and_change_nothing(invitation):
    response = customer("en").post(url(invitation), {"outcome_score": "9", "solved": "maybe"})
    assert response.status_code == 400
    invitation.refresh_from_db()
    assert invitation.used_at is None


def test_rate_limited_per_address(invitation, settings):
    settings.REDRESS_SURVEY_RATE_PER_MINUTE = 3
    client = customer("en")
    codes = [client.get(url(invitation)).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    other = Client(REMOTE_ADDR="10.0.0.9")
    assert other.get(url(invitation)).status_code == 200


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_redis_down_degrades_to_a_local_limit_without_500(invitation, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{_dead_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.REDRESS_SURVEY_RATE_PER_MINUTE = 2
    client = customer("en")
    codes = [client.get(url(invitation)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.post(url(invitation), ANSWER).status_code in (200, 429)


def test_invitation_email_from_the_editable_template(
    invitation, fmanager, django_capture_on_commit_callbacks
):
    customer_ = invitation.complaint.customer
    customer_.email = "wang@example.com"
    customer_.save()
    MessageTemplate.objects.filter(code="survey_email").update(
        subject_en="Rate {reference}", body_en="Hello! {subject} -> {link} until {expires}"
    )
    SurveyInvitation.objects.filter(pk=invitation.pk).update(language="en")
    invitation.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        assert surveys.queue_email(invitation.pk, user=fmanager) == "wang@example.com"
    (message,) = mail.outbox
    assert message.to == ["wang@example.com"]
    assert message.subject == f"Rate {invitation.complaint.reference}"
    link = re.search(r"-> (\S+) until", message.body).group(1)
    assert link.endswith(url(invitation))
    invitation.refresh_from_db()
    assert invitation.emailed_to == "wang@example.com"
    # Sent once: the task running again sends nothing.
    assert surveys.send_email(invitation.pk) is False
    assert len(mail.outbox) == 1


def test_bilingual_sms_text_when_no_language_is_set(invitation):
    _subject, text = surveys.render_invitation(invitation, MessageTemplate.Code.SURVEY_SMS)
    assert text.index("满意度") < text.index("How did we handle")
    assert surveys.survey_link(invitation) in text


def test_only_resolved_or_closed_complaints_are_surveyed(fmanager, department):
    from tests.factories import make_complaint

    complaint = make_complaint(user=fmanager, department=department)
    with pytest.raises(ServiceError, match="resolved or closed"):
        surveys.create_invitation(complaint.pk, user=fmanager)
    assert not SurveyInvitation.objects.exists()


def test_template_placeholders_are_validated():
    from django.core.exceptions import ValidationError

    from followups.models.survey import validate_placeholders

    validate_placeholders("{reference} {link}")
    with pytest.raises(ValidationError):
        validate_placeholders("{customer.phone}")
    with pytest.raises(ValidationError):
        validate_placeholders("{link")


def test_rate_limit_behind_the_production_proxy_uses_the_forwarded_address(invitation, settings):
    settings.PRODUCTION = True
    settings.REDRESS_TRUSTED_PROXIES = 1  # one proxy in front, appending what it saw
    settings.REDRESS_SURVEY_RATE_PER_MINUTE = 2
    one = Client(headers={"x-forwarded-for": "203.0.113.7"})
    two = Client(headers={"x-forwarded-for": "198.51.100.2, 203.0.113.8"})
    assert [one.get(url(invitation)).status_code for _ in range(3)] == [200, 200, 429]
    assert two.get(url(invitation)).status_code == 200  # another customer, same proxy
    # A client cannot dodge the limit by prepending addresses of its own.
    spoof = Client(headers={"x-forwarded-for": "10.9.9.9, 203.0.113.7"})
    assert spoof.get(url(invitation)).status_code == 429
