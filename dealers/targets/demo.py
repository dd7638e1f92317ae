"""Demo agreements, 24 months of agreed targets and actual sales, and points.

Deterministic and idempotent: what exists is kept, what is missing is added,
then the months' points are recomputed.
"""

import datetime
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from simple_history.utils import bulk_create_with_history

from evalsys.periods import add_months

from ..freeze import frozen_months
from ..models import (
    AnnualAgreement,
    Dealer,
    MonthlySales,
    MonthlyTarget,
    TargetStatus,
    TargetStep,
    TargetVersion,
)
from .points import recompute_points
from .rules import quantize, target_deadline, timeliness
from .services import deadline_day

MONTHS = 24
SEASON = [0.8, 0.7, 0.95, 1.0, 1.05, 1.1, 1.0, 0.95, 1.05, 1.1, 1.15, 1.25]
SHANGHAI = ZoneInfo("Asia/Shanghai")
BATCH = 2000


def _agreed_at(rng, month):
    deadline = target_deadline(month, deadline_day())
    if rng.random() < 0.08:
        day = deadline + datetime.timedelta(days=rng.randint(1, 6))
    else:
        day = deadline - datetime.timedelta(days=rng.randint(0, 12))
    return datetime.datetime(
        day.year, day.month, day.day, rng.randint(9, 17), rng.randint(0, 59), tzinfo=SHANGHAI
    )


def _target(dealer, month, amount, agreed_at, countered, next_month, index, steps):
    """One demo target with its negotiation steps recorded in `steps`."""
    key = (dealer.pk, month)
    proposed = quantize(amount * Decimal("1.1"))
    if month == next_month and index % 3 == 1:
        steps[key] = [(TargetStep.PROPOSED, proposed, agreed_at, "")]
        return MonthlyTarget(
            dealer=dealer, month=month, status=TargetStatus.PROPOSED, proposed_amount=proposed, version=1
        )
    agreed = timeliness(month, agreed_at.date(), deadline_day())
    history = [(TargetStep.PROPOSED, proposed, agreed_at - datetime.timedelta(days=3), "")]
    if countered:
        history.append((TargetStep.COUNTERED, amount, agreed_at - datetime.timedelta(days=1), ""))
    history.append((TargetStep.AGREED, amount, agreed_at, agreed))
    steps[key] = history
    return MonthlyTarget(
        dealer=dealer,
        month=month,
        status=TargetStatus.AGREED,
        proposed_amount=proposed,
        counter_amount=amount if countered else None,
        agreed_amount=amount,
        agreed_at=agreed_at,
        agreed_by=dealer.business_manager,
        timeliness=agreed,
        version=len(history),
    )


def _in_network(dealer, month: datetime.date) -> bool:
    """Whether the dealer is in the network during (some of) `month`."""
    return dealer.joined <= add_months(month, 1) - datetime.timedelta(days=1) and (
        dealer.churned_on is None or dealer.churned_on > month
    )


@transaction.atomic
def seed_targets(*, stdout, today: datetime.date):
    """Agreements, targets and sales of every dealer for the months it is in the network.

    Each dealer's figures come from its own random stream (seeded by its code), so
    they do not depend on which other dealers exist or have rows already: a second
    run computes the same figures and adds nothing.
    """
    this_month = today.replace(day=1)
    next_month = add_months(this_month, 1)
    months = [add_months(this_month, -n) for n in range(MONTHS - 1, -1, -1)]
    sales_months = [m for m in months if m < this_month]
    years = sorted({m.year for m in months} | {next_month.year})
    dealers = list(Dealer.objects.select_related("business_manager").order_by("code"))
    existing_agreements = set(AnnualAgreement.objects.values_list("dealer_id", "year"))
    frozen = frozen_months([*months, next_month])
    existing_targets = set(MonthlyTarget.objects.values_list("dealer_id", "month"))
    existing_sales = set(MonthlySales.objects.values_list("dealer_id", "month"))
    agreements, targets, sales, steps = [], [], [], {}
    for index, dealer in enumerate(dealers):
        rng = random.Random(f"20260325:{dealer.code}")
        monthly_base = Decimal(rng.randrange(50, 250) * 1000)
        growth = Decimal(str(rng.uniform(0.95, 1.15)))
        performer = rng.uniform(0.8, 1.1)
        in_network = [m for m in [*months, next_month] if _in_network(dealer, m)]
        for year in years:
            signed_day = rng.randint(1, 20)
            if (dealer.pk, year) not in existing_agreements and any(m.year == year for m in in_network):
                agreements.append(
                    AnnualAgreement(
                        dealer=dealer,
                        year=year,
                        signed_on=datetime.date(year - 1, 12, signed_day),
                        annual_target=monthly_base * Decimal("14"),
                    )
                )
        for month in [*months, next_month]:
            season = Decimal(str(SEASON[month.month - 1]))
            amount = quantize(monthly_base * season * (growth if month.year == today.year else 1))
            amount = (amount / 1000).quantize(Decimal(1)) * 1000
            # Every draw happens whether or not the row is written, so the stream stays the same.
            agreed_at = _agreed_at(rng, month)
            countered = rng.random() < 0.5
            reported = rng.random() > 0.01
            actual = quantize(amount * Decimal(str(rng.gauss(performer, 0.12))))
            if month not in in_network:
                continue
            if month in frozen:  # a published quarter's months are not added to (DESIGN.md §3.4)
                continue
            if month == next_month and index % 3 == 0:
                continue  # still to be negotiated: the reminders have something to say
            key = (dealer.pk, month)
            if key not in existing_targets:
                targets.append(_target(dealer, month, amount, agreed_at, countered, next_month, index, steps))
            if month in sales_months and key not in existing_sales and reported:
                sales.append(MonthlySales(dealer=dealer, month=month, amount=max(actual, Decimal(0))))
    bulk_create_with_history(agreements, AnnualAgreement, batch_size=BATCH)
    bulk_create_with_history(targets, MonthlyTarget, batch_size=BATCH)
    bulk_create_with_history(sales, MonthlySales, batch_size=BATCH)

    ids = {
        (dealer_id, month): pk
        for pk, dealer_id, month in MonthlyTarget.objects.filter(
            dealer_id__in={t.dealer_id for t in targets}, month__in={t.month for t in targets}
        ).values_list("pk", "dealer_id", "month")
    }
    managers = {d.pk: d.business_manager for d in dealers}
    TargetVersion.objects.bulk_create(
        [
            TargetVersion(
                target_id=ids[key],
                version=number,
                step=step,
                amount=amount,
                timeliness=when,
                recorded_by=managers[key[0]],
                recorded_at=at,
            )
            for key, history in steps.items()
            for number, (step, amount, at, when) in enumerate(history, start=1)
        ],
        batch_size=BATCH,
    )
    # Only the months that got rows now, none of them frozen (see above).
    touched = sorted(({t.month for t in targets} | {s.month for s in sales}) & set(sales_months))
    for month in touched:
        recompute_points(months=[month])
    stdout.write(
        f"targets: {len(agreements)} agreements, {len(targets)} monthly targets, "
        f"{len(sales)} monthly sales added; points recomputed for {len(touched)} months"
    )
