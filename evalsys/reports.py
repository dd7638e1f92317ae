"""Excel reports for people (DESIGN.md §6.2, last paragraph).

Every export in the browser is offered twice: the data file of `evalsys.tabular`
(fixed English column names and codes, for other programs) and a report built
here for people: headers and labels in the user's language, office names rather
than codes, a frozen header row, filters on every column, column widths that fit
and Excel number formats (money `#,##0.00`, percentages, whole numbers).

The interface is two names and five column kinds:

    from evalsys import reports

    columns = [
        reports.Column(_("Dealer code")),
        reports.Column(_("Office")),
        reports.Column(_("Sales"), reports.MONEY),
        reports.Column(_("Attainment"), reports.PERCENT),   # 95.5 means 95.5 %
        reports.Column(_("Visits"), reports.INTEGER),
    ]
    rows = ([d.code, d.office.name, d.sales, d.attainment, d.visits] for d in dealers)
    return reports.report_response(name="points-2026-09", title=_("Points"), columns=columns, rows=rows)

Rows may be any iterable (a generator over `.iterator()` is fine: only the first
`WIDTH_SAMPLE` rows are held in memory, to size the columns). Cells hold plain
values: `None` is an empty cell, booleans become the translated 是/否, dates stay
dates, text beginning with `=`, `+`, `-` or `@` is escaped as in the data exports.
Translate choice codes to labels (`Dealer.get_kind_display()`) before handing
rows over: the report writes what it is given.
"""

import datetime
import io
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import islice

from django.http import HttpResponse
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .tabular import FORMULA_PREFIXES

TEXT = "text"
MONEY = "money"  # yuan, two places with thousand separators
DECIMAL = "decimal"  # scores, averages: two places
PERCENT = "percent"  # given in percent (95.5 = 95.5 %), shown as 95.50%
INTEGER = "integer"  # counts and ranks
DATE = "date"

NUMBER_FORMATS = {
    MONEY: "#,##0.00",
    DECIMAL: "0.00",
    PERCENT: "0.00%",
    INTEGER: "#,##0",
    DATE: "yyyy-mm-dd",
}
WIDTH_SAMPLE = 1000  # rows read to size the columns
MIN_WIDTH, MAX_WIDTH = 6, 60
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_HEADER_ALIGNMENT = Alignment(vertical="center", wrap_text=True)


@dataclass(frozen=True)
class Column:
    """One column of a report: its header (translatable) and what kind of value it holds."""

    label: str
    kind: str = TEXT
    width: int | None = None  # in characters; None: fitted to the header and the first rows

    def __post_init__(self):
        if self.kind != TEXT and self.kind not in NUMBER_FORMATS:
            raise ValueError(f"unknown report column kind {self.kind!r}")


def display_width(value) -> int:
    """Columns a text takes in Excel: Chinese characters count twice.

    >>> display_width("XA001"), display_width("上海办事处")
    (5, 10)
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(value))


def report_cell(value, kind: str):
    """The value a report cell holds: numbers stay numbers (percent as a fraction), text is formula-safe.

    >>> report_cell(Decimal("95.5"), PERCENT)
    Decimal('0.955')
    >>> report_cell("-5 分", TEXT)
    "'-5 分"
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if kind == PERCENT and isinstance(value, int | float | Decimal):
        return Decimal(str(value)) / 100
    if isinstance(value, int | float | Decimal | datetime.date):
        return value
    value = str(value)
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def _shown(value, kind: str) -> str:
    """Roughly the text Excel shows for a cell, to size its column."""
    if value is None:
        return ""
    if kind == MONEY and isinstance(value, int | float | Decimal):
        return f"{value:,.2f}"
    if kind == PERCENT and isinstance(value, int | float | Decimal):
        return f"{value * 100:.2f}%"
    if isinstance(value, datetime.date):
        return "2026-09-30"
    return str(value)


def write_report(*, title: str, columns: Sequence[Column], rows: Iterable[Sequence], target) -> int:
    """Write the report workbook to the binary file object `target`; returns the number of rows."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    rows = iter(rows)
    sample = [
        [report_cell(v, c.kind) for v, c in zip(row, columns, strict=True)]
        for row in islice(rows, WIDTH_SAMPLE)
    ]
    for index, column in enumerate(columns, start=1):
        width = column.width
        if width is None:
            seen = [display_width(str(column.label))] + [
                display_width(_shown(r[index - 1], column.kind)) for r in sample
            ]
            width = min(max(max(seen) + 2, MIN_WIDTH), MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=str(column.label))
        cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGNMENT
        header.append(cell)
    sheet.append(header)
    formats = [NUMBER_FORMATS.get(c.kind) for c in columns]
    count = 0
    for values in sample:
        sheet.append(_row(sheet, values, formats))
        count += 1
    for row in rows:
        sheet.append(
            _row(sheet, [report_cell(v, c.kind) for v, c in zip(row, columns, strict=True)], formats)
        )
        count += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{count + 1}"
    workbook.save(target)
    return count


def report_response(
    *, name: str, title: str, columns: Sequence[Column], rows: Iterable[Sequence]
) -> HttpResponse:
    """A browser download of the report as `<name>-report.xlsx` (keep `name` ASCII: it is the file name)."""
    buffer = io.BytesIO()
    write_report(title=title, columns=columns, rows=rows, target=buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{name}-report.xlsx"'
    return response


def _row(sheet, values, formats):
    cells = []
    for value, number_format in zip(values, formats, strict=True):
        if number_format and value is not None and not isinstance(value, str):
            cell = WriteOnlyCell(sheet, value=value)
            cell.number_format = number_format
            cells.append(cell)
        else:
            cells.append(value)
    return cells


def _sheet_title(title) -> str:
    """Excel's sheet names: at most 31 characters, none of `[]:*?/\\`."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in str(title)).strip()
    return cleaned[:31] or "Report"
