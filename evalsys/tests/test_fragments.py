"""The digest of a fragment's values changes with anything the fragment could render."""

import dataclasses
from decimal import Decimal

import pytest
from django.utils import translation

from dealers.models import Office
from dealers.tests.factories import DealerFactory
from evalsys.fragments import fragment_digest


@dataclasses.dataclass
class Figures:
    total: Decimal


def test_the_same_values_give_the_same_digest_and_any_change_another():
    base = fragment_digest([{"figures": Figures(Decimal("1.50")), "label": "A"}], "2026Q3")
    assert base == fragment_digest([{"figures": Figures(Decimal("1.50")), "label": "A"}], "2026Q3")
    assert base != fragment_digest([{"figures": Figures(Decimal("1.51")), "label": "A"}], "2026Q3")
    assert base != fragment_digest([{"figures": Figures(Decimal("1.50")), "label": "B"}], "2026Q3")
    assert base != fragment_digest([{"figures": Figures(Decimal("1.50")), "label": "A"}], "2026Q2")
    with translation.override("en"):
        assert base != fragment_digest([{"figures": Figures(Decimal("1.50")), "label": "A"}], "2026Q3")


@pytest.mark.django_db
def test_models_count_with_their_fields_what_a_view_set_on_them_and_related_objects_loaded(office):
    dealer = DealerFactory(office=office)
    loaded = type(dealer).objects.select_related("office").get(pk=dealer.pk)
    base = fragment_digest(loaded)
    assert base == fragment_digest(type(dealer).objects.select_related("office").get(pk=dealer.pk))
    loaded.name = "另一个名字"
    assert fragment_digest(loaded) != base
    again = type(dealer).objects.select_related("office").get(pk=dealer.pk)
    again.complete = 3  # set by a view
    assert fragment_digest(again) != base
    Office.objects.filter(pk=office.pk).update(name="浦东办事处")
    assert fragment_digest(type(dealer).objects.select_related("office").get(pk=dealer.pk)) != base
