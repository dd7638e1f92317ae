from scoring import services

from ._quarter import QuarterCommand


class Command(QuarterCommand):
    help = "Open the quarter's evaluation rounds, fill computed indicators and tell the office managers."

    def run(self, quarter, **options):
        result = services.open_quarter(quarter=quarter)
        self.stdout.write(
            f"{quarter}: {result['rounds']} rounds open, {result['notified']} office managers notified"
        )
