import csv
import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import load_workbook

from dealers.tests.factories import DealerFactory, OfficeFactory, SalesFactory
from networks.models import Visit
from networks.tests.factories import VisitFactory

D = datetime.date


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel("2026-09-15 10:00 +0800", tick=False):
        yield


def write(tmp_path, name, text, encoding="utf-8-sig"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


@pytest.mark.django_db
def test_import_visits_reads_chinese_headers_in_gbk(tmp_path, office, business_manager):
    # given
    DealerFactory(code="SH001", office=office)
    DealerFactory(code="SH002", office=office)
    path = write(
        tmp_path,
        "visits.csv",
        "经销商编码,日期,拜访人,目的,效果,发现\nSH001,2026-09-01,bm,例行巡访,4,库存正常\nSH002,2026/9/2,bm,回款,2,\n",
        encoding="gb18030",
    )
    # when
    out = io.StringIO()
    call_command("import_visits", path, stdout=out)
    # then
    assert "2 rows imported: 2 new" in out.getvalue()
    visits = list(
        Visit.objects.order_by("dealer__code").values_list("dealer__code", "date", "effect", "findings")
    )
    assert visits == [("SH001", D(2026, 9, 1), 4, "库存正常"), ("SH002", D(2026, 9, 2), 2, "")]


@pytest.mark.django_db
def test_import_visits_is_all_or_nothing_and_names_every_bad_line(tmp_path, office, business_manager):
    # given
    DealerFactory(code="SH001", office=office, joined=D(2020, 1, 1))
    path = write(
        tmp_path,
        "visits.csv",
        "dealer,date,visitor,purpose,effect,findings\n"
        "SH001,2026-09-01,bm,巡访,4,\n"
        "NOPE,2026-09-01,bm,巡访,4,\n"
        "SH001,2026-09-02,ghost,巡访,6,\n"
        "SH001,2026-09-03,ghost,巡访,3,\n"
        "SH001,2026-12-01,bm,巡访,3,\n"
        "SH001,2026-09-01,bm,巡访,4,\n",
    )
    err = io.StringIO()
    # when
    with translation.override("en"), pytest.raises(CommandError):
        call_command("import_visits", path, stderr=err)
    # then
    messages = err.getvalue()
    assert "line 3: dealer: unknown dealer code NOPE" in messages
    assert "line 4: effect: the effect rating is 1 to 5, not 6" in messages
    assert "line 5: visitor: unknown user ghost" in messages
    assert "line 6: date: in the future" in messages
    assert "line 7: duplicate visit, already on line 2" in messages
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_importing_the_same_file_twice_adds_nothing(tmp_path, office, business_manager):
    DealerFactory(code="SH001", office=office)
    path = write(tmp_path, "v.csv", "dealer,date,visitor,purpose,effect\nSH001,2026-09-01,bm,巡访,4\n")
    call_command("import_visits", path, stdout=io.StringIO())
    out = io.StringIO()
    call_command("import_visits", path, stdout=out)
    assert "1 unchanged" in out.getvalue()
    assert Visit.objects.count() == 1


@pytest.mark.django_db
def test_import_visits_dry_run_saves_nothing(tmp_path, office, business_manager):
    DealerFactory(code="SH001", office=office)
    path = write(tmp_path, "v.csv", "dealer,date,visitor,purpose,effect\nSH001,2026-09-01,bm,巡访,4\n")
    call_command("import_visits", path, "--dry-run", stdout=io.StringIO())
    assert not Visit.objects.exists()


@pytest.mark.django_db
def test_export_network_metrics_writes_the_columns_of_the_design_by_office_code(tmp_path, business_manager):
    # given
    zz = OfficeFactory(code="ZZ")
    aa = OfficeFactory(code="AA")
    dealer = DealerFactory(office=aa, joined=D(2020, 1, 1))
    DealerFactory(office=zz, joined=D(2026, 8, 1))
    SalesFactory(dealer=dealer, month=D(2026, 7, 1), amount=Decimal("1234.5"))
    VisitFactory(dealer=dealer, visitor=business_manager, effect=3)
    # when
    out = io.StringIO()
    call_command("export_network_metrics", "2026Q3", stdout=out)
    # then
    rows = list(csv.reader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    assert rows[0] == [
        "quarter", "office", "active_end", "active_prev", "active_year_before", "growth_qoq", "growth_yoy",
        "new", "churned", "key_sales", "key_sales_prev", "key_sales_year_before", "key_growth_qoq",
        "key_growth_yoy", "visits_per_dealer_month", "visit_coverage", "mean_effect", "churn_report_days",
    ]  # fmt: skip
    assert [r[1] for r in rows[1:]] == ["AA", "SH", "ZZ"]
    assert rows[1] == ["2026Q3", "AA", "1", "1", "1", "0.00", "0.00", "0", "0", "1234.50", "0.00", "0.00"] + [
        "", "", "0.33", "100.00", "3.00", "",
    ]  # fmt: skip
    assert rows[3][2:9] == ["1", "0", "0", "", "", "1", "0"]


@pytest.mark.django_db
def test_export_network_metrics_writes_xlsx_and_refuses_a_bad_quarter(tmp_path, office):
    target = tmp_path / "m.xlsx"
    call_command("export_network_metrics", "2026Q3", "-o", str(target))
    sheet = load_workbook(target).active
    assert [c.value for c in sheet[1]][:3] == ["quarter", "office", "active_end"]
    assert sheet["B2"].value == "SH"
    with pytest.raises(CommandError):
        call_command("export_network_metrics", "2026-09")
