"""Demo network data: new dealers, visits over eight quarters, churn with reports in
every state, audits and summaries.

Deterministic and idempotent: what exists is found and kept, only what is missing
is added. Runs after the master data (dealers.demo) and, when present, the sales.
"""

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from dealers.demo import CITIES, EXCLUSIVE_SUFFIX, WORDS
from dealers.models import Dealer, DealerKind, DealerStatus, Office
from evalsys.periods import Quarter, add_months

from . import services
from .models import ChurnReason, ChurnReport, NetworkSummary, OfficeAudit, SummaryStatus, Verification, Visit

PURPOSES = ["例行巡访", "目标洽谈", "催收货款", "产品培训", "处理投诉", "市场调研"]
FINDINGS = [
    "库存正常",
    "库存偏高，建议控制进货",
    "竞品促销力度大",
    "门店形象需改进",
    "回款及时",
    "新店筹备中",
    "",
]
NARRATIVES = {
    ChurnReason.COMPETITOR: "竞争对手给出更高返利，客户转投对方品牌。",
    ChurnReason.CLOSED: "老板年事已高，门店歇业。",
    ChurnReason.CREDIT: "连续三个月回款逾期，已停止供货。",
    ChurnReason.PRICE_DISPUTE: "对今年的价格政策不满，停止进货。",
    ChurnReason.RELOCATION: "客户迁往外省经营。",
}
# Per office, the churn-report state of its two lost dealers rotates through these.
STATES = ["none", "pending", "confirmed", "disputed"]


def _demo_users(offices):
    return get_user_model().objects.in_bulk(
        ["vp", "planner", *[f"om_{o.code.lower()}" for o in offices]], field_name="username"
    )


@transaction.atomic
def seed_network_changes(*, stdout, today: datetime.date):
    """Who joins and who leaves: before the targets and grades, which follow who is in the network."""
    offices = list(Office.objects.order_by("code"))
    this_quarter = Quarter.containing(today)
    joined = _seed_new_dealers(random.Random(20260505), offices, this_quarter, today)
    churned = _seed_churn(offices, this_quarter, today, _demo_users(offices))
    stdout.write(f"networks: {joined} dealers joined, {churned} dealers churned")


@transaction.atomic
def seed_network_demo(*, stdout, today: datetime.date):
    offices = list(Office.objects.order_by("code"))
    users = _demo_users(offices)
    this_quarter = Quarter.containing(today)
    visits = _seed_visits(20260505, today)
    audits = _seed_audits(offices, this_quarter.previous(), users)
    summaries = _seed_summaries(offices, this_quarter.previous(), users)
    stdout.write(f"networks: {visits} visits added, {audits} audits, {summaries} summaries")


def _seed_new_dealers(rng, offices, this_quarter, today):
    """A few dealers per office joining in each of the last four quarters, so networks grow."""
    managers = {
        o.pk: list(
            Dealer.objects.filter(office=o)
            .exclude(business_manager=None)
            .values_list("business_manager_id", flat=True)
            .distinct()
            .order_by("business_manager_id")
        )
        for o in offices
    }
    new = []
    quarter = this_quarter
    for _ in range(4):
        for office in offices:
            for n in range(rng.randint(0, 3)):
                code = f"{office.code}N{quarter.year % 100}{quarter.number}{n}"
                joined = quarter.start + datetime.timedelta(days=rng.randint(0, 80))
                city = rng.choice(CITIES.get(office.code, ["新城"]))
                if joined > today:
                    continue
                new.append(
                    Dealer(
                        code=code,
                        name=f"{city}{rng.choice(WORDS)}{rng.choice(EXCLUSIVE_SUFFIX)}",
                        kind=DealerKind.EXCLUSIVE,
                        office=office,
                        tier="二级",
                        business_manager_id=rng.choice(managers[office.pk]) if managers[office.pk] else None,
                        joined=joined,
                        region=city,
                    )
                )
        quarter = quarter.previous()
    existing = set(Dealer.objects.filter(code__in=[d.code for d in new]).values_list("code", flat=True))
    new = [d for d in new if d.code not in existing]
    bulk_create_with_history(new, Dealer, batch_size=500)
    return len(new)


