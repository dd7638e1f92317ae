"""Monthly targets, actual sales and points (DESIGN.md §4): the functions that read and write them."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import IntegrityError, transaction
from django.db.models import Case, Count, DecimalField, F, FilteredRelation, Q, Sum, When
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _

from evalsys.periods import Quarter, add_months, format_month

from .. import versions
from ..freeze import ensure_months_open
from ..models import (
    AnnualAgreement,
    Dealer,
    MonthlySales,
    MonthlyTarget,
    PointsEntry,
    PointsEntryKind,
    QuarterNote,
    TargetStatus,
    TargetStep,
    TargetVersion,
)
from ..roles import IMPORT_ROLES, Role, allowed, has_role, office_id_of, sees_all_offices
from .points import points_balances, recompute_points
from .rules import agreement_in_force, attainment, month_closed, quarter_attainment, quarter_sum, timeliness

TARGET_ROLES = (Role.BUSINESS_MANAGER, Role.OFFICE_MANAGER, Role.SALES_PLANNING)
# The marketing VP reads everything: the targets pages, without their forms.
TARGET_READER_ROLES = (*TARGET_ROLES, Role.MARKETING_VP)
NOTE_ROLES = (Role.BUSINESS_MANAGER, Role.OFFICE_MANAGER)
AGREEMENT_IMPORT_ROLES = (Role.SALES_PLANNING,)
MISSING_SALES_ROLES = (*IMPORT_ROLES, Role.OFFICE_MANAGER, Role.MARKETING_VP)


class TargetError(ValueError):
    """A target step is refused; the message is shown to the user."""


class StaleTargetError(TargetError):
    """Someone else saved the target since the user loaded it."""


# Who may do what ------------------------------------------------------------


def negotiable_dealers(user):
    """The dealers whose targets `user` negotiates: a business manager his own, an office
    manager his office's, sales planning (and superusers) every office's."""
    dealers = Dealer.objects.visible_to(user)
    if allowed(user, Role.SALES_PLANNING, Role.OFFICE_MANAGER):
        return dealers
    if has_role(user, Role.BUSINESS_MANAGER):
        return dealers.filter(business_manager=user)
    return dealers.none()


def target_reader_dealers(user):
    """The dealers whose targets and attainment `user` may read: those he negotiates, and
    for the marketing VP, who reads everything, every office's."""
    if has_role(user, Role.MARKETING_VP):
        return Dealer.objects.visible_to(user)
    return negotiable_dealers(user)


def can_write_notes(user, dealer) -> bool:
    if user.is_superuser:
        return True
    if office_id_of(user) != dealer.office_id or sees_all_offices(user):
        return False
    return has_role(user, Role.OFFICE_MANAGER) or (
        has_role(user, Role.BUSINESS_MANAGER) and dealer.business_manager_id == user.pk
    )


# Targets ------------------------------------------------------------------------


def deadline_day() -> int:
    return settings.TARGET_REMINDER_DAY


