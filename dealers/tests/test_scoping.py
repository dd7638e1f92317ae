import re

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile

from dealers.models import Dealer
from dealers.tests.factories import DealerFactory
from evalsys.tabular import read_table


@pytest.fixture
def dealers_of_two_offices(office, other_office):
    mine = DealerFactory(code="SH001", name="上海恒达家电商行", office=office)
    theirs = DealerFactory(code="BJ001", name="北京宏远电器城", office=other_office)
    return mine, theirs


@pytest.fixture
def admin_office_manager(office_manager):
    """The office manager with admin access and the permission to view dealers."""
    office_manager.is_staff = True
    office_manager.save()
    office_manager.user_permissions.add(
        Permission.objects.get(codename="view_dealer", content_type__app_label="dealers")
    )
    return office_manager


@pytest.mark.django_db
def test_an_office_manager_sees_only_his_offices_dealers(office, other_office, office_manager):
    # given
    mine = DealerFactory(office=office)
    DealerFactory(office=other_office)
    # when
    visible = Dealer.objects.visible_to(office_manager)
    # then
    assert list(visible) == [mine]


@pytest.mark.django_db
def test_sales_planning_and_the_vp_see_every_office(office, other_office, planner, vp):
    DealerFactory(office=office)
    DealerFactory(office=other_office)
    assert Dealer.objects.visible_to(planner).count() == 2
    assert Dealer.objects.visible_to(vp).count() == 2


@pytest.mark.django_db
def test_a_user_without_an_office_sees_no_dealers(dealers_of_two_offices, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="pw-123456")
    assert not Dealer.objects.visible_to(nobody).exists()


@pytest.mark.django_db
def test_another_offices_customer_file_is_404(client, dealers_of_two_offices, office_manager):
    # given
    mine, theirs = dealers_of_two_offices
    client.force_login(office_manager)
    # when / then
    assert client.get(mine.get_absolute_url()).status_code == 200
    assert client.get(theirs.get_absolute_url()).status_code == 404


@pytest.mark.django_db
def test_the_dealer_list_shows_only_the_own_offices_dealers(client, dealers_of_two_offices, office_manager):
    client.force_login(office_manager)
    response = client.get("/dealers/")
    assert "SH001" in response.text
    assert "BJ001" not in response.text


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_dealer_export_leaves_out_other_offices(client, dealers_of_two_offices, office_manager, fmt):
    # given
    client.force_login(office_manager)
    # when
    response = client.get("/dealers/export/", {"format": fmt})
    # then
    _headers, rows = read_table(response.content, f"export.{fmt}")
    assert [cells[0] for _line, cells in rows] == ["SH001"]


@pytest.mark.django_db
def test_asking_the_export_for_another_office_gives_nothing_of_it(
    client, dealers_of_two_offices, office_manager, other_office
):
    # given
    client.force_login(office_manager)
    # when
    response = client.get("/dealers/export/", {"office": other_office.pk, "format": "csv"})
    # then the other office is not a choice of his: the export holds his own office's dealers only
    assert response.status_code == 200
    _headers, rows = read_table(response.content, "export.csv")
    assert [cells[0] for _line, cells in rows] == ["SH001"]
    assert "北京宏远电器城" not in response.content.decode("utf-8-sig")


@pytest.mark.django_db
def test_the_admin_changelist_lacks_other_offices_dealers(
    client, dealers_of_two_offices, admin_office_manager
):
    # given
    client.force_login(admin_office_manager)
    # when
    response = client.get("/admin/dealers/dealer/")
    # then
    assert response.status_code == 200
    assert "SH001" in response.text
    assert "BJ001" not in response.text


@pytest.mark.django_db
def test_another_offices_dealer_is_not_found_in_the_admin(
    client, dealers_of_two_offices, admin_office_manager
):
    # given
    mine, theirs = dealers_of_two_offices
    client.force_login(admin_office_manager)
    # when
    own = client.get(f"/admin/dealers/dealer/{mine.pk}/change/")
    other = client.get(f"/admin/dealers/dealer/{theirs.pk}/change/")
    # then: Django's admin answers a missing object by redirecting to its index, saying so
    assert own.status_code == 200 and mine.name in own.text
    assert (other.status_code, other["Location"]) == (302, "/admin/")
    index = client.get("/admin/")
    assert theirs.name not in index.text
    assert [str(m) for m in index.context["messages"]] == [
        f"ID 为“{theirs.pk}”的 经销商 不存在。可能已经被删除了？"
    ]


@pytest.mark.django_db
def test_another_offices_dealer_history_is_404_in_the_admin(
    client, dealers_of_two_offices, admin_office_manager
):
    # given
    mine, theirs = dealers_of_two_offices
    history_id = theirs.history.first().history_id
    client.force_login(admin_office_manager)
    # when / then
    assert client.get(f"/admin/dealers/dealer/{mine.pk}/history/").status_code == 200
    assert client.get(f"/admin/dealers/dealer/{theirs.pk}/history/").status_code == 404
    assert client.get(f"/admin/dealers/dealer/{theirs.pk}/history/{history_id}/").status_code == 404


