"""Property-based tests of the import parsers: any file gives rows or clear errors, never a crash."""

import contextlib
import csv
import io
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from dealers.imports import DealerImporter
from dealers.models import Dealer
from evalsys.tabular import (
    CellError,
    export_cell,
    parse_amount,
    parse_date,
    parse_decimal,
    read_table,
    write_table,
)

cells = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.sampled_from(
        ["=1+1", "+SUM(A1)", "-3", "@cmd", "2026-13-40", "1e400", "NaN", "∞", "流失", "物流", ""]
    ),
)


def _csv(rows, encoding):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding, errors="replace")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.lists(st.lists(cells, min_size=0, max_size=14), max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
)
@pytest.mark.django_db
def test_a_random_dealer_file_is_refused_with_messages_and_saves_nothing(office, body, encoding):
    # given a file with the right headers and random cells
    header = [c.zh for c in DealerImporter.columns]
    content = _csv([header, *body], encoding)
    with transaction.atomic():  # hypothesis reuses the test database between examples
        # when
        result = DealerImporter().run(content, "dealers.csv")
        # then every problem has a message; nothing is saved unless the whole file was good
        assert all(isinstance(message, str) and message for _line, message in result.errors)
        if not result.ok:
            assert Dealer.objects.count() == 0
        else:
            assert Dealer.objects.count() == len({row.values["code"] for row in result.rows})
        transaction.set_rollback(True)


@settings(max_examples=80, deadline=None)
@given(content=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".xlsx", ".txt", ""]))
def test_arbitrary_bytes_never_crash_the_reader(content, suffix):
    from evalsys.tabular import ImportFileError

    try:
        headers, rows = read_table(content, f"upload{suffix}")
    except ImportFileError as exc:
        assert str(exc)
    else:
        assert isinstance(headers, list)
        assert all(line >= 2 for line, _cells in rows)


@given(value=st.one_of(st.text(max_size=20), st.floats(allow_nan=True, allow_infinity=True), st.integers()))
def test_decimal_parsing_gives_two_places_or_a_cell_error(value):
    try:
        number = parse_decimal(value)
    except CellError as exc:
        assert str(exc)
    else:
        assert number == number.quantize(Decimal("0.01"))
        assert abs(number) < Decimal("1e12")


@given(
    value=st.decimals(
        allow_nan=False, allow_infinity=False, min_value=-(10**9), max_value=Decimal("-0.01"), places=2
    )
)
def test_negative_amounts_are_refused(value):
    with pytest.raises(CellError):
        parse_amount(value)


@given(text=st.text(max_size=20))
def test_date_parsing_never_raises_anything_but_a_cell_error(text):
    with contextlib.suppress(CellError):
        parse_date(text)


@given(text=st.text(min_size=1, max_size=20))
def test_exported_text_never_starts_a_formula(text):
    cell = export_cell(text)
    assert not str(cell).startswith(("=", "+", "-", "@"))


def test_an_xlsx_whose_first_sheet_lacks_the_columns_is_refused_by_name():
    workbook = Workbook()
    workbook.active.append(["这不是", "经销商表"])
    workbook.active.append(["x", "y"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = DealerImporter().parse(buffer.getvalue(), "wrong-sheet.xlsx")
    assert not result.ok
    assert "code/编码" in result.file_errors[0]


def test_huge_numbers_round_trip_as_numbers_in_xlsx():
    buffer = io.BytesIO()
    write_table(["amount"], [[Decimal("123456789.005")]], buffer, xlsx=True)
    headers, rows = read_table(buffer.getvalue(), "x.xlsx")
    assert headers == ["amount"]
    assert rows[0][1][0] == pytest.approx(123456789.01)
