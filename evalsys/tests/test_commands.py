import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from evalsys.commands import ExportCommand
from evalsys.periods import Quarter


class QuarterTotals(ExportCommand):
    """A small export to drive the base class."""

    def parse_period(self, text):
        return Quarter.parse(text)

    def table(self, period):
        return ["quarter", "office", "total"], [[str(period), "=SH", Decimal("1.5")], [str(period), "BJ", 2]]


EXPECTED_CSV = "quarter,office,total\r\n2026Q3,'=SH,1.50\r\n2026Q3,BJ,2\r\n"


def test_an_export_writes_csv_with_a_bom_to_stdout(capfdbinary):
    # when
    call_command(QuarterTotals(), "2026Q3")
    # then
    out = capfdbinary.readouterr().out
    assert out == b"\xef\xbb\xbf" + EXPECTED_CSV.encode()


def test_an_export_writes_to_a_text_stream_too():
    out = io.StringIO()
    call_command(QuarterTotals(), "2026Q3", stdout=out)
    assert out.getvalue() == "\ufeff" + EXPECTED_CSV


def test_an_export_writes_csv_to_a_file(tmp_path):
    target = tmp_path / "totals.csv"
    call_command(QuarterTotals(), "2026Q3", "-o", str(target))
    assert target.read_bytes() == b"\xef\xbb\xbf" + EXPECTED_CSV.encode()


def test_an_export_writes_xlsx_when_the_file_name_says_so(tmp_path):
    target = tmp_path / "totals.XLSX"
    call_command(QuarterTotals(), "2026Q3", "--output", str(target))
    rows = [[c.value for c in row] for row in load_workbook(target).worksheets[0].iter_rows()]
    assert rows == [["quarter", "office", "total"], ["2026Q3", "'=SH", 1.5], ["2026Q3", "BJ", 2]]


def test_a_bad_period_is_a_command_error():
    with pytest.raises(CommandError):
        call_command(QuarterTotals(), "2026Q9", stdout=io.StringIO())
