import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from dealers.models import MonthlySales
from dealers.tests.factories import DealerFactory
from evalsys.bulk import CHANGED, CREATED, history_from_rows, insert_rows


@pytest.mark.django_db
def test_history_written_set_wise_is_what_simple_history_shows(statistician):
    # given two sales rows written as tuples
    dealer = DealerFactory(code="SH001")
    now = timezone.now()
    september, october = datetime.date(2026, 9, 1), datetime.date(2026, 10, 1)
    written = insert_rows(
        MonthlySales._meta.db_table,
        ["dealer_id", "month", "amount", "updated_at"],
        [(dealer.pk, september, Decimal(100), now), (dealer.pk, october, Decimal(200), now)],
        returning=["id"],
    )
    # when their history is copied from them, one created and one changed
    history_from_rows(MonthlySales, [written[0][0]], history_type=CREATED, user=statistician, when=now)
    history_from_rows(MonthlySales, [written[1][0]], history_type=CHANGED, user=statistician, when=now)
    # then the records read as simple-history's own
    records = MonthlySales.history.order_by("month")
    assert [(r.month, r.amount, r.history_type, r.history_user, r.history_date) for r in records] == [
        (september, Decimal("100.00"), "+", statistician, now),
        (october, Decimal("200.00"), "~", statistician, now),
    ]


@pytest.mark.django_db
def test_history_of_more_rows_than_one_statement_may_list(monkeypatch):
    # given more rows than the backend takes parameters in one statement
    from django.db import connection

    dealer = DealerFactory(code="SH001")
    now = timezone.now()
    written = insert_rows(
        MonthlySales._meta.db_table,
        ["dealer_id", "month", "amount", "updated_at"],
        [(dealer.pk, datetime.date(2020 + i // 12, i % 12 + 1, 1), Decimal(i), now) for i in range(25)],
        returning=["id"],
    )
    monkeypatch.setattr(connection.features, "max_query_params", 10)
    # when their history is copied
    history_from_rows(MonthlySales, [pk for (pk,) in written], history_type=CREATED)
    # then every row has its record, once
    assert sorted(MonthlySales.history.values_list("id", flat=True)) == sorted(pk for (pk,) in written)


def test_the_collector_is_paused_within_and_resumed_after_even_on_an_error():
    import gc

    from evalsys.bulk import collector_paused

    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        assert not gc.isenabled()
        raise ValueError
    assert gc.isenabled()
    # and a collector paused by someone else stays paused
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
