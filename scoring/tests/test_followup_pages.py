"""Pages of the follow-through: what each role sees and does, bad input, query counts."""

import datetime
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from dealers.models import Notification
from dealers.tests.factories import DealerFactory
from evalsys.periods import Quarter
from scoring.followup.models import Appeal, ProgressNote, SupportEntry, WatchEntry
from scoring.models import Grade
from scoring.tests.factories import grade_quarter

Q2, Q3 = Quarter(2026, 2), Quarter(2026, 3)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_on_a_fixed_day(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"), time_machine.travel("2026-10-20 10:00 +0800"):
        yield


def _support(dealers, n, day=datetime.date(2026, 8, 1)):
    SupportEntry.objects.bulk_create(
        SupportEntry(dealer=dealers[i % len(dealers)], date=day, kind="promotion", value=Decimal(100 + i))
        for i in range(n)
    )


@pytest.fixture
def company(office, other_office):
    own = [DealerFactory(office=office, code=f"SH{n:03d}") for n in range(6)]
    other = [DealerFactory(office=other_office, code=f"BJ{n:03d}") for n in range(3)]
    grade_quarter(Q2, {own[0]: "C", own[1]: "C", own[2]: "A", other[0]: "C"}, published=True)
    grade_quarter(Q3, {own[0]: "C", own[1]: "C", own[2]: "A", own[3]: "A", other[0]: "C"}, published=True)
    return {"own": own, "other": other}


# Support ledger ------------------------------------------------------------------------------


def test_the_ledger_lists_the_own_office_only_in_a_flat_number_of_queries(
    client, company, office_manager, django_assert_max_num_queries
):
    client.force_login(office_manager)
    _support(company["own"], 5)
    _support(company["other"], 5)
    with django_assert_max_num_queries(12) as few:
        response = client.get(reverse("followup:support"))
    _support(company["own"], 40)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("followup:support"))
    body = response.content.decode()
    assert "SH000" in body and "BJ000" not in body
    assert "45 entries" in body


def test_recording_support_in_the_browser(client, company, office_manager):
    client.force_login(office_manager)
    response = client.post(
        reverse("followup:support_new"),
        {"dealer": "sh001", "date": "2026-09-01", "kind": "advertising", "value": "8000", "note": "灯箱"},
    )
    assert response.status_code == 302
    entry = SupportEntry.objects.get()
    assert (entry.dealer.code, entry.value, entry.recorded_by) == (
        "SH001",
        Decimal("8000.00"),
        office_manager,
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"dealer": "BJ000"}, "Unknown dealer code BJ000"),
        ({"value": "-3"}, "must not be negative"),
        ({"date": "2026-12-01"}, "in the future"),
        ({"kind": "bribe"}, "Select a valid choice"),
    ],
)
def test_bad_support_keeps_what_was_typed_and_saves_nothing(client, company, office_manager, change, message):
    client.force_login(office_manager)
    data = {
        "dealer": "SH001",
        "date": "2026-09-01",
        "kind": "advertising",
        "value": "8000",
        "note": "我写的说明",
    }
    response = client.post(reverse("followup:support_new"), {**data, **change})
    body = response.content.decode()
    assert response.status_code == 200 and message in body and "我写的说明" in body
    assert SupportEntry.objects.count() == 0


def test_the_support_import_previews_then_saves(client, company, planner):
    client.force_login(planner)
    content = "经销商编码,日期,类型,金额\nSH001,2026-09-01,强力促销,100\n".encode("utf-8-sig")
    preview = client.post(
        reverse("followup:support_import"), {"file": SimpleUploadedFile("s.csv", content, "text/csv")}
    )
    assert preview.status_code == 200 and SupportEntry.objects.count() == 0
    token = preview.context["token"]
    done = client.post(reverse("followup:support_import"), {"token": token})
    assert done.status_code == 302 and SupportEntry.objects.get().kind == "promotion"


