import datetime
import io
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from dealers.models import AnnualAgreement, MonthlySales, MonthlyTarget, PointsEntry, TargetVersion
from dealers.targets.imports import SalesImporter
from dealers.targets.points import adjust_points
from dealers.tests.factories import AgreementFactory, DealerFactory, SalesFactory, TargetFactory

SEPTEMBER = datetime.date(2026, 9, 1)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def run(command, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue()


@pytest.mark.django_db
def test_import_agreements_creates_and_updates_by_dealer_and_year(tmp_path, office):
    # given
    DealerFactory(code="SH001", office=office)
    AgreementFactory(dealer__code="SH002", dealer__office=office, year=2026, annual_target=D("1"))
    path = write(
        tmp_path,
        "a.csv",
        '经销商编码,年度,签订日期,年度目标\nSH001,2026,2025-12-20,"1,200,000"\nSH002,2026,2026-01-05,900000\n',
        "gb18030",
    )
    # when
    out = run("import_agreements", path)
    # then
    assert "1 changed, 1 new" in out
    assert dict(AnnualAgreement.objects.values_list("dealer__code", "annual_target")) == {
        "SH001": D("1200000.00"),
        "SH002": D("900000.00"),
    }


@pytest.mark.django_db
def test_import_targets_refuses_months_without_an_agreement_and_saves_nothing(tmp_path, office):
    # given SH001 has an agreement for 2026 only
    AgreementFactory(dealer__code="SH001", dealer__office=office, year=2026)
    path = write(
        tmp_path, "t.csv", "dealer,month,target\nSH001,2026-12,100000\nSH001,2027-01,100000\nXX9,2026-10,5\n"
    )
    # when
    err = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError):
        call_command("import_targets", path, stderr=err)
    # then
    assert "line 3: month: SH001 has no annual agreement for 2027" in err.getvalue()
    assert "line 4: dealer: unknown dealer code XX9" in err.getvalue()
    assert not MonthlyTarget.objects.exists()


@pytest.mark.django_db
def test_import_targets_stores_agreed_targets_with_a_version_and_lateness(tmp_path, office):
    # given
    agreement = AgreementFactory(dealer__code="SH001", dealer__office=office, year=2026)
    path = write(tmp_path, "t.csv", "dealer,month,target\nSH001,2026-09,100000\nSH001,2026-10,110000\n")
    # when
    run("import_targets", path)
    run("import_targets", path)
    # then
    targets = MonthlyTarget.objects.filter(dealer=agreement.dealer)
    assert [(t.month, t.status, t.agreed_amount, t.version) for t in targets] == [
        (SEPTEMBER, "agreed", D("100000"), 1),
        (datetime.date(2026, 10, 1), "agreed", D("110000"), 1),
    ]
    assert TargetVersion.objects.filter(step="imported").count() == 2
    # without agreed_on, neither on time nor late
    assert {t.timeliness for t in targets} == {"imported"}
    assert {v.timeliness for v in TargetVersion.objects.all()} == {"imported"}


@pytest.mark.django_db
def test_reimporting_a_month_of_sales_replaces_its_figure_and_its_points(tmp_path, office):
    # given
    dealer = DealerFactory(code="SH001", office=office)
    TargetFactory(dealer=dealer, month=SEPTEMBER, agreed_amount=D("100000"))
    first = write(tmp_path, "s1.csv", "dealer,month,amount\nSH001,2026-09,89990\n")
    second = write(tmp_path, "s2.csv", "经销商编码,月份,销售额\nSH001,2026年9月,100000\n")
    # when
    run("import_sales", first)
    assert list(PointsEntry.objects.values_list("points", flat=True)) == [D("0.00")]
    out = run("import_sales", second)
    run("import_sales", second)
    # then
    assert "1 changed" in out
    sales = MonthlySales.objects.get()
    assert sales.amount == D("100000")
    assert [h.amount for h in sales.history.order_by("history_date")] == [D("89990"), D("100000")]
    assert list(PointsEntry.objects.values_list("kind", "points")) == [("earned", D("100.00"))]


@pytest.mark.django_db
def test_a_sales_file_with_a_bad_row_saves_nothing_and_names_every_bad_line(tmp_path, office):
    # given
    DealerFactory(code="SH001", office=office)
    path = write(
        tmp_path,
        "s.csv",
        "dealer,month,amount\nSH001,2026-08,1000\nSH001,2026-13,1\nSH001,2026-08,5\nSH001,2026-07,-3\nSH001,2026-06,abc\n",
    )
    # when
    err = io.StringIO()
    with translation.override("en"), pytest.raises(CommandError, match="nothing was saved"):
        call_command("import_sales", path, stderr=err)
    # then
    text = err.getvalue()
    assert "line 3: month: not a month" in text
    assert "line 4: duplicate dealer and month, already on line 2" in text
    assert "line 5: amount: must not be negative" in text
    assert "line 6: amount: not a number" in text
    assert not MonthlySales.objects.exists()


