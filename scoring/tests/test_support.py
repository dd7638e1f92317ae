"""The support ledger: recording, importing, the quarter's support by class and its export."""

import datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import translation

from dealers.roles import Role
from dealers.tests.factories import DealerFactory, OfficeFactory
from evalsys.periods import Quarter
from scoring.followup import rules, support
from scoring.followup.imports import SupportImporter
from scoring.followup.models import SupportEntry
from scoring.services import ScoringError
from scoring.tests.factories import grade_quarter

Q3 = Quarter(2026, 3)
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_on_a_fixed_day():
    with translation.override("en"), time_machine.travel("2026-10-20 10:00 +0800"):
        yield


def _entry(dealer, day, kind, value):
    return SupportEntry.objects.create(dealer=dealer, date=day, kind=kind, value=Decimal(value))


# Recording -----------------------------------------------------------------------------------


def test_an_office_manager_records_support_for_his_office_with_history(office, office_manager):
    dealer = DealerFactory(office=office)
    entry = support.record_support(
        dealer=dealer,
        date=datetime.date(2026, 9, 1),
        kind="advertising",
        value="1,200.5",
        user=office_manager,
    )
    assert entry.value == Decimal("1200.50") and entry.recorded_by == office_manager
    assert entry.history.get().history_user == office_manager


def test_only_sales_planning_and_the_own_office_manager_record(office, other_office, make_staff, planner):
    dealer = DealerFactory(office=other_office)
    stranger = make_staff("om2", Role.OFFICE_MANAGER, office=office)
    bm = make_staff("bm2", Role.BUSINESS_MANAGER, office=other_office)
    args = {"dealer": dealer, "date": datetime.date(2026, 9, 1), "kind": "promotion", "value": "10"}
    for user in (stranger, bm):
        with pytest.raises(ScoringError, match="may not"):
            support.record_support(user=user, **args)
    support.record_support(user=planner, **args)
    assert SupportEntry.objects.count() == 1


@pytest.mark.parametrize(
    "change, message",
    [
        ({"date": datetime.date(2026, 10, 21)}, "future"),
        ({"date": datetime.date(2019, 12, 31)}, "before the dealer joined"),
        ({"value": "-5"}, "negative"),
        ({"value": "lots"}, "not a number"),
        ({"kind": "bribe"}, "not a kind"),
        ({"note": "x" * 501}, "500"),
    ],
)
def test_bad_support_is_refused_with_a_clear_message_and_nothing_saved(office, planner, change, message):
    dealer = DealerFactory(office=office)
    args = {
        "dealer": dealer,
        "date": datetime.date(2026, 9, 1),
        "kind": "promotion",
        "value": "10",
        "note": "",
    }
    with pytest.raises(ScoringError, match=message):
        support.record_support(user=planner, **{**args, **change})
    assert SupportEntry.objects.count() == 0


# Importing -----------------------------------------------------------------------------------


def _csv(*lines):
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def test_the_import_reads_chinese_headers_and_kinds_and_adds_each_entry_once(office, planner):
    DealerFactory(office=office, code="SH001")
    content = _csv(
        "经销商编码,日期,类型,金额,说明",
        "SH001,2026-09-01,广告支持,5000,灯箱",
        "SH001,2026/9/2,promotion,300,",
    )
    result = SupportImporter(user=planner).run(content, "support.csv")
    assert result.ok and result.saved
    assert sorted(SupportEntry.objects.values_list("kind", "value")) == [
        ("advertising", Decimal("5000.00")),
        ("promotion", Decimal("300.00")),
    ]
    # the same file again adds nothing
    again = SupportImporter(user=planner).run(content, "support.csv")
    assert again.ok and [r.action for r in again.rows] == ["unchanged", "unchanged"]
    assert SupportEntry.objects.count() == 2


