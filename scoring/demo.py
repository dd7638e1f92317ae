"""Demo data: eight graded quarters (DESIGN.md §6.2 `seed_demo`).

Uses whatever sales and agreed targets exist and generates the manual scores
set-wise. The seven older quarters are published; the last one is graded with
one office's round still open, as it would be in the middle of an evaluation.
Idempotent: running it again finds the same rows.
"""

import datetime

from django.db.models import F, Value
from django.db.models.functions import Mod
from django.utils import timezone

from dealers.models import Office
from evalsys.periods import Quarter

from . import services
from .models import EvaluationRound, GradingStatus, QuarterGrading, RoundStatus, Score

QUARTERS = 8
NO_DATA = "演示数据：本季度销售或目标数据不全，由评估小组评定"


def seed_graded_quarters(*, stdout, today):
    last = Quarter.containing(today).previous()
    quarters = [last]
    while len(quarters) < QUARTERS:
        quarters.insert(0, quarters[0].previous())
    open_office = Office.objects.order_by("code").values_list("pk", flat=True).last()
    for quarter in quarters:
        # What is done is kept: a published quarter, and the last one once graded.
        done = (
            [GradingStatus.PUBLISHED] if quarter != last else [GradingStatus.GRADED, GradingStatus.PUBLISHED]
        )
        if QuarterGrading.objects.filter(quarter=str(quarter), status__in=done).exists():
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
        _hold_meetings(rounds, quarter=quarter, today=today)
        services.regrade_quarter(quarter=quarter)
        if quarter != last:
            services.publish_quarter(quarter=quarter)
        stdout.write(f"  {quarter} graded")
        stdout.flush()
    stdout.write(f"Graded quarters {quarters[0]}–{quarters[-1]} (the last one not yet published).")


def _hold_meetings(rounds, *, quarter, today):
    """Approve the rounds as their office's evaluation meeting would: date, chair, participants."""
    from django.contrib.auth import get_user_model

    from dealers.roles import OFFICE_ROLES, Role

    meeting = min(quarter.end + datetime.timedelta(days=10), today)
    held = timezone.make_aware(datetime.datetime.combine(meeting, datetime.time(16)))
    staff = {}
    for user in (
        get_user_model()
        .objects.filter(groups__name__in=OFFICE_ROLES, staff_profile__isnull=False, is_active=True)
        .prefetch_related("groups")
        .select_related("staff_profile")
        .distinct()
    ):
        staff.setdefault(user.staff_profile.office_id, []).append(user)
    for office_round in rounds.filter(status=RoundStatus.OPEN):
        people = staff.get(office_round.office_id, [])
        chair = next((u for u in people if any(g.name == Role.OFFICE_MANAGER for g in u.groups.all())), None)
        office_round.status = RoundStatus.APPROVED
        office_round.meeting_date = meeting
        office_round.chair = chair
        office_round.submitted_at = office_round.approved_at = held
        office_round.approved_by = chair
        office_round.save()
        office_round.participants.set(people)


def _odd_dealers():
    from dealers.models import Dealer

    return Dealer.objects.annotate(parity=Mod(F("id"), 2)).filter(parity=1).values("id")