def _seed_churn(offices, this_quarter, today, users):
    """Two lost dealers per office (one last quarter, one this quarter) with reports in every state."""
    planner = users.get("planner")
    codes = {}
    for index, office in enumerate(offices):
        codes[f"{office.code}042"] = (
            office,
            STATES[index % 4],
            this_quarter.previous().start + datetime.timedelta(days=40),
        )
        churn_day = min(today - datetime.timedelta(days=3), this_quarter.start + datetime.timedelta(days=20))
        codes[f"{office.code}043"] = (office, STATES[(index + 1) % 4], max(churn_day, this_quarter.start))
    dealers = Dealer.objects.in_bulk(list(codes), field_name="code")
    reported = set(
        ChurnReport.objects.filter(dealer__in=dealers.values()).values_list("dealer_id", flat=True)
    )
    to_churn, reports = [], []
    reasons = list(NARRATIVES)
    now = timezone.now()
    for number, (code, (office, state, churned_on)) in enumerate(sorted(codes.items())):
        dealer = dealers.get(code)
        if dealer is None or dealer.joined > churned_on:
            continue
        if dealer.status != DealerStatus.CHURNED:
            dealer.status, dealer.churned_on = DealerStatus.CHURNED, churned_on
            to_churn.append(dealer)
        if state == "none" or dealer.pk in reported:
            continue
        reason = reasons[number % len(reasons)]
        report = ChurnReport(
            dealer=dealer,
            reason=reason,
            narrative=NARRATIVES[reason],
            last_sales_month=add_months(dealer.churned_on.replace(day=1), -1),
            reported_by=users.get(f"om_{office.code.lower()}"),
            reported_at=now,
        )
        if state != "pending":
            report.verification = Verification.CONFIRMED if state == "confirmed" else Verification.DISPUTED
            report.verification_comment = (
                "经核实属实。" if state == "confirmed" else "该客户上月仍有进货记录，请复查。"
            )
            report.countermeasures = "在该区域开发一家替代经销商。"
            report.verified_by = planner
            report.verified_at = now
        reports.append(report)
    if to_churn:
        bulk_update_with_history(to_churn, Dealer, ["status", "churned_on"], batch_size=500)
    bulk_create_with_history(reports, ChurnReport, batch_size=500)
    return len(to_churn)


def _seed_visits(seed, today):
    """About one visit per dealer per month over eight quarters; every fifth dealer neglected lately."""
    start = Quarter.containing(today)
    for _ in range(7):
        start = start.previous()
    dealers = list(
        Dealer.objects.exclude(business_manager=None)
        .values_list("pk", "code", "joined", "churned_on", "business_manager_id")
        .order_by("pk")
    )
    existing = set(Visit.objects.filter(date__gte=start.start).values_list("dealer_id", "date"))
    new = []
    for pk, code, joined, churned_on, manager_id in dealers:
        dealer_rng = random.Random(f"{seed}:{code}")
        neglected = code[-1] in "05"
        month = start.start
        while month <= today:
            visited = dealer_rng.random() < 0.75
            day = month + datetime.timedelta(days=dealer_rng.randint(0, 27))
            visit = Visit(
                dealer_id=pk,
                visitor_id=manager_id,
                date=day,
                purpose=dealer_rng.choice(PURPOSES),
                effect=dealer_rng.choices([1, 2, 3, 4, 5], weights=[1, 2, 4, 5, 3])[0],
                findings=dealer_rng.choice(FINDINGS),
            )
            recent = (today - day).days < 45
            in_network = joined <= day and (churned_on is None or day < churned_on)
            if (
                visited
                and day <= today
                and in_network
                and not (neglected and recent)
                and (pk, day) not in existing
            ):
                existing.add((pk, day))
                new.append(visit)
            month = add_months(month, 1)
    Visit.objects.bulk_create(new, batch_size=2000)
    return len(new)


def _seed_audits(offices, quarter, users):
    """The VP's audits of all but the last two offices for last quarter."""
    vp = users.get("vp")
    audited = set(OfficeAudit.objects.filter(quarter=str(quarter)).values_list("office_id", flat=True))
    count = 0
    for index, office in enumerate(offices[:-2]):
        if office.pk in audited or vp is None:
            continue
        base = Decimal(70 + (index * 7) % 25)
        services.record_audit(
            office=office,
            quarter=quarter,
            customer_growth_rating=base,
            key_customer_growth_rating=base + 5,
            maintenance_rating=base - 4,
            findings="网络总体稳定，需加强对重点客户的巡访。",
            by=vp,
        )
        count += 1
    return count


def _seed_summaries(offices, quarter, users):
    """Last quarter's summaries: half submitted (one commented by sales planning), the rest drafts."""
    summaries = {s.office_id: s for s in services.draft_summaries(quarter=quarter)}
    submitted = 0
    for index, office in enumerate(offices):
        summary = summaries[office.pk]
        manager = users.get(f"om_{office.code.lower()}")
        if summary.status != SummaryStatus.DRAFT or manager is None or index % 2:
            continue
        summary = services.save_summary(
            summary=summary,
            analysis="本季度网络基本稳定，新增客户弥补了流失。",
            problems="部分区域巡访覆盖不足，个别客户回款偏慢。",
            next_steps="业务经理每月至少巡访每个客户一次；重点客户由经理亲自走访。",
            submit=True,
            by=manager,
        )
        submitted += 1
        if index == 0 and users.get("planner"):
            services.comment_summary(
                summary=summary, comment="分析到位，请落实巡访计划。", by=users["planner"]
            )
    return NetworkSummary.objects.filter(quarter=str(quarter)).count()
