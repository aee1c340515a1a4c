"""Satisfaction surveys: invitation links (signed, expiring, single-use tokens), the
invitation text from the editable template, and the customer's answers."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from complaints.messages import stored
from complaints.models import Complaint, ComplaintEvent
from complaints.models import Status as ComplaintStatus
from complaints.selectors import can_see
from complaints.services.errors import NotPermitted, ServiceError
from complaints.services.locking import lock

from ..models import FollowUp, Kind, MessageTemplate, Status, SurveyInvitation
from .visits import reopen_if_dissatisfied

log = logging.getLogger(__name__)

SALT = "followups.survey"
DEFAULT_VALID_DAYS = 14
MAX_VALID_DAYS = 90
SURVEYABLE = (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED)


class SurveyUnavailable(Exception):
    """The link is genuine but can no longer be answered (used or expired)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # "used" or "expired"


def make_token(invitation: SurveyInvitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce.hex}, salt=SALT)


def survey_link(invitation: SurveyInvitation) -> str:
    path = reverse("followups:survey", args=[make_token(invitation)])
    return f"{settings.REDRESS_BASE_URL}{path}"


def invitation_for_token(token: str) -> SurveyInvitation | None:
    """The invitation a token names, or None when the token is forged or tampered with."""
    try:
        payload = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("i"), int):
        return None
    invitation = (
        SurveyInvitation.objects.select_related("complaint").filter(pk=payload["i"]).first()
    )
    if invitation is None or invitation.nonce.hex != payload.get("n"):
        return None
    return invitation


def create_invitation(
    complaint_id: int,
    *,
    user,
    language: str = "",
    valid_days: int = DEFAULT_VALID_DAYS,
    followup: FollowUp | None = None,
    now=None,
) -> SurveyInvitation:
    """A new survey link for a resolved or closed complaint."""
    now = now or timezone.now()
    if language not in ("", "zh-hans", "en"):
        raise ServiceError(_("Choose Chinese, English or the browser's language."))
    if not 1 <= valid_days <= MAX_VALID_DAYS:
        raise ServiceError(
            _("A survey link is valid for 1 to %(max)s days.") % {"max": MAX_VALID_DAYS}
        )
    with transaction.atomic():
        complaint = lock(complaint_id)
        if user is not None and (
            not user.has_perm("followups.add_surveyinvitation") or not can_see(user, complaint)
        ):
            raise NotPermitted(_("You do not have permission to do this."))
        if complaint.status not in SURVEYABLE:
            raise ServiceError(_("Only a resolved or closed complaint can be surveyed."))
        invitation = SurveyInvitation.objects.create(
            complaint=complaint,
            followup=followup,
            language=language,
            created_by=user,
            created_at=now,
            expires_at=now + timedelta(days=valid_days),
        )
        ComplaintEvent.objects.create(
            complaint=complaint,
            kind=ComplaintEvent.Kind.NOTE,
            actor=user,
            created_at=now,
            data={
                "source": "followups",
                "survey": invitation.pk,
                "message": stored(
                    gettext_noop("Satisfaction survey link created (valid until %(until)s)."),
                    until=f"{timezone.localtime(invitation.expires_at):%Y-%m-%d %H:%M}",
                ),
            },
        )
    return invitation


class _Blank(dict):
    def __missing__(self, key):
        return ""


def render_invitation(invitation: SurveyInvitation, code: str) -> tuple[str, str]:
    """(subject, text) of the invitation from the editable template: the invitation's
    language, or both languages (Chinese first) when it has none."""
    template = MessageTemplate.objects.filter(code=code).first()
    if template is None:
        raise ServiceError(_("The invitation text has not been set up (message templates)."))
    complaint = invitation.complaint
    values = _Blank(
        reference=complaint.reference,
        subject=complaint.subject,
        link=survey_link(invitation),
        expires=f"{timezone.localtime(invitation.expires_at):%Y-%m-%d %H:%M}",
    )
    languages = [invitation.language] if invitation.language else ["zh-hans", "en"]
    subjects, bodies = [], []
    for language in languages:
        suffix = "zh" if language == "zh-hans" else "en"
        subject = getattr(template, f"subject_{suffix}").format_map(values)
        if subject:
            subjects.append(subject)
        bodies.append(getattr(template, f"body_{suffix}").format_map(values))
    return " / ".join(subjects), "\n\n----------------------------------------\n\n".join(bodies)


def queue_email(invitation_id: int, *, user) -> str:
    """Send the invitation to the customer's email address after commit (Celery)."""
    invitation = SurveyInvitation.objects.select_related("complaint__customer").get(
        pk=invitation_id
    )
    if user is not None and not can_see(user, invitation.complaint):
        raise NotPermitted(_("You do not have permission to do this."))
    email = invitation.complaint.customer.email
    if not email:
        raise ServiceError(
            _("The customer has no email address: copy the link into an SMS instead.")
        )
    if invitation.used_at is not None or invitation.is_expired():
        raise ServiceError(_("This survey link was used or has expired; create a new one."))
    from complaints.tasks import enqueue

    from ..tasks import send_survey_email

    transaction.on_commit(lambda: enqueue(send_survey_email, invitation_id))
    return email