def test_every_bad_row_is_reported_and_nothing_saved(office, other_office, office_manager):
    DealerFactory(office=office, code="SH001")
    DealerFactory(office=other_office, code="BJ001")
    content = _csv(
        "dealer,date,kind,value,note",
        "SH001,2026-09-01,advertising,100,",
        "BJ001,2026-09-01,advertising,100,",
        "SH001,2027-01-01,gift,-1,",
        "SH001,2026-09-01,advertising,100,",
    )
    result = SupportImporter(user=office_manager).run(content, "support.csv")
    assert not result.saved and SupportEntry.objects.count() == 0
    errors = dict(result.errors)
    assert "unknown dealer code BJ001" in errors[3]  # another office's dealer is unknown
    line4 = [m for line, m in result.errors if line == 4]
    assert any("gift" in m for m in line4) and any("negative" in m for m in line4)  # all checks of a row
    assert "duplicate" in errors[5]


def test_the_import_command_exits_non_zero_on_a_bad_file(tmp_path, office):
    path = tmp_path / "support.csv"
    path.write_bytes(_csv("dealer,date,kind,value", "NOPE,2026-09-01,advertising,1"))
    with pytest.raises(CommandError, match="nothing was saved"):
        call_command("import_support", str(path))
    DealerFactory(office=office, code="SH001")
    path.write_bytes(_csv("dealer,date,kind,value", "SH001,2026-09-01,advertising,1"))
    call_command("import_support", str(path))
    assert SupportEntry.objects.count() == 1


# The quarter's support by class --------------------------------------------------------------


@pytest.fixture
def company():
    """SH: A1 (A), A2 (A, no support), C1 (C); BJ: B1 (B), N1 (no grade); M1 moved SH → BJ after Q3."""
    sh, bj = OfficeFactory(code="SH"), OfficeFactory(code="BJ")
    d = {
        code: DealerFactory(office=sh if code[0] in "AC" else bj, code=code)
        for code in ("A1", "A2", "C1", "B1", "N1")
    }
    d["M1"] = DealerFactory(office=bj, code="M1")
    grade_quarter(Q3, {d["A1"]: "A", d["A2"]: "A", d["C1"]: "C", d["B1"]: "B"})
    grade_quarter(Q3, {d["M1"]: "B"}, office=sh)
    _entry(d["A1"], datetime.date(2026, 7, 1), "advertising", "1000")
    _entry(d["A1"], datetime.date(2026, 9, 30), "advertising", "500.50")
    _entry(d["A1"], datetime.date(2026, 8, 1), "new_product", "200")
    _entry(d["C1"], datetime.date(2026, 8, 15), "promotion", "80")
    _entry(d["B1"], datetime.date(2026, 7, 2), "other", "10")
    _entry(d["N1"], datetime.date(2026, 7, 3), "promotion", "7")
    _entry(d["M1"], datetime.date(2026, 7, 4), "promotion", "3")
    _entry(d["A2"], datetime.date(2026, 6, 30), "advertising", "999")  # the quarter before
    _entry(d["A2"], datetime.date(2026, 10, 1), "advertising", "999")  # the quarter after
    return d


def test_support_by_class_is_worked_out_by_hand(company):
    rows = support.support_rows(quarter=Q3)
    assert [(r.office, r.grade_class, r.kind, r.count, r.value) for r in rows] == [
        ("BJ", "", "promotion", 1, Decimal("7.00")),  # N1 has no grade
        ("BJ", "B", "other", 1, Decimal("10.00")),
        ("SH", "A", "advertising", 2, Decimal("1500.50")),
        ("SH", "A", "new_product", 1, Decimal("200.00")),
        ("SH", "B", "promotion", 1, Decimal("3.00")),  # M1 counts in SH, its office at quarter end
        ("SH", "C", "promotion", 1, Decimal("80.00")),
    ]
    assert support.a_without_support(quarter=Q3) == {"SH": 1}
    assert [g.dealer.code for g in support.unsupported_a_dealers(quarter=Q3)] == ["A2"]
    c = list(support.supported_c_dealers(quarter=Q3))
    assert [(g.dealer.code, g.support_count, g.support_value) for g in c] == [("C1", 1, Decimal("80.00"))]