@transaction.atomic
def record_target_step(
    *,
    dealer: Dealer,
    month: datetime.date,
    step: str,
    amount: Decimal,
    user,
    expected_version: int,
    now: datetime.datetime | None = None,
) -> MonthlyTarget:
    """Propose, record the dealer's counter-proposal, or agree `dealer`'s target for `month`.

    `expected_version` is the target's version the user saw (0 when there was none yet);
    if someone saved it since, StaleTargetError is raised and nothing is written. A month
    that has begun is closed to negotiation (sales planning corrects it: `correct_target`),
    and a target is agreed only under an annual agreement signed by that day.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    month = month.replace(day=1)
    if step not in (TargetStep.PROPOSED, TargetStep.COUNTERED, TargetStep.AGREED):
        raise TargetError(_("Unknown step."))
    if amount is None or amount <= 0:
        raise TargetError(_("The amount must be greater than zero."))
    ensure_months_open([month])
    if month_closed(month, today):
        raise TargetError(
            _(
                "%(month)s has begun: its target can no longer be negotiated. "
                "Only sales planning can correct it, giving a reason."
            )
            % {"month": format_month(month)}
        )
    agreement = _agreement(dealer, month)
    if step == TargetStep.AGREED:
        _require_signed(agreement, today)
    target = MonthlyTarget.objects.select_for_update().filter(dealer=dealer, month=month).first()
    if target is None:
        if expected_version:
            raise _stale(dealer, month)
        if step == TargetStep.COUNTERED:
            raise TargetError(_("Propose a target before recording the dealer's counter-proposal."))
        target = MonthlyTarget(dealer=dealer, month=month, version=0)
    elif target.version != expected_version:
        raise _stale(dealer, month)
    elif step == TargetStep.COUNTERED and target.proposed_amount is None:
        raise TargetError(_("Propose a target before recording the dealer's counter-proposal."))

    agreed_timeliness = ""
    if step == TargetStep.PROPOSED:
        target.status = TargetStatus.PROPOSED
        target.proposed_amount = amount
        target.counter_amount = None
    elif step == TargetStep.COUNTERED:
        target.counter_amount = amount
        if target.status == TargetStatus.DRAFT:
            target.status = TargetStatus.PROPOSED
    else:
        agreed_timeliness = timeliness(month, today, deadline_day())
        target.status = TargetStatus.AGREED
        target.agreed_amount = amount
        target.agreed_at = now
        target.agreed_by = user
        target.timeliness = agreed_timeliness
    _save_step(target, step=step, amount=amount, timeliness=agreed_timeliness, user=user, now=now)
    if step == TargetStep.AGREED:
        _recompute_if_sold(target)
    return target


@transaction.atomic
def correct_target(
    *,
    dealer: Dealer,
    month: datetime.date,
    amount: Decimal,
    reason: str,
    user,
    expected_version: int,
    now: datetime.datetime | None = None,
) -> MonthlyTarget:
    """Sales planning sets the agreed target of a month that has begun, with a reason that is kept.

    The target keeps when it was agreed (on time, late or imported); a month that had none
    gets one, late by definition. The month's points follow the corrected target.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    month = month.replace(day=1)
    reason = (reason or "").strip()
    if not allowed(user, Role.SALES_PLANNING):
        raise TargetError(_("Only sales planning can correct the target of a month that has begun."))
    if amount is None or amount <= 0:
        raise TargetError(_("The amount must be greater than zero."))
    if not reason:
        raise TargetError(_("A correction needs a reason."))
    if len(reason) > CORRECTION_REASON_MAX:
        raise TargetError(
            _("The reason is longer than %(count)s characters.") % {"count": CORRECTION_REASON_MAX}
        )
    ensure_months_open([month])
    if not month_closed(month, today):
        raise TargetError(
            _("%(month)s has not begun: its target is still negotiated, not corrected.")
            % {"month": format_month(month)}
        )
    _agreement(dealer, month)
    target = MonthlyTarget.objects.select_for_update().filter(dealer=dealer, month=month).first()
    if target is None:
        if expected_version:
            raise _stale(dealer, month)
        target = MonthlyTarget(dealer=dealer, month=month, version=0)
    elif target.version != expected_version:
        raise _stale(dealer, month)
    if target.status != TargetStatus.AGREED:
        target.status = TargetStatus.AGREED
        target.agreed_at = now
        target.agreed_by = user
        target.timeliness = timeliness(month, today, deadline_day())
    target.agreed_amount = amount
    _save_step(
        target,
        step=TargetStep.CORRECTED,
        amount=amount,
        timeliness=target.timeliness,
        user=user,
        now=now,
        reason=reason,
    )
    _recompute_if_sold(target)
    return target


CORRECTION_REASON_MAX = TargetVersion._meta.get_field("reason").max_length


