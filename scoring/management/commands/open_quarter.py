from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from scoring import services

from ._quarter import QuarterCommand


class Command(QuarterCommand):
    help = "Open the quarter's evaluation rounds, fill computed indicators and tell the office managers."

    def run(self, quarter, **options):
        result = services.open_quarter(quarter=quarter)
        rounds = ngettext("%(count)s round open", "%(count)s rounds open", result["rounds"]) % {
            "count": result["rounds"]
        }
        notified = ngettext(
            "%(count)s office manager notified", "%(count)s office managers notified", result["notified"]
        ) % {"count": result["notified"]}
        self.stdout.write(
            _("%(quarter)s: %(rounds)s, %(notified)s")
            % {"quarter": quarter, "rounds": rounds, "notified": notified}
        )
