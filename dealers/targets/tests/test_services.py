import datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError
from django.utils import translation

from dealers.models import (
    MonthlyTarget,
    PointsEntry,
    PointsEntryKind,
    PointsTier,
    TargetStatus,
    TargetVersion,
)
from dealers.targets.points import PointsError, adjust_points, points_balances, recompute_points
from dealers.targets.services import (
    StaleTargetError,
    TargetError,
    correct_target,
    negotiation_rows,
    record_target_step,
)
from dealers.tests.factories import AgreementFactory, DealerFactory, SalesFactory, TargetFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEPTEMBER = datetime.date(2026, 9, 1)


def at(*args):
    return datetime.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def dealer(office, business_manager):
    dealer = DealerFactory(office=office, business_manager=business_manager)
    AgreementFactory(dealer=dealer, year=2026)
    return dealer


def step(dealer, user, kind, amount, version, now=None, month=SEPTEMBER):
    return record_target_step(
        dealer=dealer,
        month=month,
        step=kind,
        amount=D(amount),
        user=user,
        expected_version=version,
        now=now or at(2026, 8, 20, 10),
    )


@pytest.mark.django_db
def test_a_negotiation_keeps_every_version_and_ends_agreed(dealer, business_manager):
    # when
    step(dealer, business_manager, "proposed", "120000", 0)
    step(dealer, business_manager, "countered", "100000", 1)
    target = step(dealer, business_manager, "agreed", "110000", 2, now=at(2026, 8, 25, 23, 30))
    # then
    assert target.status == TargetStatus.AGREED
    assert (target.proposed_amount, target.counter_amount, target.agreed_amount) == (
        D("120000"),
        D("100000"),
        D("110000"),
    )
    assert target.agreed_by == business_manager
    assert target.timeliness == "on_time"
    versions = list(TargetVersion.objects.filter(target=target).values_list("version", "step", "amount"))
    assert versions == [
        (1, "proposed", D("120000")),
        (2, "countered", D("100000")),
        (3, "agreed", D("110000")),
    ]
    assert target.history.count() == 3


@pytest.mark.django_db
def test_a_target_agreed_on_the_26th_local_time_is_late(dealer, business_manager):
    # given 00:30 on 26 August in Shanghai is still the 25th in UTC
    target = step(dealer, business_manager, "agreed", "100000", 0, now=at(2026, 8, 26, 0, 30))
    # then
    assert target.timeliness == "late"


@pytest.mark.django_db
def test_a_january_target_agreed_on_25_december_is_on_time(office, business_manager):
    # given
    dealer = DealerFactory(office=office, business_manager=business_manager)
    AgreementFactory(dealer=dealer, year=2027)
    # when
    on_time = step(
        dealer,
        business_manager,
        "agreed",
        "1000",
        0,
        now=at(2026, 12, 25, 18),
        month=datetime.date(2027, 1, 1),
    )
    # then
    assert on_time.timeliness == "on_time"
    late = step(
        dealer,
        business_manager,
        "agreed",
        "1000",
        1,
        now=at(2026, 12, 26, 9),
        month=datetime.date(2027, 1, 1),
    )
    assert late.timeliness == "late"


@pytest.mark.django_db
def test_a_month_without_an_annual_agreement_cannot_get_a_target(office, business_manager):
    # given a dealer whose agreement is for 2026 only
    dealer = DealerFactory(office=office, business_manager=business_manager)
    AgreementFactory(dealer=dealer, year=2026)
    # when / then
    with pytest.raises(TargetError, match="no annual agreement for 2027"):
        step(dealer, business_manager, "proposed", "1000", 0, month=datetime.date(2027, 1, 1))
    assert not MonthlyTarget.objects.exists()


@pytest.mark.django_db
def test_the_later_of_two_saves_of_the_same_target_is_told_and_nothing_is_lost(
    dealer, business_manager, office_manager
):
    # given both opened the page when the target was at version 1
    step(dealer, business_manager, "proposed", "120000", 0)
    step(dealer, business_manager, "agreed", "115000", 1)
    # when the office manager saves what he saw at version 1
    with pytest.raises(StaleTargetError):
        step(dealer, office_manager, "agreed", "90000", 1)
    # then the first agreement stands
    target = MonthlyTarget.objects.get()
    assert (target.agreed_amount, target.agreed_by, target.version) == (D("115000"), business_manager, 2)


@pytest.mark.django_db
def test_two_first_proposals_for_the_same_month_the_second_is_stale(dealer, business_manager):
    step(dealer, business_manager, "proposed", "120000", 0)
    with pytest.raises(StaleTargetError):
        step(dealer, business_manager, "proposed", "130000", 0)
    assert MonthlyTarget.objects.get().proposed_amount == D("120000")


@pytest.mark.django_db
def test_a_counter_proposal_needs_a_proposal_and_amounts_must_be_positive(dealer, business_manager):
    with pytest.raises(TargetError, match="Propose a target"):
        step(dealer, business_manager, "countered", "1000", 0)
    with pytest.raises(TargetError, match="greater than zero"):
        step(dealer, business_manager, "proposed", "0", 0)
    assert not MonthlyTarget.objects.exists()


