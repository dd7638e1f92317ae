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


def grade_quarter(quarter, classes, *, published=False, office=None):
    """Grades of `quarter` with the given final classes ({dealer: class}), and its grading row.

    With `published`, the quarter is published through the service, as sales planning would.
    """
    from scoring import services
    from scoring.models import Grade, GradingStatus, QuarterGrading

    QuarterGrading.objects.update_or_create(quarter=str(quarter), defaults={"status": GradingStatus.GRADED})
    for dealer, final_class in classes.items():
        Grade.objects.update_or_create(
            quarter=str(quarter),
            dealer=dealer,
            defaults={
                "office": office or dealer.office,
                "kind": dealer.kind,
                "evaluated": bool(final_class),
                "total": {"A": Decimal(90), "B": Decimal(75), "C": Decimal(60)}.get(final_class),
                "computed_class": final_class,
                "final_class": final_class,
            },
        )
    QuarterGrading.objects.filter(quarter=str(quarter)).update(
        distribution=services.class_distribution(quarter=quarter)
    )
    if published:
        services.publish_quarter(quarter=quarter)


GRADE_SNAPSHOT_FIELDS = (
    "dealer__code",
    "office_id",
    "kind",
    "evaluated",
    "total",
    "sales_volume",
    "office_rank",
    "company_rank",
    "computed_class",
    "final_class",
    "previous_class",
    "change",
    "overridden",
    "scheme_id",
    "policy_id",
)


def graded_rows(quarter=Q3):
    """Every grade of `quarter` and its computed scores, sorted: what two gradings must agree on."""
    from scoring.models import Grade

    grades = sorted(Grade.objects.filter(quarter=str(quarter)).values_list(*GRADE_SNAPSHOT_FIELDS))
    scores = sorted(
        Score.objects.filter(sheet__round__quarter=str(quarter), computed=True).values_list(
            "sheet__dealer__code", "indicator__code", "value"
        )
    )
    return grades, scores