def test_the_support_report_flags_and_counts_in_a_flat_number_of_queries(
    client, company, planner, django_assert_max_num_queries
):
    client.force_login(planner)
    own = company["own"]
    _support([own[0]], 2)  # C dealer supported: flagged
    _support([own[2]], 1)  # own[3] is an A dealer without support: flagged
    url = reverse("followup:support_report") + "?quarter=2026Q3"
    # computed (not yet cached): the figures, and the data versions they are cached under (2)
    with django_assert_max_num_queries(17) as few:
        response = client.get(url)
    body = response.content.decode()
    assert "2 entries to C dealers" in body and "1 A dealer without support" in body
    assert "SH003" in body  # the A dealer without support is listed
    _support(own + company["other"], 60)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(url).content.decode()
    # the figures and the table are cached under the data versions: the new entries show at once
    assert "2 entries to C dealers" not in body
    # and, on PostgreSQL, read from the cache while nothing changes: the versions and the page's own
    cached = len(few.captured_queries) - (4 if connection.vendor == "postgresql" else 0)
    with django_assert_max_num_queries(cached):
        assert "entries to C dealers" in client.get(url).content.decode()


def test_the_support_report_downloads_as_data_and_as_an_excel_report(client, company, planner):
    client.force_login(planner)
    _support([company["own"][0]], 2)
    data = client.get(reverse("followup:support_report_export") + "?quarter=2026Q3")
    assert data.content.decode("utf-8-sig").splitlines()[:2] == [
        "quarter,office,class,kind,count,value",
        "2026Q3,SH,C,promotion,2,201.00",
    ]
    report = client.get(reverse("followup:support_report_export") + "?quarter=2026Q3&format=report")
    workbook = load_workbook(io.BytesIO(report.content))
    assert len(workbook.sheetnames) == 4
    summary = workbook.worksheets[0]
    assert summary._charts and summary.freeze_panes == "A2"
    assert summary["A2"].value == "上海办事处"


# Watch list ---------------------------------------------------------------------------------


def test_the_watch_list_is_scoped_and_flat(client, company, office_manager, django_assert_max_num_queries):
    client.force_login(office_manager)
    with django_assert_max_num_queries(12) as few:
        response = client.get(reverse("followup:watchlist"))
    body = response.content.decode()
    assert "SH000" in body and "SH001" in body and "BJ000" not in body
    for _n in range(10):
        WatchEntry.objects.create(
            dealer=DealerFactory(office=company["own"][0].office), opened_quarter="2026Q3"
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("followup:watchlist"))


def test_another_offices_entry_is_a_404(client, company, office_manager):
    client.force_login(office_manager)
    entry = WatchEntry.objects.get(dealer__code="BJ000")
    assert client.get(reverse("followup:watch_entry", args=[entry.pk])).status_code == 404
    response = client.post(
        reverse("followup:watch_plan", args=[entry.pk]),
        {"problems": "p", "actions": "a", "owner": "o", "plan_due": "2026-11-30"},
    )
    assert response.status_code == 404


def test_the_office_manager_writes_the_plan_and_a_bad_one_keeps_the_text(client, company, office_manager):
    client.force_login(office_manager)
    entry = WatchEntry.objects.get(dealer__code="SH000")
    url = reverse("followup:watch_plan", args=[entry.pk])
    bad = client.post(
        url, {"problems": "陈列不足", "actions": "补样品", "owner": "张伟", "plan_due": "2026-10-01"}
    )
    assert bad.status_code == 200 and "The due date is in the past." in bad.content.decode()
    assert "陈列不足" in bad.content.decode()
    entry.refresh_from_db()
    assert entry.problems == ""
    good = client.post(
        url, {"problems": "陈列不足", "actions": "补样品", "owner": "张伟", "plan_due": "2026-11-30"}
    )
    assert good.status_code == 302
    client.post(reverse("followup:watch_note", args=[entry.pk]), {"date": "2026-10-20", "text": "已补一半"})
    assert ProgressNote.objects.get().text == "已补一半"
    page = client.get(reverse("followup:watch_entry", args=[entry.pk])).content.decode()
    assert "补样品" in page and "2026-11-30" in page and "已补一半" in page


