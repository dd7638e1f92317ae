"""Reading and writing the spreadsheets of DESIGN.md §6.2.

Imports: `.xlsx`, `.xls` or `.csv` (UTF-8, UTF-8 with BOM, GB18030/GBK), read
within the limits of `evalsys.reading`. The header row is looked for among
the first ten rows of each sheet in turn, and a header matches a column when
it differs only by a unit or marker (`销售额（元）`, `经销商编码*`), case,
full-width characters or spaces. Codes, numbers, dates and choices are
NFKC-normalised (`ＳＨ００１` is `SH001`). Every bad row is reported with its
line number and every problem of the row at once; nothing is saved unless
every row is good. Exports: CSV with BOM or `.xlsx`, two-place decimals,
`yes`/`no`, spreadsheet formulas escaped.
"""

import csv
import datetime
import io
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from .bulk import collector_paused
from .reading import HEADER_ROWS, ImportFileError, Limits, sheets, too_many_rows

__all__ = ["ImportFileError"]

TWO_PLACES = Decimal("0.01")
FORMULA_PREFIXES = ("=", "+", "-", "@")


class CellError(ValueError):
    """A cell's value is refused; the message is shown to the user."""


class ImportRefused(Exception):
    """The rows are good but saving them is refused as a whole (e.g. a period frozen since
    the check); nothing is saved and the message is shown to the user."""


def nfkc(value: str) -> str:
    """Full-width letters, digits and punctuation as their ASCII forms: `ＳＨ００１` → `SH001`."""
    return unicodedata.normalize("NFKC", value)


_UNIT_RE = re.compile(r"[(\[【〔《<][^)\]】〕》>]*[)\]】〕》>]")
_MARKER_RE = re.compile(r"[\s_\-*:#·•※★☆]+")


def header_key(header) -> str:
    """A header as compared with the columns: `经销商编码*`, `销售额（元）`, ` Business Manager ` →
    `经销商编码`, `销售额`, `businessmanager`."""
    key = nfkc(str(header)).lower()
    key = _UNIT_RE.sub("", key)
    return _MARKER_RE.sub("", key)


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    required: bool = True
    parse: Callable[[Any], Any] = None
    rule: Any = ""  # shown in the template; defaults to the parser's own rule
    example: Any = None  # the template's example row; defaults to the parser's example

    @property
    def label(self) -> str:
        """The header as a user reading the current language would write it."""
        return self.zh if (get_language() or "").startswith("zh") else self.name

    @property
    def keys(self) -> set[str]:
        return {header_key(self.name), header_key(self.zh)}

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

    def clean_repeated(self, raw, memo: dict):
        """`clean`, remembered in `memo` by text for a column whose cells repeat (`parse.repeats`)."""
        if not getattr(self.parse, "repeats", False) or not isinstance(raw, str):
            return self.clean(raw)
        key = (self.name, raw)
        if key not in memo:
            try:
                memo[key] = (self.clean(raw), None)
            except CellError as exc:
                memo[key] = (None, exc)
        value, error = memo[key]
        if error is not None:
            raise error
        return value

    @property
    def rule_text(self) -> str:
        rule = self.rule or getattr(self.parse, "rule", "") or _("text")
        required = _("required") if self.required else _("optional")
        return _("%(required)s; %(rule)s") % {"required": required, "rule": rule}

    @property
    def example_value(self):
        if self.example is not None:
            return self.example
        return getattr(self.parse, "example", "")


@dataclass(slots=True)
class Row:
    line: int
    values: dict
    errors: list = field(default_factory=list)
    action: str = ""  # new / changed / unchanged, set by the importer
    changes: tuple = ()  # names of the columns a "changed" row changes
    previous: dict | None = None  # column name → the value stored before, for "old → new"
    failed: tuple = ()  # names of the columns whose cell did not parse
    # `index in errors, column label, value` of each error about one cell, flat, for the error
    # list download; kept apart from `errors` (plain strings) so that a row stays small.
    about: tuple = ()

    @property
    def ok(self):
        return not self.errors

    def reject(self, column: "Column", message, value=None) -> None:
        """Add `message` about the row's `column` cell (holding `value`) to its errors."""
        self.about += (len(self.errors), column.label, value)
        self.errors.append(column.error(message))

    def has(self, *names) -> bool:
        """Whether each named cell was read (a cell that failed to parse is not in `values`)."""
        return all(name in self.values for name in names)