def _agreement(dealer: Dealer, month: datetime.date) -> AnnualAgreement:
    agreement = AnnualAgreement.objects.select_for_update().filter(dealer=dealer, year=month.year).first()
    if agreement is None:
        raise TargetError(
            _("%(dealer)s has no annual agreement for %(year)s; a month without one cannot get a target.")
            % {"dealer": dealer, "year": month.year}
        )
    return agreement


def _require_signed(agreement: AnnualAgreement, agreed_on: datetime.date) -> None:
    if not agreement_in_force(agreement.signed_on, agreed_on):
        raise TargetError(
            _(
                "The annual agreement %(year)s of %(dealer)s is signed only on %(signed)s; "
                "a target cannot be agreed before it is signed."
            )
            % {"year": agreement.year, "dealer": agreement.dealer, "signed": agreement.signed_on.isoformat()}
        )


def _save_step(target, *, step, amount, timeliness, user, now, reason="") -> None:
    target.version += 1
    target._history_user = user
    try:
        with transaction.atomic():
            target.save()
    except IntegrityError:  # created meanwhile by someone else
        raise _stale(target.dealer, target.month) from None
    TargetVersion.objects.create(
        target=target,
        version=target.version,
        step=step,
        amount=amount,
        timeliness=timeliness,
        reason=reason,
        recorded_by=user,
        recorded_at=now,
    )


def _recompute_if_sold(target) -> None:
    if MonthlySales.objects.filter(dealer_id=target.dealer_id, month=target.month).exists():
        recompute_points(months=[target.month], dealer_ids=[target.dealer_id])


def _stale(dealer, month):
    return StaleTargetError(
        _(
            "Someone else saved the target of %(dealer)s for %(month)s after you opened the page; "
            "nothing of yours was saved. Check the current figures and enter yours again."
        )
        % {"dealer": dealer, "month": format_month(month)}
    )


# Figures for pages and exports ----------------------------------------------------


def dealers_missing_sales(user, month: datetime.date):
    """The dealers `user` sees that were in the network in `month` and have no sales figure for it."""
    return (
        Dealer.objects.visible_to(user)
        .in_network_on(month)
        .exclude(pk__in=MonthlySales.objects.filter(month=month).values("dealer_id"))
    )


def sales_by_dealer_month(dealer_ids, months) -> dict[tuple[int, datetime.date], Decimal]:
    return {
        (d, m): a
        for d, m, a in MonthlySales.objects.filter(dealer_id__in=dealer_ids, month__in=months).values_list(
            "dealer_id", "month", "amount"
        )
    }


def agreed_by_dealer_month(dealer_ids, months) -> dict[tuple[int, datetime.date], Decimal]:
    return {
        (d, m): a
        for d, m, a in MonthlyTarget.objects.filter(
            dealer_id__in=dealer_ids, month__in=months, status=TargetStatus.AGREED
        ).values_list("dealer_id", "month", "agreed_amount")
    }


def negotiation_rows(dealers: list[Dealer], month: datetime.date) -> list[dict]:
    """For the targets page: each dealer's target for `month` with last year's same month,
    the three months before and what remains of the annual agreement — in five queries."""
    ids = [d.pk for d in dealers]
    year_before = add_months(month, -12)
    previous = [add_months(month, -n) for n in (3, 2, 1)]
    targets = {t.dealer_id: t for t in MonthlyTarget.objects.filter(dealer_id__in=ids, month=month)}
    sales = sales_by_dealer_month(ids, [year_before, *previous])
    agreements = {a.dealer_id: a for a in AnnualAgreement.objects.filter(dealer_id__in=ids, year=month.year)}
    agreed_elsewhere = dict(
        MonthlyTarget.objects.filter(dealer_id__in=ids, month__year=month.year, status=TargetStatus.AGREED)
        .exclude(month=month)
        .values("dealer_id")
        .annotate(total=Sum("agreed_amount"))
        .values_list("dealer_id", "total")
    )
    rows = []
    for dealer in dealers:
        agreement = agreements.get(dealer.pk)
        rows.append(
            {
                "dealer": dealer,
                "target": targets.get(dealer.pk),
                "agreement": agreement,
                "remaining": (
                    agreement.annual_target - agreed_elsewhere.get(dealer.pk, Decimal(0))
                    if agreement
                    else None
                ),
                "year_before": sales.get((dealer.pk, year_before)),
                "previous": [sales.get((dealer.pk, m)) for m in previous],
            }
        )
    return rows


