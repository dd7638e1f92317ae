import io

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command

from dealers.demo import DEALERS_PER_OFFICE
from dealers.models import Dealer, DealerKind, DealerStatus, Office
from dealers.roles import Role


def table_counts():
    """Rows in every table of every installed app, history tables included."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


@pytest.mark.django_db
@time_machine.travel("2026-11-16 10:00 +0800", tick=False)
def test_seed_demo_loads_every_role_and_a_second_run_adds_nothing_to_any_table():
    # when seeded on a fresh database
    out = io.StringIO()
    call_command("seed_demo", "--force", stdout=out)
    first = table_counts()
    names = dict(Dealer.objects.values_list("code", "name"))
    # then 300 master dealers, the 38 that joined in the last four quarters, and what it says is what it did
    assert sum(DEALERS_PER_OFFICE.values()) == 300
    assert Office.objects.count() == 7
    assert Dealer.objects.count() == 338
    text = out.getvalue()
    assert "offices: 7, dealers: 300 (300 new)" in text
    assert "networks: 38 dealers joined, 7 dealers churned" in text
    assert "[6/6] visits, churn reports, audits and summaries …" in text
    assert set(Dealer.objects.values_list("kind", flat=True)) == set(DealerKind.values)
    assert Dealer.objects.filter(status=DealerStatus.CHURNED).count() == 27
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
    assert "demo-pass-2026" in text and "om_sh" in text

    # when run a second time
    call_command("seed_demo", "--force", stdout=io.StringIO())
    # then no table has a row more or less, and nothing was renamed
    assert table_counts() == first
    assert dict(Dealer.objects.values_list("code", "name")) == names
