"""A published quarter's sales, targets and points are frozen on every path (DESIGN.md §3.4)."""

import datetime
import io
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.utils import translation

from dealers import freeze
from dealers.freeze import FrozenPeriod, ensure_months_open, published_quarter_for
from dealers.models import MonthlySales, MonthlyTarget, PointsEntry, TargetVersion
from dealers.targets.imports import SalesImporter
from dealers.targets.points import adjust_points, recompute_points
from dealers.targets.services import record_target_step
from dealers.tests.factories import AgreementFactory, DealerFactory, SalesFactory, TargetFactory
from scoring.models import GradingStatus, QuarterGrading

SHANGHAI = ZoneInfo("Asia/Shanghai")
AUGUST = datetime.date(2026, 8, 1)
NOVEMBER = datetime.date(2026, 11, 1)


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def published(db):
    return QuarterGrading.objects.create(quarter="2026Q3", status=GradingStatus.PUBLISHED)


@pytest.fixture
def dealer(office, business_manager):
    dealer = DealerFactory(code="SH001", office=office, business_manager=business_manager)
    AgreementFactory(dealer=dealer, year=2026)
    TargetFactory(dealer=dealer, month=AUGUST, agreed_amount=D("100000"))
    SalesFactory(dealer=dealer, month=AUGUST, amount=D("95000"))
    recompute_points(months=[AUGUST])
    return dealer


def snapshot():
    """Everything a frozen month holds, to compare before and after a refused action."""
    return (
        list(MonthlySales.objects.values_list("dealer_id", "month", "amount")),
        list(MonthlyTarget.objects.values_list("dealer_id", "month", "status", "agreed_amount", "version")),
        list(TargetVersion.objects.values_list("target_id", "version", "amount")),
        list(PointsEntry.objects.values_list("dealer_id", "month", "kind", "points")),
        MonthlySales.history.count(),
        MonthlyTarget.history.count(),
    )


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.django_db
def test_only_a_published_quarter_covers_its_months(published):
    # given 2026Q3 published and 2026Q2 graded only
    QuarterGrading.objects.create(quarter="2026Q2", status=GradingStatus.GRADED)
    # then
    assert published_quarter_for([datetime.date(2026, 7, 1)]) == "2026Q3"
    assert published_quarter_for([datetime.date(2026, 9, 17)]) == "2026Q3"
    assert published_quarter_for([datetime.date(2026, 6, 1), datetime.date(2026, 9, 1)]) == "2026Q3"
    assert published_quarter_for([datetime.date(2026, 6, 1)]) is None
    assert published_quarter_for([NOVEMBER]) is None
    assert published_quarter_for([]) is None


@pytest.mark.django_db
def test_the_refusal_names_the_quarter_in_the_users_language(published):
    with pytest.raises(FrozenPeriod) as english:
        ensure_months_open([AUGUST])
    with translation.override("zh-hans"), pytest.raises(FrozenPeriod) as chinese:
        ensure_months_open([AUGUST])
    assert str(english.value) == "2026Q3 is published; its data are frozen."
    assert str(chinese.value) == "2026Q3 已发布，其数据已冻结。"
    assert english.value.quarter == "2026Q3"


@pytest.mark.django_db
def test_the_scoring_check_is_registered_and_asks_one_query(published, django_assert_num_queries):
    assert any(check.__module__ == "scoring.freeze" for check in freeze._checks)
    with django_assert_num_queries(1):
        assert published_quarter_for([AUGUST, datetime.date(2026, 4, 1), NOVEMBER]) == "2026Q3"


@pytest.mark.django_db
def test_no_target_step_reaches_a_published_month(dealer, business_manager, published):
    # given
    before = snapshot()
    # when a business manager agrees August again (as sales planning might, too)
    with pytest.raises(FrozenPeriod, match="2026Q3"):
        record_target_step(
            dealer=dealer,
            month=AUGUST,
            step="agreed",
            amount=D("50000"),
            user=business_manager,
            expected_version=MonthlyTarget.objects.get().version,
            now=datetime.datetime(2026, 7, 20, 10, tzinfo=SHANGHAI),
        )
    # then
    assert snapshot() == before