def attainment_rows(dealers: list[Dealer], month: datetime.date) -> list[dict]:
    """Each dealer's attainment in `month` and in its quarter: the quarter's figures exist only
    when each of its three months has them, and its attainment only when both do."""
    ids = [d.pk for d in dealers]
    quarter_months = Quarter.containing(month).months
    sales = sales_by_dealer_month(ids, quarter_months)
    targets = agreed_by_dealer_month(ids, quarter_months)
    rows = []
    for dealer in dealers:
        actuals = [sales.get((dealer.pk, m)) for m in quarter_months]
        agreed = [targets.get((dealer.pk, m)) for m in quarter_months]
        actual, target = sales.get((dealer.pk, month)), targets.get((dealer.pk, month))
        rows.append(
            {
                "dealer": dealer,
                "target": target,
                "actual": actual,
                "attainment": attainment(actual, target),
                "quarter_target": quarter_sum(agreed),
                "quarter_actual": quarter_sum(actuals),
                "quarter_attainment": quarter_attainment(actuals, agreed),
            }
        )
    return rows


ATTAINMENT_BANDS = ((None, 80), (80, 100), (100, 120), (120, None))  # percent, lower bound inclusive
ATTAINMENT_SORTS = {
    "code": "code",
    "name": "name",
    "office": "office__code",
    "target": "month_target",
    "actual": "month_actual",
    "attainment": "month_attainment",
}


def with_month_figures(dealers, month: datetime.date):
    """`dealers` annotated with the month's agreed target, actual sales and attainment (percent),
    so that the attainment page sorts and totals in SQL whatever the number of dealers.

    The month's target and sales rows are LEFT JOINs (one each per dealer and month), not
    correlated subqueries: the totals use each figure in several aggregates, and a subquery
    would be evaluated once per use and dealer (seconds for a thousand dealers).
    """
    money = DecimalField(max_digits=16, decimal_places=2)
    return dealers.annotate(
        month_target_row=FilteredRelation(
            "targets", condition=Q(targets__month=month, targets__status=TargetStatus.AGREED)
        ),
        month_sales_row=FilteredRelation("sales", condition=Q(sales__month=month)),
    ).annotate(
        month_target=Cast(F("month_target_row__agreed_amount"), money),
        month_actual=Cast(F("month_sales_row__amount"), money),
        month_attainment=Case(
            When(
                month_target_row__agreed_amount__gt=0,
                then=F("month_sales_row__amount") * 100 / F("month_target_row__agreed_amount"),
            ),
            default=None,
            output_field=DecimalField(max_digits=20, decimal_places=6),
        ),
    )


def sort_attainment(dealers, sort: str):
    """Order annotated `dealers` by a key of ATTAINMENT_SORTS ("-key": descending); empty values last."""
    field = ATTAINMENT_SORTS.get(sort.removeprefix("-"), "code")
    main = F(field).desc(nulls_last=True) if sort.startswith("-") else F(field).asc(nulls_last=True)
    return dealers.order_by(main, "code")