@dataclass
class ImportResult:
    rows: list
    file_errors: list = field(default_factory=list)
    saved: bool = False
    counts: dict = field(default_factory=dict)

    @property
    def errors(self):
        """Every problem, as `(line or None, message)`, in file order."""
        return list(self.iter_errors())

    def iter_errors(self):
        for message in self.file_errors:
            yield None, message
        for row in self.rows:
            for message in row.errors:
                yield row.line, message

    @property
    def error_count(self) -> int:
        return len(self.file_errors) + sum(len(row.errors) for row in self.rows)

    @property
    def ok(self):
        return not self.file_errors and all(row.ok for row in self.rows)

    def first_errors(self, limit: int) -> list:
        return list(itertools.islice(self.iter_errors(), limit))

    def error_table(self) -> Iterator[list]:
        """`(line, column, value, message)` of every problem, for the error list download."""
        for message in self.file_errors:
            yield ["", "", "", str(message)]
        for row in self.rows:
            about = {row.about[i]: row.about[i + 1 : i + 3] for i in range(0, len(row.about), 3)}
            for index, message in enumerate(row.errors):
                if index in about:
                    column, value = about[index]
                    prefix = _("%(column)s: %(error)s") % {"column": column, "error": ""}
                    yield [row.line, column, value, message.removeprefix(prefix)]
                else:
                    yield [row.line, "", "", str(message)]


# Cell parsers -------------------------------------------------------------


def described(rule, example):
    """Give a parser the rule and example the import template shows for its columns."""

    def mark(parse):
        parse.rule, parse.example = rule, example
        return parse

    return mark


def text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime.datetime) and value.time() == datetime.time():
        value = value.date()
    return str(value).strip()


@described(gettext_lazy("a code; full-width letters and digits are read as ASCII"), "SH001")
def code(value) -> str:
    """A code or a user name: `ＳＨ００１ ` → `SH001`."""
    return nfkc(text(value)).strip()


@described(gettext_lazy("a number, up to two decimals"), "12345.60")
def parse_decimal(value) -> Decimal:
    if isinstance(value, bool):
        raise CellError(_("not a number: %(value)s") % {"value": value})
    cleaned = nfkc(str(value)).replace(",", "").replace("，", "").replace(" ", "").strip()
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise CellError(_("not a number: %(value)s") % {"value": value}) from None
    if not number.is_finite() or abs(number) >= Decimal("1e12"):
        raise CellError(_("number out of range: %(value)s") % {"value": value})
    return number.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


@described(gettext_lazy("an amount in yuan, not negative, up to two decimals"), "120000.00")
def parse_amount(value) -> Decimal:
    number = parse_decimal(value)
    if number < 0:
        raise CellError(_("must not be negative: %(value)s") % {"value": value})
    return number


@described(gettext_lazy("a whole number"), "2026")
def parse_int(value) -> int:
    number = parse_decimal(value)
    if number != number.to_integral_value():
        raise CellError(_("not a whole number: %(value)s") % {"value": value})
    return int(number)


_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


@described(gettext_lazy("a date like 2026-09-30 (or 2026/9/30, 2026年9月30日)"), "2026-09-30")
def parse_date(value) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    match = _DATE_RE.match(nfkc(str(value)).strip())
    try:
        if not match:
            raise ValueError
        return datetime.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise CellError(_("not a date like 2026-09-30: %(value)s") % {"value": value}) from None


def _year_range_error(value) -> str:
    from .periods import MIN_YEAR, max_year

    return _("the year must be between %(first)s and %(last)s: %(value)s") % {
        "first": MIN_YEAR,
        "last": max_year(),
        "value": value,
    }


@described(gettext_lazy("a month like 2026-09"), "2026-09")
def parse_month_cell(value) -> datetime.date:
    from .periods import PeriodOutOfRange, parse_month_input

    try:
        return parse_month_input(nfkc(value) if isinstance(value, str) else value)
    except PeriodOutOfRange:
        raise CellError(_year_range_error(value)) from None
    except ValueError:
        raise CellError(_("not a month like 2026-09: %(value)s") % {"value": value}) from None


parse_month_cell.repeats = True


