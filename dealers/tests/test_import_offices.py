import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from dealers.models import Office


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def run(path, *args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_offices", str(path), *args, stdout=out, stderr=err)
    finally:
        run.err = err.getvalue()
    return out.getvalue()


@pytest.mark.django_db
def test_offices_import_from_a_utf8_bom_csv_with_chinese_headers(tmp_path):
    # given
    path = tmp_path / "offices.csv"
    path.write_bytes("编码,名称,区域\nSH,上海办事处,华东\nBJ,北京办事处,\n".encode("utf-8-sig"))
    # when
    out = run(path)
    # then
    assert "2 rows imported: 2 new" in out
    assert list(Office.objects.values_list("code", "name", "region")) == [
        ("BJ", "北京办事处", ""),
        ("SH", "上海办事处", "华东"),
    ]


@pytest.mark.django_db
def test_reimporting_offices_updates_them_by_code(tmp_path, office):
    # given
    path = tmp_path / "offices.csv"
    path.write_text("code,name,region\nSH,上海分公司,华东\n", encoding="utf-8")
    # when
    out = run(path)
    # then
    assert "1 changed" in out
    office.refresh_from_db()
    assert office.name == "上海分公司"
    assert Office.objects.count() == 1
    assert office.history.count() == 2


@pytest.mark.django_db
def test_a_duplicate_office_code_saves_nothing(tmp_path):
    path = tmp_path / "offices.csv"
    path.write_text("code,name\nSH,上海\nGZ,广州\nSH,上海二\n", encoding="utf-8")
    with pytest.raises(CommandError):
        run(path)
    assert "line 4: duplicate office code, already on line 2" in run.err
    assert not Office.objects.exists()


@pytest.mark.django_db
def test_a_dry_run_saves_no_office(tmp_path):
    path = tmp_path / "offices.csv"
    path.write_text("code,name\nSH,上海\n", encoding="utf-8")
    assert "nothing saved" in run(path, "--dry-run")
    assert not Office.objects.exists()


@pytest.mark.django_db
def test_an_office_without_a_name_is_refused(tmp_path):
    path = tmp_path / "offices.csv"
    path.write_text("code,name\nSH,\n", encoding="utf-8")
    with pytest.raises(CommandError):
        run(path)
    assert "line 2: name: required" in run.err
