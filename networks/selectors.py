"""Read-side queries of the network pages, each a fixed number of queries."""

import datetime

from django.db.models import Count, Exists, Max, OuterRef, Q

from dealers.models import Dealer, DealerMove, DealerStatus, MonthlySales
from dealers.roles import Role, allowed, has_role
from dealers.selectors import office_on_expression
from evalsys.periods import Quarter

from . import rules
from .models import ChurnReport, Verification

NOT_VISITED_DAYS = 30


def visit_dealers(user):
    """The dealers `user` may log visits and churn for: a business manager his own, others the office's."""
    dealers = Dealer.objects.visible_to(user)
    if has_role(user, Role.BUSINESS_MANAGER) and not allowed(user, Role.OFFICE_MANAGER):
        dealers = dealers.filter(business_manager=user)
    return dealers


def acts_for(user, dealer) -> bool:
    """Whether `user` logs visits and reports churn for `dealer` (the role first: no query without it)."""
    return (
        allowed(user, Role.BUSINESS_MANAGER, Role.OFFICE_MANAGER)
        and visit_dealers(user).filter(pk=dealer.pk).exists()
    )


def not_visited(*, dealers, today: datetime.date, days: int = NOT_VISITED_DAYS):
    """Dealers in the network today whose last visit is more than `days` ago (or never)."""
    return (
        dealers.in_network_on(today)
        .annotate(last_visit=Max("visits__date"))
        .filter(Q(last_visit__isnull=True) | Q(last_visit__lt=today - datetime.timedelta(days=days)))
        .select_related("business_manager")
        .order_by("business_manager__username", "last_visit", "code")
    )


def by_business_manager(dealers) -> list[dict]:
    """Group an ordered list of dealers by business manager, with counts."""
    groups = []
    for dealer in dealers:
        if not groups or groups[-1]["manager"] != dealer.business_manager:
            groups.append({"manager": dealer.business_manager, "dealers": []})
        groups[-1]["dealers"].append(dealer)
    return groups


def churned_without_report(user):
    return (
        Dealer.objects.visible_to(user)
        .filter(status=DealerStatus.CHURNED, churn_report__isnull=True)
        .select_related("office")
        .order_by("-churned_on", "code")
    )


def awaiting_verification(user):
    return (
        ChurnReport.objects.visible_to(user)
        .filter(verification=Verification.PENDING)
        .select_related("dealer__office", "reported_by")
        .order_by("reported_at")
    )


def dealers_touching_offices(office_ids):
    """The dealers that may have belonged to one of `office_ids` on some day: those in one of
    them now, and those with a move from or to one of them (the others never did)."""
    moved = DealerMove.objects.filter(Q(from_office_id__in=office_ids) | Q(to_office_id__in=office_ids))
    return Dealer.objects.filter(Q(office_id__in=office_ids) | Q(pk__in=moved.values("dealer_id")))


def dealers_of_offices_on(day: datetime.date, office_ids):
    """The dealers that belonged to one of `office_ids` on `day`, annotated `office_at` with
    that office (DESIGN.md §3.4: a past quarter reads each dealer in its office then)."""
    return (
        dealers_touching_offices(office_ids)
        .annotate(office_at=office_on_expression(day))
        .filter(office_at__in=office_ids)
    )


def churn_reasons_by_office(*, quarter: Quarter, office_ids) -> dict[int, dict]:
    """Per office (the dealer's at the quarter's end): reports of dealers churned in `quarter`
    by reason and by verification."""
    rows = (
        ChurnReport.objects.filter(
            dealer__in=dealers_of_offices_on(quarter.end, list(office_ids)).values("pk"),
            dealer__churned_on__range=(quarter.start, quarter.end),
        )
        .annotate(office_at=office_on_expression(quarter.end, dealer="dealer_id", office="dealer__office_id"))
        .values("office_at", "reason", "verification")
        .annotate(n=Count("pk"))
        .order_by()
    )
    result = {}
    for row in rows:
        office = result.setdefault(row["office_at"], {"reasons": {}, "verification": {}})
        office["reasons"][row["reason"]] = office["reasons"].get(row["reason"], 0) + row["n"]
        office["verification"][row["verification"]] = (
            office["verification"].get(row["verification"], 0) + row["n"]
        )
    return result


def recent_quarters(last: Quarter, count: int = 8) -> list[Quarter]:
    quarters = [last]
    while len(quarters) < count:
        quarters.append(quarters[-1].previous())
    return quarters[::-1]


def suspected_churn(dealers, *, today: datetime.date):
    """`dealers` suspected of churn (`rules.suspected_churn`): in the network today and through the
    last two complete months, without a sales row in either. One query, by office and code."""
    months = rules.last_complete_months(today)
    return (
        dealers.in_network_on(today)
        .filter(joined__lte=months[0])
        .exclude(Exists(MonthlySales.objects.filter(dealer=OuterRef("pk"), month__in=months)))
        .order_by("office__code", "code")
    )


def suspected_churn_counts(dealers, *, today: datetime.date) -> dict[int, int]:
    """office id → number of `dealers` suspected of churn, in one aggregate query."""
    return dict(
        suspected_churn(dealers, today=today).values_list("office_id").annotate(n=Count("pk")).order_by()
    )