@pytest.mark.django_db
def test_points_of_a_published_month_are_neither_recomputed_nor_adjusted(dealer, planner, published):
    before = snapshot()
    with pytest.raises(FrozenPeriod, match="2026Q3"):
        recompute_points(months=[AUGUST])
    with pytest.raises(FrozenPeriod, match="2026Q3"):
        adjust_points(dealer=dealer, month=AUGUST, points=D("10"), reason="goodwill", user=planner)
    assert snapshot() == before


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 11, 20, 10, tzinfo=SHANGHAI), tick=False)
def test_import_sales_of_a_published_month_is_refused_by_line_and_saves_nothing(tmp_path, dealer, published):
    # given a file correcting August and adding October
    path = write(tmp_path, "sales.csv", "dealer,month,amount\nSH001,2026-08,200000\nSH001,2026-10,5000\n")
    before = snapshot()
    # when
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_sales", path, stderr=err, stdout=io.StringIO())
    # then the August line is named with the quarter, and October is not saved either
    assert "line 2: month: 2026Q3 is published; its data are frozen." in err.getvalue()
    assert "line 3" not in err.getvalue()
    assert snapshot() == before


@pytest.mark.django_db
def test_import_targets_of_a_published_month_is_refused_and_saves_nothing(tmp_path, dealer, published):
    path = write(tmp_path, "t.csv", "经销商编码,月份,目标\nSH001,2026-09,1\n")
    before = snapshot()
    err = io.StringIO()
    with translation.override("zh-hans"), pytest.raises(CommandError):
        call_command("import_targets", path, stderr=err, stdout=io.StringIO())
    assert "2026Q3 已发布，其数据已冻结。" in err.getvalue()
    assert snapshot() == before


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 11, 20, 10, tzinfo=SHANGHAI), tick=False)
def test_a_quarter_published_between_the_check_and_the_save_refuses_the_whole_file(dealer, monkeypatch):
    # given the rows were checked while 2026Q3 was still open
    importer = SalesImporter()
    result = importer.parse(b"dealer,month,amount\nSH001,2026-08,200000\n", "sales.csv")
    assert result.ok
    QuarterGrading.objects.create(quarter="2026Q3", status=GradingStatus.PUBLISHED)
    before = snapshot()
    # when the save runs (the check is skipped to stand for the race)
    monkeypatch.setattr(SalesImporter, "refuse_frozen_months", lambda self, rows: None)
    result = importer.run(b"dealer,month,amount\nSH001,2026-08,200000\n", "sales.csv")
    # then
    assert not result.saved
    assert result.file_errors == ["2026Q3 is published; its data are frozen."]
    assert snapshot() == before


@pytest.mark.django_db
def test_a_business_manager_posting_a_published_months_target_reads_why_and_nothing_changes(
    client, dealer, business_manager, published
):
    client.force_login(business_manager)
    before = snapshot()
    response = client.post(
        "/targets/SH001/2026-08/",
        {"step": "agreed", "amount": "50000", "version": MonthlyTarget.objects.get().version},
        follow=True,
    )
    assert response.status_code == 200
    assert "2026Q3 is published; its data are frozen." in response.content.decode()
    assert snapshot() == before


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 11, 20, 10, tzinfo=SHANGHAI), tick=False)
def test_the_sales_import_page_names_the_published_quarter(client, dealer, statistician, published):
    client.force_login(statistician)
    before = snapshot()
    upload = SimpleUploadedFile("sales.csv", b"dealer,month,amount\nSH001,2026-08,1\n")
    preview = client.post("/sales/import/", {"file": upload})
    assert preview.context["token"] is None
    assert "2026Q3 is published; its data are frozen." in preview.content.decode()
    assert snapshot() == before


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456")
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_admin_refuses_a_points_adjustment_in_a_published_month(admin_client, dealer, published):
    before = snapshot()
    response = admin_client.post(
        "/admin/dealers/pointsentry/add/",
        {"dealer": dealer.pk, "month": "2026-08-10", "points": "25", "reason": "goodwill"},
    )
    assert response.status_code == 200
    assert "2026Q3 is published; its data are frozen." in response.content.decode()
    assert snapshot() == before


@pytest.mark.django_db
def test_the_admin_shows_targets_and_sales_but_changes_them_only_through_the_services(admin_client, dealer):
    target, sales = MonthlyTarget.objects.get(), MonthlySales.objects.get()
    assert admin_client.get("/admin/dealers/monthlytarget/").status_code == 200
    page = admin_client.get(f"/admin/dealers/monthlytarget/{target.pk}/change/")
    assert page.status_code == 200 and 'name="agreed_amount"' not in page.content.decode()
    assert admin_client.get("/admin/dealers/monthlysales/add/").status_code == 403
    admin_client.post(
        f"/admin/dealers/monthlysales/{sales.pk}/change/", {"amount": "1", "month": "2026-08-01"}
    )
    admin_client.post(f"/admin/dealers/monthlysales/{sales.pk}/delete/", {"post": "yes"})
    assert MonthlySales.objects.get().amount == D("95000")
