"""Building graded companies for the scoring tests."""

from decimal import Decimal

from dealers.models import TargetStatus
from dealers.tests.factories import DealerFactory, SalesFactory, TargetFactory
from evalsys.periods import Quarter
from scoring.models import EvaluationRound, Indicator, RoundStatus, Score

Q3 = Quarter(2026, 3)


def dealer_with_sales(
    *, office, kind="exclusive", sales=(100, 100, 100), targets=(100, 100, 100), quarter=Q3, **kw
):
    """A dealer with the given monthly sales and agreed targets (None = no row) for `quarter`."""
    dealer = DealerFactory(office=office, kind=kind, **kw)
    for month, amount in zip(quarter.months, sales, strict=True):
        if amount is not None:
            SalesFactory(dealer=dealer, month=month, amount=Decimal(amount))
    for month, amount in zip(quarter.months, targets, strict=True):
        if amount is not None:
            TargetFactory(
                dealer=dealer, month=month, status=TargetStatus.AGREED, agreed_amount=Decimal(amount)
            )
    return dealer


def fill_manual(*, quarter=Q3, office=None, value=Decimal(80), dealer=None, values=None):
    """Give every manual score of the quarter (optionally one office or dealer) a value."""
    scores = Score.objects.filter(sheet__round__quarter=str(quarter), computed=False)
    if office is not None:
        scores = scores.filter(sheet__round__office=office)
    if dealer is not None:
        scores = scores.filter(sheet__dealer=dealer)
    if values:
        for code, v in values.items():
            scores.filter(indicator__code=code).update(value=Decimal(v))
    else:
        scores.update(value=value)


def approve(*, quarter=Q3, office=None):
    rounds = EvaluationRound.objects.filter(quarter=str(quarter))
    if office is not None:
        rounds = rounds.filter(office=office)
    rounds.update(status=RoundStatus.APPROVED)


def indicator(code):
    return Indicator.objects.get(code=code)
