"""Only superusers grant roles, permissions, staff or superuser status; nobody changes his own
(issue 11, DESIGN.md §7)."""

import pytest
from django.contrib.auth.models import Group, Permission

from dealers.roles import Role


@pytest.fixture
def user_admin(make_staff, office):
    """An office manager given the rights to administer users."""
    user = make_staff("useradmin", Role.OFFICE_MANAGER, office=office)
    user.is_staff = True
    user.save()
    for codename in ("view_user", "change_user", "add_user", "view_group", "change_group"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def _form(client, user):
    """The user's change form as posted back unchanged, plus whatever the test sets."""
    import re

    page = client.get(f"/admin/auth/user/{user.pk}/change/")
    data = {}
    for name, value in re.findall(
        r'<input type="(?:text|email|hidden|number)" name="([^"]+)" value="([^"]*)"', page.text
    ):
        data[name] = value
    for name in re.findall(r'<input type="checkbox" name="([^"]+)"[^>]*checked', page.text):
        data[name] = "on"
    return page, data


@pytest.mark.django_db
def test_a_user_admin_cannot_make_himself_superuser_or_add_himself_a_role(client, user_admin):
    # given
    client.force_login(user_admin)
    page, data = _form(client, user_admin)
    # when: he posts the privileges anyway
    planning = Group.objects.get(name=Role.SALES_PLANNING)
    data.update(is_superuser="on", groups=[planning.pk], username="useradmin")
    client.post(f"/admin/auth/user/{user_admin.pk}/change/", data)
    # then: the fields were read-only and nothing changed
    assert 'name="is_superuser"' not in page.text
    assert 'name="groups"' not in page.text
    user_admin.refresh_from_db()
    assert not user_admin.is_superuser
    assert list(user_admin.groups.values_list("name", flat=True)) == [Role.OFFICE_MANAGER]


@pytest.mark.django_db
def test_a_user_admin_cannot_grant_roles_or_staff_to_others(client, user_admin, make_staff, office):
    colleague = make_staff("bm_sh", Role.BUSINESS_MANAGER, office=office)
    client.force_login(user_admin)
    page, data = _form(client, colleague)
    data.update(is_staff="on", groups=[Group.objects.get(name=Role.SALES_PLANNING).pk], first_name="新名字")
    client.post(f"/admin/auth/user/{colleague.pk}/change/", data)
    colleague.refresh_from_db()
    assert 'name="is_staff"' not in page.text
    assert not colleague.is_staff
    assert list(colleague.groups.values_list("name", flat=True)) == [Role.BUSINESS_MANAGER]


@pytest.mark.django_db
def test_a_superuser_grants_roles_to_others_but_not_to_himself(admin_client, admin_user, make_staff, office):
    colleague = make_staff("bm_sh", Role.BUSINESS_MANAGER, office=office)
    own = admin_client.get(f"/admin/auth/user/{admin_user.pk}/change/")
    other = admin_client.get(f"/admin/auth/user/{colleague.pk}/change/")
    assert 'name="is_superuser"' not in own.text
    assert 'name="groups"' not in own.text
    assert 'name="staff_profile-0-office"' not in own.text
    assert 'name="is_superuser"' in other.text
    assert 'name="groups"' in other.text


@pytest.mark.django_db
def test_a_staff_user_cannot_change_a_superuser_or_the_roles_permissions(client, user_admin, admin_user):
    client.force_login(user_admin)
    assert client.get(f"/admin/auth/user/{admin_user.pk}/change/").status_code in (302, 403, 404)
    group = Group.objects.get(name=Role.OFFICE_MANAGER)
    response = client.post(f"/admin/auth/group/{group.pk}/change/", {"name": group.name, "permissions": []})
    assert response.status_code == 403


@pytest.mark.django_db
def test_the_privilege_guard_refuses_a_change_made_behind_the_form(user_admin):
    from django.core.exceptions import PermissionDenied

    from dealers.staff import guard_privileges

    with pytest.raises(PermissionDenied), guard_privileges(actor=user_admin, user=user_admin):
        user_admin.groups.add(Group.objects.get(name=Role.SALES_PLANNING))