@pytest.mark.django_db
def test_the_admin_export_leaves_out_other_offices(client, dealers_of_two_offices, admin_office_manager):
    # given
    client.force_login(admin_office_manager)
    # when
    fields = {"dealerresource_code": "on", "dealerresource_name": "on"}
    response = client.post("/admin/dealers/dealer/export/", {"format": "0", "resource": "0", **fields})
    # then
    assert response.status_code == 200
    body = response.content.decode("utf-8-sig")
    assert "SH001" in body
    assert "BJ001" not in body


@pytest.mark.django_db
def test_office_staff_cannot_import_in_the_admin(client, admin_office_manager):
    # given: even with the permission to change dealers
    admin_office_manager.user_permissions.add(
        Permission.objects.get(codename="change_dealer", content_type__app_label="dealers")
    )
    client.force_login(admin_office_manager)
    # when
    response = client.get("/admin/dealers/dealer/import/")
    # then
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_staff_admin_and_its_export_show_only_the_own_office(
    client, office, other_office, admin_office_manager, make_staff
):
    # given
    make_staff("bm_sh", "business_manager", office=office)
    make_staff("bm_bj", "business_manager", office=other_office)
    for codename in ("view_staffprofile", "view_user"):
        admin_office_manager.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(admin_office_manager)
    # when
    profiles = client.get("/admin/dealers/staffprofile/")
    users = client.get("/admin/auth/user/")
    export = client.post(
        "/admin/dealers/staffprofile/export/",
        {
            "format": "0",
            "resource": "0",
            "staffprofileresource_username": "on",
            "staffprofileresource_roles": "on",
        },
    )
    # then
    for response in (profiles, users):
        assert "bm_sh" in response.text
        assert "bm_bj" not in response.text
    lines = export.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "username,roles"
    assert sorted(lines[1:]) == ["bm_sh,business_manager", "om,office_manager"]


@pytest.mark.django_db
def test_an_administrator_sets_a_users_office_on_the_user_page(admin_client, office, office_manager):
    response = admin_client.get(f"/admin/auth/user/{office_manager.pk}/change/")
    assert response.status_code == 200
    assert 'name="staff_profile-0-office"' in response.text


@pytest.mark.django_db
def test_an_administrator_imports_dealers_in_the_admin_through_the_projects_importer(admin_client, office):
    # given
    upload = SimpleUploadedFile(
        "d.csv", "编码*,名称,类型,办事处,加入日期\nＳＨ９,admin import,专营,SH,2020-01-01\n".encode()
    )
    # when: uploaded (the project's header tolerance and NFKC apply), then confirmed
    listing = admin_client.get("/admin/dealers/dealer/")
    preview = admin_client.post("/admin/dealers/dealer/import/", {"file": upload})
    assert not Dealer.objects.exists()
    token = re.search(r'name="token" value="([^"]+)"', preview.text)[1]
    done = admin_client.post("/admin/dealers/dealer/import/", {"token": token})
    # then
    assert 'href="/admin/dealers/dealer/import/"' in listing.text
    assert done["Location"] == "/admin/dealers/dealer/"
    dealer = Dealer.objects.get(code="SH9")
    assert (dealer.name, dealer.office) == ("admin import", office)


@pytest.mark.django_db
def test_the_admin_import_refuses_what_the_importer_refuses(admin_client, office):
    upload = SimpleUploadedFile("d.csv", b"code,name,kind,office,joined\nSH9,X,retail,ZZ,2020-01-01\n")
    preview = admin_client.post("/admin/dealers/dealer/import/", {"file": upload})
    messages = [m for _line, m in preview.context["result"].errors]
    assert any("retail" in m for m in messages)
    assert any("ZZ" in m for m in messages)
    assert 'name="token"' not in preview.text


@pytest.mark.django_db
def test_the_admin_export_escapes_formulas(admin_client, office):
    DealerFactory(code="SH1", office=office, contact='=HYPERLINK("http://x","点我")', phone="-5")
    response = admin_client.post(
        "/admin/dealers/dealer/export/",
        {
            "format": "0",
            "resource": "0",
            "dealerresource_code": "on",
            "dealerresource_contact": "on",
            "dealerresource_phone": "on",
        },
    )
    body = response.content.decode("utf-8-sig")
    assert "'=HYPERLINK" in body
    assert ",=HYPERLINK" not in body
    assert body.strip().splitlines()[1].endswith(",-5")


@pytest.mark.django_db
def test_a_narrowed_lookup_never_falls_back_to_every_visible_dealer(office, office_manager):
    # given a dealer of the user's own office, and a narrowed queryset that excludes it
    from django.http import Http404

    from dealers.access import get_dealer_for_user

    dealer = DealerFactory(office=office)
    narrowed = Dealer.objects.filter(business_manager__username="nobody")
    # when / then
    with pytest.raises(Http404):
        get_dealer_for_user(office_manager, dealer.code, narrowed)