@described(gettext_lazy("a quarter like 2026Q3"), "2026Q3")
def parse_quarter_cell(value):
    from .periods import PeriodOutOfRange, Quarter

    try:
        return Quarter.parse(nfkc(value) if isinstance(value, str) else value)
    except PeriodOutOfRange:
        raise CellError(_year_range_error(value)) from None
    except ValueError:
        raise CellError(_("not a quarter like 2026Q3: %(value)s") % {"value": value}) from None


parse_quarter_cell.repeats = True


def choice(mapping: dict) -> Callable[[Any], str]:
    """A parser accepting any key of `mapping` (English or Chinese spelling)."""
    normalized = {nfkc(str(k)).strip().lower(): v for k, v in mapping.items()}
    allowed = ", ".join(str(k) for k in mapping)

    @described(
        _lazy_one_of(allowed), next((k for k in mapping if not str(k).isascii()), next(iter(mapping), ""))
    )
    def parse(value):
        try:
            return normalized[nfkc(text(value)).lower()]
        except KeyError:
            raise CellError(
                _("%(value)s is not one of: %(allowed)s") % {"value": value, "allowed": allowed}
            ) from None

    return parse


def _lazy_one_of(allowed):
    from django.utils.functional import lazy

    return lazy(lambda: _("one of: %(allowed)s") % {"allowed": allowed}, str)()


# Reading ------------------------------------------------------------------


def read_table(content: bytes, filename: str) -> tuple[list[str], list[tuple[int, list]]]:
    """Headers (the first non-blank row) and `(line number, cells)` of the first sheet.

    For reading back exports in tests and tools; imports find their header with `Importer`.
    """
    first = next(sheets(content, filename), None)
    numbered = list(first.rows()) if first else []
    if not numbered:
        raise ImportFileError(_("The file is empty."))
    (_line, header_cells), *body = numbered
    headers = [text(c) if c is not None else "" for c in header_cells]
    width = len(headers)
    return headers, [(line, cells + [""] * (width - len(cells))) for line, cells in body]


def _cells_text(cells) -> list[str]:
    return [text(c) for c in cells if c is not None and text(c)]


# Importing ----------------------------------------------------------------


class Importer:
    """One kind of file. Subclasses declare `columns` and implement `check` and `save`.

    `check(rows)` receives every row, including those with a cell that did not
    parse (that cell is missing from `row.values`, see `Row.has`), so that every
    problem of a row is reported at once. It looks up what the rows refer to in
    a few set-wise queries, adds row errors and sets each row's `action`.
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

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def reject(self, row: Row, name: str, message) -> None:
        """Add `message` about the row's `name` cell to its errors."""
        row.reject(self.column(name), message, row.values.get(name))

    def match_headers(self, headers: list) -> tuple[dict[int, Column], list[Column]]:
        """`(column index → Column, required columns not found)` for one candidate header row."""
        by_key = {}
        for column in self.columns:
            for key in column.keys:
                by_key.setdefault(key, column)
        mapping = {}
        for index, header in enumerate(headers):
            if header is None:
                continue
            column = by_key.get(header_key(header))
            if column and column not in mapping.values():
                mapping[index] = column
        missing = [c for c in self.columns if c.required and c not in mapping.values()]
        return mapping, missing

    def header_map(self, headers: list[str]) -> dict[int, Column]:
        mapping, missing = self.match_headers(headers)
        if missing:
            raise ImportFileError(self._missing_message(missing, headers))
        return mapping

    def _missing_message(self, missing, headers) -> str:
        names = ", ".join(f"{c.name}/{c.zh}" for c in missing)
        seen = ", ".join(_cells_text(headers))
        return _("Missing columns: %(columns)s. Headers seen: %(seen)s") % {"columns": names, "seen": seen}

    def find_header(self, content: bytes, filename: str, limits: Limits):
        """`(mapping, header line, rows after it)` of the first sheet holding the headers
        within its first ten non-blank rows."""
        best = None  # ((columns matched, cells filled), headers, missing) of the likeliest header row
        for sheet in sheets(content, filename, limits):
            rows = sheet.rows()
            for _index, (line, cells) in zip(range(HEADER_ROWS), rows, strict=False):
                mapping, missing = self.match_headers(cells)
                if not missing:
                    return mapping, line, rows
                score = (len(mapping), len(_cells_text(cells)))
                if best is None or score > best[0]:
                    best = (score, cells, missing)
            rows.close()
        if best is None:
            raise ImportFileError(_("The file is empty."))
        raise ImportFileError(self._missing_message(best[2], best[1]))

    def parse(self, content: bytes, filename: str) -> ImportResult:
        limits = Limits.from_settings()
        rows = []
        # cells that repeat down a file (the month of every row) are read once per distinct text
        memo = {}
        try:
            mapping, _line, body = self.find_header(content, filename, limits)
            for line, cells in body:
                if len(rows) >= limits.rows:
                    raise too_many_rows(limits)
                row = Row(line=line, values={})
                for index, column in mapping.items():
                    raw = cells[index] if index < len(cells) else None
                    try:
                        row.values[column.name] = column.clean_repeated(raw, memo)
                    except CellError as exc:
                        row.reject(column, exc, raw)
                        row.failed += (column.name,)
                rows.append(row)
        except ImportFileError as exc:
            return ImportResult(rows=[], file_errors=[str(exc)])
        if not rows:
            return ImportResult(rows=[], file_errors=[_("The file has a header but no rows.")])
        self.check(rows)
        return ImportResult(rows=rows)

    def run(self, content: bytes, filename: str, *, dry_run: bool = False) -> ImportResult:
        """Parse and check the file; unless `dry_run` or any row is bad, save it all."""
        with collector_paused():  # a row object per line
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

    def template(self, target) -> None:
        """Write the import template: Chinese headers, an example row, and each column's rules."""
        write_template(self.columns, target)


