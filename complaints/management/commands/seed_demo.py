"""Fill the database with a realistic demo (complaints/demo/seeder.py does the work).

Deterministic for a given --seed, relative to the moment it runs. Reference data (departments,
categories, groups, staff users) is matched by code or name, so a second run only adds
customers and complaints.
"""

import time
from random import Random

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings
from django.utils.translation import gettext as _

from ...demo import accounts as A
from ...demo.seeder import PASSWORD, Seeder
from ...models import Complaint
from ...services import awaiting


class Command(BaseCommand):
    help = "Create demo departments, categories, staff users, customers and complaints."

    def add_arguments(self, parser):
        parser.add_argument("--complaints", type=int, default=2000, help="How many (default 2000).")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (default 2026).")
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Complaints per transaction."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing if complaints exist."
        )

    def handle(self, *args, complaints, seed, batch_size, if_empty, verbosity, **options):
        if settings.PRODUCTION:
            # It creates staff accounts with a published password.
            raise CommandError(_("Demo data is not loaded in production."))
        if complaints < 0 or batch_size < 1:
            raise CommandError(_("--complaints must be >= 0 and --batch-size >= 1."))
        say = self.stdout.write if verbosity else (lambda message: None)
        if if_empty and Complaint.objects.exists():
            say(_("Complaints already exist; nothing to do."))
            return
        started = time.monotonic()
        # With DEBUG on, Django would also render every bulk INSERT into connection.queries.
        with override_settings(DEBUG=False):
            seeder = Seeder(say, Random(seed), seed, started)
            seeder.reference_data()
            seeder.customers(max(50, complaints // 3))
            seeder.complaints(complaints, batch_size)
            awaiting.open_missing_periods()  # the waits of the complaints written in bulk
        elapsed = time.monotonic() - started
        rate = round(complaints / elapsed) if elapsed else 0
        say(self.style.SUCCESS(
            _("Created %(n)s complaints with %(e)s events in %(s).1f s (%(r)s complaints/s).")
            % {"n": complaints, "e": seeder.event_count, "s": elapsed, "r": rate}
        ))  # fmt: skip
        say(
            _("Demo staff (password %(pw)s): %(users)s; the login page lists them.")
            % {"pw": PASSWORD, "users": ", ".join(A.USERNAMES)}
        )
