import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from dealers.models import StaffProfile
from dealers.roles import Role, office_id_of, roles_of


def add_staff(*args):
    out = io.StringIO()
    call_command("add_staff", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def fresh(username):
    return get_user_model().objects.get(username=username)


@pytest.mark.django_db
def test_it_creates_a_user_with_several_roles_in_one_office(office):
    # when
    out = add_staff(
        "--username",
        "wang",
        "--password",
        "s3cret-pass",
        "--email",
        "wang@example.com",
        "--name",
        "王伟",
        "--office",
        "SH",
        "--role",
        "office_manager",
        "--role",
        "statistician",
    )
    # then
    assert "wang created" in out
    user = fresh("wang")
    assert user.check_password("s3cret-pass")
    assert (user.email, user.first_name) == ("wang@example.com", "王伟")
    assert roles_of(user) == {Role.OFFICE_MANAGER, Role.STATISTICIAN}
    assert office_id_of(user) == office.pk


@pytest.mark.django_db
def test_running_it_again_updates_the_user_and_keeps_one_office(office, other_office):
    # given
    add_staff("--username", "li", "--password", "first-pass", "--office", "SH", "--role", "business_manager")
    # when: moved to another office with another role, password unchanged
    out = add_staff("--username", "li", "--office", "BJ", "--role", "internal_supervisor")
    # then
    assert "li updated" in out
    user = fresh("li")
    assert user.check_password("first-pass")
    assert roles_of(user) == {Role.INTERNAL_SUPERVISOR}
    assert list(StaffProfile.objects.filter(user=user).values_list("office__code", flat=True)) == ["BJ"]


@pytest.mark.django_db
def test_sales_planning_and_the_vp_have_no_office():
    add_staff(
        "--username",
        "zhao",
        "--password",
        "pw-zhao-2026",
        "--role",
        "sales_planning",
        "--role",
        "marketing_vp",
    )
    user = fresh("zhao")
    assert roles_of(user) == {Role.SALES_PLANNING, Role.MARKETING_VP}
    assert office_id_of(user) is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--office", "XX", "--role", "office_manager"], "unknown office code XX"),
        (["--role", "office_manager"], "office roles need --office"),
        (["--office", "SH", "--role", "marketing_vp"], "belong to no office"),
    ],
)
def test_it_refuses_bad_offices_and_saves_nothing(office, args, message):
    with pytest.raises(CommandError, match=message):
        add_staff("--username", "chen", "--password", "pw-chen-2026", *args)
    assert not get_user_model().objects.filter(username="chen").exists()


@pytest.mark.django_db
def test_it_refuses_an_unknown_role():
    with pytest.raises(CommandError, match="invalid choice: 'boss'"):
        add_staff("--username", "chen", "--password", "pw-chen-2026", "--role", "boss")
    assert not get_user_model().objects.filter(username="chen").exists()


@pytest.mark.django_db
def test_a_new_user_needs_a_password(office):
    with pytest.raises(CommandError, match="needs --password"):
        add_staff("--username", "chen", "--office", "SH", "--role", "statistician")
    assert not get_user_model().objects.filter(username="chen").exists()
