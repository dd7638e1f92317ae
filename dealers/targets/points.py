"""Points (积点, DESIGN.md §4): tiers effective from a month, and the ledger.

A month's earned points are always computed with the tiers in force in that month, so a
later change of tiers leaves earlier months as they were.
"""

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from evalsys.bulk import IN_LIST_LIMIT, insert_rows

from ..freeze import ensure_months_open
from ..models import (
    Dealer,
    MonthlySales,
    MonthlyTarget,
    PointsEntry,
    PointsEntryKind,
    PointsTier,
    TargetStatus,
)
from .rules import Tier, TierSets, month_points, months_with_changed_tiers, tiers_in_force


class PointsError(ValueError):
    """A points change is refused; the message is shown to the user."""


# Tiers ---------------------------------------------------------------------------


def tier_sets() -> TierSets:
    """Every set of tiers by the month it is effective from, in one query."""
    sets: TierSets = {}
    for start, threshold, rate in PointsTier.objects.values_list("effective_from", "threshold", "rate"):
        sets.setdefault(start, []).append(Tier(threshold, rate))
    return sets


def _sets_with(sets: TierSets, *, removed: PointsTier | None = None, added: PointsTier | None = None):
    """`sets` after taking `removed` out and putting `added` in, as `save_points_tier` writes them."""
    changed = {start: list(tiers) for start, tiers in sets.items()}
    if removed is not None:
        changed[removed.effective_from] = [
            t for t in changed.get(removed.effective_from, []) if t.threshold != removed.threshold
        ]
        if not changed[removed.effective_from]:
            del changed[removed.effective_from]
    if added is not None:
        start = added.effective_from
        if start not in changed:  # a new set starts as a copy of the one in force then
            changed[start] = list(tiers_in_force(changed, start))
        changed[start] = [t for t in changed[start] if t.threshold != added.threshold]
        changed[start].append(Tier(added.threshold, added.rate))
    return changed


def tier_set_after(tier: PointsTier, *, previous: PointsTier | None = None) -> list[Tier]:
    """The tiers of `tier`'s month once it is saved (for validating them together)."""
    changed = _sets_with(tier_sets(), removed=previous, added=tier)
    return changed[tier.effective_from]


def _affected_months(before: TierSets, after: TierSets) -> list[datetime.date]:
    starts = [*before, *after]
    if not starts:
        return []
    last = timezone.localdate().replace(day=1)
    return months_with_changed_tiers(before, after, first=min(starts), last=last)


def affected_months(tier: PointsTier, *, previous: PointsTier | None = None) -> list[datetime.date]:
    """The months up to this one whose tiers in force change when `tier` is saved (in place
    of `previous`, its row as stored): those whose points are recomputed."""
    before = tier_sets()
    return _affected_months(before, _sets_with(before, removed=previous, added=tier))


@transaction.atomic
def save_points_tier(*, tier: PointsTier, user) -> PointsTier:
    """Add or change one tier effective from its month, and recompute the months it changes.

    A month with no set of its own starts as a copy of the set then in force. Months of a
    published quarter are refused (FrozenPeriod): add tiers effective from a later month.
    """
    tier.effective_from = tier.effective_from.replace(day=1)
    previous = PointsTier.objects.select_for_update().filter(pk=tier.pk).first() if tier.pk else None
    before = tier_sets()
    after = _sets_with(before, removed=previous, added=tier)
    months = _affected_months(before, after)
    ensure_months_open(months)
    if tier.effective_from not in before:
        PointsTier.objects.bulk_create(
            [
                PointsTier(effective_from=tier.effective_from, threshold=t.threshold, rate=t.rate)
                for t in after[tier.effective_from]
                if t.threshold != tier.threshold
            ]
        )
    elif tier.pk is None:
        same = PointsTier.objects.filter(effective_from=tier.effective_from, threshold=tier.threshold).first()
        if same is not None:
            tier.pk = same.pk
    tier._history_user = user
    tier.save()
    _recompute_months_sold(months)
    return tier


