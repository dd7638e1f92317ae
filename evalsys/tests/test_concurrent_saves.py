"""Two people saving the same score sheet or the same target at the same moment: the later is told, nothing is lost."""

import datetime
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from dealers.models import MonthlyTarget, TargetVersion
from dealers.roles import Role
from dealers.targets.services import StaleTargetError, record_target_step
from dealers.tests.factories import AgreementFactory, DealerFactory
from scoring import services
from scoring.models import Indicator, Score, ScoreSheet
from scoring.tests.factories import Q3, dealer_with_sales

# Two connections writing at once: SQLite locks the whole table, so only PostgreSQL can show it.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgresql]


def _at_once(*calls):
    """Run the calls in threads released together; → [("ok", result) | ("refused", exception)]."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            outcomes[i] = ("ok", call())
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
            outcomes[i] = ("refused", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def test_two_people_saving_the_same_sheet_at_once_one_is_told_and_the_other_is_kept(office, make_staff):
    # given an open sheet both office managers loaded at the same version
    dealer_with_sales(office=office, code="E1")
    services.open_quarter(quarter=Q3)
    sheet = ScoreSheet.objects.get(dealer__code="E1")
    store = Indicator.objects.get(code="store_display")
    first = make_staff("om1", Role.OFFICE_MANAGER, office=office)
    second = make_staff("om2", Role.OFFICE_MANAGER, office=office)

    def save(user, value):
        return lambda: services.save_grid(
            round=sheet.round,
            entries={sheet.pk: {"version": sheet.version, "scores": {store.pk: value}}},
            user=user,
        )

    # when both save at the same moment
    outcomes = _at_once(save(first, "60"), save(second, "95"))

    # then one save is kept and the other is told of the conflict (with the kept values)
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["ok", "refused"], outcomes
    winner = 0 if outcomes[0][0] == "ok" else 1
    refused = outcomes[1 - winner][1]
    assert isinstance(refused, services.GridErrors) and sheet.pk in refused.conflicts
    kept = Decimal(["60", "95"][winner])
    assert Score.objects.get(sheet=sheet, indicator=store).value == kept
    assert refused.conflicts[sheet.pk]["scores"][store.pk] == kept
    sheet_after = ScoreSheet.objects.get(pk=sheet.pk)
    assert sheet_after.version == sheet.version + 1


@pytest.mark.parametrize("existing", [False, True], ids=["first proposal", "agreeing"])
@time_machine.travel("2026-08-20 10:00 +0800")
def test_two_people_saving_the_same_target_at_once_one_is_told_and_the_other_is_kept(
    office, business_manager, office_manager, existing
):
    # given a dealer with an agreement, with or without a target both loaded, in August for September
    month = datetime.date(2026, 9, 1)
    dealer = DealerFactory(office=office, business_manager=business_manager)
    AgreementFactory(dealer=dealer, year=month.year)
    version = 0
    if existing:
        record_target_step(
            dealer=dealer,
            month=month,
            step="proposed",
            amount=Decimal(100),
            user=business_manager,
            expected_version=0,
        )
        version = 1
    step = "agreed" if existing else "proposed"

    def save(user, amount):
        return lambda: record_target_step(
            dealer=dealer, month=month, step=step, amount=Decimal(amount), user=user, expected_version=version
        )

    # when the business manager and the office manager save at the same moment
    outcomes = _at_once(save(business_manager, 120), save(office_manager, 130))

    # then one is kept, the other is told it is stale, and the history has one new version
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"], outcomes
    winner = 0 if outcomes[0][0] == "ok" else 1
    assert isinstance(outcomes[1 - winner][1], StaleTargetError)
    target = MonthlyTarget.objects.get(dealer=dealer, month=month)
    amount = target.agreed_amount if existing else target.proposed_amount
    assert amount == Decimal([120, 130][winner])
    assert target.version == version + 1
    assert TargetVersion.objects.filter(target=target).count() == version + 1
