"""Points tiers effective from a month (DESIGN.md §4): a month's points always use the tiers in force then."""

import datetime
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import translation

from dealers.models import PointsEntry, PointsTier
from dealers.targets.points import recompute_points, save_points_tier, tier_sets
from dealers.targets.rules import DEFAULT_TIERS, Tier, months_with_changed_tiers, tiers_in_force
from dealers.tests.factories import DealerFactory, SalesFactory, TargetFactory
from scoring.models import GradingStatus, QuarterGrading

SHANGHAI = ZoneInfo("Asia/Shanghai")
BEGINNING = datetime.date(2000, 1, 1)
JUNE, JULY, AUGUST = (datetime.date(2026, m, 1) for m in (6, 7, 8))


@pytest.fixture(autouse=True)
def english_in_september(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"), time_machine.travel(datetime.datetime(2026, 9, 10, tzinfo=SHANGHAI)):
        yield


# The rules ------------------------------------------------------------------------


def test_each_month_takes_the_latest_set_effective_on_or_before_it():
    old, new = [Tier(D(0), D(1))], [Tier(D(0), D(2))]
    sets = {BEGINNING: old, JULY: new}
    assert tiers_in_force(sets, JUNE) == old
    assert tiers_in_force(sets, JULY) == new
    assert tiers_in_force(sets, AUGUST) == new
    assert tiers_in_force(sets, datetime.date(1999, 12, 1)) == ()


def test_the_months_a_change_touches_are_those_whose_tiers_in_force_differ():
    old, new = [Tier(D(0), D(1))], [Tier(D(0), D(2))]
    # a set added from July changes July and August (up to the last month asked)
    assert months_with_changed_tiers(
        {BEGINNING: old}, {BEGINNING: old, JULY: new}, first=JUNE, last=AUGUST
    ) == [
        JULY,
        AUGUST,
    ]
    # the same tiers in another order change nothing
    two = [Tier(D(0), D(0)), Tier(D(100), D(1))]
    assert months_with_changed_tiers({JUNE: two}, {JUNE: two[::-1]}, first=JUNE, last=AUGUST) == []


# The ledger ---------------------------------------------------------------------------


@pytest.fixture
def dealer(office):
    # 100 % attainment in June, July and August: 100000 sold against 100000 agreed
    dealer = DealerFactory(office=office)
    for month in (JUNE, JULY, AUGUST):
        TargetFactory(dealer=dealer, month=month, agreed_amount=D("100000"))
        SalesFactory(dealer=dealer, month=month, amount=D("100000"))
    recompute_points(months=[JUNE, JULY, AUGUST])
    return dealer


def earned():
    return dict(PointsEntry.objects.filter(kind="earned").values_list("month", "points"))


@pytest.mark.django_db
def test_the_current_tiers_apply_from_the_beginning():
    assert tier_sets() == {BEGINNING: list(DEFAULT_TIERS)}
    assert set(PointsTier.objects.values_list("effective_from", flat=True)) == {BEGINNING}


@pytest.mark.django_db
def test_a_new_rate_from_july_changes_july_on_and_leaves_june_as_it_was(dealer, planner):
    # given 100 % → rate 1.0 → 100000 × 1.0 / 1000 = 100.00 points each month
    assert earned() == {JUNE: D("100.00"), JULY: D("100.00"), AUGUST: D("100.00")}
    # when the ≥ 100 % rate becomes 1.5 from July
    save_points_tier(tier=PointsTier(effective_from=JULY, threshold=D(100), rate=D("1.5")), user=planner)
    # then July and August are recomputed (100000 × 1.5 / 1000 = 150.00), June is not
    assert earned() == {JUNE: D("100.00"), JULY: D("150.00"), AUGUST: D("150.00")}
    # and July's set started as a copy of the one in force, with the new rate
    assert sorted(tier_sets()[JULY], key=lambda t: t.threshold) == [
        Tier(D("0.00"), D("0.000")),
        Tier(D("90.00"), D("0.500")),
        Tier(D("100.00"), D("1.500")),
    ]
    # and a later recomputation of June still uses the tiers of June
    recompute_points(months=[JUNE, JULY])
    assert earned()[JUNE] == D("100.00")


@pytest.mark.django_db
def test_a_tier_change_reaching_a_published_quarter_is_refused(dealer, planner):
    # given 2026Q2 (June) is published
    QuarterGrading.objects.create(quarter="2026Q2", status=GradingStatus.PUBLISHED)
    base = PointsTier.objects.get(effective_from=BEGINNING, threshold=100)
    # when the base rate is changed (it covers June), then it is refused and nothing changes
    base.rate = D("2")
    with pytest.raises(Exception, match="2026Q2 is published"):
        save_points_tier(tier=base, user=planner)
    assert PointsTier.objects.get(pk=base.pk).rate == D("1.000")
    assert earned()[JUNE] == D("100.00")
    # from July on it is accepted
    save_points_tier(tier=PointsTier(effective_from=JULY, threshold=D(100), rate=D("2")), user=planner)
    assert earned() == {JUNE: D("100.00"), JULY: D("200.00"), AUGUST: D("200.00")}


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456")
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_admin_adds_tiers_from_a_month_and_names_a_published_quarter_it_would_change(
    admin_client, dealer
):
    QuarterGrading.objects.create(quarter="2026Q2", status=GradingStatus.PUBLISHED)
    base = PointsTier.objects.get(effective_from=BEGINNING, threshold=100)
    refused = admin_client.post(
        f"/admin/dealers/pointstier/{base.pk}/change/",
        {"effective_from": "2000-01-01", "threshold": "100", "rate": "2"},
    )
    assert "2026Q2 is published; its data are frozen. These tiers would change its points" in (
        refused.content.decode()
    )
    accepted = admin_client.post(
        "/admin/dealers/pointstier/add/", {"effective_from": "2026-07-15", "threshold": "100", "rate": "1.2"}
    )
    assert accepted.status_code == 302
    assert earned() == {JUNE: D("100.00"), JULY: D("120.00"), AUGUST: D("120.00")}
    assert PointsTier.objects.filter(effective_from=JULY).count() == 3
    # tiers are not deleted in the admin: that would silently change the months they covered
    assert admin_client.get(f"/admin/dealers/pointstier/{base.pk}/delete/").status_code == 403
