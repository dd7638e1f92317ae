"""The indicator catalogue and default weights of DESIGN.md §3.1, the default
classification policy and class benefits of §3.4."""

from decimal import Decimal

from django.db import migrations

FIRST_QUARTER = "2000Q1"

# code, 中文, kinds, method, exclusive weight, logistics weight
INDICATORS = [
    ("sales_volume", "销售业绩(绝对值)", "both", "percentile", 20, 12),
    ("sales_attainment", "销售业绩(相对值)", "both", "attainment", 20, 12),
    ("store_display", "卖场布置与样品展示", "both", "manual", 15, 8),
    ("promotion_effort", "主推力度", "both", "manual", 15, 8),
    ("price_discipline", "价格维护", "both", "manual", 15, 10),
    ("relations_credit", "顾客关系与信用度", "both", "manual", 15, 10),
    ("delivery_service", "配送服务", "logistics", "manual", None, 10),
    ("after_sales", "售后服务", "logistics", "manual", None, 10),
    ("network_expansion", "网络拓展", "logistics", "manual", None, 10),
    ("network_maintenance", "网络维护水平", "logistics", "manual", None, 10),
]

BENEFITS = {
    "A": "广告支持、新产品首发、强力促销、特供产品",
    "B": "适度支持",
    "C": "标准条件",
}


def seed(apps, schema_editor):
    Indicator = apps.get_model("scoring", "Indicator")
    WeightScheme = apps.get_model("scoring", "WeightScheme")
    IndicatorWeight = apps.get_model("scoring", "IndicatorWeight")
    ClassificationPolicy = apps.get_model("scoring", "ClassificationPolicy")
    ClassBenefit = apps.get_model("scoring", "ClassBenefit")
    exclusive = WeightScheme.objects.create(kind="exclusive", effective_from=FIRST_QUARTER, note="默认")
    logistics = WeightScheme.objects.create(kind="logistics", effective_from=FIRST_QUARTER, note="默认")
    for position, (code, name, kinds, method, w_exclusive, w_logistics) in enumerate(INDICATORS, start=1):
        indicator = Indicator.objects.create(
            code=code,
            name=name,
            for_exclusive=kinds == "both",
            for_logistics=True,
            method=method,
            missing_rule="manual",
            position=position,
        )
        if w_exclusive:
            IndicatorWeight.objects.create(scheme=exclusive, indicator=indicator, weight=Decimal(w_exclusive))
        IndicatorWeight.objects.create(scheme=logistics, indicator=indicator, weight=Decimal(w_logistics))
    ClassificationPolicy.objects.create(effective_from=FIRST_QUARTER, method="bands")
    for grade_class, description in BENEFITS.items():
        ClassBenefit.objects.create(grade_class=grade_class, description=description)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
