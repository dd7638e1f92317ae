"""Closed months, corrections by sales planning, imported targets and the agreement's
signing day (DESIGN.md §4)."""

import datetime
import io
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import translation

from dealers.models import MonthlyTarget, PointsEntry, TargetVersion
from dealers.targets.points import recompute_points
from dealers.targets.services import TargetError, correct_target, record_target_step
from dealers.tests.factories import AgreementFactory, DealerFactory, SalesFactory, TargetFactory
from scoring.models import GradingStatus, QuarterGrading

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 11, 20, 10, tzinfo=SHANGHAI)
MARCH_2025 = datetime.date(2025, 3, 1)
NOVEMBER = datetime.date(2026, 11, 1)
DECEMBER = datetime.date(2026, 12, 1)


@pytest.fixture(autouse=True)
def english_on_20_november(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"), time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def dealer(office, business_manager):
    dealer = DealerFactory(code="SH001", office=office, business_manager=business_manager)
    AgreementFactory(dealer=dealer, year=2025)
    AgreementFactory(dealer=dealer, year=2026)
    AgreementFactory(dealer=dealer, year=2027, signed_on=datetime.date(2026, 11, 25))
    SalesFactory(dealer=dealer, month=MARCH_2025, amount=D("96000"))
    recompute_points(months=[MARCH_2025])
    return dealer


def figures():
    return (
        list(MonthlyTarget.objects.values_list("month", "status", "agreed_amount", "version", "timeliness")),
        list(TargetVersion.objects.values_list("version", "step", "amount", "reason")),
        list(PointsEntry.objects.values_list("month", "points")),
    )


def write(tmp_path, text):
    path = tmp_path / "targets.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


# Closed months -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_business_manager_posting_an_agreed_target_for_march_2025_is_refused(
    client, dealer, business_manager
):
    # given March 2025 earned no points (no agreed target)
    assert PointsEntry.objects.get().points == D("0.00")
    before = figures()
    client.force_login(business_manager)
    # when he posts an agreed target for it, as a crafted form would
    response = client.post(
        "/targets/SH001/2025-03/", {"step": "agreed", "amount": "90000", "version": "0"}, follow=True
    )
    # then he reads why, and the points stay 0
    assert "2025-03 has begun: its target can no longer be negotiated." in response.content.decode()
    assert figures() == before


@pytest.mark.django_db
@pytest.mark.parametrize("role_user", ["business_manager", "office_manager", "planner"])
@pytest.mark.parametrize("step", ["proposed", "agreed"])
def test_nobody_negotiates_a_month_that_has_begun(request, dealer, role_user, step):
    user = request.getfixturevalue(role_user)
    before = figures()
    with pytest.raises(TargetError, match="2026-11 has begun"):
        record_target_step(
            dealer=dealer, month=NOVEMBER, step=step, amount=D("1000"), user=user, expected_version=0
        )
    assert figures() == before


@pytest.mark.django_db
def test_sales_planning_corrects_a_closed_month_and_the_reason_is_kept(dealer, business_manager, planner):
    # given November agreed on time last month
    target = record_target_step(
        dealer=dealer,
        month=NOVEMBER,
        step="agreed",
        amount=D("100000"),
        user=business_manager,
        expected_version=0,
        now=datetime.datetime(2026, 10, 20, 9, tzinfo=SHANGHAI),
    )
    # when sales planning corrects it
    corrected = correct_target(
        dealer=dealer,
        month=NOVEMBER,
        amount=D("80000"),
        reason="  客户门店装修停业两周  ",
        user=planner,
        expected_version=target.version,
    )
    # then the amount changed, the agreement's timeliness and author are kept, the reason is on the version
    assert (corrected.agreed_amount, corrected.timeliness, corrected.agreed_by) == (
        D("80000"),
        "on_time",
        business_manager,
    )
    last = TargetVersion.objects.get(target=corrected, version=corrected.version)
    assert (last.step, last.amount, last.reason, last.recorded_by) == (
        "corrected",
        D("80000"),
        "客户门店装修停业两周",
        planner,
    )
    assert corrected.history.first().history_user == planner


