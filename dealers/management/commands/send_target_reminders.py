import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from dealers.targets.reminders import send_target_reminders


class Command(BaseCommand):
    help = "Run the target reminder job for a given day (default today): each person is told once a month."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="the day to run for, YYYY-MM-DD")

    def handle(self, *args, date=None, **options):
        try:
            today = datetime.date.fromisoformat(date) if date else timezone.localdate()
        except ValueError:
            raise CommandError(f"--date: not a date like 2026-09-25: {date}") from None
        result = send_target_reminders(today=today)
        if result["kind"] is None:
            self.stdout.write(f"{today}: no target reminder is due on this day.")
            return
        self.stdout.write(
            f"{today}: {result['kind']} reminder for {result['month']}: "
            f"{result['missing']} dealers without an agreed target, {result['sent']} people reminded."
        )