def test_dashboards_show_plans_due_proposals_and_accepted_eliminations(
    client, company, office_manager, planner, vp
):
    entry = WatchEntry.objects.get(dealer__code="SH000")
    WatchEntry.objects.filter(pk=entry.pk).update(
        status="escalated", closed_quarter="2026Q4", proposal="pending"
    )
    client.force_login(office_manager)
    body = client.get(reverse("dashboard")).content.decode()
    assert "rectification plan to write or due" in body and "SH001" in body
    client.force_login(planner)
    body = client.get(reverse("dashboard")).content.decode()
    assert "1 elimination proposal to decide" in body and "SH000" in body
    response = client.post(
        reverse("followup:watch_decide", args=[entry.pk]), {"decision": "accepted", "reason": "整改无效"}
    )
    assert response.status_code == 302
    client.force_login(vp)
    body = client.get(reverse("dashboard")).content.decode()
    assert "1 accepted elimination" in body and "SH000" in body


def test_the_customer_file_shows_support_watch_list_and_appeals(client, company, office_manager):
    _support([company["own"][0]], 1)
    client.force_login(office_manager)
    body = client.get(reverse("dealers:customer_file", args=["SH000"])).content.decode()
    assert 'data-testid="followup-section"' in body
    assert "2026Q3" in body and "100.00" in body


def test_the_watchlist_downloads_as_data_and_as_a_report(client, company, planner):
    client.force_login(planner)
    data = client.get(reverse("followup:watchlist_export"))
    assert data.content.decode("utf-8-sig").splitlines()[0] == (
        "dealer,name,office,opened_quarter,status,plan_due,proposal"
    )
    report = client.get(reverse("followup:watchlist_export") + "?format=report")
    assert load_workbook(io.BytesIO(report.content)).active["A2"].value == "BJ000"


# Appeals --------------------------------------------------------------------------------------


@pytest.fixture
def graded(office):
    dealer = DealerFactory(office=office, code="SH900")
    grade_quarter(Quarter(2026, 3), {dealer: "C"})
    return Grade.objects.get(dealer=dealer)


def test_an_office_manager_appeals_from_the_abc_list_and_the_planner_decides(
    client, graded, office_manager, planner
):
    client.force_login(office_manager)
    abc = client.get(reverse("scoring:abc_list") + "?quarter=2026Q3").content.decode()
    assert reverse("followup:appeal_create", args=[graded.pk]) in abc
    response = client.post(
        reverse("followup:appeal_create", args=[graded.pk]), {"requested_class": "B", "reason": "新店开业"}
    )
    appeal = Appeal.objects.get()
    assert response.status_code == 302
    client.force_login(planner)
    abc = client.get(reverse("scoring:abc_list") + "?quarter=2026Q3").content.decode()
    assert 'data-testid="open-appeals"' in abc and "SH900" in abc
    response = client.post(
        reverse("followup:appeal_decide", args=[appeal.pk]), {"final_class": "B", "reason": "属实"}
    )
    assert response.status_code == 302
    graded.refresh_from_db()
    assert graded.final_class == "B" and graded.override_reason == "属实"
    assert Notification.objects.filter(user=office_manager, key=f"appeal:decided:{appeal.pk}").exists()


def test_an_appeal_without_a_reason_is_refused_and_keeps_the_choice(client, graded, office_manager):
    client.force_login(office_manager)
    response = client.post(
        reverse("followup:appeal_create", args=[graded.pk]), {"requested_class": "B", "reason": ""}
    )
    assert response.status_code == 200 and Appeal.objects.count() == 0
    assert 'value="B" selected' in response.content.decode()
