"""Demo master data: offices, ~300 dealers with Chinese names, staff of every role.

Deterministic and idempotent: running it again finds everything in place.
"""

import datetime
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from simple_history.utils import bulk_create_with_history

from .models import Dealer, DealerKind, DealerStatus, Office
from .roles import Role
from .staff import save_staff

DEMO_PASSWORD = "demo-pass-2026"

OFFICES = [
    ("SH", "上海办事处", "华东", "沪"),
    ("BJ", "北京办事处", "华北", "京"),
    ("GZ", "广州办事处", "华南", "穗"),
    ("CD", "成都办事处", "西南", "蓉"),
    ("WH", "武汉办事处", "华中", "汉"),
    ("XA", "西安办事处", "西北", "秦"),
    ("SY", "沈阳办事处", "东北", "沈"),
]
CITIES = {
    "SH": ["上海", "苏州", "无锡", "南通", "嘉兴"],
    "BJ": ["北京", "天津", "石家庄", "保定", "唐山"],
    "GZ": ["广州", "深圳", "佛山", "东莞", "珠海"],
    "CD": ["成都", "绵阳", "德阳", "乐山", "重庆"],
    "WH": ["武汉", "宜昌", "襄阳", "长沙", "岳阳"],
    "XA": ["西安", "宝鸡", "咸阳", "兰州", "银川"],
    "SY": ["沈阳", "大连", "鞍山", "长春", "哈尔滨"],
}
WORDS = [
    "恒达",
    "宏远",
    "鑫源",
    "华信",
    "金盛",
    "永利",
    "新世纪",
    "东方",
    "联合",
    "泰和",
    "瑞丰",
    "顺发",
    "嘉禾",
    "天成",
    "广源",
    "兴隆",
    "博远",
    "佳和",
    "汇通",
    "昌盛",
]
EXCLUSIVE_SUFFIX = ["家电商行", "电器专卖店", "商贸有限公司", "电器城"]
LOGISTICS_SUFFIX = ["物流有限公司", "配送中心", "储运有限公司", "供应链有限公司"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "磊",
    "强",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "涛",
    "明",
    "超",
    "秀英",
    "建华",
    "志强",
]
# Offices differ in size, as real ones do (about 300 dealers in all).
DEALERS_PER_OFFICE = {"SH": 52, "BJ": 48, "GZ": 46, "CD": 40, "WH": 42, "XA": 35, "SY": 37}

OFFICE_STAFF = [
    ("om", Role.OFFICE_MANAGER, "经理"),
    ("bm1", Role.BUSINESS_MANAGER, "业务一"),
    ("bm2", Role.BUSINESS_MANAGER, "业务二"),
    ("is", Role.INTERNAL_SUPERVISOR, "内务"),
    ("st", Role.STATISTICIAN, "统计"),
]


def _person(rng):
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, role, office) of every demo user."""
    logins = [
        (f"{prefix}_{code.lower()}", role.label, name)
        for code, name, *_rest in OFFICES
        for prefix, role, _label in OFFICE_STAFF
    ]
    return logins + [
        ("planner", Role.SALES_PLANNING.label, "-"),
        ("vp", Role.MARKETING_VP.label, "-"),
        ("admin", "admin", "-"),
    ]


@transaction.atomic
def seed_master_data(*, stdout, today: datetime.date):
    rng = random.Random(20260101)
    for code, name, region, _short in OFFICES:
        Office.objects.get_or_create(code=code, defaults={"name": name, "region": region})
    offices = {o.code: o for o in Office.objects.all()}
    User = get_user_model()
    for code, *_rest in OFFICES:
        for prefix, role, label in OFFICE_STAFF:
            username = f"{prefix}_{code.lower()}"
            if not User.objects.filter(username=username).exists():
                save_staff(
                    username=username,
                    password=DEMO_PASSWORD,
                    roles=[role],
                    office_code=code,
                    name=f"{offices[code].name[:2]}{label}",
                    email=f"{username}@example.com",
                )
    for username, role, name in [
        ("planner", Role.SALES_PLANNING, "计划部王经理"),
        ("vp", Role.MARKETING_VP, "营销副总"),
    ]:
        if not User.objects.filter(username=username).exists():
            save_staff(
                username=username,
                password=DEMO_PASSWORD,
                roles=[role],
                name=name,
                email=f"{username}@example.com",
            )
    if not User.objects.filter(username="admin").exists():
        User.objects.create_superuser("admin", "admin@example.com", DEMO_PASSWORD, first_name="系统管理员")

    managers = {
        code: list(
            User.objects.filter(username__in=[f"bm1_{code.lower()}", f"bm2_{code.lower()}"]).order_by(
                "username"
            )
        )
        for code, *_rest in OFFICES
    }
    existing = set(Dealer.objects.values_list("code", flat=True))
    new = []
    for code, *_rest in OFFICES:
        for n in range(1, DEALERS_PER_OFFICE[code] + 1):
            dealer_code = f"{code}{n:03d}"
            kind = DealerKind.LOGISTICS if n % 4 == 0 else DealerKind.EXCLUSIVE
            city = rng.choice(CITIES[code])
            suffix = rng.choice(LOGISTICS_SUFFIX if kind == DealerKind.LOGISTICS else EXCLUSIVE_SUFFIX)
            joined = today.replace(day=1) - datetime.timedelta(days=rng.randint(800, 3000))
            status, churned_on = DealerStatus.ACTIVE, None
            if n % 17 == 0:
                status = DealerStatus.SUSPENDED
            elif n % 13 == 0:
                status, churned_on = (
                    DealerStatus.CHURNED,
                    today - datetime.timedelta(days=rng.randint(20, 700)),
                )
            dealer = Dealer(
                code=dealer_code,
                name=f"{city}{rng.choice(WORDS)}{suffix}",
                kind=kind,
                office=offices[code],
                tier="一级" if n % 3 else "二级",
                business_manager=rng.choice(managers[code]),
                joined=joined,
                status=status,
                churned_on=churned_on,
                contact=_person(rng),
                phone=f"1{rng.randint(3, 9)}{rng.randint(100000000, 999999999)}",
                region=city,
            )
            if dealer_code not in existing:
                new.append(dealer)
    bulk_create_with_history(new, Dealer, batch_size=1000)
    stdout.write(f"offices: {len(offices)}, dealers: {Dealer.objects.count()} ({len(new)} new)")
