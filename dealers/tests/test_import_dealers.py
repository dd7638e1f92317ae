import datetime
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import Workbook

from dealers.models import Dealer, DealerKind, DealerStatus
from dealers.tests.factories import DealerFactory

ZH_HEADER = "编码,名称,类型,办事处,级别,业务经理,加入日期,状态,流失日期,联系人,电话,区域"
EN_HEADER = "code,name,kind,office,tier,business_manager,joined,status,churned_on,contact,phone,region"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def write_csv(tmp_path, lines, encoding="utf-8", name="dealers.csv"):
    path = tmp_path / name
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path


def write_xlsx(tmp_path, rows, name="dealers.xlsx"):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def run(path, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_dealers", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_a_gb18030_csv_with_chinese_headers_imports(tmp_path, office, business_manager):
    # given: a file as Excel on Chinese Windows saves it
    path = write_csv(
        tmp_path,
        [
            ZH_HEADER,
            "SH101,上海恒达家电商行,专营,SH,一级,bm,2021-03-15,正常,,王伟,13800138000,上海",
            "SH102,苏州顺发物流有限公司,物流,SH,二级,,2020/1/2,流失,2026-06-30,李娜,,苏州",
        ],
        encoding="gb18030",
    )
    # when
    out, err = run(path)
    # then
    assert err == ""
    assert "2 rows imported" in out
    first, second = Dealer.objects.order_by("code")
    assert (first.code, first.name, first.kind, first.office, first.tier) == (
        "SH101",
        "上海恒达家电商行",
        DealerKind.EXCLUSIVE,
        office,
        "一级",
    )
    assert first.business_manager == business_manager
    assert first.joined == datetime.date(2021, 3, 15)
    assert (first.contact, first.phone, first.region) == ("王伟", "13800138000", "上海")
    assert second.kind == DealerKind.LOGISTICS
    assert second.status == DealerStatus.CHURNED
    assert second.churned_on == datetime.date(2026, 6, 30)
    assert second.business_manager is None


@pytest.mark.django_db
def test_a_gbk_csv_imports(tmp_path, office):
    path = write_csv(tmp_path, [ZH_HEADER, "SH101,无锡鑫源电器城,专营,SH,一级,,2021-03-15,正常,,,,"], "gbk")
    run(path)
    assert Dealer.objects.get().name == "无锡鑫源电器城"


@pytest.mark.django_db
def test_an_xlsx_with_english_headers_imports(tmp_path, office):
    # given: dates as real Excel dates, the phone as a number
    path = write_xlsx(
        tmp_path,
        [
            EN_HEADER.split(","),
            [
                "SH201",
                "南通嘉禾商贸有限公司",
                "exclusive",
                "SH",
                "一级",
                None,
                datetime.date(2022, 5, 1),
                "suspended",
                None,
                "张强",
                13912345678,
                "南通",
            ],
            [
                "SH202",
                "嘉兴广源配送中心",
                "logistics",
                "SH",
                None,
                None,
                datetime.datetime(2019, 12, 31),
                None,
                None,
                None,
                None,
                None,
            ],
        ],
    )
    # when
    out, _err = run(path)
    # then
    assert "2 rows imported: 2 new" in out
    first, second = Dealer.objects.order_by("code")
    assert first.status == DealerStatus.SUSPENDED
    assert first.phone == "13912345678"
    assert first.joined == datetime.date(2022, 5, 1)
    assert (second.kind, second.status, second.joined) == (
        DealerKind.LOGISTICS,
        DealerStatus.ACTIVE,
        datetime.date(2019, 12, 31),
    )


@pytest.mark.django_db
def test_bad_rows_save_nothing_and_each_is_named_with_its_line_and_reason(tmp_path, office):
    # given: one good row and one bad row of each kind
    path = write_csv(
        tmp_path,
        [
            EN_HEADER,
            "SH301,good one,exclusive,SH,,,2021-01-01,active,,,,",
            "SH302,unknown office,exclusive,XX,,,2021-01-01,active,,,,",
            "SH303,bad kind,wholesale,SH,,,2021-01-01,active,,,,",
            "SH301,duplicate code,exclusive,SH,,,2021-01-01,active,,,,",
            "SH305,bad date,exclusive,SH,,,2021-02-30,active,,,,",
        ],
    )
    # when
    with pytest.raises(CommandError, match="4 error"):
        run_capturing = io.StringIO()
        call_command("import_dealers", str(path), stdout=io.StringIO(), stderr=run_capturing)
    # then
    errors = run_capturing.getvalue().splitlines()
    assert len(errors) == 4
    assert errors[0].startswith("dealers.csv: line 3: office") and "XX" in errors[0]
    assert errors[1].startswith("dealers.csv: line 4: kind") and "wholesale" in errors[1]
    assert errors[2].startswith("dealers.csv: line 5: ") and "line 2" in errors[2]
    assert "duplicate" in errors[2]
    assert errors[3].startswith("dealers.csv: line 6: joined") and "2021-02-30" in errors[3]
    assert not Dealer.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("SH1,x,exclusive,SH,,nobody,2021-01-01,active,,,,", "unknown user nobody"),
        ("SH1,x,exclusive,SH,,,2021-01-01,churned,,,,", "required when the status is churned"),
        ("SH1,x,exclusive,SH,,,2021-01-01,active,2022-01-01,,,", "only a churned dealer"),
        ("SH1,x,exclusive,SH,,,2021-01-01,churned,2020-01-01,,,", "before the joined date"),
        ("SH1,,exclusive,SH,,,2021-01-01,active,,,,", "name: required"),
        ("SH1,x,exclusive,SH,,,2021-01-01,gone,,,,", "gone is not one of"),
    ],
)
def test_a_row_breaking_a_rule_is_refused_with_its_reason(tmp_path, office, row, reason):
    path = write_csv(tmp_path, [EN_HEADER, row])
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_dealers", str(path), stdout=io.StringIO(), stderr=err)
    assert "line 2" in err.getvalue()
    assert reason in err.getvalue()
    assert not Dealer.objects.exists()


