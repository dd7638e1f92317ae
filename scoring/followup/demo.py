"""Demo follow-through (DESIGN.md §6.2 `seed_demo`): support over the graded quarters, the watch
list with plans, progress notes and decided proposals, and appeals on the quarter not yet published.

Deterministic and idempotent: what exists is kept, only what is missing is added. Runs after
the graded quarters (scoring.demo).
"""

import datetime
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from dealers.roles import Role
from evalsys.bulk import update_rows
from evalsys.periods import Quarter
from scoring.models import Grade, GradingStatus, QuarterGrading

from . import appeals, watchlist
from .models import Appeal, ProgressNote, ProposalStatus, SupportEntry, SupportKind, WatchEntry, WatchStatus

NOTES = {
    SupportKind.ADVERTISING: ["店头广告牌制作", "本地电视台广告分摊", "社区灯箱广告"],
    SupportKind.NEW_PRODUCT: ["新品首批铺货", "新品样机率先投放"],
    SupportKind.PROMOTION: ["季末促销让利", "节日促销费用支持", "以旧换新补贴"],
    SupportKind.SPECIAL_SUPPLY: ["特供机型配额", "工程特供品"],
    SupportKind.OTHER: ["导购员培训", "展台翻新"],
}
# What each class typically receives (regulation 3.3: A strong support, B moderate, C standard terms).
BY_CLASS = {
    "A": [
        SupportKind.ADVERTISING,
        SupportKind.NEW_PRODUCT,
        SupportKind.PROMOTION,
        SupportKind.SPECIAL_SUPPLY,
    ],
    "B": [SupportKind.PROMOTION, SupportKind.OTHER],
    "C": [SupportKind.OTHER],
}
PROBLEMS = "连续两个季度评为C类：销售业绩未达目标，门店样品陈列不足，价格执行不到位。"
ACTIONS = "一、按月跟进进货与回款；二、补齐主推机型样品；三、业务经理每两周巡访一次，检查价格执行。"


@transaction.atomic
def seed_followup(*, stdout, today: datetime.date):
    rng = random.Random(20260514)
    published = list(
        QuarterGrading.objects.filter(status=GradingStatus.PUBLISHED)
        .order_by("quarter")
        .values_list("quarter", flat=True)
    )
    support = _seed_support(rng, today)
    # Quarters published before the follow-through existed get their watch-list step now;
    # for the others it finds nothing to do.
    for quarter in published:
        watchlist.on_publish(quarter=Quarter.parse(quarter))
    plans = _seed_plans(rng, today)
    decided = _seed_decisions()
    filed = _seed_appeals()
    stdout.write(
        f"follow-through: {support} support entries added, {plans} rectification plans, "
        f"{decided} proposals decided, {filed} appeals filed; "
        f"{WatchEntry.objects.count()} watch-list entries"
    )


def _staff(role):
    """role → {office id: user}, the first of each office by username."""
    found = {}
    for user in (
        get_user_model()
        .objects.filter(groups__name=role)
        .select_related("staff_profile")
        .order_by("username")
    ):
        profile = getattr(user, "staff_profile", None)
        found.setdefault(profile.office_id if profile else None, user)
    return found


