from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from dealers.demo import DEMO_PASSWORD, seed_master_data

# Each app's demo data, in dependency order; every seeder is idempotent and
# takes keyword arguments `stdout` and `today`.
DEMO_SEEDERS = [
    "dealers.demo_targets.seed_targets",
    "scoring.demo.seed_graded_quarters",
    "networks.demo.seed_network_demo",
]


class Command(BaseCommand):
    help = "Load realistic demo data (idempotent) and print the demo logins."

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
        logins = seed_master_data(stdout=self.stdout, today=today)
        for path in DEMO_SEEDERS:
            import_string(path)(stdout=self.stdout, today=today)
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, role, office in logins:
            self.stdout.write(f"  {username:<8} {role:<24} {office}")