@pytest.mark.django_db
def test_correcting_a_past_month_recomputes_its_points(dealer, planner):
    # given sales were imported before the target was set
    SalesFactory(dealer=dealer, month=SEPTEMBER, amount=D("100000"))
    recompute_points(months=[SEPTEMBER])
    assert PointsEntry.objects.get().points == D("0.00")
    # when sales planning sets it (negotiation is closed since 1 September)
    correct_target(
        dealer=dealer,
        month=SEPTEMBER,
        amount=D("100000"),
        reason="补录：协议附件中的九月目标",
        user=planner,
        expected_version=0,
        now=at(2026, 10, 3, 9),
    )
    # then
    assert list(PointsEntry.objects.values_list("kind", "points")) == [("earned", D("100.00"))]


@pytest.mark.django_db
def test_recomputing_a_month_replaces_its_earned_entry_and_keeps_adjustments(dealer, business_manager):
    # given
    TargetFactory(dealer=dealer, month=SEPTEMBER, agreed_amount=D("100000"))
    sales = SalesFactory(dealer=dealer, month=SEPTEMBER, amount=D("95000"))
    recompute_points(months=[SEPTEMBER])
    adjust_points(dealer=dealer, month=SEPTEMBER, points=D("10"), reason="展会补贴", user=business_manager)
    # when the figure changes and the month is recomputed twice
    sales.amount = D("101000")
    sales.save()
    recompute_points(months=[SEPTEMBER])
    recompute_points(months=[SEPTEMBER])
    # then
    earned = PointsEntry.objects.filter(kind=PointsEntryKind.EARNED)
    assert [e.points for e in earned] == [D("101.00")]
    assert points_balances(dealer_ids=[dealer.pk], month=SEPTEMBER) == {dealer.pk: D("111.00")}


@pytest.mark.django_db
def test_points_use_the_admin_edited_tiers(dealer):
    # given the admin raised the top rate
    PointsTier.objects.filter(threshold=100).update(rate=D("2"))
    TargetFactory(dealer=dealer, month=SEPTEMBER, agreed_amount=D("100000"))
    SalesFactory(dealer=dealer, month=SEPTEMBER, amount=D("100000"))
    # when
    recompute_points(months=[SEPTEMBER])
    # then
    assert PointsEntry.objects.get().points == D("200.00")


@pytest.mark.django_db
def test_the_balance_at_a_month_counts_entries_up_to_and_including_it(dealer, business_manager):
    for month, points in [
        (datetime.date(2026, 7, 1), "5"),
        (SEPTEMBER, "7"),
        (datetime.date(2026, 10, 1), "100"),
    ]:
        adjust_points(dealer=dealer, month=month, points=D(points), reason="r", user=business_manager)
    assert points_balances(dealer_ids=[dealer.pk], month=SEPTEMBER) == {dealer.pk: D("12.00")}
    assert points_balances(dealer_ids=[dealer.pk], month=datetime.date(2026, 6, 1)) == {}


@pytest.mark.django_db
def test_an_adjustment_without_a_reason_is_refused(dealer, business_manager):
    with pytest.raises(PointsError, match="reason"):
        adjust_points(dealer=dealer, month=SEPTEMBER, points=D("5"), reason="  ", user=business_manager)
    with pytest.raises(IntegrityError):
        PointsEntry.objects.create(
            dealer=dealer, month=SEPTEMBER, kind="adjustment", points=D("5"), reason=""
        )


@pytest.mark.django_db
def test_the_negotiation_rows_show_history_and_the_remaining_annual_amount(dealer):
    # given
    TargetFactory(dealer=dealer, month=datetime.date(2026, 7, 1), agreed_amount=D("100000"))
    TargetFactory(dealer=dealer, month=datetime.date(2026, 8, 1), agreed_amount=D("150000"))
    TargetFactory(dealer=dealer, month=SEPTEMBER, status=TargetStatus.PROPOSED, agreed_amount=None)
    SalesFactory(dealer=dealer, month=datetime.date(2025, 9, 1), amount=D("80000"))
    SalesFactory(dealer=dealer, month=datetime.date(2026, 8, 1), amount=D("140000"))
    # when
    (row,) = negotiation_rows([dealer], SEPTEMBER)
    # then
    assert row["year_before"] == D("80000")
    assert row["previous"] == [None, None, D("140000")]
    assert row["remaining"] == D("950000")
    assert row["target"].status == TargetStatus.PROPOSED


@pytest.mark.django_db
def test_recomputing_drops_the_earned_entry_of_a_removed_figure_and_keeps_unchanged_ones(dealer, office):
    # given two dealers with points for September
    other = DealerFactory(office=office)
    for d in (dealer, other):
        TargetFactory(dealer=d, month=SEPTEMBER, agreed_amount=D("100000"))
        SalesFactory(dealer=d, month=SEPTEMBER, amount=D("100000"))
    recompute_points(months=[SEPTEMBER])
    kept = PointsEntry.objects.get(dealer=other)
    # when one figure is removed and the month recomputed
    dealer.sales.all().delete()
    written = recompute_points(months=[SEPTEMBER])
    # then
    assert written == 0
    assert list(PointsEntry.objects.values_list("pk", "points")) == [(kept.pk, D("100.00"))]
