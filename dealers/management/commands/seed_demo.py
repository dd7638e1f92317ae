import time

from django.core.management.base import BaseCommand
from django.utils import timezone

from dealers.demo import DEMO_PASSWORD, demo_logins
from dealers.plugins import demo_seeders


class Command(BaseCommand):
    help = (
        "Load realistic demo data and print the demo logins. Idempotent: a second run adds nothing. "
        "Each app registers its seeders (dealers/plugins.py); they run in order, each saying what it added."
    )

    def handle(self, *args, **options):
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
