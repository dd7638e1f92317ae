import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from dealers.demo import DEMO_PASSWORD, demo_logins
from dealers.plugins import demo_seeders


class Command(BaseCommand):
    help = (
        "Load realistic demo data and print the demo logins. Idempotent: a second run adds nothing. "
        "Each app registers its seeders (dealers/plugins.py); they run in order, each saying what it added."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="run without DEBUG (a demo installation): creates users with the published demo password",
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                _(
                    "seed_demo creates users, a superuser among them, with the published demo password; "
                    "it runs only with DEBUG=true, or with --force on a database meant for a demonstration."
                )
            )
        today = timezone.localdate()
        entries = demo_seeders.entries()
        for number, entry in enumerate(entries, start=1):
            self.stdout.write(f"[{number}/{len(entries)}] {entry.label} …")
            self.stdout.flush()
            started = time.monotonic()
            entry.function(stdout=self.stdout, today=today)
            self.stdout.write(f"      ({time.monotonic() - started:.1f} s)")
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role, office in demo_logins():
            self.stdout.write(f"  {username:<8} {role:<24} {office}")
