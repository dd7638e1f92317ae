"""Reading and writing the spreadsheets of DESIGN.md §6.2.

Imports: `.xlsx` or `.csv` (UTF-8, UTF-8 with BOM, GB18030/GBK), English or
Chinese headers, every bad row reported with its line number; nothing is
saved unless every row is good. Exports: CSV with BOM or `.xlsx`, two-place
decimals, `yes`/`no`, spreadsheet formulas escaped.
"""

import csv
import datetime
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell

TWO_PLACES = Decimal("0.01")
FORMULA_PREFIXES = ("=", "+", "-", "@")


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong type, encoding, headers)."""


class CellError(ValueError):
    """A cell's value is refused; the message is shown to the user."""


class ImportRefused(Exception):
    """The rows are good but saving them is refused as a whole (e.g. a period frozen since
    the check); nothing is saved and the message is shown to the user."""


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    required: bool = True
    parse: Callable[[Any], Any] = None

    @property
    def label(self) -> str:
        """The header as a user reading the current language would write it."""
        return self.zh if (get_language() or "").startswith("zh") else self.name

    def error(self, message) -> str:
        """`message` about this column's cell, as a row's error."""
        return _("%(column)s: %(error)s") % {"column": self.label, "error": message}

    def clean(self, raw):
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.required:
                raise CellError(_("required"))
            return None
        value = raw.strip() if isinstance(raw, str) else raw
        return self.parse(value) if self.parse else text(value)


@dataclass
class Row:
    line: int
    values: dict
    errors: list = field(default_factory=list)
    action: str = ""  # new / changed / unchanged, set by the importer
    changes: list = field(default_factory=list)  # names of the columns a "changed" row changes
    previous: dict = field(default_factory=dict)  # column name → the value stored before, for "old → new"

    @property
    def ok(self):
        return not self.errors


@dataclass
class ImportResult:
    rows: list
    file_errors: list = field(default_factory=list)
    saved: bool = False
    counts: dict = field(default_factory=dict)

    @property
    def errors(self):
        """Every problem, as `(line or None, message)`, in file order."""
        found = [(None, message) for message in self.file_errors]
        found += [(row.line, message) for row in self.rows for message in row.errors]
        return found

    @property
    def ok(self):
        return not self.errors


# Cell parsers -------------------------------------------------------------


def text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def parse_decimal(value) -> Decimal:
    if isinstance(value, bool):
        raise CellError(_("not a number: %(value)s") % {"value": value})
    try:
        number = Decimal(str(value).replace(",", "").replace("，", "").strip())
    except InvalidOperation:
        raise CellError(_("not a number: %(value)s") % {"value": value}) from None
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        raise CellError(_("number out of range: %(value)s") % {"value": value})
    return number.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def parse_amount(value) -> Decimal:
    number = parse_decimal(value)
    if number < 0:
        raise CellError(_("must not be negative: %(value)s") % {"value": value})
    return number


def parse_int(value) -> int:
    number = parse_decimal(value)
    if number != number.to_integral_value():
        raise CellError(_("not a whole number: %(value)s") % {"value": value})
    return int(number)


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def parse_date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    match = _DATE_RE.match(str(value).strip())
    try:
        if not match:
            raise ValueError
        return datetime.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise CellError(_("not a date like 2026-09-30: %(value)s") % {"value": value}) from None


def parse_month_cell(value) -> datetime.date:
    from .periods import parse_month

    try:
        return parse_month(value)
    except ValueError:
        raise CellError(_("not a month like 2026-09: %(value)s") % {"value": value}) from None


def parse_quarter_cell(value):
    from .periods import Quarter

    try:
        return Quarter.parse(value)
    except ValueError:
        raise CellError(_("not a quarter like 2026Q3: %(value)s") % {"value": value}) from None


def choice(mapping: dict) -> Callable[[Any], str]:
    """A parser accepting any key of `mapping` (English or Chinese spelling)."""
    normalized = {str(k).strip().lower(): v for k, v in mapping.items()}

    def parse(value):
        try:
            return normalized[text(value).lower()]
        except KeyError:
            allowed = ", ".join(str(k) for k in mapping)
            raise CellError(
                _("%(value)s is not one of: %(allowed)s") % {"value": value, "allowed": allowed}
            ) from None

    return parse


# Reading ------------------------------------------------------------------

ENCODINGS = ("utf-8-sig", "gb18030")


def read_table(content: bytes, filename: str) -> tuple[list[str], list[tuple[int, list]]]:
    """Headers and `(line number, cells)` of the first sheet; blank rows are skipped."""
    suffix = Path(filename).suffix.lower()
    if suffix == ".xlsx":
        raw_rows = _read_xlsx(content)
    elif suffix == ".csv":
        raw_rows = _read_csv(content)
    else:
        raise ImportFileError(_("Only .xlsx and .csv files can be imported."))
    numbered = [(n, cells) for n, cells in enumerate(raw_rows, start=1) if any(_filled(c) for c in cells)]
    if not numbered:
        raise ImportFileError(_("The file is empty."))
    (_line, header_cells), *body = numbered
    headers = [text(c) if c is not None else "" for c in header_cells]
    return headers, body


