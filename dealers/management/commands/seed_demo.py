from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.module_loading import import_string

from dealers.demo import DEMO_PASSWORD, seed_master_data

# Each app's demo data, in dependency order; every seeder is idempotent and
# takes keyword arguments `stdout` and `today`.
DEMO_SEEDERS = [
    "dealers.targets.demo.seed_targets",
    "scoring.demo.seed_graded_quarters",
    "scoring.followup.demo.seed_followup",
    "networks.demo.seed_network_demo",
]


class Command(BaseCommand):
    help = "Load realistic demo data (idempotent) and print the demo logins."

    def handle(self, *args, **options):
        today = timezone.localdate()
        logins = seed_master_data(stdout=self.stdout, today=today)
        for path in DEMO_SEEDERS:
            import_string(path)(stdout=self.stdout, today=today)
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role, office in logins:
            self.stdout.write(f"  {username:<8} {role:<24} {office}")
