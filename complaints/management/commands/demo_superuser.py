from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

USERNAME = "admin"
PASSWORD = "redress-demo-2026"  # noqa: S105 - a published demo login, refused in production


class Command(BaseCommand):
    help = "Create the demo superuser (development only) and print its login."

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError(_("The demo superuser is not created in production."))
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(PASSWORD)
            user.save()
        self.stdout.write(
            self.style.SUCCESS(
                _("Demo login: %(user)s / %(password)s") % {"user": USERNAME, "password": PASSWORD}
            )
        )
