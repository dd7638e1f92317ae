from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from scoring import services

from ._quarter import QuarterCommand


class Command(QuarterCommand):
    help = (
        "Publish a graded quarter; it is frozen from then on. A quarter with rounds not approved or "
        "dealers not evaluated is refused unless --allow-unfinished."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--allow-unfinished", action="store_true", help="publish even though something is unfinished"
        )

    def run(self, quarter, *, allow_unfinished=False, **options):
        unfinished = services.describe_unfinished(services.unfinished_for_publish(quarter))
        try:
            services.publish_quarter(quarter=quarter, allow_unfinished=allow_unfinished)
        except services.ScoringError as exc:
            if unfinished and not allow_unfinished:
                raise CommandError(
                    _("%(reason)s (--allow-unfinished publishes it as it is)") % {"reason": exc}
                ) from None
            raise
        if unfinished:
            self.stdout.write(
                _("%(quarter)s: published with unfinished work: %(what)s")
                % {"quarter": quarter, "what": unfinished}
            )
        else:
            self.stdout.write(_("%(quarter)s: published") % {"quarter": quarter})