def send_email(invitation_id: int, *, now=None) -> bool:
    """Send one invitation email (the task). Claimed by a conditional update so two workers
    never both send it; a failed send releases the claim for a retry."""
    now = now or timezone.now()
    invitation = SurveyInvitation.objects.select_related("complaint__customer").get(
        pk=invitation_id
    )
    email = invitation.complaint.customer.email
    if not email or invitation.used_at is not None or invitation.is_expired(now):
        return False
    claimed = SurveyInvitation.objects.filter(pk=invitation_id, emailed_at__isnull=True).update(
        emailed_at=now, emailed_to=email
    )
    if not claimed:
        return False
    try:
        subject, body = render_invitation(invitation, MessageTemplate.Code.SURVEY_EMAIL)
        EmailMultiAlternatives(
            subject=subject.replace("\n", " ")[:250], body=body, to=[email]
        ).send()
    except Exception:
        SurveyInvitation.objects.filter(pk=invitation_id).update(emailed_at=None, emailed_to="")
        raise
    return True


def answer(
    invitation_id: int,
    *,
    outcome_score: int,
    handling_score: int,
    solved: bool,
    comment: str = "",
    language: str = "",
    now=None,
) -> SurveyInvitation:
    """Store the customer's answers once. Raises SurveyUnavailable (nothing changed) for a
    used or expired link. A "not solved" or an outcome satisfaction of 1-2 reopens the
    complaint, with the reason on its timeline."""
    now = now or timezone.now()
    comment = (comment or "").strip()[:4000]
    for score in (outcome_score, handling_score):
        if score not in range(1, 6):
            raise ServiceError(_("Choose a rating from 1 to 5."))
    complaint_id = (
        SurveyInvitation.objects.filter(pk=invitation_id)
        .values_list("complaint_id", flat=True)
        .first()
    )
    with transaction.atomic():
        complaint = lock(complaint_id)  # the complaint first, as every writer does
        invitation = SurveyInvitation.objects.select_for_update().get(pk=invitation_id)
        if invitation.used_at is not None:
            raise SurveyUnavailable("used")
        if invitation.is_expired(now):
            raise SurveyUnavailable("expired")
        invitation.outcome_score = outcome_score
        invitation.handling_score = handling_score
        invitation.solved = solved
        invitation.comment = comment
        invitation.answered_language = language
        invitation.used_at = now
        invitation.save()
        if invitation.followup_id:
            FollowUp.objects.filter(pk=invitation.followup_id, status=Status.SCHEDULED).update(
                status=Status.DONE,
                reached=True,
                solved=solved,
                satisfaction=outcome_score,
                comment=comment,
                done_at=now,
            )
        else:
            # A survey answer also completes the pending satisfaction check of this resolution.
            FollowUp.objects.filter(
                complaint_id=complaint_id,
                kind=Kind.SATISFACTION,
                status=Status.SCHEDULED,
                round=complaint.reopened_count,
            ).update(
                status=Status.DONE,
                reached=True,
                solved=solved,
                satisfaction=outcome_score,
                comment=comment,
                done_at=now,
            )
        ComplaintEvent.objects.create(
            complaint_id=complaint_id,
            kind=ComplaintEvent.Kind.CONTACT,
            created_at=now,
            note=comment,
            contact_direction=ComplaintEvent.Direction.INBOUND,
            data={
                "source": "followups",
                "survey": invitation.pk,
                "message": stored(
                    gettext_noop(
                        "Satisfaction survey answered: outcome %(outcome)s/5, handling "
                        "%(handling)s/5, problem solved: %(solved)s."
                    ),
                    outcome=outcome_score,
                    handling=handling_score,
                    solved=stored(gettext_noop("yes") if solved else gettext_noop("no")),
                ),
            },
        )
        Complaint.objects.filter(pk=complaint_id).update(updated_at=now)
        reopen_if_dissatisfied(
            complaint_id,
            solved=solved,
            satisfaction=outcome_score,
            source_msgid=gettext_noop("satisfaction survey"),
            user=None,
            comment=comment,
            now=now,
        )
    return invitation


def page_language(invitation: SurveyInvitation, requested: str, fallback: str) -> str:
    """?lang= on the page, else the invitation's language, else the browser's."""
    for candidate in (requested, invitation.language, fallback):
        if not candidate:
            continue
        try:
            return translation.get_supported_language_variant(candidate.lower())
        except LookupError:
            continue
    return settings.LANGUAGE_CODE
