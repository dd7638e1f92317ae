import datetime
import re
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from dealers.models import MonthlySales, MonthlyTarget, PointsEntry, QuarterNote, TargetStatus
from dealers.roles import Role
from dealers.tests.factories import AgreementFactory, DealerFactory, SalesFactory, TargetFactory

# The pages default to the month after "today"; tests pass ?month= explicitly. Today is
# in September, so that October is still being negotiated (a month that has begun is closed).
OCTOBER = datetime.date(2026, 10, 1)
TODAY = datetime.datetime(2026, 9, 20, 10, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def in_september():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture(autouse=True)
def english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield


def make_dealers(n, office, manager, **kwargs):
    dealers = []
    for _ in range(n):
        dealer = DealerFactory(office=office, business_manager=manager, **kwargs)
        AgreementFactory(dealer=dealer, year=2026)
        TargetFactory(dealer=dealer, month=datetime.date(2026, 8, 1))
        SalesFactory(dealer=dealer, month=datetime.date(2026, 8, 1))
        SalesFactory(dealer=dealer, month=datetime.date(2025, 10, 1))
        dealers.append(dealer)
    return dealers


def queries_for(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.django_db
def test_the_targets_page_query_count_does_not_grow_with_dealers(client, business_manager, office):
    # given
    make_dealers(2, office, business_manager)
    client.force_login(business_manager)
    few = queries_for(client, "/targets/?month=2026-10")
    # when
    make_dealers(25, office, business_manager)
    many = queries_for(client, "/targets/?month=2026-10")
    # then
    assert many == few
    assert queries_for(client, "/targets/attainment/?month=2026-08") <= few + 2


@pytest.mark.django_db
def test_a_business_manager_sees_only_his_dealers_and_an_office_manager_his_office(
    client, business_manager, office_manager, office, other_office, make_staff, planner
):
    # given
    colleague = make_staff("bm2", Role.BUSINESS_MANAGER, office=office)
    mine = make_dealers(1, office, business_manager)[0]
    theirs = make_dealers(1, office, colleague)[0]
    elsewhere = make_dealers(1, other_office, None)[0]
    # then
    client.force_login(business_manager)
    page = client.get("/targets/?month=2026-10").content.decode()
    assert mine.code in page and theirs.code not in page and elsewhere.code not in page
    client.force_login(office_manager)
    page = client.get("/targets/?month=2026-10").content.decode()
    assert mine.code in page and theirs.code in page and elsewhere.code not in page
    client.force_login(planner)
    page = client.get("/targets/?month=2026-10").content.decode()
    assert elsewhere.code in page


@pytest.mark.django_db
def test_the_targets_page_is_not_for_statisticians(client, statistician):
    client.force_login(statistician)
    assert client.get("/targets/").status_code == 404


@pytest.mark.django_db
def test_a_business_manager_proposes_records_the_counter_proposal_and_agrees(
    client, business_manager, office
):
    # given
    dealer = make_dealers(1, office, business_manager)[0]
    client.force_login(business_manager)
    url = f"/targets/{dealer.code}/2026-10/"
    # when
    client.post(url, {"step": "proposed", "amount": "120000", "version": "0"})
    client.post(url, {"step": "countered", "amount": "100000", "version": "1"})
    response = client.post(url, {"step": "agreed", "amount": "110000", "version": "2"}, follow=True)
    # then
    target = MonthlyTarget.objects.get(dealer=dealer, month=OCTOBER)
    assert (target.status, target.agreed_amount, target.counter_amount) == (
        "agreed",
        D("110000"),
        D("100000"),
    )
    assert "110,000.00" in response.content.decode()
    assert response.redirect_chain[-1][0] == f"/targets/?month=2026-10#dealer-{dealer.code}"


@pytest.mark.django_db
def test_the_later_of_two_saves_is_told_and_keeps_his_figure_in_the_message(client, business_manager, office):
    # given someone agreed 115000 after the page was loaded at version 0
    dealer = make_dealers(1, office, business_manager)[0]
    client.force_login(business_manager)
    url = f"/targets/{dealer.code}/2026-10/"
    client.post(url, {"step": "agreed", "amount": "115000", "version": "0"})
    # when
    response = client.post(url, {"step": "agreed", "amount": "99000.00", "version": "0"}, follow=True)
    # then
    text = response.content.decode()
    assert "Someone else saved the target" in text and "99,000.00" in text
    assert MonthlyTarget.objects.get(month=OCTOBER).agreed_amount == D("115000")


@pytest.mark.django_db
def test_a_month_without_agreement_is_refused_with_a_clear_message(client, business_manager, office):
    # given
    dealer = DealerFactory(office=office, business_manager=business_manager)
    client.force_login(business_manager)
    # when
    page = client.get("/targets/?month=2026-10").content.decode()
    response = client.post(
        f"/targets/{dealer.code}/2026-10/", {"step": "proposed", "amount": "5", "version": "0"}, follow=True
    )
    # then
    assert "no agreement" in page
    assert "has no annual agreement for 2026" in response.content.decode()
    assert not MonthlyTarget.objects.exists()


@pytest.mark.django_db
def test_a_bad_amount_is_refused_and_nothing_saved(client, business_manager, office):
    dealer = make_dealers(1, office, business_manager)[0]
    client.force_login(business_manager)
    response = client.post(
        f"/targets/{dealer.code}/2026-10/", {"step": "agreed", "amount": "abc", "version": "0"}, follow=True
    )
    assert "please enter an amount" in response.content.decode()
    assert not MonthlyTarget.objects.filter(month=OCTOBER).exists()


@pytest.mark.django_db
def test_a_business_manager_cannot_set_a_colleagues_or_another_offices_target(
    client, business_manager, office, other_office, make_staff
):
    colleague = make_staff("bm2", Role.BUSINESS_MANAGER, office=office)
    theirs = make_dealers(1, office, colleague)[0]
    elsewhere = make_dealers(1, other_office, None)[0]
    client.force_login(business_manager)
    for dealer in (theirs, elsewhere):
        response = client.post(
            f"/targets/{dealer.code}/2026-10/", {"step": "agreed", "amount": "5", "version": "0"}
        )
        assert response.status_code == 404
    assert not MonthlyTarget.objects.filter(month=OCTOBER).exists()


@pytest.mark.django_db
def test_the_customer_file_shows_agreement_trend_points_and_notes(client, business_manager, office):
    # given
    dealer = make_dealers(1, office, business_manager)[0]
    dealer.history.update(history_user=business_manager)  # the skeleton's history section needs a user
    PointsEntry.objects.create(
        dealer=dealer, month=datetime.date(2026, 8, 1), kind="adjustment", points=D("12.5"), reason="开业奖励"
    )
    QuarterNote.objects.create(dealer=dealer, quarter="2026Q3", potential="新楼盘多")
    client.force_login(business_manager)
    # when
    with CaptureQueriesContext(connection) as captured:
        response = client.get(dealer.get_absolute_url())
    # then
    text = response.content.decode()
    for anchor in ('id="agreement"', 'id="trend"', 'id="points"', 'id="quarter-notes"'):
        assert anchor in text
    assert "开业奖励" in text and "新楼盘多" in text
    assert "vendor/chart.js/chart.umd.js" in text
    assert len(captured) < 40


@pytest.mark.django_db
def test_a_business_manager_writes_his_quarterly_notes_others_cannot(
    client, business_manager, office, planner, make_staff
):
    # given
    dealer = make_dealers(1, office, business_manager)[0]
    colleague = make_staff("bm2", Role.BUSINESS_MANAGER, office=office)
    data = {"potential": "县城市场空白", "obstacles": "资金紧张", "capability": "仓储强", "effort": "积极"}
    # when
    client.force_login(business_manager)
    client.post(f"/targets/notes/{dealer.code}/2026Q3/", data)
    client.force_login(colleague)
    refused = client.post(f"/targets/notes/{dealer.code}/2026Q3/", {"potential": "x"})
    client.force_login(planner)
    refused_planner = client.post(f"/targets/notes/{dealer.code}/2026Q3/", {"potential": "x"})
    # then
    note = QuarterNote.objects.get()
    assert (note.quarter, note.potential, note.updated_by) == ("2026Q3", "县城市场空白", business_manager)
    assert refused.status_code == 404 and refused_planner.status_code == 404


@pytest.mark.django_db
def test_the_statistician_imports_sales_in_the_browser_and_sees_who_is_missing(client, statistician, office):
    # given
    reported, silent = DealerFactory(code="SH001", office=office), DealerFactory(code="SH002", office=office)
    client.force_login(statistician)
    upload = SimpleUploadedFile(
        "sales.csv", "经销商编码,月份,销售额\nSH001,2026-08,88000\n".encode("gb18030")
    )
    # when
    preview = client.post("/sales/import/", {"file": upload})
    token = preview.context["token"]
    client.post("/sales/import/", {"token": token})
    # then the preview showed the month as the file wrote it, and the figure is saved
    assert "<td>2026-08</td>" in preview.content.decode()
    assert MonthlySales.objects.get().amount == D("88000")
    page = client.get("/sales/missing/?month=2026-08").content.decode()
    assert silent.code in page and f">{reported.code}<" not in page


@pytest.mark.django_db
@time_machine.travel("2026-09-10 10:00 +0800", tick=False)
def test_the_dashboard_tells_a_business_manager_what_is_missing_for_next_month(
    client, business_manager, office
):
    # given it is September: next month is October
    next_month = OCTOBER
    missing = DealerFactory(office=office, business_manager=business_manager, code="SH777")
    AgreementFactory(dealer=missing, year=next_month.year)
    done = DealerFactory(office=office, business_manager=business_manager, code="SH888")
    AgreementFactory(dealer=done, year=next_month.year)
    TargetFactory(dealer=done, month=next_month, status=TargetStatus.AGREED)
    for dealer in (missing, done):  # both selling, so that no other panel lists them
        for month in (datetime.date(2026, 7, 1), datetime.date(2026, 8, 1)):
            SalesFactory(dealer=dealer, month=month)
    client.force_login(business_manager)
    # when
    text = client.get("/").content.decode()
    # then the targets panel (other panels may name the dealers for other reasons) lists SH777 only
    panel = text[text.index('data-testid="targets-panel"') :]
    panel = panel[: panel.index('btn btn-sm btn-primary">Agree targets</a>')]
    assert "SH777" in panel and "SH888" not in panel
    assert "Deadline 2026-09-25: 15 days left." in panel
    assert "1 dealer still lacks an agreed target" in panel
    assert f'href="/targets/?month={next_month:%Y-%m}#dealer-SH777"' in panel


@pytest.mark.django_db
def test_the_points_export_in_the_browser_is_scoped_to_the_office(
    client, office_manager, office, other_office
):
    # given
    make_dealers(1, office, None, code="SH001")
    make_dealers(1, other_office, None, code="BJ001")
    client.force_login(office_manager)
    # when
    response = client.get("/targets/points.csv?month=2026-08")
    # then
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "month,dealer,name,office,target,actual,attainment,points,balance"
    assert "SH001" in text and "BJ001" not in text


@pytest.mark.django_db
def test_sales_planning_imports_agreements_and_targets_in_the_browser(
    client, planner, office, business_manager
):
    # given
    DealerFactory(code="SH001", office=office)
    client.force_login(planner)
    agreements = SimpleUploadedFile(
        "a.csv", b"dealer,year,signed,annual_target\nSH001,2026,2025-12-20,1200000\n"
    )
    targets = SimpleUploadedFile("t.csv", b"dealer,month,target\nSH001,2026-09,100000\nSH001,2027-01,5\n")
    # when
    token = client.post("/targets/agreements/import/", {"file": agreements}).context["token"]
    client.post("/targets/agreements/import/", {"token": token})
    refused = client.post("/targets/import/", {"file": targets})
    # then
    assert refused.context["token"] is None
    assert "SH001 has no annual agreement for 2027" in refused.content.decode()
    assert not MonthlyTarget.objects.exists()
    client.force_login(business_manager)
    assert client.get("/targets/agreements/import/").status_code == 404


@pytest.mark.django_db
def test_the_marketing_vp_reads_every_offices_targets_but_cannot_negotiate(client, office, other_office, vp):
    # given dealers in two offices
    from dealers.tests.factories import DealerFactory as Dealers

    a = Dealers(office=office, code="VPA1")
    AgreementFactory(dealer=a, year=2026)
    Dealers(office=other_office, code="VPB1")
    client.force_login(vp)
    # when
    attainment = client.get("/targets/attainment/")
    negotiation = client.get("/targets/", {"month": "2026-10"})
    step = client.post("/targets/VPA1/2026-10/", {"step": "proposed", "amount": "1000", "version": "0"})
    # then he reads every office's attainment and negotiation, without the negotiation's forms
    assert attainment.status_code == 200
    assert "VPA1" in attainment.text and "VPB1" in attainment.text
    assert negotiation.status_code == 200
    assert "VPA1" in negotiation.text and "VPB1" in negotiation.text
    assert 'name="amount"' not in negotiation.text
    assert step.status_code == 404 and not MonthlyTarget.objects.exists()


@pytest.mark.django_db
def test_the_customer_file_says_what_each_months_points_were_earned_on(
    client, office_manager, office, count_queries
):
    # given two months of earned points, one without an agreed target, and an adjustment
    from dealers.targets.points import adjust_points, recompute_points

    dealer = DealerFactory(office=office, code="SH321")
    AgreementFactory(dealer=dealer, year=2026)
    TargetFactory(dealer=dealer, month=datetime.date(2026, 8, 1), agreed_amount=D("100000"))
    SalesFactory(dealer=dealer, month=datetime.date(2026, 8, 1), amount=D("95000"))
    SalesFactory(dealer=dealer, month=datetime.date(2026, 9, 1), amount=D("40000"))
    recompute_points(months=[datetime.date(2026, 8, 1), datetime.date(2026, 9, 1)])
    adjust_points(
        dealer=dealer,
        month=datetime.date(2026, 9, 1),
        points=D("5"),
        reason="Trade fair",
        user=office_manager,
    )
    client.force_login(office_manager)
    # when
    text = client.get("/dealers/SH321/").text
    # then 95 % of the target earns 0.5 × 95 = 47.50 points
    assert "Attainment 95.00 % (95,000.00 of 100,000.00)" in text
    assert "Sales 40,000.00, no agreed target" in text
    assert "Trade fair" in text
    # and the query count does not grow with the months listed
    few, _response = count_queries(lambda: client.get("/dealers/SH321/"))
    for month in range(1, 8):
        TargetFactory(dealer=dealer, month=datetime.date(2026, month, 1), agreed_amount=D("1000"))
        SalesFactory(dealer=dealer, month=datetime.date(2026, month, 1), amount=D("1000"))
    recompute_points(months=[datetime.date(2026, month, 1) for month in range(1, 8)])
    many, _response = count_queries(lambda: client.get("/dealers/SH321/"))
    assert many == few


@pytest.mark.django_db
def test_those_who_see_every_office_filter_the_targets_pages_by_office(
    client, office, other_office, vp, planner, business_manager
):
    # given dealers in two offices (SH, BJ)
    sh = make_dealers(1, office, business_manager, code="SH901")[0]
    make_dealers(1, other_office, None, code="BJ901")
    client.force_login(vp)
    # when the VP picks an office, or sends one that does not exist
    bj_only = client.get("/targets/attainment/", {"month": "2026-08", "office": other_office.code}).text
    unknown = client.get("/targets/attainment/", {"month": "2026-08", "office": "<x>"}).text
    # then
    assert "BJ901" in bj_only and "SH901" not in bj_only
    assert 'data-testid="office-filter"' in bj_only
    assert "BJ901" in unknown and "SH901" in unknown
    # and a planner who agrees a target from a filtered page comes back to it
    client.force_login(planner)
    response = client.post(
        f"/targets/{sh.code}/2026-10/",
        {
            "step": "proposed",
            "amount": "1000",
            "version": "0",
            "back": f"month=2026-10&office={office.code}&page=1",
        },
    )
    assert response["Location"] == f"/targets/?month=2026-10&office={office.code}&page=1#dealer-SH901"
    tampered = client.post(
        f"/targets/{sh.code}/2026-10/",
        {
            "step": "proposed",
            "amount": "1200",
            "version": "1",
            "back": "office=//evil.example&page=-1&next=x",
        },
    )
    assert tampered["Location"] == "/targets/?month=2026-10#dealer-SH901"
    # while an office's own staff get no filter, and ?office= cannot widen what they see
    client.force_login(business_manager)
    own = client.get("/targets/attainment/", {"month": "2026-08", "office": other_office.code}).text
    assert "SH901" in own and "BJ901" not in own and 'data-testid="office-filter"' not in own


@pytest.mark.django_db
def test_the_attainment_page_shows_no_quarter_figure_when_a_month_lacks_its_actual(
    client, business_manager, office
):
    # given 2026Q3 with an agreed target every month, and sales in July and September only
    gap = DealerFactory(office=office, business_manager=business_manager, code="SH001")
    full = DealerFactory(office=office, business_manager=business_manager, code="SH002")
    for dealer in (gap, full):
        for number in (7, 8, 9):
            month = datetime.date(2026, number, 1)
            TargetFactory(dealer=dealer, month=month, agreed_amount=D("100000"))
            if dealer is full or number != 8:
                SalesFactory(dealer=dealer, month=month, amount=D("95000"))
    client.force_login(business_manager)
    # when
    response = client.get("/targets/attainment/?month=2026-09")
    # then the quarter is none for SH001 (not 100 % over July and September) and 95.00 for SH002
    rows = {row["dealer"].code: row for row in response.context["rows"]}
    assert (rows["SH001"]["quarter_actual"], rows["SH001"]["quarter_attainment"]) == (None, None)
    assert rows["SH001"]["quarter_target"] == D("300000")
    assert (rows["SH002"]["quarter_actual"], rows["SH002"]["quarter_attainment"]) == (D("285000"), D("95.00"))
    cells = re.findall(r'data-testid="quarter-attainment"[^>]*>([^<]*)<', response.content.decode())
    assert cells == ["–", "95.00%"]


@pytest.mark.django_db
def test_the_attainment_totals_follow_every_change_at_once(client, business_manager, office):
    # the totals are cached under the versions of dealers, sales and targets: bulk updates count too
    august = datetime.date(2026, 8, 1)
    dealer = DealerFactory(office=office, business_manager=business_manager)
    TargetFactory(dealer=dealer, month=august, agreed_amount=D("100"))
    SalesFactory(dealer=dealer, month=august, amount=D("90"))
    client.force_login(business_manager)

    def totals():
        return client.get("/targets/attainment/?month=2026-08").context["totals"]

    assert (totals()["target"], totals()["actual"]) == (D("100"), D("90"))
    MonthlySales.objects.filter(dealer=dealer).update(amount=D("120"))
    assert totals()["actual"] == D("120")
    MonthlyTarget.objects.filter(dealer=dealer).update(agreed_amount=D("200"))
    assert (totals()["target"], totals()["attainment"]) == (D("200"), D("60.00"))
    type(dealer).objects.filter(pk=dealer.pk).update(business_manager=None)
    assert totals()["dealers"] == 0