def _seed_support(rng, today) -> int:
    """Support per graded quarter: most A dealers get several kinds, some B dealers a promotion,
    a few C dealers something (flagged), and some A dealers nothing (flagged)."""
    if SupportEntry.objects.exists():
        return 0
    planners = _staff(Role.SALES_PLANNING)
    managers = _staff(Role.OFFICE_MANAGER)
    planner = planners.get(None)
    entries = []
    grades = (
        Grade.objects.exclude(final_class="").select_related("dealer").order_by("quarter", "dealer__code")
    )
    for grade in grades.iterator(chunk_size=2000):
        quarter = Quarter.parse(grade.quarter)
        draw = rng.random()
        kinds = BY_CLASS[grade.final_class]
        if grade.final_class == "A":
            count = 0 if draw < 0.2 else rng.randint(1, 3)
        elif grade.final_class == "B":
            count = 1 if draw < 0.45 else 0
        else:
            count = 1 if draw < 0.08 else 0
        for _ in range(count):
            kind = rng.choice(kinds)
            day = quarter.start + datetime.timedelta(days=rng.randint(0, (quarter.end - quarter.start).days))
            if day > today or day < grade.dealer.joined:
                continue
            base = {"A": 30000, "B": 12000, "C": 5000}[grade.final_class]
            entries.append(
                SupportEntry(
                    dealer_id=grade.dealer_id,
                    date=day,
                    kind=kind,
                    value=Decimal(base + rng.randint(0, base // 100) * 100),
                    note=rng.choice(NOTES[kind]),
                    recorded_by=managers.get(grade.office_id) if rng.random() < 0.5 else planner,
                )
            )
    bulk_create_with_history(entries, SupportEntry, batch_size=2000)
    return len(entries)


def _seed_plans(rng, today) -> int:
    """Plans for most open entries: some overdue, some due within a week, some later; a note each."""
    # Numbered over every open entry, planned or not, so a second run skips the same ones.
    open_entries = list(
        WatchEntry.objects.filter(status=WatchStatus.OPEN)
        .select_related("dealer__business_manager")
        .order_by("dealer__code", "pk")
    )
    managers = _staff(Role.OFFICE_MANAGER)
    planned, notes = [], []
    for index, entry in enumerate(open_entries):
        if index % 4 == 3:
            continue  # left without a plan: the office manager's dashboard asks for one
        if entry.problems:
            continue  # planned already
        manager = managers.get(entry.dealer.office_id)
        bm = entry.dealer.business_manager
        entry.problems, entry.actions = PROBLEMS, ACTIONS
        entry.owner = (bm.get_full_name() or bm.username) if bm else "办事处经理"
        entry.plan_due = today + datetime.timedelta(days=(-5, 4, 30)[index % 3])
        entry.plan_updated_by = manager
        entry.plan_updated_at = timezone.now()
        planned.append(entry)
        notes.append(
            ProgressNote(
                entry=entry,
                date=today - datetime.timedelta(days=rng.randint(1, 20)),
                text="已与客户负责人面谈，确认整改措施；样品已补齐一半。",
                written_by=manager,
            )
        )
    update_rows(
        WatchEntry,
        planned,
        ["problems", "actions", "owner", "plan_due", "plan_updated_by", "plan_updated_at"],
    )
    ProgressNote.objects.bulk_create(notes)
    return len(planned)


def _seed_decisions() -> int:
    """Of the pending elimination proposals, the first is accepted and the second rejected."""
    planner = _staff(Role.SALES_PLANNING).get(None)
    if planner is None or WatchEntry.objects.exclude(proposal__in=["", ProposalStatus.PENDING]).exists():
        return 0
    pending = list(WatchEntry.objects.filter(proposal=ProposalStatus.PENDING).order_by("dealer__code")[:2])
    reasons = [
        "连续三个季度C类，整改无明显效果，同意淘汰，由办事处做好库存与售后交接。",
        "客户已更换负责人，新负责人配合度高，暂不淘汰，继续观察一个季度。",
    ]
    for entry, accept, reason in zip(pending, (True, False), reasons, strict=False):
        watchlist.decide_proposal(entry=entry, accept=accept, reason=reason, user=planner)
    return len(pending)


def _seed_appeals() -> int:
    """On the graded quarter not yet published: one appeal rejected, one granted, one open."""
    grading = QuarterGrading.objects.filter(status=GradingStatus.GRADED).order_by("-quarter").first()
    planner = _staff(Role.SALES_PLANNING).get(None)
    if grading is None or planner is None or Appeal.objects.filter(quarter=grading.quarter).exists():
        return 0
    managers = _staff(Role.OFFICE_MANAGER)
    candidates = list(
        Grade.objects.filter(quarter=grading.quarter, computed_class__in=["B", "C"], office_id__in=managers)
        .select_related("dealer")
        .order_by("office__code", "total")
    )
    chosen, offices = [], set()
    for grade in candidates:
        if grade.office_id not in offices:
            chosen.append(grade)
            offices.add(grade.office_id)
        if len(chosen) == 3:
            break
    reasons = [
        "本季度门店装修停业一个月，销售额受影响，评分未反映客户实际经营能力。",
        "该客户本季度新开两家分店，网络拓展成效显著，建议上调一级。",
        "统计员漏报了九月份的部分销售额，补报后应达到上一级。",
    ]
    filed = 0
    for index, grade in enumerate(chosen):
        better = {"C": "B", "B": "A"}[grade.computed_class]
        appeal = appeals.request_review(
            grade=grade, requested_class=better, reason=reasons[index], user=managers[grade.office_id]
        )
        filed += 1
        if index == 0:
            appeals.decide(
                appeal=appeal, reason="停业属客户自身原因，评分规则对所有客户一致，维持原分类。", user=planner
            )
        elif index == 1:
            appeals.decide(
                appeal=appeal,
                final_class=better,
                reason="核实新店已开业并完成首批进货，同意上调。",
                user=planner,
            )
    return filed
