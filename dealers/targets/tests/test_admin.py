import datetime
from decimal import Decimal as D

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

from dealers.models import PointsEntry, PointsTier
from dealers.tests.factories import DealerFactory


@pytest.fixture
def admin_client(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456")
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


@pytest.mark.django_db
def test_the_default_points_tiers_are_seeded():
    assert list(PointsTier.objects.values_list("threshold", "rate")) == [
        (D("100.00"), D("1.000")),
        (D("90.00"), D("0.500")),
        (D("0.00"), D("0.000")),
    ]


@pytest.mark.django_db
def test_the_admin_refuses_negative_rates_and_unordered_tiers(admin_client):
    # given
    ninety = PointsTier.objects.get(threshold=90)
    # when
    negative = admin_client.post(
        f"/admin/dealers/pointstier/{ninety.pk}/change/",
        {"effective_from": "2000-01-01", "threshold": "90", "rate": "-1"},
    )
    unordered = admin_client.post(
        f"/admin/dealers/pointstier/{ninety.pk}/change/",
        {"effective_from": "2000-01-01", "threshold": "90", "rate": "2"},
    )
    accepted = admin_client.post(
        "/admin/dealers/pointstier/add/", {"effective_from": "2000-01-01", "threshold": "120", "rate": "1.5"}
    )
    # then
    assert "A rate cannot be negative." in negative.content.decode()
    assert "cannot have a lower rate" in unordered.content.decode()
    assert accepted.status_code == 302
    assert PointsTier.objects.get(threshold=90).rate == D("0.5")
    assert PointsTier.objects.filter(threshold=120, rate=D("1.5")).exists()


@pytest.mark.django_db
def test_an_adjustment_is_added_in_the_admin_only_with_a_reason(admin_client, office):
    # given
    dealer = DealerFactory(office=office)
    data = {"dealer": dealer.pk, "month": "2026-09-17", "points": "25", "reason": " "}
    # when
    refused = admin_client.post("/admin/dealers/pointsentry/add/", data)
    accepted = admin_client.post("/admin/dealers/pointsentry/add/", {**data, "reason": "门店开业补贴"})
    # then
    assert "needs a reason" in refused.content.decode()
    assert accepted.status_code == 302
    entry = PointsEntry.objects.get()
    assert (entry.kind, entry.month, entry.points, entry.created_by.username) == (
        "adjustment",
        datetime.date(2026, 9, 1),
        D("25"),
        "root",
    )
    assert (
        admin_client.post(f"/admin/dealers/pointsentry/{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert admin_client.get(f"/admin/dealers/pointsentry/{entry.pk}/history/").status_code == 200


@pytest.mark.django_db
def test_the_ledger_admin_is_scoped_to_the_office(client, make_staff, office, other_office):
    # given an office manager with admin access
    from dealers.roles import Role

    manager = make_staff("om_admin", Role.OFFICE_MANAGER, office=office)
    manager.is_staff = True
    manager.is_superuser = False
    manager.save()
    from django.contrib.auth.models import Permission

    manager.user_permissions.add(Permission.objects.get(codename="view_pointsentry"))
    mine, theirs = DealerFactory(office=office, code="SH9"), DealerFactory(office=other_office, code="BJ9")
    for dealer in (mine, theirs):
        PointsEntry.objects.create(
            dealer=dealer, month=datetime.date(2026, 9, 1), kind="earned", points=D("1")
        )
    client.force_login(manager)
    # when
    page = client.get("/admin/dealers/pointsentry/").content.decode()
    # then
    assert "SH9" in page and "BJ9" not in page
