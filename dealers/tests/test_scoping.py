import pytest

from dealers.models import Dealer
from dealers.tests.factories import DealerFactory


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
def test_sales_planning_sees_every_office(office, other_office, planner):
    DealerFactory(office=office)
    DealerFactory(office=other_office)
    assert Dealer.objects.visible_to(planner).count() == 2


@pytest.mark.django_db
def test_another_offices_customer_file_is_404(client, office, other_office, office_manager):
    theirs = DealerFactory(office=other_office)
    client.force_login(office_manager)
    assert client.get(theirs.get_absolute_url()).status_code == 404