@pytest.mark.django_db
def test_a_closed_month_without_a_target_gets_a_late_one_by_correction(dealer, planner):
    corrected = correct_target(
        dealer=dealer, month=MARCH_2025, amount=D("90000"), reason="补录", user=planner, expected_version=0
    )
    assert (corrected.status, corrected.timeliness) == ("agreed", "late")
    # 96000 / 90000 = 106.67 % → rate 1.0 → 96.00 points
    assert PointsEntry.objects.get().points == D("96.00")


@pytest.mark.django_db
def test_a_correction_needs_sales_planning_a_reason_a_begun_month_and_an_open_quarter(
    dealer, business_manager, planner
):
    QuarterGrading.objects.create(quarter="2025Q1", status=GradingStatus.PUBLISHED)
    before = figures()
    cases = [
        (business_manager, NOVEMBER, "typo", "Only sales planning can correct"),
        (planner, NOVEMBER, "   ", "A correction needs a reason."),
        (planner, NOVEMBER, "x" * 301, "longer than 300 characters"),
        (planner, DECEMBER, "typo", "2026-12 has not begun"),
    ]
    for user, month, reason, message in cases:
        with pytest.raises(TargetError, match=message):
            correct_target(
                dealer=dealer, month=month, amount=D("1"), reason=reason, user=user, expected_version=0
            )
    with pytest.raises(Exception, match="2025Q1 is published"):
        correct_target(
            dealer=dealer, month=MARCH_2025, amount=D("1"), reason="typo", user=planner, expected_version=0
        )
    assert figures() == before


@pytest.mark.django_db
def test_the_targets_page_shows_a_closed_month_read_only_and_offers_the_correction_to_sales_planning(
    client, dealer, business_manager, planner
):
    TargetFactory(dealer=dealer, month=NOVEMBER, agreed_amount=D("100000"), timeliness="on_time")
    client.force_login(business_manager)
    manager_page = client.get("/targets/?month=2026-11").content.decode()
    client.force_login(planner)
    planner_page = client.get("/targets/?month=2026-11").content.decode()
    next_month = client.get("/targets/?month=2026-12").content.decode()
    # the business manager reads the month, without any form
    assert "2026-11 has begun: its targets are closed to negotiation." in manager_page
    assert "Only sales planning can correct them" in manager_page
    assert "/targets/SH001/2026-11/" not in manager_page
    # sales planning gets the correction form, with its reason, and no negotiation buttons
    assert 'action="/targets/SH001/2026-11/correct/"' in planner_page
    assert 'name="reason"' in planner_page
    assert 'value="agreed"' not in planner_page
    # next month is still negotiated
    assert 'action="/targets/SH001/2026-12/"' in next_month


@pytest.mark.django_db
def test_a_published_month_shows_no_form_to_anyone(client, dealer, planner):
    QuarterGrading.objects.create(quarter="2025Q1", status=GradingStatus.PUBLISHED)
    client.force_login(planner)
    page = client.get("/targets/?month=2025-03").content.decode()
    assert "2025Q1 is published; its data are frozen." in page
    assert "/targets/SH001/2025-03/" not in page


@pytest.mark.django_db
def test_sales_planning_corrects_in_the_browser_and_others_cannot(client, dealer, business_manager, planner):
    client.force_login(business_manager)
    assert (
        client.post(
            "/targets/SH001/2025-03/correct/", {"amount": "1", "reason": "x", "version": "0"}
        ).status_code
        == 404
    )
    client.force_login(planner)
    missing_reason = client.post(
        "/targets/SH001/2026-10/correct/", {"amount": "90000", "reason": "", "version": "0"}, follow=True
    )
    assert "not corrected; enter an amount like 120000.00 and the reason" in missing_reason.content.decode()
    assert not MonthlyTarget.objects.exists()
    done = client.post(
        "/targets/SH001/2026-10/correct/",
        {"amount": "90000", "reason": "合同附件", "version": "0", "back": "month=2026-10"},
        follow=True,
    )
    assert "target corrected to 90000" in done.content.decode()
    assert done.redirect_chain[-1][0] == "/targets/?month=2026-10#dealer-SH001"
    assert MonthlyTarget.objects.get().agreed_amount == D("90000")
    customer_file = client.get("/dealers/SH001/").content.decode()
    assert "reason: 合同附件" in customer_file


