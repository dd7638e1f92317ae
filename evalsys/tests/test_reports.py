"""The Excel reports for people (DESIGN.md §6.2, last paragraph)."""

import datetime
import io
from decimal import Decimal as D

import pytest
from openpyxl import load_workbook

from dealers.models import DealerKind, TargetStatus
from dealers.tests.factories import DealerFactory, SalesFactory, TargetFactory
from evalsys import reports
from scoring import services
from scoring.models import Grade
from scoring.tests.factories import Q3, approve, dealer_with_sales, fill_manual


def _sheet(content: bytes):
    return load_workbook(io.BytesIO(content)).worksheets[0]


def _values(sheet):
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def test_a_report_has_a_frozen_filtered_header_widths_and_number_formats():
    # given
    columns = [
        reports.Column("经销商"),
        reports.Column("销售额", reports.MONEY),
        reports.Column("达成率", reports.PERCENT),
        reports.Column("拜访次数", reports.INTEGER),
        reports.Column("加入日期", reports.DATE),
        reports.Column("已调整"),
    ]
    rows = [
        ["上海恒达家电商行有限公司", D("1234567.89"), D("95.5"), 3, datetime.date(2026, 9, 30), True],
        ["=cmd", D("-12.50"), None, 0, None, False],
    ]
    buffer = io.BytesIO()
    # when
    count = reports.write_report(title="积分 2026-09", columns=columns, rows=iter(rows), target=buffer)
    # then
    sheet = _sheet(buffer.getvalue())
    assert count == 2
    assert sheet.title == "积分 2026-09"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:F3"
    assert _values(sheet) == [
        ["经销商", "销售额", "达成率", "拜访次数", "加入日期", "已调整"],
        ["上海恒达家电商行有限公司", 1234567.89, 0.955, 3, datetime.datetime(2026, 9, 30), "是"],
        ["'=cmd", -12.5, None, 0, None, "否"],
    ]
    assert [sheet.cell(2, c).number_format for c in range(2, 6)] == [
        "#,##0.00",
        "0.00%",
        "#,##0",
        "yyyy-mm-dd",
    ]
    assert sheet["A1"].font.bold
    # the Chinese name counts twice: 12 characters are 24 columns wide, plus a margin
    assert sheet.column_dimensions["A"].width == 26
    assert sheet.column_dimensions["D"].width == 10  # the header 拜访次数 is wider than the counts


def test_a_report_refuses_an_unknown_column_kind():
    with pytest.raises(ValueError):
        reports.Column("x", "currency")


def test_an_empty_report_still_has_its_header():
    buffer = io.BytesIO()
    reports.write_report(title="a/b:[c]", columns=[reports.Column("A")], rows=[], target=buffer)
    sheet = _sheet(buffer.getvalue())
    assert _values(sheet) == [["A"]]
    assert sheet.title == "a b  c"


@pytest.mark.django_db
def test_the_abc_report_names_offices_kinds_changes_and_override_reasons(
    client, office, other_office, planner
):
    # given
    dealer_with_sales(office=office, code="E001", name="上海恒达")
    dealer_with_sales(office=office, code="L001", kind=DealerKind.LOGISTICS)
    dealer_with_sales(office=other_office, code="X001")
    services.open_quarter(quarter=Q3)
    fill_manual()
    approve()
    services.regrade_quarter(quarter=Q3)
    grade = Grade.objects.get(dealer__code="E001")
    services.override_class(grade=grade, final_class="C", reason="市场萎缩", user=planner)
    client.force_login(planner)
    # when
    response = client.get("/abc/export/", {"quarter": "2026Q3", "office": office.pk, "format": "report"})
    # then
    assert response["Content-Disposition"] == 'attachment; filename="abc-2026Q3-report.xlsx"'
    values = _values(_sheet(response.content))
    assert values[0][:5] == ["季度", "经销商编码", "经销商", "办事处", "类型"]
    assert [row[1] for row in values[1:]] == ["E001", "L001"]
    e001 = dict(zip(values[0], values[1], strict=True))
    assert e001["办事处"] == "上海办事处"
    assert e001["类型"] == "专营经销商"
    assert e001["最终类别"] == "C"
    assert e001["调整原因"] == "市场萎缩"
    assert e001["已调整"] == "是"


@pytest.mark.django_db
def test_the_points_report_shows_money_and_percent_with_office_names(
    client, office, other_office, office_manager
):
    # given
    dealer = DealerFactory(code="SH001", office=office)
    DealerFactory(code="BJ001", office=other_office)
    month = datetime.date(2026, 8, 1)
    TargetFactory(dealer=dealer, month=month, status=TargetStatus.AGREED, agreed_amount=D("1200000"))
    SalesFactory(dealer=dealer, month=month, amount=D("1234567.89"))
    client.force_login(office_manager)
    # when
    response = client.get("/targets/points.csv", {"month": "2026-08", "format": "report"})
    # then
    sheet = _sheet(response.content)
    assert [c.value for c in sheet[1]][:7] == [
        "月份",
        "经销商编码",
        "经销商",
        "办事处",
        "目标",
        "实际销售额",
        "达成率",
    ]
    assert [c.value for c in sheet[2]][:7] == [
        "2026-08",
        "SH001",
        dealer.name,
        "上海办事处",
        1200000,
        1234567.89,
        1.0288,
    ]
    assert sheet["F2"].number_format == "#,##0.00"
    assert sheet["G2"].number_format == "0.00%"
    assert sheet.max_row == 2


@pytest.mark.django_db
def test_the_network_metrics_report_is_in_chinese_with_office_names(
    client, office, other_office, office_manager
):
    client.force_login(office_manager)
    response = client.get("/network/metrics/export/", {"quarter": "2026Q3", "format": "report"})
    sheet = _sheet(response.content)
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["季度", "办事处", "季末网络内客户数"]
    assert not any(str(h).startswith("…") for h in header)
    assert [c.value for c in sheet["B"]][1:] == ["上海办事处"]


@pytest.mark.django_db
def test_the_dealer_report_names_kind_status_and_business_manager(client, office, planner, business_manager):
    DealerFactory(code="SH001", office=office, business_manager=business_manager, kind=DealerKind.LOGISTICS)
    client.force_login(planner)
    response = client.get("/dealers/export/", {"format": "report"})
    sheet = _sheet(response.content)
    row = dict(zip([c.value for c in sheet[1]], [c.value for c in sheet[2]], strict=True))
    assert row["类型"] == "物流商"
    assert row["办事处"] == "上海办事处"
    assert row["状态"] == "正常"
    assert row["业务经理"] == "bm"
    assert sheet["G2"].number_format == "yyyy-mm-dd"


def test_every_network_metric_has_a_label_and_a_report_format():
    from networks.labels import METRIC_LABELS, METRIC_REPORT_KINDS
    from networks.rules import METRIC_NAMES

    assert set(METRIC_LABELS) == set(METRIC_REPORT_KINDS) == set(METRIC_NAMES)


def test_the_report_helpers_doctests_hold():
    import doctest

    result = doctest.testmod(reports)
    assert result.failed == 0 and result.attempted > 0
