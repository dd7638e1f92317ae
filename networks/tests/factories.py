import datetime

import factory
from django.utils import timezone

from dealers.tests.factories import DealerFactory, UserFactory
from networks.models import ChurnReason, ChurnReport, Visit


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visit

    date = datetime.date(2026, 8, 10)
    dealer = factory.SubFactory(DealerFactory)
    visitor = factory.SubFactory(UserFactory)
    purpose = "例行巡访"
    effect = 4


class ChurnReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChurnReport

    dealer = factory.SubFactory(DealerFactory, status="churned", churned_on=datetime.date(2026, 8, 1))
    reason = ChurnReason.COMPETITOR
    narrative = "转投竞争对手"
    last_sales_month = datetime.date(2026, 7, 1)
    reported_at = factory.LazyFunction(timezone.now)