def _recompute_months_sold(months: list[datetime.date]) -> None:
    sold = MonthlySales.objects.filter(month__in=months).values_list("month", flat=True).distinct()
    recompute_points(months=list(sold))


# The ledger --------------------------------------------------------------------------


@transaction.atomic
def recompute_points(*, months: Iterable[datetime.date], dealer_ids: Iterable[int] | None = None) -> int:
    """Make the earned points entries of `months` (of `dealer_ids`, or every dealer) what the
    tiers in force in each month give, one per dealer and month; returns the number written."""
    months = sorted({m.replace(day=1) for m in months})
    if not months:
        return 0
    ensure_months_open(months)
    scope = Q(month__in=months)
    if dealer_ids is not None:
        dealer_ids = set(dealer_ids)
        # For very many dealers the whole months are recomputed instead: the others'
        # entries come out the same, and a huge IN list costs more than it saves.
        if len(dealer_ids) <= IN_LIST_LIMIT:
            scope &= Q(dealer_id__in=dealer_ids)
    sets = tier_sets()
    tiers = {month: tiers_in_force(sets, month) for month in months}
    targets = {
        (dealer_id, month): amount
        for dealer_id, month, amount in MonthlyTarget.objects.filter(scope, status=TargetStatus.AGREED)
        .values_list("dealer_id", "month", "agreed_amount")
        .iterator(chunk_size=10000)
    }
    earned = {
        (dealer_id, month): (pk, points)
        for pk, dealer_id, month, points in PointsEntry.objects.filter(scope, kind=PointsEntryKind.EARNED)
        .values_list("pk", "dealer_id", "month", "points")
        .iterator(chunk_size=10000)
    }
    stamp = connection.ops.adapt_datetimefield_value(timezone.now())
    entries = []
    for dealer_id, month, amount in (
        MonthlySales.objects.filter(scope)
        .values_list("dealer_id", "month", "amount")
        .iterator(chunk_size=10000)
    ):
        points = month_points(amount, targets.get((dealer_id, month)), tiers[month])
        _pk, before = earned.pop((dealer_id, month), (None, None))
        if points != before:  # only what changed is written
            entries.append((dealer_id, month, PointsEntryKind.EARNED.value, points, "", stamp))
    if earned:  # entries whose sales figure is gone
        PointsEntry.objects.filter(pk__in=[pk for pk, _points in earned.values()]).delete()
    return insert_rows(
        PointsEntry._meta.db_table,
        ["dealer_id", "month", "kind", "points", "reason", "created_at"],
        entries,
        conflict=["dealer_id", "month"],
        conflict_where="kind = 'earned'",
        update=["points", "created_at"],
    )


@transaction.atomic
def adjust_points(*, dealer: Dealer, month: datetime.date, points: Decimal, reason: str, user) -> PointsEntry:
    """A manual entry in the points ledger; the reason is mandatory."""
    reason = (reason or "").strip()
    if not reason:
        raise PointsError(_("A points adjustment needs a reason."))
    ensure_months_open([month])
    entry = PointsEntry(
        dealer=dealer,
        month=month.replace(day=1),
        kind=PointsEntryKind.ADJUSTMENT,
        points=points,
        reason=reason,
        created_by=user,
    )
    entry._history_user = user
    entry.save()
    return entry


def points_balances(*, dealer_ids: Iterable[int], month: datetime.date) -> dict[int, Decimal]:
    """Each dealer's balance at `month`: the sum of its ledger entries up to and including that month.

    `dealer_ids`: ids, or a queryset of them (a subquery, however many dealers).
    """
    rows = (
        PointsEntry.objects.filter(dealer_id__in=dealer_ids, month__lte=month)
        .values("dealer_id")
        .annotate(total=Sum("points"))
    )
    return {row["dealer_id"]: row["total"] for row in rows}
