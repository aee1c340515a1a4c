"""Bilingual follow-up policy names (issue 11): `name` Chinese, `name_en` English."""

from django.db import migrations, models

DEFAULTS = {"Default: callback and satisfaction check": "默认：回访核实与满意度调查"}


def forwards(apps, schema_editor):
    Policy = apps.get_model("followups", "FollowUpPolicy")
    for row in Policy.objects.filter(name_en=""):
        if row.name in DEFAULTS:
            row.name_en, row.name = row.name, DEFAULTS[row.name]
        elif row.name.isascii():
            row.name_en = row.name
        else:
            continue
        row.save(update_fields=["name", "name_en"])


class Migration(migrations.Migration):
    dependencies = [("followups", "0003_roles")]

    operations = [
        migrations.AlterField(
            model_name="followuppolicy",
            name="name",
            field=models.CharField(max_length=100, verbose_name="name (Chinese)"),
        ),
        migrations.AddField(
            model_name="followuppolicy",
            name="name_en",
            field=models.CharField(blank=True, max_length=100, verbose_name="name (English)"),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True),
    ]