# The agreement's signing day --------------------------------------------------------


@pytest.mark.django_db
def test_a_target_cannot_be_agreed_before_the_annual_agreement_is_signed(dealer, business_manager):
    # given the 2027 agreement is signed on 25 November 2026 and today is the 20th
    proposed = record_target_step(
        dealer=dealer,
        month=datetime.date(2027, 1, 1),
        step="proposed",
        amount=D("1000"),
        user=business_manager,
        expected_version=0,
    )
    with pytest.raises(TargetError, match="signed only on 2026-11-25"):
        record_target_step(
            dealer=dealer,
            month=datetime.date(2027, 1, 1),
            step="agreed",
            amount=D("1000"),
            user=business_manager,
            expected_version=proposed.version,
        )
    assert MonthlyTarget.objects.get().status == "proposed"


# Imported targets -------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_targets_takes_timeliness_from_agreed_on_and_marks_the_others_imported(tmp_path, dealer):
    path = write(
        tmp_path,
        "经销商编码,月份,目标,确定日期\n"
        "SH001,2026-05,100000,2026-04-25\n"
        "SH001,2026-06,100000,2026-05-26\n"
        "SH001,2026-07,100000,\n",
    )
    call_command("import_targets", path, stdout=io.StringIO())
    assert dict(MonthlyTarget.objects.values_list("month", "timeliness")) == {
        datetime.date(2026, 5, 1): "on_time",
        datetime.date(2026, 6, 1): "late",
        datetime.date(2026, 7, 1): "imported",
    }
    assert sorted(TargetVersion.objects.values_list("timeliness", flat=True)) == [
        "imported",
        "late",
        "on_time",
    ]
    # the agreement day is kept as when the target was agreed; none when unknown
    agreed_at = dict(MonthlyTarget.objects.values_list("month", "agreed_at"))
    assert agreed_at[datetime.date(2026, 5, 1)] == datetime.datetime(2026, 4, 25, tzinfo=SHANGHAI)
    assert agreed_at[datetime.date(2026, 7, 1)] is None


@pytest.mark.django_db
def test_import_targets_refuses_dates_before_the_signature_or_in_the_future_and_changed_closed_months(
    tmp_path, dealer
):
    # given October 2026 already agreed at 100000
    TargetFactory(dealer=dealer, month=datetime.date(2026, 10, 1), agreed_amount=D("100000"))
    before = figures()
    path = write(
        tmp_path,
        "dealer,month,target,agreed_on\n"
        "SH001,2027-01,100000,2026-11-20\n"
        "SH001,2026-12,100000,2026-11-21\n"
        "SH001,2026-10,120000,2026-09-20\n"
        "SH001,2026-10,100000,2026-09-20\n",
    )
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_targets", path, stderr=err, stdout=io.StringIO())
    assert (
        "line 2: agreed_on: the annual agreement 2027 of SH001 is signed only on 2026-11-25" in err.getvalue()
    )
    assert "line 3: agreed_on: 2026-11-21 is in the future" in err.getvalue()
    assert "line 4: target: 2026-10 has begun and its target 100000.00 is agreed" in err.getvalue()
    assert "line 5: duplicate dealer and month, already on line 4" in err.getvalue()
    assert figures() == before


@pytest.mark.django_db
def test_imported_targets_are_shown_as_imported_not_late(client, dealer, business_manager, planner):
    TargetFactory(dealer=dealer, month=datetime.date(2026, 11, 1), timeliness="imported")
    TargetFactory(dealer=dealer, month=datetime.date(2026, 10, 1), timeliness="late")
    client.force_login(planner)
    page = client.get("/targets/?month=2026-11").content.decode()
    customer_file = client.get("/dealers/SH001/").content.decode()
    assert '<span class="badge text-bg-secondary" data-testid="timeliness"' in page
    assert "Imported</span>" in page and ">Late</span>" not in page
    assert "Imported</span>" in customer_file and "Late</span>" in customer_file
