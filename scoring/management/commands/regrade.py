from scoring import services
from scoring.models import Grade

from ._quarter import QuarterCommand


class Command(QuarterCommand):
    help = "Recompute the computed indicators and grade the quarter (refused once published)."

    def run(self, quarter, **options):
        outcome = services.regrade_quarter(quarter=quarter)
        grades = Grade.objects.filter(quarter=str(quarter))
        self.stdout.write(
            f"{quarter}: {outcome.get('graded', 0)} offices graded, {outcome.get('busy', 0)} busy elsewhere; "
            f"{grades.filter(evaluated=True).count()} dealers evaluated, "
            f"{grades.filter(evaluated=False).count()} not evaluated"
        )
