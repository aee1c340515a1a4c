"""Celery tasks of the follow-up machinery: thin wrappers around services, each safe to run
twice, concurrently or after a crash (the database constraints keep the work single)."""

from celery import shared_task

from complaints.tasks import enqueue

from .services import reminders, repeats, scheduling, surveys


@shared_task(acks_late=True)
def schedule_followups(complaint_id: int) -> int:
    return len(scheduling.schedule_for(complaint_id))


@shared_task(acks_late=True)
def schedule_missing() -> int:
    return scheduling.schedule_missing()


@shared_task(acks_late=True)
def link_repeats(complaint_id: int) -> int:
    return len(repeats.link_repeats(complaint_id))


@shared_task(acks_late=True)
def link_recent_repeats() -> int:
    return repeats.link_recent()


def _deliver_later(ids) -> None:
    if ids:
        enqueue(deliver_reminders, list(ids))


@shared_task(acks_late=True)
def remind_due() -> dict:
    followups = reminders.remind_followups()
    actions = reminders.remind_actions()
    _deliver_later(followups + actions)
    return {"followups": len(followups), "actions": len(actions)}


@shared_task(acks_late=True)
def deliver_reminders(ids: list[int]) -> dict:
    return reminders.deliver_many(ids)


@shared_task(acks_late=True)
def deliver_pending_reminders() -> dict:
    return reminders.deliver_many(reminders.pending())


@shared_task(acks_late=True, autoretry_for=(Exception,), max_retries=5, retry_backoff=True)
def send_survey_email(invitation_id: int) -> bool:
    return surveys.send_email(invitation_id)