def duplicates_in_file(rows: list[Row], key: Callable[[Row], Any], label: str) -> None:
    """Mark every row whose key appeared on an earlier line (rows whose key cells failed are skipped)."""
    seen = {}
    for row in rows:
        try:
            k = key(row)
        except KeyError:
            continue
        if k in seen:
            row.errors.append(
                _("duplicate %(what)s, already on line %(line)s") % {"what": label, "line": seen[k]}
            )
        else:
            seen[k] = row.line


def write_template(columns: Sequence[Column], target) -> None:
    """An xlsx with the Chinese headers and an example row on the first sheet, the rules on the second."""
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Template")
    sheet.append([column.zh for column in columns])
    sheet.append([_example_cell(column) for column in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for cell in sheet[2]:
        cell.font = Font(italic=True, color="808080")
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(
            12, 2 * len(column.zh) + 4
        )
    sheet.freeze_panes = "A2"
    rules = workbook.create_sheet(_("Rules"))
    rules.append([_("Chinese header"), _("English header"), _("Rule"), _("Example")])
    for cell in rules[1]:
        cell.font = Font(bold=True)
    for column in columns:
        rules.append([column.zh, column.name, str(column.rule_text), _example_cell(column)])
    rules.append([])
    rules.append(
        [
            _(
                "The header row may be preceded by title rows; replace the example row with your data. "
                "Nothing is saved unless every row is good."
            )
        ]
    )
    rules.column_dimensions["A"].width = 16
    rules.column_dimensions["B"].width = 18
    rules.column_dimensions["C"].width = 70
    rules.column_dimensions["D"].width = 16
    workbook.save(target)


def _example_cell(column: Column):
    """The example as Excel should hold it: amounts and counts as numbers, the rest as text."""
    value = column.example_value
    if column.parse in (parse_decimal, parse_amount, parse_int):
        return float(column.parse(value)) if column.parse is not parse_int else column.parse(value)
    return str(value) if value is not None else ""


def count_text(counts: dict) -> str:
    """`{"new": 2, "changed": 1}` → "2 new, 1 changed" in the user's language."""
    labels = {
        "new": lambda n: ngettext("%(count)s new", "%(count)s new", n),
        "changed": lambda n: ngettext("%(count)s changed", "%(count)s changed", n),
        "unchanged": lambda n: ngettext("%(count)s unchanged", "%(count)s unchanged", n),
    }
    parts = []
    for action, number in sorted(counts.items()):
        label = labels.get(action)
        parts.append(label(number) % {"count": number} if label else f"{number} {action}")
    return ", ".join(parts)


# Exporting ----------------------------------------------------------------


_NUMBER_RE = re.compile(r"^[-+]?\d+(\.\d+)?$")


def formula_safe(value):
    """Text that a spreadsheet would run as a formula, prefixed with `'`; numbers as text stay."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _NUMBER_RE.match(value):
        return "'" + value
    return value


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
