import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from dealers.models import Dealer, DealerKind, Office, StaffProfile
from dealers.roles import Role


def counts():
    User = get_user_model()
    return {
        "offices": Office.objects.count(),
        "dealers": Dealer.objects.count(),
        "users": User.objects.count(),
        "profiles": StaffProfile.objects.count(),
        "dealer history": Dealer.history.count(),
        "office history": Office.history.count(),
        "profile history": StaffProfile.history.count(),
    }


@pytest.mark.django_db
def test_seed_demo_loads_offices_dealers_and_staff_of_every_role():
    # when
    out = io.StringIO()
    call_command("seed_demo", "--force", stdout=out)
    # then
    assert Office.objects.count() >= 6
    assert 280 <= Dealer.objects.count() <= 360  # ~300, plus dealers that join during the demo quarters
    assert set(Dealer.objects.values_list("kind", flat=True)) == set(DealerKind.values)
    for office in Office.objects.all():
        roles = set(
            get_user_model()
            .objects.filter(staff_profile__office=office)
            .values_list("groups__name", flat=True)
        )
        assert {
            Role.OFFICE_MANAGER,
            Role.BUSINESS_MANAGER,
            Role.INTERNAL_SUPERVISOR,
            Role.STATISTICIAN,
        } <= roles
    assert get_user_model().objects.get(username="planner").groups.filter(name=Role.SALES_PLANNING).exists()
    assert get_user_model().objects.get(username="vp").groups.filter(name=Role.MARKETING_VP).exists()
    assert "demo-pass-2026" in out.getvalue()
    assert "om_sh" in out.getvalue()


@pytest.mark.django_db
def test_running_seed_demo_twice_changes_nothing():
    # given
    call_command("seed_demo", "--force", stdout=io.StringIO())
    before = counts()
    names = dict(Dealer.objects.values_list("code", "name"))
    # when
    call_command("seed_demo", "--force", stdout=io.StringIO())
    # then
    assert counts() == before
    assert dict(Dealer.objects.values_list("code", "name")) == names
