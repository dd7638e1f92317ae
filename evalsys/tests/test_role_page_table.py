"""Who may open which page: an explicit role × page table (DESIGN.md §1).

Every named page of the project (except the admin and the public login, language
switch and health check) has a row here; `test_the_table_covers_every_page` fails
when a page is added without one. Each row gives, for the roles in `ROLES` order,
"A" (allowed: 200 or a redirect) or "N" (404). Object pages give two strings: for
an object of the user's own office and for one of another office. Every page rendered on
the way is also read for what the Content-Security-Policy would refuse (`csp.inline_code`).

POST-only pages are requested with POST and no (or harmless) data: allowed means
the request got past the gates (the form's own errors redirect or re-render).
"""

from dataclasses import dataclass, field
from decimal import Decimal

import pytest
import time_machine
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dealers.models import Notification
from dealers.roles import Role
from dealers.staff import save_staff
from dealers.tests.factories import DealerFactory, OfficeFactory, UserFactory
from dealers.tests.test_login_required import PUBLIC, _walk
from evalsys.periods import Quarter, add_months, format_month
from evalsys.tests.csp import inline_code
from networks.models import OfficeAudit
from networks.services import record_audit
from networks.tests.factories import ChurnReportFactory
from scoring import services as scoring
from scoring.models import Appeal, EvaluationRound, Grade, Score, ScoreSheet, WatchEntry

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cf000000030101000518d84e0000000049454e44ae426082"
)
ROLES = (
    "office_manager",
    "business_manager",
    "internal_supervisor",
    "statistician",
    "sales_planning",
    "marketing_vp",
    "no_role",
)
ALL = "AAAAAAA"
PLANNING_ONLY = "NNNNANN"
COMPANY_ONLY = "NNNNAAN"
OFFICE_STAFF_AND_COMPANY = "AAAAAAN"
NOBODY = "NNNNNNN"


@dataclass
class Case:
    name: str  # namespace:name of the route
    own: str  # expectations per role (own-office object, or the page itself)
    other: str | None = None  # expectations for another office's object
    method: str = "get"
    url: object = None  # (world, side, user) -> path; default: reverse(name)
    data: dict = field(default_factory=dict)
    label: str = ""

    def path(self, world, side, user):
        return self.url(world, side, user) if self.url else reverse(self.name)

    def __str__(self):
        return self.label or self.name


WHAT_IF_DRAFT = {
    "try": "1",
    "method": "bands",
    "band_a": "85",
    "band_b": "70",
    "quota_a": "20",
    "quota_b": "30",
    "w-exclusive-sales_volume": "100",
    "w-logistics-sales_volume": "100",
}


def _q(world):
    return str(world.quarter)


