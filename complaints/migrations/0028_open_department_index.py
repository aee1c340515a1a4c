"""A department's open complaints in received order (issue 15): the API's and the admin's
"open + department" filters (status=new&status=investigating&department=...) otherwise
combine the status index with the whole department's part of complaint_dept_recv_idx (all
its complaints of five years) and sort; this partial index holds only open rows, a few
thousand per department at 5,000,000 complaints."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0027_alert_digests"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="complaint",
            index=models.Index(
                condition=models.Q(
                    (
                        "status__in",
                        (
                            "new",
                            "acknowledged",
                            "investigating",
                            "awaiting_customer",
                            "solution_proposed",
                            "reopened",
                        ),
                    )
                ),
                fields=["department", "-received_at", "-id"],
                name="complaint_open_dept_recv_idx",
            ),
        ),
    ]
