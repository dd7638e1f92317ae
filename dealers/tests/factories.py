import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from dealers.models import (
    AnnualAgreement,
    Dealer,
    DealerKind,
    MonthlySales,
    MonthlyTarget,
    Office,
    TargetStatus,
)


class OfficeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Office
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"O{n:02d}")
    name = factory.Sequence(lambda n: f"办事处{n}")
    region = "华东"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Sequence(lambda n: f"员工{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-123456")


class DealerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Dealer

    code = factory.Sequence(lambda n: f"D{n:05d}")
    name = factory.Sequence(lambda n: f"测试经销商{n}")
    kind = DealerKind.EXCLUSIVE
    office = factory.SubFactory(OfficeFactory)
    tier = "一级"
    joined = datetime.date(2020, 1, 1)


class AgreementFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AnnualAgreement

    dealer = factory.SubFactory(DealerFactory)
    year = 2026
    signed_on = factory.LazyAttribute(lambda a: datetime.date(a.year - 1, 12, 1))
    annual_target = Decimal("1200000.00")


class TargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MonthlyTarget

    dealer = factory.SubFactory(DealerFactory)
    month = datetime.date(2026, 7, 1)
    status = TargetStatus.AGREED
    agreed_amount = Decimal("100000.00")


class SalesFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MonthlySales

    dealer = factory.SubFactory(DealerFactory)
    month = datetime.date(2026, 7, 1)
    amount = Decimal("100000.00")
