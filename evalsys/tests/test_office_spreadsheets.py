"""Spreadsheets as offices keep them (issue 11, DESIGN.md §6.2): title rows above the header,
headers with units and markers, data on a later sheet, old .xls files, full-width codes,
every error of a row at once, and the template of each import."""

import datetime
import io
from decimal import Decimal as D

import pytest
import time_machine
import xlwt
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import Workbook, load_workbook

from dealers.imports import DealerImporter
from dealers.models import Dealer, MonthlySales
from dealers.targets.imports import SalesImporter
from dealers.tests.factories import DealerFactory
from evalsys.tabular import header_key
from networks.imports import VisitImporter


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def xlsx(*sheets):
    """A workbook of `(title, rows)` sheets; a row may start with a merged title."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("header", "key"),
    [
        ("销售额（元）", "销售额"),
        ("经销商编码*", "经销商编码"),
        ("＊经销商编码", "经销商编码"),
        (" 月 份 ", "月份"),
        ("Amount (yuan)", "amount"),
        ("Business Manager", "businessmanager"),
        ("business_manager", "businessmanager"),
        ("【必填】经销商编码", "经销商编码"),
        ("ＡＭＯＵＮＴ", "amount"),
    ],
)
def test_a_header_is_compared_without_units_markers_case_or_width(header, key):
    assert header_key(header) == key


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 3, 10, 12, 0), tick=False)
def test_sales_kept_the_office_way_import(office):
    # given: a notes sheet first; then a merged title row, a blank row, headers with units and
    # markers, a full-width dealer code, a Chinese-format number and a date cell for the month
    DealerFactory(code="SH001", office=office)
    DealerFactory(code="SH002", office=office)
    content = xlsx(
        ("说明", [["本文件由上海办事处统计员整理"], ["金额单位：元"]]),
        (
            "2026年1月",
            [
                ["2026年上海办事处经销商销售额"],
                [],
                ["经销商编码*", "月 份", "销售额（元）"],
                ["ＳＨ００１", "２０２６-０１", "１２，３４５.６"],
                ["SH002", datetime.datetime(2026, 1, 1), 500],
            ],
        ),
    )
    # when
    result = SalesImporter().run(content, "上海1月销售.xlsx")
    # then
    assert result.errors == []
    assert [(r.line, r.values) for r in result.rows] == [
        (4, {"dealer": "SH001", "month": datetime.date(2026, 1, 1), "amount": D("12345.60")}),
        (5, {"dealer": "SH002", "month": datetime.date(2026, 1, 1), "amount": D("500.00")}),
    ]
    assert MonthlySales.objects.get(dealer__code="SH001").amount == D("12345.60")


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 3, 10, 12, 0), tick=False)
def test_an_old_xls_file_imports(office):
    # given: a real Excel 97-2003 file with a merged title and a date-formatted month
    DealerFactory(code="SH001", office=office)
    DealerFactory(code="SH002", office=office)
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("销售")
    sheet.write_merge(0, 0, 0, 2, "2026年2月销售")
    for column, header in enumerate(["经销商编码", "月份", "销售额（元）"]):
        sheet.write(1, column, header)
    sheet.write(2, 0, "SH001")
    sheet.write(2, 1, datetime.date(2026, 2, 1), xlwt.easyxf(num_format_str="yyyy-mm"))
    sheet.write(2, 2, 1000.5)
    sheet.write(3, 0, "ＳＨ００２")
    sheet.write(3, 1, "2026-02")
    sheet.write(3, 2, "800")
    buffer = io.BytesIO()
    book.save(buffer)
    # when
    result = SalesImporter().run(buffer.getvalue(), "sales.xls")
    # then
    assert result.errors == []
    assert dict(MonthlySales.objects.values_list("dealer__code", "amount")) == {
        "SH001": D("1000.50"),
        "SH002": D("800.00"),
    }


def test_an_xls_name_on_an_xlsx_workbook_is_read_by_its_content():
    content = xlsx(("s", [["code", "price"], ["a", 1]]))
    from evalsys.reading import sheets

    assert [list(s.rows()) for s in sheets(content, "renamed.xls")] == [
        [(1, ["code", "price"]), (2, ["a", 1])]
    ]


@pytest.mark.django_db
def test_full_width_codes_do_not_create_a_second_dealer(office):
    DealerFactory(code="SH001", office=office, name="旧名")
    content = "编码,名称,类型,办事处,加入日期\nＳＨ００１,新名,专营,ＳＨ,2020-01-01\n".encode()
    result = DealerImporter().run(content, "d.csv")
    assert result.errors == []
    assert list(Dealer.objects.values_list("code", "name")) == [("SH001", "新名")]


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 3, 10, 12, 0), tick=False)
def test_every_error_of_a_row_is_reported_at_once(office):
    # given: a row with an unknown dealer, a month not yet begun and a bad amount
    content = b"dealer,month,amount\nXX9,2026-05,abc\n"
    # when
    result = SalesImporter().run(content, "s.csv")
    # then
    assert result.errors == [
        (2, "amount: not a number: abc"),
        (2, "dealer: unknown dealer code XX9"),
        (2, "month: 2026-05 has not begun yet"),
    ]


@pytest.mark.django_db
def test_when_no_header_row_is_found_the_headers_seen_are_listed():
    content = xlsx(("Sheet1", [["上海办事处2026年销售"], ["客户", "月", "金额"], ["SH001", "2026-01", 1]]))
    result = SalesImporter().run(content, "s.xlsx")
    assert result.file_errors == [
        "Missing columns: dealer/经销商编码, month/月份, amount/销售额. Headers seen: 客户, 月, 金额"
    ]


@pytest.mark.django_db
def test_a_header_below_the_tenth_row_is_not_looked_for():
    rows = [[f"说明 {n}"] for n in range(10)] + [["dealer", "month", "amount"], ["SH001", "2026-01", 1]]
    result = SalesImporter().run(xlsx(("Sheet1", rows)), "s.xlsx")
    assert result.file_errors[0].startswith("Missing columns: dealer/经销商编码")


# People and codes in files ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_business_manager_of_another_office_is_an_unknown_user_to_an_office_user(
    office, other_office, make_staff, statistician
):
    # given
    make_staff("bm1_bj", "business_manager", office=other_office)
    make_staff("bm1_sh", "business_manager", office=office)
    content = (
        "code,name,kind,office,joined,business_manager\n"
        "SH101,甲,exclusive,SH,2020-01-01,bm1_bj\n"
        "SH102,乙,exclusive,SH,2020-01-01,nobody\n"
        "SH103,丙,exclusive,SH,2020-01-01,ｂｍ１＿ｓｈ\n"
    ).encode()
    # when
    result = DealerImporter(user=statistician).run(content, "d.csv")
    # then: the Beijing manager reads exactly like a name that does not exist
    assert result.errors == [
        (2, "business_manager: unknown user bm1_bj"),
        (3, "business_manager: unknown user nobody"),
    ]
    assert not Dealer.objects.exists()


@pytest.mark.django_db
def test_sales_planning_is_told_a_business_manager_belongs_elsewhere(
    office, other_office, make_staff, planner
):
    make_staff("bm1_bj", "business_manager", office=other_office)
    content = b"code,name,kind,office,joined,business_manager\nSH101,A,exclusive,SH,2020-01-01,bm1_bj\n"
    result = DealerImporter(user=planner).run(content, "d.csv")
    assert result.errors == [(2, "business_manager: bm1_bj is not staff of office SH")]


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 3, 10, 12, 0), tick=False)
def test_visitors_must_be_staff_of_the_dealers_office_or_company_wide(
    office, other_office, make_staff, office_manager, vp
):
    # given
    DealerFactory(code="SH001", office=office, joined=datetime.date(2020, 1, 1))
    DealerFactory(code="BJ001", office=other_office, joined=datetime.date(2020, 1, 1))
    make_staff("om_bj", "office_manager", office=other_office)
    make_staff("bm_sh", "business_manager", office=office)
    admin = make_staff("boss", "sales_planning")
    admin.groups.clear()
    admin.is_superuser = True
    admin.save()
    content = (
        "dealer,date,visitor,purpose,effect\n"
        "SH001,2026-03-01,bm_sh,回访,4\n"
        "SH001,2026-03-02,vp,巡访,5\n"
        "SH001,2026-03-03,om_bj,回访,4\n"
        "SH001,2026-03-04,boss,回访,4\n"
        "BJ001,2026-03-05,bm_sh,回访,4\n"
    ).encode()
    # when
    result = VisitImporter(user=office_manager).run(content, "v.csv", dry_run=True)
    # then: another office's staff and dealer read exactly like unknown ones
    assert result.errors == [
        (4, "visitor: unknown user om_bj"),
        (5, "visitor: unknown user boss"),
        (6, "dealer: unknown dealer code BJ001"),
    ]


# Templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        "import_offices",
        "import_dealers",
        "import_agreements",
        "import_targets",
        "import_sales",
        "import_scores",
        "import_visits",
        "import_support",
    ],
)
@pytest.mark.django_db
def test_every_import_command_writes_its_template_and_the_template_imports_cleanly_as_far_as_headers_go(
    tmp_path, command
):
    # when
    target = tmp_path / "template.xlsx"
    out = io.StringIO()
    call_command(command, "--template", str(target), stdout=out)
    # then: Chinese headers and an example row first, the rules on the second sheet
    workbook = load_workbook(target)
    template, rules = workbook.worksheets
    headers = [c.value for c in template[1]]
    assert all(not h.isascii() for h in headers)
    assert any(c.value for c in template[2])
    assert [r[0].value for r in rules.iter_rows(min_row=2, max_row=len(headers) + 1)] == headers
    assert all(
        r[2].value.startswith(("required", "optional"))
        for r in rules.iter_rows(min_row=2, max_row=len(headers) + 1)
    )
    assert "template written" in out.getvalue()


@pytest.mark.django_db
def test_a_template_into_a_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such directory"):
        call_command("import_sales", "--template", str(tmp_path / "nope" / "t.xlsx"))


@pytest.mark.django_db
def test_an_import_command_without_a_file_says_so():
    with pytest.raises(CommandError, match="Name the file to import"):
        call_command("import_sales")
