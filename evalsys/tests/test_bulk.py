import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from dealers.models import MonthlySales
from dealers.tests.factories import DealerFactory
from evalsys.bulk import CHANGED, CREATED, insert_history, insert_rows


@pytest.mark.django_db
def test_history_written_set_wise_is_what_simple_history_shows(statistician):
    # given two sales rows written as tuples
    dealer = DealerFactory(code="SH001")
    now = timezone.now()
    columns = ["id", "dealer_id", "month", "amount", "updated_at"]
    september, october = datetime.date(2026, 9, 1), datetime.date(2026, 10, 1)
    written = insert_rows(
        MonthlySales._meta.db_table,
        columns[1:],
        [(dealer.pk, september, Decimal(100), now), (dealer.pk, october, Decimal(200), now)],
        returning=["id"],
    )
    # when their history is written, one created and one changed
    rows = [
        (written[0][0], dealer.pk, september, Decimal(100), now),
        (written[1][0], dealer.pk, october, Decimal(200), now),
    ]
    insert_history(MonthlySales, columns, rows, kinds=[CREATED, CHANGED], user=statistician, when=now)
    # then the records read as simple-history's own
    records = MonthlySales.history.order_by("month")
    assert [(r.month, r.amount, r.history_type, r.history_user) for r in records] == [
        (september, Decimal("100.00"), "+", statistician),
        (october, Decimal("200.00"), "~", statistician),
    ]


@pytest.mark.django_db
def test_history_missing_a_tracked_column_is_refused_naming_the_columns():
    # when the caller leaves out a field the history tracks
    with pytest.raises(ValueError) as error:
        insert_history(
            MonthlySales,
            ["id", "dealer_id", "month", "amount"],
            [(1, 1, datetime.date(2026, 9, 1), Decimal(1))],
            kinds=CREATED,
            when=timezone.now(),
        )
    # then nothing is written and the message names what is needed
    assert "updated_at" in str(error.value)
    assert not MonthlySales.history.exists()


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