def attainment_totals(dealers) -> dict:
    """Sums of the month's targets and actuals over annotated `dealers`, their attainment, and how
    many dealers fall in each band of ATTAINMENT_BANDS (and have no agreed target) — one query,
    cached under its SQL and the versions of the dealers, sales and targets (`versions`): over a
    whole company it reads 100,000 dealers and their month's rows."""
    try:
        sql = dealers.order_by().query.sql_with_params()
    except EmptyResultSet:
        return _attainment_totals(dealers)
    return versions.cached(
        ("attainment-totals", sql),
        [versions.DEALERS, versions.SALES, versions.TARGETS],
        lambda: _attainment_totals(dealers),
    )


def _attainment_totals(dealers) -> dict:
    bands = {
        f"band{i}": Count(
            "pk",
            filter=Q(month_attainment__isnull=False)
            & (Q(month_attainment__gte=low) if low is not None else Q())
            & (Q(month_attainment__lt=high) if high is not None else Q()),
        )
        for i, (low, high) in enumerate(ATTAINMENT_BANDS)
    }
    both = Q(month_target__gt=0, month_actual__isnull=False)
    figures = dealers.order_by().aggregate(
        target=Sum("month_target"),
        actual=Sum("month_actual"),
        both_target=Sum("month_target", filter=both),
        both_actual=Sum("month_actual", filter=both),
        dealers=Count("pk"),
        no_target=Count("pk", filter=Q(month_target__isnull=True)),
        **bands,
    )
    # As for one dealer's quarter: only dealers with both figures count towards the attainment.
    figures["attainment"] = attainment(figures.pop("both_actual"), figures.pop("both_target"))
    figures["bands"] = [figures.pop(f"band{i}") for i in range(len(ATTAINMENT_BANDS))]
    return figures


# Quarterly notes ------------------------------------------------------------------


@transaction.atomic
def save_quarter_note(
    *, dealer: Dealer, quarter: Quarter, user, potential: str, obstacles: str, capability: str, effort: str
) -> QuarterNote:
    note, _created = QuarterNote.objects.select_for_update().get_or_create(
        dealer=dealer, quarter=str(quarter)
    )
    note.potential, note.obstacles, note.capability, note.effort = potential, obstacles, capability, effort
    note.updated_by = user
    note._history_user = user
    note.save()
    return note


POINTS_EXPORT_COLUMNS = [
    "month",
    "dealer",
    "name",
    "office",
    "target",
    "actual",
    "attainment",
    "points",
    "balance",
]


def points_export_rows(*, month: datetime.date, dealers=None):
    """Rows of the points export (DESIGN.md §6.2): every dealer with an agreed target, an actual
    or a points entry in `month`, by dealer code; `points` is the month's earned points.

    Five queries whatever the number of dealers: the month's figures are read
    once into dictionaries (100,000 dealers: 8.0 s in chunks of 2,000, now 2 s).
    """
    month = month.replace(day=1)
    scope = Dealer.objects.all() if dealers is None else dealers
    ids = scope.values("pk")
    targets = agreed_by_dealer_month(ids, [month])
    actuals = sales_by_dealer_month(ids, [month])
    this_month = PointsEntry.objects.filter(dealer_id__in=ids, month=month)
    earned = dict(this_month.filter(kind=PointsEntryKind.EARNED).values_list("dealer_id", "points"))
    balances = points_balances(dealer_ids=ids, month=month)
    agreed = MonthlyTarget.objects.filter(month=month, status=TargetStatus.AGREED)
    listed = (
        scope.filter(
            Q(pk__in=agreed.values("dealer_id"))
            | Q(pk__in=MonthlySales.objects.filter(month=month).values("dealer_id"))
            | Q(pk__in=this_month.values("dealer_id"))
        )
        .select_related("office")
        .order_by("code")
    )
    for dealer in listed.iterator(chunk_size=2000):
        target, actual = targets.get((dealer.pk, month)), actuals.get((dealer.pk, month))
        yield [
            format_month(month),
            dealer.code,
            dealer.name,
            dealer.office.code,
            target,
            actual,
            attainment(actual, target),
            earned.get(dealer.pk),
            balances.get(dealer.pk, Decimal("0")),
        ]
