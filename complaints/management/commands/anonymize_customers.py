"""python manage.py anonymize_customers --closed-before 2024-01-01 [--dry-run]"""

from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from ...services.retention import anonymize_customers


class Command(BaseCommand):
    help = _(
        "Remove the personal data of customers whose complaints were all finished before a "
        "date; complaints and statistics stay."
    )

    def add_arguments(self, parser):
        parser.add_argument("--closed-before", required=True, help="YYYY-MM-DD")
        parser.add_argument("--dry-run", action="store_true", help=_("Only count."))

    def handle(self, *args, closed_before, dry_run, **options):
        try:
            day = datetime.strptime(closed_before, "%Y-%m-%d").date()
        except ValueError as exc:
            raise CommandError(_("--closed-before must be a date like 2024-01-01.")) from exc
        cutoff = timezone.make_aware(datetime.combine(day, time.min))
        if cutoff > timezone.now():
            raise CommandError(_("--closed-before cannot be in the future."))
        result = anonymize_customers(closed_before=cutoff, dry_run=dry_run)
        message = (
            _("Would anonymize %(customers)d customers (%(complaints)d complaints).")
            if dry_run
            else _("Anonymized %(customers)d customers (%(complaints)d complaints).")
        )
        self.stdout.write(
            message % {"customers": result.customers, "complaints": result.complaints}
        )
