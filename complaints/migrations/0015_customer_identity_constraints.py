"""One canonical customer per non-empty phone, email and external id (duplicates were flagged
by 0014; a separate migration so PostgreSQL creates the indexes after that data change)."""

from django.db import migrations, models


def unique(field, message):
    return migrations.AddConstraint(
        model_name="customer",
        constraint=models.UniqueConstraint(
            condition=models.Q(models.Q((field, ""), _negated=True), ("duplicate_of__isnull", True)),
            fields=(field,),
            name=f"customer_unique_{field}",
            violation_error_message=message,
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0014_customer_identity"),
    ]

    operations = [
        unique("phone", "Another customer on file has this phone number."),
        unique("email", "Another customer on file has this email address."),
        unique("external_id", "Another customer on file has this external id."),
    ]