def test_the_report_s_figures_follow_every_change_at_once(company):
    # cached under the versions of grades, entries, dealers and offices: bulk statements count too
    from dealers.models import Dealer, Office
    from scoring.models import Grade

    def figures():
        return (
            [(r.office, r.grade_class, r.kind, r.count) for r in support.support_rows(quarter=Q3)],
            support.a_without_support(quarter=Q3),
            [g.dealer.code for g in support.unsupported_a_dealers(quarter=Q3)],
            [g.dealer.code for g in support.supported_c_dealers(quarter=Q3)],
        )

    before = figures()
    assert figures() == before
    Grade.objects.filter(dealer=company["A2"], quarter=str(Q3)).update(final_class="C")
    assert support.a_without_support(quarter=Q3) == {}
    SupportEntry.objects.filter(dealer=company["C1"]).delete()
    assert support.supported_c_dealers(quarter=Q3) == []
    Office.objects.filter(code="BJ").update(code="BJX")
    assert ("BJX", "B", "other", 1) in figures()[0]
    Dealer.objects.filter(pk=company["N1"].pk).update(office=Office.objects.get(code="SH"))
    assert ("SH", "", "promotion", 1) in figures()[0]


def test_the_query_equals_the_rule(company):
    from dealers.models import Dealer
    from scoring.models import Grade

    grades = {g.dealer_id: g for g in Grade.objects.filter(quarter=str(Q3)).select_related("office")}
    offices = dict(Dealer.objects.values_list("pk", "office__code"))
    entries = [
        (
            grades[e.dealer_id].office.code if e.dealer_id in grades else offices[e.dealer_id],
            grades[e.dealer_id].final_class if e.dealer_id in grades else "",
            e.kind,
            e.value,
        )
        for e in SupportEntry.objects.filter(date__range=(Q3.start, Q3.end))
    ]
    assert support.support_rows(quarter=Q3) == rules.support_by_class(entries)


def test_an_office_manager_sees_the_support_of_his_offices_dealers_only(company, make_staff):
    manager = make_staff("om_bj", Role.OFFICE_MANAGER, office=company["B1"].office)
    rows = support.support_rows(quarter=Q3, user=manager)
    # BJ's dealers today: B1, N1 and M1 (which was SH's at the end of the quarter)
    assert [(r.office, r.grade_class, r.kind) for r in rows] == [
        ("BJ", "", "promotion"),
        ("BJ", "B", "other"),
        ("SH", "B", "promotion"),
    ]
    assert support.a_without_support(quarter=Q3, user=manager) == {}


def test_export_support_writes_the_columns_and_rows_of_the_design(company, tmp_path):
    out = tmp_path / "support.csv"
    call_command("export_support", "2026Q3", "-o", str(out))
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert out.read_text(encoding="utf-8-sig").splitlines() == [
        "quarter,office,class,kind,count,value",
        "2026Q3,BJ,,promotion,1,7.00",
        "2026Q3,BJ,B,other,1,10.00",
        "2026Q3,SH,A,advertising,2,1500.50",
        "2026Q3,SH,A,new_product,1,200.00",
        "2026Q3,SH,B,promotion,1,3.00",
        "2026Q3,SH,C,promotion,1,80.00",
    ]
    xlsx = tmp_path / "support.xlsx"
    call_command("export_support", "2026Q3", "-o", str(xlsx))
    from openpyxl import load_workbook

    rows = list(load_workbook(xlsx).active.iter_rows(values_only=True))
    assert rows[0] == ("quarter", "office", "class", "kind", "count", "value")
    assert rows[3][4:] == (2, 1500.5)


def test_export_support_refuses_a_bad_quarter_or_directory(tmp_path):
    with pytest.raises(CommandError, match="quarter"):
        call_command("export_support", "2026Q5")
    with pytest.raises(CommandError, match="no such directory"):
        call_command("export_support", "2026Q3", "-o", str(tmp_path / "missing" / "x.csv"))