CASES = [
    # dealers --------------------------------------------------------------------
    Case("dashboard", ALL),
    Case("logout", ALL, method="post"),
    Case("dealers:list", ALL),
    Case("dealers:export", ALL),
    Case("dealers:import", "NNNAANN"),
    Case(
        "dealers:customer_file",
        OFFICE_STAFF_AND_COMPANY,
        COMPANY_ONLY,
        url=lambda w, side, u: reverse("dealers:customer_file", args=[w.dealer[side].code]),
    ),
    Case("dealers:notifications", ALL),
    Case("dealers:notifications_read_all", ALL, method="post"),
    Case(
        "dealers:notification_open",
        ALL,
        NOBODY,  # "other" here is another user's notification
        method="post",
        url=lambda w, side, u: reverse("dealers:notification_open", args=[w.notification(side, u).pk]),
    ),
    # targets, sales, points -----------------------------------------------------------
    Case("targets:next_month", "AANNAAN"),
    Case("targets:attainment", "AANNAAN"),
    Case("targets:points_export", "AANAAAN"),
    Case("targets:target_import", PLANNING_ONLY),
    Case("targets:agreement_import", PLANNING_ONLY),
    Case(
        "targets:step",
        "AANNANN",
        PLANNING_ONLY,
        method="post",
        url=lambda w, side, u: reverse(
            "targets:step", args=[w.dealer[side].code, format_month(w.next_month)]
        ),
    ),
    Case(
        "targets:correct",
        PLANNING_ONLY,
        PLANNING_ONLY,
        method="post",
        url=lambda w, side, u: reverse(
            "targets:correct", args=[w.dealer[side].code, format_month(add_months(w.next_month, -1))]
        ),
    ),
    Case(
        "targets:quarter_note",
        "AANNNNN",
        NOBODY,
        method="post",
        url=lambda w, side, u: reverse("targets:quarter_note", args=[w.dealer[side].code, _q(w)]),
    ),
    Case("targets:sales_import", "NNNAANN"),
    Case("targets:missing_sales", "ANNAAAN"),
    # scoring ------------------------------------------------------------------------
    Case("scoring:rounds", ALL),
    Case(
        "scoring:round",
        OFFICE_STAFF_AND_COMPANY,
        COMPANY_ONLY,
        url=lambda w, side, u: reverse("scoring:round", args=[w.round[side].pk]),
    ),
    Case(
        "scoring:grid",
        OFFICE_STAFF_AND_COMPANY,
        COMPANY_ONLY,
        url=lambda w, side, u: reverse("scoring:grid", args=[w.round[side].pk]),
    ),
    Case(
        "scoring:round_action",
        "ANNNNNN",
        NOBODY,
        method="post",
        url=lambda w, side, u: reverse("scoring:round_action", args=[w.round[side].pk, "submit"]),
        label="scoring:round_action[submit]",
    ),
    Case(
        "scoring:round_action",
        "ANNNNNN",
        NOBODY,
        method="post",
        url=lambda w, side, u: reverse("scoring:round_action", args=[w.round[side].pk, "approve"]),
        label="scoring:round_action[approve]",
    ),
    Case(
        "scoring:round_action",
        PLANNING_ONLY,
        PLANNING_ONLY,
        method="post",
        url=lambda w, side, u: reverse("scoring:round_action", args=[w.round[side].pk, "reopen"]),
        label="scoring:round_action[reopen]",
    ),
    Case(
        "scoring:sheet",
        OFFICE_STAFF_AND_COMPANY,
        COMPANY_ONLY,
        url=lambda w, side, u: reverse("scoring:sheet", args=[w.sheet[side].pk]),
    ),
    Case(
        "scoring:score_photo",
        OFFICE_STAFF_AND_COMPANY,
        COMPANY_ONLY,
        url=lambda w, side, u: w.photo_url(side),
    ),
    Case(
        "scoring:score_override",
        "ANNNNNN",
        NOBODY,
        method="post",
        url=lambda w, side, u: reverse("scoring:score_override", args=[w.score[side].pk]),
    ),
    Case("scoring:import", "ANNNANN"),
    Case("scoring:abc_list", ALL),
    Case("scoring:abc_export", ALL),
    Case("scoring:publish", PLANNING_ONLY, method="post", data={"quarter": "2020Q1"}),
    Case(
        "scoring:publish",
        PLANNING_ONLY,
        url=lambda w, side, u: reverse("scoring:publish") + f"?quarter={_q(w)}",
        label="scoring:publish[confirmation]",
    ),
    Case(
        "scoring:grade_override",
        PLANNING_ONLY,
        PLANNING_ONLY,
        method="post",
        url=lambda w, side, u: reverse("scoring:grade_override", args=[w.grade[side].pk]),
    ),
    Case("scoring:job_start", PLANNING_ONLY, method="post", data={"action": "open", "quarter": "2020Q1"}),
    Case(
        "scoring:job_status",
        PLANNING_ONLY,
        url=lambda w, side, u: reverse("scoring:job_status", args=[_q(w)]),
    ),
    # follow-through: support, watch list, appeals ---------------------------------------
    Case("followup:support", ALL),
    Case("followup:support_new", "ANNNANN"),
    Case("followup:support_import", "ANNNANN"),
    Case("followup:support_export", ALL),
    Case("followup:support_report", ALL),
    Case("followup:support_report_export", ALL),
    Case("followup:watchlist", ALL),
    Case("followup:watchlist_export", ALL),
    Case(
        "followup:watch_entry",
        OFFICE_STAFF_AND_COMPANY,
        COMPANY_ONLY,
        url=lambda w, side, u: reverse("followup:watch_entry", args=[w.watch[side].pk]),
    ),
    Case(
        "followup:watch_plan",
        "ANNNNNN",
        NOBODY,
        method="post",
        url=lambda w, side, u: reverse("followup:watch_plan", args=[w.watch[side].pk]),
    ),
    Case(
        "followup:watch_note",
        "ANNNNNN",
        NOBODY,
        method="post",
        url=lambda w, side, u: reverse("followup:watch_note", args=[w.watch[side].pk]),
    ),
    Case(
        "followup:watch_decide",
        PLANNING_ONLY,
        PLANNING_ONLY,
        method="post",
        url=lambda w, side, u: reverse("followup:watch_decide", args=[w.watch[side].pk]),
    ),
    Case("followup:appeals", ALL),
    Case(
        "followup:appeal",
        OFFICE_STAFF_AND_COMPANY,
        COMPANY_ONLY,
        url=lambda w, side, u: reverse("followup:appeal", args=[w.appeal[side].pk]),
    ),
    Case(
        "followup:appeal_decide",
        PLANNING_ONLY,
        PLANNING_ONLY,
        method="post",
        url=lambda w, side, u: reverse("followup:appeal_decide", args=[w.appeal[side].pk]),
    ),
    Case(
        "followup:appeal_create",
        "ANNNNNN",
        NOBODY,
        url=lambda w, side, u: reverse("followup:appeal_create", args=[w.grade[side].pk]),
    ),
    # insight (DESIGN §5a) -----------------------------------------------------------------
    Case("insight:whatif", PLANNING_ONLY),
    Case("insight:whatif_export", PLANNING_ONLY, data=WHAT_IF_DRAFT),
    # saving a draft takes the admin's permission to add schemes or policies, which no role has
    Case("insight:whatif_save", NOBODY, method="post", data={"target": "scheme", **WHAT_IF_DRAFT}),
    Case("insight:calibration", COMPANY_ONLY),
    Case("insight:calibration_export", COMPANY_ONLY),
    Case("insight:movements", ALL),
    Case("insight:movements_export", ALL),
    # networks -------------------------------------------------------------------------
    Case("networks:visits", ALL),
    Case("networks:visit_create", "AANNNNN"),
    Case("networks:visit_import", "ANNAANN"),
    Case("networks:not_visited", "AAAAAAN"),
    Case(
        "networks:not_visited",
        OFFICE_STAFF_AND_COMPANY,
        COMPANY_ONLY,
        url=lambda w, side, u: reverse("networks:not_visited") + f"?office={w.office[side].code}",
        label="networks:not_visited?office=",
    ),
    Case("networks:churn_list", ALL),
    Case("networks:suspected_churn", ALL),
    Case(
        "networks:suspected_churn",
        OFFICE_STAFF_AND_COMPANY,
        COMPANY_ONLY,
        url=lambda w, side, u: reverse("networks:suspected_churn") + f"?office={w.office[side].code}",
        label="networks:suspected_churn?office=",
    ),
    Case(
        "networks:churn_report",
        OFFICE_STAFF_AND_COMPANY,
        COMPANY_ONLY,
        url=lambda w, side, u: reverse("networks:churn_report", args=[w.churn[side].pk]),
    ),
    Case(
        "networks:churn_create",
        "AANNNNN",
        NOBODY,
        url=lambda w, side, u: reverse("networks:churn_create", args=[w.dealer[side].code]),
    ),
    Case("networks:office_metrics", "AAAAAAN"),
    Case(
        "networks:office_metrics",
        OFFICE_STAFF_AND_COMPANY,
        COMPANY_ONLY,
        url=lambda w, side, u: reverse("networks:office_metrics") + f"?office={w.office[side].code}",
        label="networks:office_metrics?office=",
    ),
    Case("networks:company_metrics", COMPANY_ONLY),
    Case("networks:metrics_export", ALL),
    Case("networks:audits", ALL),
    Case("networks:audit_create", COMPANY_ONLY),
    Case(
        "networks:audit_create",
        COMPANY_ONLY,
        COMPANY_ONLY,
        url=lambda w, side, u: reverse("networks:audit_create") + f"?office={w.office[side].code}",
        label="networks:audit_create?office=",
    ),
    Case(
        "networks:audit",
        OFFICE_STAFF_AND_COMPANY,
        COMPANY_ONLY,
        url=lambda w, side, u: reverse("networks:audit", args=[w.audit[side].pk]),
    ),
    Case("networks:summaries", ALL),
    Case(
        "networks:summary",
        OFFICE_STAFF_AND_COMPANY,
        COMPANY_ONLY,
        url=lambda w, side, u: reverse("networks:summary", args=[w.office[side].code, _q(w)]),
    ),
]