def _filled(cell) -> bool:
    return cell is not None and (not isinstance(cell, str) or cell.strip() != "")


def _read_csv(content: bytes) -> list[list]:
    for encoding in ENCODINGS:
        try:
            decoded = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportFileError(_("The CSV file is neither UTF-8 nor GB18030/GBK encoded."))
    if "\x00" in decoded:
        raise ImportFileError(_("The file is not a text CSV file."))
    try:
        return list(csv.reader(io.StringIO(decoded, newline="")))
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from None


def _read_xlsx(content: bytes) -> list[list]:

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a damaged or foreign file
        raise ImportFileError(_("The file is not a readable .xlsx workbook.")) from None
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


# Importing ----------------------------------------------------------------


class Importer:
    """One kind of file. Subclasses declare `columns` and implement `check` and `save`.

    `check(rows)` receives the rows whose cells parsed, looks up what they refer
    to in a few set-wise queries, adds row errors and sets each row's `action`.
    `save(rows)` writes them set-wise; it runs only when no row has an error,
    inside one transaction, and returns counts for the summary.
    """

    columns: Sequence[Column] = ()
    title = gettext_lazy("Import")

    def __init__(self, *, user=None):
        self.user = user

    def check(self, rows: list[Row]) -> None:
        raise NotImplementedError

    def save(self, rows: list[Row]) -> dict:
        raise NotImplementedError

    def header_map(self, headers: list[str]) -> dict[int, Column]:
        by_label = {}
        for column in self.columns:
            by_label[column.name.lower()] = column
            by_label[column.zh] = column
        mapping, missing = {}, []
        for index, header in enumerate(headers):
            column = by_label.get(header.strip().lower()) or by_label.get(header.strip())
            if column and column not in mapping.values():
                mapping[index] = column
        for column in self.columns:
            if column.required and column not in mapping.values():
                missing.append(f"{column.name}/{column.zh}")
        if missing:
            raise ImportFileError(_("Missing columns: %(columns)s") % {"columns": ", ".join(missing)})
        return mapping

    def parse(self, content: bytes, filename: str) -> ImportResult:
        try:
            headers, body = read_table(content, filename)
            mapping = self.header_map(headers)
        except ImportFileError as exc:
            return ImportResult(rows=[], file_errors=[str(exc)])
        rows = []
        for line, cells in body:
            row = Row(line=line, values={})
            for index, column in mapping.items():
                raw = cells[index] if index < len(cells) else None
                try:
                    row.values[column.name] = column.clean(raw)
                except CellError as exc:
                    row.errors.append(column.error(exc))
            rows.append(row)
        if not rows:
            return ImportResult(rows=[], file_errors=[_("The file has a header but no rows.")])
        self.check([row for row in rows if row.ok])
        return ImportResult(rows=rows)

    def run(self, content: bytes, filename: str, *, dry_run: bool = False) -> ImportResult:
        """Parse and check the file; unless `dry_run` or any row is bad, save it all."""
        result = self.parse(content, filename)
        if result.ok and not dry_run:
            try:
                with transaction.atomic():
                    result.counts = self.save(result.rows)
            except ImportRefused as exc:
                result.file_errors.append(str(exc))
                return result
            result.saved = True
        return result


def duplicates_in_file(rows: list[Row], key: Callable[[Row], Any], label: str) -> None:
    """Mark every row whose key appeared on an earlier line."""
    seen = {}
    for row in rows:
        k = key(row)
        if k in seen:
            row.errors.append(
                _("duplicate %(what)s, already on line %(line)s") % {"what": label, "line": seen[k]}
            )
        else:
            seen[k] = row.line


# Exporting ----------------------------------------------------------------


def export_cell(value):
    """A value as DESIGN.md §6.2 writes it: numbers stay numbers, text is formula-safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime.date):
        return value.isoformat()
    value = str(value)
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _xlsx_cell(sheet, value):
    """Numbers stay numbers in Excel, shown with two places (decimals) or none (counts)."""
    if isinstance(value, Decimal):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "0.00"
        return cell
    if isinstance(value, int):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = "0"
        return cell
    return value


def write_table(columns: Sequence[str], rows: Iterable[Sequence], target, *, xlsx: bool = False) -> None:
    """Write an export to a binary file object, as CSV with BOM or as xlsx."""
    if xlsx:
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet()
        sheet.append(list(columns))
        for row in rows:
            sheet.append([_xlsx_cell(sheet, export_cell(v)) for v in row])
        workbook.save(target)
        return
    stream = io.TextIOWrapper(target, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(stream)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([export_cell(v) for v in row])
    stream.flush()
    stream.detach()


def export_response(request, *, name: str, columns: Sequence[str], rows: Iterable[Sequence]):
    """A browser download of an export: xlsx with `?format=xlsx`, otherwise CSV with BOM."""
    from django.http import HttpResponse

    xlsx = request.GET.get("format") == "xlsx"
    buffer = io.BytesIO()
    write_table(columns, rows, buffer, xlsx=xlsx)
    content_type = (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        if xlsx
        else "text/csv; charset=utf-8"
    )
    response = HttpResponse(buffer.getvalue(), content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{"xlsx" if xlsx else "csv"}"'
    return response