@pytest.mark.django_db
def test_a_statistician_cannot_import_another_offices_sales(office, other_office, statistician):
    # given
    DealerFactory(code="BJ001", office=other_office)
    # when
    with translation.override("en"):
        result = SalesImporter(user=statistician).run(b"dealer,month,amount\nBJ001,2026-08,100\n", "s.csv")
    # then
    # then: reported exactly like a code that does not exist
    assert result.errors == [(2, "dealer: unknown dealer code BJ001")]
    assert not MonthlySales.objects.exists()


@pytest.mark.django_db
def test_export_points_writes_the_documented_columns_by_dealer_code(
    tmp_path, office, other_office, business_manager
):
    # given
    b = DealerFactory(code="SH002", name="=恶意", office=office)
    a = DealerFactory(code="BJ001", name="北京甲", office=other_office)
    TargetFactory(dealer=a, month=SEPTEMBER, agreed_amount=D("100000"))
    SalesFactory(dealer=a, month=SEPTEMBER, amount=D("99996"))
    SalesFactory(dealer=b, month=SEPTEMBER, amount=D("5000"))
    run(
        "import_sales",
        write(tmp_path, "noop.csv", "dealer,month,amount\nBJ001,2026-09,99996\nSH002,2026-09,5000\n"),
    )
    adjust_points(
        dealer=a, month=datetime.date(2026, 8, 1), points=D("7.5"), reason="补录", user=business_manager
    )
    # when
    output = tmp_path / "points.csv"
    call_command("export_points", "2026-09", "-o", str(output))
    # then
    lines = output.read_bytes().decode("utf-8-sig").splitlines()
    assert lines == [
        "month,dealer,name,office,target,actual,attainment,points,balance",
        "2026-09,BJ001,北京甲,BJ,100000.00,99996.00,100.00,50.00,57.50",
        "2026-09,SH002,'=恶意,SH,,5000.00,,0.00,0.00",
    ]


@pytest.mark.parametrize("n", [2, 25])
@pytest.mark.django_db
def test_the_points_export_reads_a_fixed_number_of_queries(office, n, count_queries):
    # given n dealers with a target and an actual each, and one without any figure
    from dealers.targets.services import points_export_rows

    for i in range(n):
        dealer = DealerFactory(code=f"SH{i:03d}", office=office)
        TargetFactory(dealer=dealer, month=SEPTEMBER, agreed_amount=D("1000"))
        SalesFactory(dealer=dealer, month=SEPTEMBER, amount=D("950"))
    DealerFactory(code="SH999", office=office)
    # when
    queries, rows = count_queries(lambda: list(points_export_rows(month=SEPTEMBER)))
    # then
    assert queries <= 6
    assert [r[1] for r in rows] == [f"SH{i:03d}" for i in range(n)]
    assert rows[0][4:7] == [D("1000.00"), D("950.00"), D("95.00")]


@pytest.mark.django_db
def test_large_files_take_the_whole_month_path_with_the_same_result(tmp_path, office, monkeypatch):
    # given more dealers in the file than an IN list is used for
    monkeypatch.setattr("evalsys.bulk.IN_LIST_LIMIT", 1)
    monkeypatch.setattr("dealers.targets.points.IN_LIST_LIMIT", 1)
    a, b = DealerFactory(code="SH001", office=office), DealerFactory(code="SH002", office=office)
    bystander = DealerFactory(code="SH003", office=office)
    for dealer in (a, b, bystander):
        TargetFactory(dealer=dealer, month=SEPTEMBER, agreed_amount=D("100000"))
    SalesFactory(dealer=bystander, month=SEPTEMBER, amount=D("95000"))
    SalesFactory(dealer=b, month=SEPTEMBER, amount=D("1"))
    path = write(
        tmp_path, "s.csv", "dealer,month,amount\nSH001,2026-09,100000\nSH002,2026-09,90000\nSH404,2026-09,1\n"
    )
    # when a bad row stops the first attempt and the corrected file goes through
    with pytest.raises(CommandError):
        call_command("import_sales", path, stderr=io.StringIO())
    run(
        "import_sales",
        write(tmp_path, "ok.csv", "dealer,month,amount\nSH001,2026-09,100000\nSH002,2026-09,90000\n"),
    )
    # then
    assert dict(MonthlySales.objects.values_list("dealer__code", "amount")) == {
        "SH001": D("100000"),
        "SH002": D("90000"),
        "SH003": D("95000"),
    }
    assert dict(PointsEntry.objects.values_list("dealer__code", "points")) == {
        "SH001": D("100.00"),
        "SH002": D("45.00"),
        "SH003": D("47.50"),
    }
    assert [h.history_type for h in MonthlySales.history.filter(dealer=b).order_by("history_id")] == [
        "+",
        "~",
    ]
    assert [h.history_type for h in MonthlySales.history.filter(dealer=a)] == ["+"]
