"""Bilingual reference data (issue 11): `name` is Chinese, `name_en` English, for departments,
categories (and their full names), notification lists, SLA policies, business calendars and
calendar exceptions. The rows earlier migrations created in English get both names."""

from django.db import migrations, models

# English name as created by 0004/0006 -> Chinese name.
DEFAULTS = {
    "BusinessCalendar": {"China mainland office hours": "中国大陆办公时间"},
    "SLAPolicy": {
        "1 · Crisis": "1 · 危机",
        "2 · Major": "2 · 重大",
        "3 · Elevated": "3 · 较高",
        "4 · General": "4 · 一般",
    },
    "NotificationList": {"Crisis list": "危机通报名单", "Complaint managers": "投诉经理"},
}
# Holiday names of the chinesecalendar library (stored in English or Chinese by load_holidays).
HOLIDAYS = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
WORKING = (" (working day)", "（调休上班）")


def _holiday(name: str) -> tuple[str, str] | None:
    """(Chinese, English) of a library holiday name in either language, or None."""
    suffix_en = suffix_zh = ""
    if name.endswith(WORKING[0]):
        name, suffix_en, suffix_zh = name.removesuffix(WORKING[0]), WORKING[0], WORKING[1]
    elif name.endswith(WORKING[1]):
        name, suffix_en, suffix_zh = name.removesuffix(WORKING[1]), WORKING[0], WORKING[1]
    for en, zh in HOLIDAYS.items():
        if name in (en, zh):
            return zh + suffix_zh, en + suffix_en
    return None


def forwards(apps, schema_editor):
    for model_name, names in DEFAULTS.items():
        model = apps.get_model("complaints", model_name)
        for row in model.objects.filter(name_en=""):
            if row.name in names:
                row.name_en, row.name = row.name, names[row.name]
            elif row.name.isascii():
                row.name_en = row.name  # an English name staff gave: at least English is right
            else:
                continue
            row.save(update_fields=["name", "name_en"])
    CalendarException = apps.get_model("complaints", "CalendarException")
    for row in CalendarException.objects.filter(name_en=""):
        pair = _holiday(row.name)
        if pair is None and not row.name.isascii():
            continue
        row.name, row.name_en = pair or (row.name, row.name)
        row.save(update_fields=["name", "name_en"])
    for model_name in ("Department", "Category"):
        model = apps.get_model("complaints", model_name)
        for row in model.objects.filter(name_en=""):
            if row.name.isascii():
                row.name_en = row.name
                row.save(update_fields=["name_en"])
    _category_paths(apps.get_model("complaints", "Category"))


def _category_paths(Category):
    """services.categories.rebuild_paths as of this migration: the English full names."""
    nodes = list(Category.objects.all())
    children = {}
    for node in nodes:
        children.setdefault(node.parent_id, []).append(node)

    def walk(parent_id, prefix):
        for node in children.get(parent_id, []):
            name = node.name_en or node.name
            node.path_en = f"{prefix} / {name}" if prefix else name
            node.save(update_fields=["path_en"])
            walk(node.pk, node.path_en)

    walk(None, "")


class Migration(migrations.Migration):
    dependencies = [("complaints", "0026_fewer_complaint_indexes")]

    operations = [
        migrations.AlterField(
            model_name="businesscalendar",
            name="name",
            field=models.CharField(max_length=100, verbose_name="name (Chinese)"),
        ),
        migrations.AddField(
            model_name="businesscalendar",
            name="name_en",
            field=models.CharField(blank=True, max_length=100, verbose_name="name (English)"),
        ),
        migrations.AlterField(
            model_name="calendarexception",
            name="name",
            field=models.CharField(max_length=100, verbose_name="name (Chinese)"),
        ),
        migrations.AddField(
            model_name="calendarexception",
            name="name_en",
            field=models.CharField(blank=True, max_length=100, verbose_name="name (English)"),
        ),
        migrations.AlterField(
            model_name="category",
            name="name",
            field=models.CharField(max_length=200, verbose_name="name (Chinese)"),
        ),
        migrations.AddField(
            model_name="category",
            name="name_en",
            field=models.CharField(blank=True, max_length=200, verbose_name="name (English)"),
        ),
        migrations.AddField(
            model_name="category",
            name="path_en",
            field=models.CharField(
                default="", editable=False, max_length=1000, verbose_name="full name (English)"
            ),
        ),
        migrations.AlterField(
            model_name="department",
            name="name",
            field=models.CharField(max_length=200, verbose_name="name (Chinese)"),
        ),
        migrations.AddField(
            model_name="department",
            name="name_en",
            field=models.CharField(blank=True, max_length=200, verbose_name="name (English)"),
        ),
        migrations.AlterField(
            model_name="notificationlist",
            name="name",
            field=models.CharField(max_length=100, verbose_name="name (Chinese)"),
        ),
        migrations.AddField(
            model_name="notificationlist",
            name="name_en",
            field=models.CharField(blank=True, max_length=100, verbose_name="name (English)"),
        ),
        migrations.AlterField(
            model_name="slapolicy",
            name="name",
            field=models.CharField(max_length=100, verbose_name="name (Chinese)"),
        ),
        migrations.AddField(
            model_name="slapolicy",
            name="name_en",
            field=models.CharField(blank=True, max_length=100, verbose_name="name (English)"),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True),
    ]
