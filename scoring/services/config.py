"""The configuration in force for a quarter, the computed indicators, and whether a quarter is
published: what opening, scoring and grading all read."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from dealers.models import Dealer, MonthlySales, MonthlyTarget, TargetStatus
from evalsys.periods import Quarter

from .. import rules
from ..errors import ScoringError
from ..models import (
    ClassificationPolicy,
    GradingStatus,
    Indicator,
    IndicatorWeight,
    Method,
    QuarterGrading,
    WeightScheme,
)

BATCH = 2000


# Configuration in force for a quarter ------------------------------------------


@dataclass
class KindConfig:
    scheme: WeightScheme
    weights: dict[int, Decimal]  # indicator id → weight


@dataclass
class Config:
    quarter: Quarter
    indicators: dict[int, Indicator]
    kinds: dict[str, KindConfig]
    policy: ClassificationPolicy

    def indicator_ids(self, kind):
        return list(self.kinds[kind].weights) if kind in self.kinds else []

    def by_method(self, method):
        return next((i for i in self.indicators.values() if i.method == method), None)


def config_for(quarter: Quarter) -> Config:
    """The weight schemes and classification policy in force for `quarter`."""
    schemes = {}
    for scheme in WeightScheme.objects.filter(effective_from__lte=str(quarter)).order_by(
        "kind", "-effective_from"
    ):
        schemes.setdefault(scheme.kind, scheme)
    weights = defaultdict(dict)
    for w in IndicatorWeight.objects.filter(scheme__in=schemes.values()).values(
        "scheme_id", "indicator_id", "weight"
    ):
        weights[w["scheme_id"]][w["indicator_id"]] = w["weight"]
    policy = (
        ClassificationPolicy.objects.filter(effective_from__lte=str(quarter))
        .order_by("-effective_from")
        .first()
    )
    if policy is None:
        raise ScoringError(_("No classification policy is in force for %(quarter)s.") % {"quarter": quarter})
    return Config(
        quarter=quarter,
        indicators={i.pk: i for i in Indicator.objects.all()},
        kinds={kind: KindConfig(scheme, weights[scheme.pk]) for kind, scheme in schemes.items()},
        policy=policy,
    )


# Computed indicators ----------------------------------------------------------


def computed_scores(quarter: Quarter) -> dict[int, dict[str, Decimal | None]]:
    """`sales_volume` and `sales_attainment` of every dealer in the network at quarter end.

    Two aggregate queries: quarter sales exist with a row for each of the three
    months; the quarter target is the sum of three agreed months.
    """
    dealers = dict(Dealer.objects.in_network_on(quarter.end).values_list("id", "kind"))
    sales = dict(
        MonthlySales.objects.filter(
            month__in=quarter.months, dealer__in=Dealer.objects.in_network_on(quarter.end)
        )
        .values("dealer_id")
        .annotate(n=Count("id"), total=Sum("amount"))
        .filter(n=3)
        .values_list("dealer_id", "total")
    )
    targets = dict(
        MonthlyTarget.objects.filter(
            month__in=quarter.months,
            status=TargetStatus.AGREED,
            agreed_amount__isnull=False,
            dealer__in=Dealer.objects.in_network_on(quarter.end),
        )
        .values("dealer_id")
        .annotate(n=Count("id"), total=Sum("agreed_amount"))
        .filter(n=3)
        .values_list("dealer_id", "total")
    )
    peers = defaultdict(dict)
    for dealer_id, total in sales.items():
        if dealer_id in dealers:
            peers[dealers[dealer_id]][dealer_id] = total
    volume = {}
    for group in peers.values():
        volume.update(rules.percentile_scores(group))
    return {
        dealer_id: {
            Method.PERCENTILE: volume.get(dealer_id),
            Method.ATTAINMENT: rules.attainment_score(sales.get(dealer_id), targets.get(dealer_id)),
        }
        for dealer_id in dealers
    }


# Published quarters -------------------------------------------------------------


def _published(quarter: Quarter) -> bool:
    return QuarterGrading.objects.filter(quarter=str(quarter), status=GradingStatus.PUBLISHED).exists()


def published_message(quarter) -> str:
    return _(
        "%(quarter)s is published: its grades, scores and sheets are frozen. Only an administrator can reopen it."
    ) % {"quarter": quarter}


def _refuse_published(quarter: Quarter, *, lock: bool = False) -> None:
    """Refuse any change to a published quarter (DESIGN.md §3.4). With `lock`, inside the
    caller's transaction, the quarter's grading row is locked so that publishing waits for it."""
    gradings = QuarterGrading.objects.filter(quarter=str(quarter))
    if lock:
        gradings = gradings.select_for_update()
    status = gradings.values_list("status", flat=True).first()
    if status == GradingStatus.PUBLISHED:
        raise ScoringError(published_message(quarter))
