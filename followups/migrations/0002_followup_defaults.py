"""The default follow-up policy (callback within 2 working days of resolution, required
before closing; satisfaction check 30 calendar days later), the survey invitation texts, and
the beat schedule of the follow-up machinery."""

from django.db import migrations

SCHEDULE = [
    ("Follow-ups: schedule for resolved complaints", "followups.tasks.schedule_missing", 10),
    ("Follow-ups: remind due follow-ups and overdue actions", "followups.tasks.remind_due", 5),
    ("Follow-ups: retry reminder emails", "followups.tasks.deliver_pending_reminders", 2),
    ("Follow-ups: link repeat complaints", "followups.tasks.link_recent_repeats", 60),
]

TEMPLATES = {
    "survey_email": {
        "subject_zh": "关于投诉 {reference} 的满意度调查",
        "subject_en": "How did we do? Complaint {reference}",
        "body_zh": (
            "您好！\n\n感谢您就“{subject}”（编号 {reference}）与我们联系。"
            "请花一分钟告诉我们您对处理结果的评价：\n\n{link}\n\n"
            "链接在 {expires} 前有效，只能提交一次。"
        ),
        "body_en": (
            "Hello,\n\nThank you for contacting us about “{subject}” (reference {reference}). "
            "Please take a minute to tell us how we did:\n\n{link}\n\n"
            "The link works until {expires} and can be used once."
        ),
    },
    "survey_sms": {
        "subject_zh": "",
        "subject_en": "",
        "body_zh": "【满意度调查】您的投诉 {reference} 已处理，请评价：{link}（{expires} 前有效）",
        "body_en": "How did we handle complaint {reference}? Tell us: {link} (until {expires})",
    },
}


def forwards(apps, schema_editor):
    Policy = apps.get_model("followups", "FollowUpPolicy")
    Step = apps.get_model("followups", "FollowUpStep")
    Calendar = apps.get_model("complaints", "BusinessCalendar")
    if not Policy.objects.filter(severity=None, category=None, active=True).exists():
        policy = Policy.objects.create(
            name="Default: callback and satisfaction check",
            calendar=Calendar.objects.filter(is_default=True).first(),
        )
        Step.objects.create(
            policy=policy, kind="callback", amount=2, unit="days", working_time=True,
            method="phone", required_before_close=True,
        )
        Step.objects.create(
            policy=policy, kind="satisfaction", amount=30, unit="days", working_time=False,
            method="sms", required_before_close=False,
        )
    Template = apps.get_model("followups", "MessageTemplate")
    for code, texts in TEMPLATES.items():
        Template.objects.get_or_create(code=code, defaults=texts)
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minutes in SCHEDULE:
        interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": task, "interval": interval})


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0001_followups"),
        ("complaints", "0004_default_sla"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
