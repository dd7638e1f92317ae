"""Weights, policies and their validation in the admin (DESIGN.md §3.1, §3.4)."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from scoring.models import ClassificationPolicy, Indicator, IndicatorWeight, WeightScheme


def test_the_catalogue_and_default_weights_are_seeded(db):
    assert Indicator.objects.count() == 10
    assert Indicator.objects.get(code="sales_volume").name == "销售业绩(绝对值)"
    assert not Indicator.objects.get(code="delivery_service").for_exclusive
    for kind in ("exclusive", "logistics"):
        weights = IndicatorWeight.objects.filter(scheme__kind=kind)
        assert sum(w.weight for w in weights) == D(100)
    assert IndicatorWeight.objects.get(scheme__kind="logistics", indicator__code="sales_volume").weight == D(
        12
    )
    assert ClassificationPolicy.objects.get().method == "bands"


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw-123456")
    client.force_login(user)
    return client


def _scheme_post(weights, kind="exclusive", quarter="2026Q4"):
    indicators = Indicator.objects.in_bulk(field_name="code")
    data = {
        "kind": kind,
        "effective_from": quarter,
        "note": "",
        "weights-TOTAL_FORMS": str(len(weights)),
        "weights-INITIAL_FORMS": "0",
        "weights-MIN_NUM_FORMS": "0",
        "weights-MAX_NUM_FORMS": "1000",
    }
    for i, (code, weight) in enumerate(weights.items()):
        data[f"weights-{i}-indicator"] = indicators[code].pk
        data[f"weights-{i}-weight"] = str(weight)
    return data


EXCLUSIVE = {
    "sales_volume": 20,
    "sales_attainment": 20,
    "store_display": 15,
    "promotion_effort": 15,
    "price_discipline": 15,
    "relations_credit": 15,
}


def test_admin_refuses_weights_not_summing_to_100(admin_client):
    response = admin_client.post(
        reverse("admin:scoring_weightscheme_add"), _scheme_post({**EXCLUSIVE, "relations_credit": 14})
    )
    assert response.status_code == 200
    assert "99" in response.content.decode()
    assert not WeightScheme.objects.filter(effective_from="2026Q4").exists()


def test_admin_refuses_zero_weights_and_foreign_indicators(admin_client):
    response = admin_client.post(
        reverse("admin:scoring_weightscheme_add"),
        _scheme_post({**EXCLUSIVE, "relations_credit": 0, "store_display": 30}),
    )
    assert response.status_code == 200 and not WeightScheme.objects.filter(effective_from="2026Q4").exists()
    response = admin_client.post(
        reverse("admin:scoring_weightscheme_add"),
        _scheme_post({**EXCLUSIVE, "relations_credit": 5, "delivery_service": 10}),
    )
    assert response.status_code == 200 and not WeightScheme.objects.filter(effective_from="2026Q4").exists()


def test_admin_saves_a_valid_scheme(admin_client):
    response = admin_client.post(reverse("admin:scoring_weightscheme_add"), _scheme_post(EXCLUSIVE))
    assert response.status_code == 302
    assert WeightScheme.objects.get(effective_from="2026Q4").weights.count() == 6


@pytest.mark.parametrize(
    ("a", "b", "ok"),
    [(85, 70, True), (100, 0, True), (70, 70, False), (101, 70, False), (85, -1, False), (60, 70, False)],
)
def test_band_thresholds_must_be_ordered(db, a, b, ok):
    policy = ClassificationPolicy(effective_from="2026Q4", band_a=D(a), band_b=D(b))
    if ok:
        policy.full_clean()
    else:
        with pytest.raises(ValidationError):
            policy.full_clean()


def test_quota_shares_add_up_to_at_most_100(db):
    ClassificationPolicy(effective_from="2026Q4", method="quota", quota_a=D(40), quota_b=D(60)).full_clean()
    with pytest.raises(ValidationError):
        ClassificationPolicy(
            effective_from="2026Q4", method="quota", quota_a=D(50), quota_b=D(51)
        ).full_clean()


def test_a_quarter_field_refuses_other_text(db):
    with pytest.raises(ValidationError):
        WeightScheme(kind="exclusive", effective_from="2026-09").full_clean()
