"""Fewer indexes on the complaint table (issue 15): every UPDATE that changes an indexed
column (the deadline sweep changes next_alert_at, updated_at, escalation_level and the
assignee every minute) writes an entry into every index of the table, so each redundant index
is paid on every write. The single-column foreign-key indexes on category, department and
assignee duplicate the leading column of complaint_cat_recv_idx, complaint_dept_recv_idx and
complaint_asgn_recv_idx, which serve the same lookups (and the PROTECT checks)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0025_cjk_bigram_search"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="complaint",
            name="assignee",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="assigned_complaints",
                to=settings.AUTH_USER_MODEL,
                verbose_name="assignee",
            ),
        ),
        migrations.AlterField(
            model_name="complaint",
            name="category",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="complaints",
                to="complaints.category",
                verbose_name="category",
            ),
        ),
        migrations.AlterField(
            model_name="complaint",
            name="department",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="complaints",
                to="complaints.department",
                verbose_name="responsible department",
            ),
        ),
    ]