class World:
    """Two offices with one object of every kind each, and a user of every role in the first."""

    def __init__(self, make_staff):
        office = OfficeFactory(code="SH", name="上海办事处")
        other_office = OfficeFactory(code="BJ", name="北京办事处")
        self.office = {"own": office, "other": other_office}
        self.users = {
            "office_manager": make_staff("om", Role.OFFICE_MANAGER, office=office),
            "business_manager": make_staff("bm", Role.BUSINESS_MANAGER, office=office),
            "internal_supervisor": make_staff("sup", Role.INTERNAL_SUPERVISOR, office=office),
            "statistician": make_staff("stat", Role.STATISTICIAN, office=office),
            "sales_planning": make_staff("planner", Role.SALES_PLANNING),
            "marketing_vp": make_staff("vp", Role.MARKETING_VP),
            "no_role": UserFactory(username="nobody"),
        }
        self.stranger = UserFactory(username="stranger")
        bm = self.users["business_manager"]
        self.dealer = {
            "own": DealerFactory(office=office, code="SH001", business_manager=bm),
            "other": DealerFactory(office=other_office, code="BJ001"),
        }
        self.churn = {
            side: ChurnReportFactory(dealer__office=o, dealer__business_manager=bm if side == "own" else None)
            for side, o in self.office.items()
        }
        today = timezone.localdate()
        self.next_month = add_months(today.replace(day=1), 1)
        self.quarter = Quarter.containing(today).previous()
        scoring.open_quarter(quarter=self.quarter, engine="python")
        scoring.regrade_quarter(quarter=self.quarter, engine="python")
        self.round = {
            s: EvaluationRound.objects.get(office=o, quarter=_q(self)) for s, o in self.office.items()
        }
        self.sheet = {
            s: ScoreSheet.objects.get(dealer=d, round__quarter=_q(self)) for s, d in self.dealer.items()
        }
        self.score = {
            s: Score.objects.filter(sheet=sh, computed=False).first() for s, sh in self.sheet.items()
        }
        for score in self.score.values():
            score.photo.save("evidence.png", ContentFile(PNG), save=True)
        self.grade = {s: Grade.objects.get(dealer=d, quarter=_q(self)) for s, d in self.dealer.items()}
        self.watch = {
            s: WatchEntry.objects.create(dealer=d, opened_quarter=_q(self)) for s, d in self.dealer.items()
        }
        self.appeal = {
            s: Appeal.objects.create(
                dealer=d, quarter=_q(self), reason="r", requested_by=self.users["office_manager"]
            )
            for s, d in self.dealer.items()
        }
        self.audit = {
            s: record_audit(
                office=o,
                quarter=self.quarter,
                customer_growth_rating=Decimal(80),
                key_customer_growth_rating=Decimal(70),
                maintenance_rating=Decimal(90),
                findings="",
                by=self.users["marketing_vp"],
            )
            for s, o in self.office.items()
        }
        assert OfficeAudit.objects.count() == 2

    def photo_url(self, side):
        """The score's photo, stored again if this test's MEDIA_ROOT lacks it."""
        from django.core.files.storage import default_storage

        score = self.score[side]
        if not default_storage.exists(score.photo.name):
            default_storage.save(score.photo.name, ContentFile(PNG))
        return reverse("scoring:score_photo", args=[score.pk])

    def notification(self, side, user):
        owner = user if side == "own" else self.stranger
        notification, _ = Notification.objects.get_or_create(
            user=owner, key="table-test", defaults={"title": "t", "url": "/"}
        )
        return notification


