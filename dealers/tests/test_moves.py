"""A dealer's office has a history: moves recorded by every office change (DESIGN.md §3.4)."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.utils import translation

from dealers.imports import DealerImporter
from dealers.models import Dealer, DealerMove
from dealers.moves import move_problems
from dealers.selectors import office_on, office_on_expression, office_on_sql
from dealers.tests.factories import DealerFactory, OfficeFactory

HEADER = "code,name,kind,office,joined,moved_on"
D = datetime.date


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def import_csv(user, *lines):
    return DealerImporter(user=user).run(("\n".join([HEADER, *lines]) + "\n").encode(), "d.csv")


def test_a_move_in_the_future_or_before_joining_is_refused():
    today = D(2026, 7, 10)
    assert move_problems(moved_on=today, joined=D(2020, 1, 1), last_move=None, today=today) == []
    assert move_problems(moved_on=D(2020, 1, 1), joined=D(2020, 1, 1), last_move=None, today=today) == []
    assert len(move_problems(moved_on=D(2026, 7, 11), joined=D(2020, 1, 1), last_move=None, today=today)) == 1
    assert (
        len(move_problems(moved_on=D(2019, 12, 31), joined=D(2020, 1, 1), last_move=None, today=today)) == 1
    )
    assert (
        len(move_problems(moved_on=D(2026, 1, 1), joined=D(2020, 1, 1), last_move=D(2026, 2, 1), today=today))
        == 1
    )


@pytest.mark.django_db
def test_the_office_on_a_day_follows_the_moves():
    # given: SH until 2026-04-30, BJ from 2026-05-01, GZ from 2026-08-15; another dealer never moved
    sh, bj, gz = OfficeFactory(code="SH"), OfficeFactory(code="BJ"), OfficeFactory(code="GZ")
    moved = DealerFactory(office=gz)
    DealerMove.objects.create(dealer=moved, from_office=sh, to_office=bj, moved_on=D(2026, 5, 1))
    DealerMove.objects.create(dealer=moved, from_office=bj, to_office=gz, moved_on=D(2026, 8, 15))
    still = DealerFactory(office=sh)
    expected = {
        D(2026, 3, 31): sh.pk,
        D(2026, 4, 30): sh.pk,
        D(2026, 5, 1): bj.pk,
        D(2026, 6, 30): bj.pk,
        D(2026, 8, 14): bj.pk,
        D(2026, 8, 15): gz.pk,
        D(2026, 9, 30): gz.pk,
    }
    for day, office_id in expected.items():
        # then: the ORM expression, the raw SQL fragment and the instance helper agree
        annotated = dict(
            Dealer.objects.annotate(office_on=office_on_expression(day)).values_list("pk", "office_on")
        )
        assert annotated == {moved.pk: office_id, still.pk: sh.pk}, day
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT d.id, {office_on_sql('d', '%s')} FROM dealers_dealer d ORDER BY d.id", [day]
            )
            assert dict(cursor.fetchall()) == annotated
        assert office_on(moved, day) == office_id


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 7, 10, 12, 0), tick=False)
def test_importing_a_changed_office_records_a_move_as_of_the_file_date(office, other_office, planner):
    # given
    dealer = DealerFactory(code="SH001", office=office)
    # when
    result = import_csv(planner, "SH001,甲,exclusive,BJ,2020-01-01,2026-06-20")
    # then
    assert result.saved
    move = dealer.moves.get()
    assert (move.from_office, move.to_office, move.moved_on, move.created_by) == (
        office,
        other_office,
        D(2026, 6, 20),
        planner,
    )
    assert office_on(Dealer.objects.get(pk=dealer.pk), D(2026, 6, 19)) == office.pk


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 7, 10, 12, 0), tick=False)
def test_a_move_without_a_date_is_as_of_today_and_an_unchanged_office_records_none(
    office, other_office, planner
):
    DealerFactory(code="SH001", office=office)
    DealerFactory(code="SH002", office=office)
    assert (
        DealerImporter(user=planner)
        .run(
            b"code,name,kind,office,joined\nSH001,a,exclusive,BJ,2020-01-01\nSH002,b,exclusive,SH,2020-01-01\n",
            "d.csv",
        )
        .saved
    )
    assert list(DealerMove.objects.values_list("dealer__code", "moved_on")) == [("SH001", D(2026, 7, 10))]


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 7, 10, 12, 0), tick=False)
def test_a_move_dated_in_the_future_or_before_joining_is_a_row_error_and_nothing_is_saved(
    office, other_office, planner
):
    DealerFactory(code="SH001", office=office)
    DealerFactory(code="SH002", office=office)
    result = import_csv(
        planner,
        "SH001,a,exclusive,BJ,2020-01-01,2026-07-11",
        "SH002,b,exclusive,BJ,2020-01-01,2019-12-31",
    )
    assert not result.saved
    errors = {row.line: row.errors for row in result.rows}
    assert "future" in " ".join(errors[2])
    assert "before the dealer joined" in " ".join(errors[3])
    assert not DealerMove.objects.exists()
    assert set(Dealer.objects.values_list("office__code", flat=True)) == {"SH"}


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 7, 10, 12, 0), tick=False)
def test_changing_the_office_in_the_admin_records_a_move(admin_client, office, other_office):
    dealer = DealerFactory(code="SH001", office=office)
    url = f"/admin/dealers/dealer/{dealer.pk}/change/"
    form = {
        "code": "SH001",
        "name": dealer.name,
        "kind": dealer.kind,
        "office": other_office.pk,
        "tier": "",
        "joined": "2020-01-01",
        "status": "active",
        "moved_on": "2026-07-01",
        "moves-TOTAL_FORMS": "0",
        "moves-INITIAL_FORMS": "0",
    }
    # a future date is refused and nothing changes
    response = admin_client.post(url, {**form, "moved_on": "2026-08-01"})
    assert response.status_code == 200
    assert not DealerMove.objects.exists()
    dealer.refresh_from_db()
    assert dealer.office == office
    # a past date is recorded
    response = admin_client.post(url, form)
    assert response.status_code == 302
    move = dealer.moves.get()
    assert (move.from_office, move.to_office, move.moved_on) == (office, other_office, D(2026, 7, 1))


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 7, 10, 12, 0), tick=False)
def test_the_customer_file_lists_the_moves(client, office, other_office, planner):
    dealer = DealerFactory(code="SH001", office=other_office)
    DealerMove.objects.create(
        dealer=dealer, from_office=office, to_office=other_office, moved_on=D(2026, 5, 1)
    )
    client.force_login(planner)
    text = client.get(dealer.get_absolute_url()).text
    moves = text.split('id="moves"')[1]
    assert "2026-05-01" in moves and str(office) in moves and str(other_office) in moves


@pytest.fixture
def published_q2(db):
    from scoring.models import GradingStatus, QuarterGrading

    return QuarterGrading.objects.create(quarter="2026Q2", status=GradingStatus.PUBLISHED)


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 7, 10, 12, 0), tick=False)
@pytest.mark.parametrize("moved_on", [D(2026, 6, 30), D(2026, 4, 1), D(2025, 11, 3)])
def test_the_service_refuses_a_move_dated_in_or_before_a_published_quarter(
    office, other_office, published_q2, moved_on
):
    from dealers.moves import MoveError, record_moves

    dealer = DealerFactory(code="SH001", office=office)
    dealer.office = other_office
    with translation.override("zh-hans"), pytest.raises(MoveError) as error:
        record_moves(moves=[(dealer, office.pk, moved_on)])
    assert str(error.value) == f"SH001：调动日期 {moved_on} 在已发布的 2026Q2 之内或之前，其数据已冻结"
    assert not DealerMove.objects.exists()


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 7, 10, 12, 0), tick=False)
def test_a_move_after_the_published_quarter_is_recorded(office, other_office, published_q2):
    from dealers.moves import record_moves

    dealer = DealerFactory(code="SH001", office=office)
    dealer.office = other_office
    assert record_moves(moves=[(dealer, office.pk, D(2026, 7, 1))]) == 1
    # a quarter graded but not published does not freeze anything
    published_q2.status = "graded"
    published_q2.save()
    DealerMove.objects.all().delete()
    assert record_moves(moves=[(dealer, office.pk, D(2026, 5, 1))]) == 1


@pytest.mark.django_db
@time_machine.travel(datetime.datetime(2026, 7, 10, 12, 0), tick=False)
def test_the_import_and_the_admin_refuse_a_move_into_a_published_quarter(
    admin_client, office, other_office, planner, published_q2
):
    dealer = DealerFactory(code="SH001", office=office)
    DealerFactory(code="SH002", office=office)
    result = import_csv(
        planner,
        "SH001,a,exclusive,BJ,2020-01-01,2026-06-30",
        "SH002,b,exclusive,BJ,2020-01-01,2026-05-02",
    )
    assert not result.saved
    errors = {row.line: " ".join(row.errors) for row in result.rows}
    assert "2026Q2, which is published" in errors[2] and "2026Q2, which is published" in errors[3]
    response = admin_client.post(
        f"/admin/dealers/dealer/{dealer.pk}/change/",
        {
            "code": "SH001",
            "name": dealer.name,
            "kind": dealer.kind,
            "office": other_office.pk,
            "tier": "",
            "joined": "2020-01-01",
            "status": "active",
            "moved_on": "2026-06-30",
            "moves-TOTAL_FORMS": "0",
            "moves-INITIAL_FORMS": "0",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "2026Q2, which is published" in response.content.decode()
    assert not DealerMove.objects.exists()
    assert set(Dealer.objects.values_list("office__code", flat=True)) == {"SH"}
