"""Demo data: eight graded quarters (DESIGN.md §6.2 `seed_demo`).

Uses whatever sales and agreed targets exist and generates the manual scores
set-wise. The seven older quarters are published; the last one is graded with
one office's round still open, as it would be in the middle of an evaluation.
Idempotent: running it again finds the same rows.
"""

from django.db.models import F, Value
from django.db.models.functions import Mod

from dealers.models import Office
from evalsys.periods import Quarter

from . import services
from .models import EvaluationRound, GradingStatus, QuarterGrading, RoundStatus, Score

QUARTERS = 8
NO_DATA = "演示数据:本季度销售或目标数据不全,由评估小组评定"


def seed_graded_quarters(*, stdout, today):
    last = Quarter.containing(today).previous()
    quarters = [last]
    while len(quarters) < QUARTERS:
        quarters.insert(0, quarters[0].previous())
    open_office = Office.objects.order_by("code").values_list("pk", flat=True).last()
    for quarter in quarters:
        if QuarterGrading.objects.filter(quarter=str(quarter), status=GradingStatus.PUBLISHED).exists():
            continue
        services.open_quarter(quarter=quarter)
        scores = Score.objects.filter(sheet__round__quarter=str(quarter))
        if quarter == last:
            scores = scores.exclude(sheet__round__office_id=open_office, sheet__dealer_id__in=_odd_dealers())
        # 55–100, varying by sheet and indicator
        generated = Mod(F("sheet_id") * 37 + F("indicator_id") * 11, 46) + Value(55)
        scores.filter(computed=False).update(value=generated)
        # Dealers without three months of sales or targets: the committee's judgement, with its reason.
        scores.filter(computed=True, value__isnull=True).update(
            override_value=generated, override_reason=NO_DATA
        )
        rounds = EvaluationRound.objects.filter(quarter=str(quarter))
        if quarter == last:
            rounds = rounds.exclude(office_id=open_office)
        rounds.update(status=RoundStatus.APPROVED)
        services.regrade_quarter(quarter=quarter)
        if quarter != last:
            services.publish_quarter(quarter=quarter)
    stdout.write(f"Graded quarters {quarters[0]}–{quarters[-1]} (the last one not yet published).")


def _odd_dealers():
    from dealers.models import Dealer

    return Dealer.objects.annotate(parity=Mod(F("id"), 2)).filter(parity=1).values("id")
