from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from scoring import services
from scoring.models import Grade

from ._quarter import QuarterCommand


class Command(QuarterCommand):
    help = "Recompute the computed indicators and grade the quarter (refused once published)."

    def run(self, quarter, **options):
        outcome = services.regrade_quarter(quarter=quarter)
        grades = Grade.objects.filter(quarter=str(quarter))
        graded, busy = outcome.get("graded", 0), outcome.get("busy", 0)
        evaluated = grades.filter(evaluated=True).count()
        not_evaluated = grades.filter(evaluated=False).count()
        parts = [
            ngettext("%(count)s office graded", "%(count)s offices graded", graded) % {"count": graded},
            ngettext("%(count)s busy elsewhere", "%(count)s busy elsewhere", busy) % {"count": busy},
            ngettext(
                "%(count)s unchanged since the last re-grade",
                "%(count)s unchanged since the last re-grade",
                outcome.get("unchanged", 0),
            )
            % {"count": outcome.get("unchanged", 0)},
            ngettext("%(count)s dealer evaluated", "%(count)s dealers evaluated", evaluated)
            % {"count": evaluated},
            ngettext("%(count)s not evaluated", "%(count)s not evaluated", not_evaluated)
            % {"count": not_evaluated},
        ]
        self.stdout.write(_("%(quarter)s: %(summary)s") % {"quarter": quarter, "summary": "; ".join(parts)})
