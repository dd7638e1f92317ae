import os
import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from dealers.models import Dealer
from dealers.tests.factories import DealerFactory

HEADER = "code,name,kind,office,joined"


def upload(client, lines, name="dealers.csv"):
    content = ("\n".join([HEADER, *lines]) + "\n").encode("utf-8")
    return client.post("/dealers/import/", {"file": SimpleUploadedFile(name, content)})


def token_of(response):
    match = re.search(r'name="token" value="([^"]+)"', response.text)
    return match and match[1]


@pytest.fixture(autouse=True)
def _english(client):
    client.cookies["django_language"] = "en"
    with translation.override("en"):
        yield


@pytest.mark.django_db
def test_a_statistician_previews_every_row_then_confirms_the_import(client, office, statistician):
    # given
    DealerFactory(code="SH1", name="旧名称", office=office)
    client.force_login(statistician)
    # when: uploaded
    preview = upload(client, ["SH1,新名称,exclusive,SH,2020-01-01", "SH2,新客户,logistics,SH,2024-01-01"])
    # then: every row is shown, nothing is saved yet
    assert [(row.line, row.action) for row in preview.context["preview_rows"]] == [(2, "changed"), (3, "new")]
    assert "changed: name<" in preview.text
    assert 'data-testid="confirm-import"' in preview.text
    assert Dealer.objects.get(code="SH1").name == "旧名称"
    assert not Dealer.objects.filter(code="SH2").exists()
    # when: confirmed
    done = client.post("/dealers/import/", {"token": token_of(preview)})
    # then
    assert done.status_code == 302
    assert done["Location"] == "/dealers/"
    assert Dealer.objects.get(code="SH1").name == "新名称"
    assert Dealer.objects.get(code="SH2").name == "新客户"
    assert Dealer.objects.get(code="SH2").history.get().history_user == statistician


@pytest.mark.django_db
def test_an_error_file_shows_its_errors_and_saves_nothing(client, office, statistician):
    # given
    client.force_login(statistician)
    # when
    response = upload(client, ["SH1,好的,exclusive,SH,2020-01-01", "SH2,坏的,retail,SH,2020-13-01"])
    # then
    errors = response.context["result"].errors
    assert [line for line, _message in errors] == [3, 3]
    assert "line 3" in response.text
    assert "retail" in response.text
    assert token_of(response) is None
    assert 'data-testid="confirm-import"' not in response.text
    assert not Dealer.objects.exists()


@pytest.mark.django_db
def test_a_statistician_may_import_only_his_own_office(client, office, other_office, statistician):
    # given
    DealerFactory(code="BJ1", office=other_office)
    client.force_login(statistician)
    # when
    response = upload(client, ["BJ2,北京新客户,exclusive,BJ,2020-01-01", "BJ1,改名,exclusive,SH,2020-01-01"])
    # then
    messages = [message for _line, message in response.context["result"].errors]
    assert messages == [
        "office: you may not import dealers of office BJ",
        "code: BJ1 cannot be used; ask sales planning",
    ]
    assert not Dealer.objects.filter(code="BJ2").exists()
    assert Dealer.objects.get(code="BJ1").office == other_office


@pytest.mark.django_db
def test_sales_planning_imports_for_any_office(client, office, other_office, planner):
    client.force_login(planner)
    preview = upload(
        client, ["BJ2,北京新客户,exclusive,BJ,2020-01-01", "SH2,上海新客户,exclusive,SH,2020-01-01"]
    )
    client.post("/dealers/import/", {"token": token_of(preview)})
    assert set(Dealer.objects.values_list("code", flat=True)) == {"BJ2", "SH2"}


@pytest.mark.django_db
@pytest.mark.parametrize("role_fixture", ["office_manager", "business_manager", "vp"])
def test_other_roles_get_404_on_the_import_page(client, role_fixture, request):
    client.force_login(request.getfixturevalue(role_fixture))
    assert client.get("/dealers/import/").status_code == 404
    assert client.post("/dealers/import/").status_code == 404


@pytest.mark.django_db
def test_a_file_that_is_neither_xlsx_nor_csv_is_refused(client, statistician):
    client.force_login(statistician)
    response = upload(client, ["x"], name="dealers.txt")
    assert "Only .xlsx, .xls and .csv files can be imported." in response.text
    assert "result" not in response.context


@pytest.mark.django_db
def test_an_unknown_token_asks_for_the_file_again(client, office, statistician):
    client.force_login(statistician)
    upload(client, ["SH1,新客户,exclusive,SH,2020-01-01"])
    response = client.post("/dealers/import/", {"token": "forged.csv"}, follow=True)
    assert "This preview has expired" in response.text
    assert not Dealer.objects.exists()


@pytest.mark.django_db
def test_confirming_rechecks_the_file(client, office, statistician):
    # given: previewed while the code was free
    client.force_login(statistician)
    preview = upload(client, ["SH1,新客户,exclusive,SH,2020-01-01"])
    # when: meanwhile the office is gone from the user's reach
    statistician.staff_profile.office = None
    statistician.staff_profile.save()
    response = client.post("/dealers/import/", {"token": token_of(preview)})
    # then
    assert response.status_code == 200
    assert "you may not import dealers of office SH" in response.text
    assert not Dealer.objects.exists()


