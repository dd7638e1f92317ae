import datetime
import io

import pytest
from openpyxl import load_workbook

from dealers.models import DealerKind, DealerStatus
from dealers.tests.factories import DealerFactory
from evalsys.tabular import read_table


@pytest.mark.django_db
def test_the_dealer_export_has_the_import_columns_and_filters_like_the_list(
    client, office, planner, business_manager
):
    # given
    DealerFactory(
        code="SH002",
        name="=危险名称",
        office=office,
        kind=DealerKind.LOGISTICS,
        business_manager=business_manager,
        status=DealerStatus.CHURNED,
        churned_on=datetime.date(2026, 3, 31),
    )
    DealerFactory(code="SH001", office=office, kind=DealerKind.EXCLUSIVE)
    client.force_login(planner)
    # when
    response = client.get("/dealers/export/", {"kind": "logistics"})
    # then
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="dealers-')
    headers, rows = read_table(response.content, "dealers.csv")
    assert headers == [
        "code", "name", "kind", "office", "tier", "business_manager", "joined",
        "status", "churned_on", "contact", "phone", "region",
    ]  # fmt: skip
    assert [cells for _line, cells in rows] == [
        [
            "SH002",
            "'=危险名称",
            "logistics",
            "SH",
            "一级",
            "bm",
            "2020-01-01",
            "churned",
            "2026-03-31",
            "",
            "",
            "",
        ]
    ]


@pytest.mark.django_db
def test_the_dealer_export_as_excel(client, office, office_manager):
    # given
    DealerFactory(code="SH001", name="上海恒达家电商行", office=office)
    client.force_login(office_manager)
    # when
    response = client.get("/dealers/export/", {"format": "xlsx"})
    # then
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert [c.value for c in sheet[2]][:4] == ["SH001", "上海恒达家电商行", "exclusive", "SH"]
