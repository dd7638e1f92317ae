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