@pytest.mark.django_db
def test_a_file_above_the_upload_limit_is_refused(client, settings, office, statistician):
    settings.IMPORT_MAX_UPLOAD_BYTES = 2**20
    client.force_login(statistician)
    response = upload(client, ["SH1,新客户,exclusive,SH,2020-01-01"] * 40000)
    assert "The file is larger than 1 MB; nothing of it was kept." in response.text
    assert not Dealer.objects.exists()
    assert (
        not any((settings.MEDIA_ROOT / "imports").glob("*"))
        if (settings.MEDIA_ROOT / "imports").exists()
        else True
    )


@pytest.mark.django_db
def test_a_new_upload_replaces_the_previous_preview_and_old_ones_are_dropped(
    client, settings, office, statistician
):
    # given: an abandoned upload from two days ago and a current preview
    client.force_login(statistician)
    directory = settings.MEDIA_ROOT / "imports"
    directory.mkdir(parents=True)
    abandoned = directory / "abandoned.csv"
    abandoned.write_text("x")
    two_days_ago = time.time() - 2 * 86400
    os.utime(abandoned, (two_days_ago, two_days_ago))
    first = token_of(upload(client, ["SH1,新客户,exclusive,SH,2020-01-01"]))
    # when
    second = token_of(upload(client, ["SH2,新客户,exclusive,SH,2020-01-01"]))
    # then
    assert sorted(p.name for p in directory.iterdir()) == [second]
    assert first != second


@pytest.mark.django_db
def test_errors_read_as_chinese_sentences_in_the_chinese_ui(client, office, statistician):
    # given the Chinese interface
    client.cookies["django_language"] = "zh-hans"
    client.force_login(statistician)
    # when a file with a bad kind on line 2 is uploaded
    with translation.override("zh-hans"):
        response = upload(client, ["SH1,坏的,retail,SH,2020-01-01"])
    # then the line and the result column use Chinese wording and punctuation
    assert "第 2 行：" in response.text
    assert "错误：" in response.text


@pytest.mark.django_db
def test_the_upload_stops_being_read_at_the_limit(rf, settings, statistician):
    # given: a multipart body far above the limit
    settings.IMPORT_MAX_UPLOAD_BYTES = 1000
    request = rf.post("/dealers/import/", {"note": "kept", "file": SimpleUploadedFile("d.csv", b"x" * 5000)})
    # when
    files = request.FILES
    # then: no file, the request marked, the fields before it (as the CSRF token is) kept
    assert "file" not in files
    assert request.upload_too_large
    assert request.POST.get("note") == "kept"


@pytest.mark.django_db
def test_a_refused_file_is_not_kept_and_its_full_error_list_is_downloadable(
    client, settings, office, statistician
):
    # given: 150 bad rows
    client.force_login(statistician)
    lines = [f"SH{n},名称,retail,SH,2020-01-01" for n in range(150)]
    # when
    response = upload(client, lines)
    # then: the first 100 errors are listed, with the total, and nothing of the upload is kept
    assert response.context["error_count"] == 150
    assert len(response.context["first_errors"]) == 100
    assert "The first 100 of 150 errors are shown." in response.text
    kept = [p.name for p in (settings.MEDIA_ROOT / "imports").iterdir()]
    assert len(kept) == 1 and kept[0].endswith(".errors.csv")
    # when: the full list is downloaded
    download = client.get("/dealers/import/?errors=1")
    # then
    assert download.status_code == 200
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0] == "Line,Column,Cell value,Problem"
    assert (
        lines[1]
        == '2,kind,retail,"retail is not one of: exclusive, 专营, 专营经销商, logistics, 物流, 物流商"'
    )
    assert len(lines) == 151


@pytest.mark.django_db
def test_the_error_list_of_another_session_is_not_served(client, statistician):
    client.force_login(statistician)
    assert client.get("/dealers/import/?errors=1").status_code == 404


@pytest.mark.django_db
def test_the_import_page_offers_its_template(client, statistician):
    import io as _io

    from openpyxl import load_workbook

    client.force_login(statistician)
    page = client.get("/dealers/import/")
    assert 'href="?template=1"' in page.text
    response = client.get("/dealers/import/?template=1")
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = load_workbook(_io.BytesIO(response.content)).worksheets[0]
    assert [c.value for c in sheet[1]][:4] == ["编码", "名称", "类型", "办事处"]
    assert [c.value for c in sheet[2]][:4] == ["SH001", "上海恒达家电商行", "专营", "SH"]


@pytest.mark.django_db
def test_an_xls_file_can_be_uploaded(client, office, statistician):
    import datetime
    import io as _io

    import xlwt

    client.force_login(statistician)
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("经销商")
    for column, header in enumerate(["编码", "名称", "类型", "办事处", "加入日期"]):
        sheet.write(0, column, header)
    for column, value in enumerate(["SH9", "新客户", "专营", "SH"]):
        sheet.write(1, column, value)
    sheet.write(1, 4, datetime.date(2021, 3, 1), xlwt.easyxf(num_format_str="yyyy-mm-dd"))
    buffer = _io.BytesIO()
    book.save(buffer)
    response = client.post("/dealers/import/", {"file": SimpleUploadedFile("d.xls", buffer.getvalue())})
    assert response.context["result"].errors == []
    client.post("/dealers/import/", {"token": token_of(response)})
    assert Dealer.objects.get(code="SH9").joined == datetime.date(2021, 3, 1)
