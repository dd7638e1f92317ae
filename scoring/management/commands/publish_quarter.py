from django.utils.translation import gettext as _

from scoring import services

from ._quarter import QuarterCommand


class Command(QuarterCommand):
    help = "Publish a graded quarter; its grades are frozen from then on."

    def run(self, quarter, **options):
        services.publish_quarter(quarter=quarter)
        self.stdout.write(_("%(quarter)s: published") % {"quarter": quarter})
