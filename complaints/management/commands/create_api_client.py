"""Create an API client and print its key once (only a hash is stored)."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from ...models import SCOPES, ApiClient, Department


class Command(BaseCommand):
    help = _("Create an API client and print its key once.")

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument(
            "--scope",
            action="append",
            default=[],
            choices=sorted(SCOPES),
            help=_("Repeat for several scopes."),
        )
        parser.add_argument("--department", help=_("Department code: only its complaints."))
        parser.add_argument("--owner", default="", help=_("Who is responsible for the client."))

    def handle(self, *args, name, scope, department, owner, **options):
        if not scope:
            raise CommandError(
                _("Give at least one --scope (%(known)s).") % {"known": ", ".join(SCOPES)}
            )
        if ApiClient.objects.filter(name=name).exists():
            raise CommandError(_("An API client named “%(name)s” exists already.") % {"name": name})
        restricted = None
        if department:
            restricted = Department.objects.filter(code=department).first()
            if restricted is None:
                raise CommandError(
                    _("No department with the code “%(code)s”.") % {"code": department}
                )
        client = ApiClient(name=name, owner=owner, scopes=sorted(set(scope)), department=restricted)
        key = client.new_key()
        try:
            client.full_clean()
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        with transaction.atomic():
            client.save()
        self.stdout.write(
            _("API client “%(name)s” created with scopes %(scopes)s.")
            % {"name": name, "scopes": ", ".join(client.scopes)}
        )
        self.stdout.write(_("Key (shown only now; store it safely):"))
        self.stdout.write(key)
