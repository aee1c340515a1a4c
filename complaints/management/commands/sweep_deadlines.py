"""Run the deadline sweep now, in this process, then send the emails still pending
(single ones, and the digests now due).

    python manage.py sweep_deadlines [--no-email] [--batch-size 500]

What the minutely Celery tasks `sweep_deadlines` and `deliver_pending_alerts` do, for a manual
run (no worker or broker needed) or a cron job. Safe to run next to the workers: the sweep
claims complaints with row locks and the unique alert constraint makes a second reminder
impossible. Prints the counts as JSON, like the tasks' results.
"""

import json

from django.core.management.base import BaseCommand

from ...services import alerts, digests


class Command(BaseCommand):
    help = "Send the reminders and escalations that have fallen due, and their emails."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-email",
            action="store_true",
            help="Only write alerts; leave emails to the workers.",
        )
        parser.add_argument("--batch-size", type=int, default=alerts.BATCH_SIZE)

    def handle(self, *args, **options):
        result = alerts.sweep(batch_size=options["batch_size"])
        outcome = {"complaints": result.complaints, "alerts": result.alerts}
        if not options["no_email"]:
            emails = alerts.deliver_many(alerts.pending_deliveries())
            outcome["emails"] = emails | digests.deliver_digests(digests.pending_digests())
        self.stdout.write(json.dumps(outcome))