@pytest.mark.django_db
def test_reimporting_updates_dealers_by_code_and_keeps_history(tmp_path, office, other_office):
    # given
    dealer = DealerFactory(code="SH401", name="旧名称", office=office, tier="二级")
    untouched = DealerFactory(
        code="SH402", name="不变", office=office, tier="一级", joined=datetime.date(2020, 1, 1)
    )
    path = write_csv(
        tmp_path,
        [
            EN_HEADER,
            "SH401,新名称,exclusive,BJ,一级,,2020-01-01,active,,,,",
            "SH402,不变,exclusive,SH,一级,,2020-01-01,active,,,,",
            "SH403,新客户,logistics,SH,,,2024-04-01,active,,,,",
        ],
    )
    # when
    out, _err = run(path)
    # then
    assert "3 rows imported: 1 changed, 1 new, 1 unchanged" in out
    dealer.refresh_from_db()
    assert (dealer.name, dealer.office, dealer.tier) == ("新名称", other_office, "一级")
    assert Dealer.objects.count() == 3
    latest = dealer.history.first()
    assert {c.field for c in latest.diff_against(latest.prev_record).changes} == {"name", "office", "tier"}
    assert untouched.history.count() == 1


@pytest.mark.django_db
def test_a_dry_run_checks_but_saves_nothing(tmp_path, office):
    path = write_csv(tmp_path, [EN_HEADER, "SH501,x,exclusive,SH,,,2021-01-01,active,,,,"])
    out, _err = run(path, "--dry-run")
    assert "dry run, nothing saved" in out
    assert not Dealer.objects.exists()


@pytest.mark.django_db
def test_a_dry_run_of_a_bad_file_reports_its_errors(tmp_path, office):
    path = write_csv(tmp_path, [EN_HEADER, "SH501,x,exclusive,XX,,,2021-01-01,active,,,,"])
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_dealers", str(path), "--dry-run", stdout=io.StringIO(), stderr=err)
    assert "line 2: office" in err.getvalue()


@pytest.mark.django_db
def test_an_error_gives_a_non_zero_exit_status(tmp_path, office):
    # given
    bad = write_csv(tmp_path, [EN_HEADER, "SH1,x,exclusive,XX,,,2021-01-01,active,,,,"])
    # when
    with pytest.raises(CommandError) as error:
        run(bad)
    # then: manage.py exits with the error's return code
    assert error.value.returncode != 0


@pytest.mark.django_db
def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "missing.csv")


@pytest.mark.django_db
def test_a_file_missing_required_columns_names_them(tmp_path, office):
    path = write_csv(tmp_path, ["code,name,office", "SH1,x,SH"])
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import_dealers", str(path), stdout=io.StringIO(), stderr=err)
    assert "kind/类型" in err.getvalue()
    assert "joined/加入日期" in err.getvalue()


@pytest.mark.django_db
def test_columns_left_out_of_the_file_keep_what_a_known_dealer_has(tmp_path, office, business_manager):
    # given
    dealer = DealerFactory(
        code="SH601",
        office=office,
        tier="一级",
        business_manager=business_manager,
        status=DealerStatus.CHURNED,
        churned_on=datetime.date(2025, 6, 30),
        phone="021-1234",
    )
    path = write_csv(tmp_path, ["code,name,kind,office,joined", "SH601,新名称,exclusive,SH,2020-01-01"])
    # when
    out, _err = run(path)
    # then
    assert "1 changed" in out
    dealer.refresh_from_db()
    assert dealer.name == "新名称"
    assert (dealer.tier, dealer.business_manager, dealer.status, dealer.churned_on, dealer.phone) == (
        "一级",
        business_manager,
        DealerStatus.CHURNED,
        datetime.date(2025, 6, 30),
        "021-1234",
    )


@pytest.mark.django_db
def test_an_empty_cell_clears_the_field(tmp_path, office, business_manager):
    dealer = DealerFactory(code="SH602", office=office, tier="一级", business_manager=business_manager)
    path = write_csv(
        tmp_path,
        ["code,name,kind,office,joined,tier,business_manager", "SH602,x,exclusive,SH,2020-01-01,,"],
    )
    run(path)
    dealer.refresh_from_db()
    assert (dealer.tier, dealer.business_manager) == ("", None)