def _make_staff(username, *roles, office=None):
    user, _ = save_staff(
        username=username,
        password="pw-123456",
        roles=[str(r) for r in roles],
        email=f"{username}@example.com",
        name=username,
        office_code=office.code if office else None,
    )
    return user


@pytest.fixture(scope="module", autouse=True)
def mid_november():
    """The table is read on a fixed day: the world's quarter is 2026Q3, next month December."""
    with time_machine.travel("2026-11-16 10:00 +0800", tick=False):
        yield


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction that is rolled back at its end;
    each test runs in a savepoint within it, like Django's setUpTestData."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield World(_make_staff)
        transaction.set_rollback(True)


def _outcome(response):
    if response.status_code == 404:
        return "N"
    if response.status_code in (200, 302):
        return "A"
    return f"?{response.status_code}"


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES, ids=str)
def test_role_page_table(client, world, case):
    # given every role, and for object pages an object of the own and of another office
    sides = [("own", case.own)] + ([("other", case.other)] if case.other else [])
    mismatches = []
    for side, expected in sides:
        for role, want in zip(ROLES, expected, strict=True):
            user = world.users[role]
            client.force_login(user)
            # when the user asks for the page
            response = getattr(client, case.method)(case.path(world, side, user), case.data)
            # then the answer is as the table says
            got = _outcome(response)
            if got != want:
                mismatches.append(f"{role} / {side}: expected {want}, got {got} ({response.status_code})")
            # and what it shows runs under the Content-Security-Policy: no inline script or style
            if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
                refused = inline_code(response.content.decode())
                if refused:
                    mismatches.append(f"{role} / {side}: the policy refuses {sorted(set(refused))}")
    assert not mismatches, f"{case}: " + "; ".join(mismatches)


def test_the_table_covers_every_page():
    from django.urls import get_resolver

    routes = {
        f"{namespace}:{name}" if namespace else name
        for route, name, namespace in _walk(get_resolver().url_patterns)
        if namespace != "admin" and not route.startswith("admin/") and name not in PUBLIC
    }
    assert routes - {case.name for case in CASES} == set(), "pages without a row in the table"
    assert {case.name for case in CASES} - routes == set(), "rows for pages that do not exist"


@pytest.mark.django_db
def test_no_role_user_sees_no_dealer_on_list_pages(client, world):
    # given a logged-in user without role or office
    client.force_login(world.users["no_role"])
    # when they open the dealer list and its export
    listing = client.get(reverse("dealers:list"))
    export = client.get(reverse("dealers:export"))
    # then neither office's dealers are in them
    for code in ("SH001", "BJ001"):
        assert code not in listing.content.decode()
        assert code not in export.content.decode("utf-8-sig")
