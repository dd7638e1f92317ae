from django.core.management.base import BaseCommand, CommandError

from evalsys.periods import parse_quarter_input, period_error
from scoring.services import ScoringError


class QuarterCommand(BaseCommand):
    """A command taking one quarter like 2026Q3; refusals become CommandError."""

    def add_arguments(self, parser):
        parser.add_argument("quarter", help="e.g. 2026Q3")

    def handle(self, *args, quarter, **options):
        try:
            parsed = parse_quarter_input(quarter)  # typed by a person: bounded years
        except ValueError:
            raise CommandError(period_error(quarter, quarter=True)) from None
        try:
            self.run(parsed, **options)
        except ScoringError as exc:
            raise CommandError(str(exc)) from None

    def run(self, quarter, **options):
        raise NotImplementedError
