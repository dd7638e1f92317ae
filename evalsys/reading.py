"""Bounded reading of uploaded spreadsheets: `.xlsx`, `.xls` and `.csv` (DESIGN.md §6.2).

A file is refused with a clear message, quickly and within a small memory
budget, whatever it declares about itself: more than `IMPORT_MAX_ROWS` rows,
a filled cell beyond the 50th column, more than 200 MB unpacked, too many or
too long shared strings. Nothing here pads a row to a declared width or
fills the gap up to a far-away row: rows are streamed as they are stored and
only the cells that hold something are kept.

`sheets(content, filename)` yields one `Sheet` per worksheet, in workbook
order; each sheet's `rows()` yields `(line number, cells)` for its non-blank
rows, `cells` a list no longer than the last filled column.
"""

import codecs
import csv
import datetime
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _
from lxml import etree

MAX_COLUMNS = 50
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_SHARED_STRINGS = 1_000_000
MAX_SHARED_STRING_CHARS = 20_000_000
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
MAX_PART_BYTES = 20 * 1024 * 1024  # workbook, styles, relationships: small in any real file
MAX_ZIP_MEMBERS = 10_000
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_COLUMNS = 16_384
SUFFIXES = (".xlsx", ".xls", ".csv")


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong type, encoding, headers, size)."""


@dataclass(frozen=True)
class Limits:
    rows: int
    columns: int = MAX_COLUMNS
    unpacked_bytes: int = MAX_UNPACKED_BYTES
    shared_strings: int = MAX_SHARED_STRINGS
    shared_string_chars: int = MAX_SHARED_STRING_CHARS

    @classmethod
    def from_settings(cls) -> "Limits":
        return cls(rows=settings.IMPORT_MAX_ROWS)


@dataclass
class Sheet:
    name: str
    rows: Callable[[], Iterator[tuple[int, list]]]


def sheets(content: bytes, filename: str, limits: Limits | None = None) -> Iterator[Sheet]:
    """The worksheets of an uploaded file; the kind is told by its content, then by its name."""
    limits = limits or Limits.from_settings()
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        raise ImportFileError(_("Only .xlsx, .xls and .csv files can be imported."))
    if content[:4] == b"PK\x03\x04":
        return _xlsx_sheets(content, limits)
    if content[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return _xls_sheets(content, limits)
    if suffix == ".csv":
        return iter([Sheet(Path(filename).stem, lambda: _csv_rows(content, limits))])
    raise ImportFileError(_("The file is not a readable Excel workbook (.xlsx or .xls)."))


def too_many_rows(limits: Limits) -> ImportFileError:
    return ImportFileError(
        _("The file has more than %(count)s rows; split it into smaller files.") % {"count": limits.rows}
    )


def _too_many_columns(limits: Limits, line: int) -> ImportFileError:
    return ImportFileError(
        _("Line %(line)s has a value beyond column %(count)s; a file may have at most %(count)s columns.")
        % {"line": line, "count": limits.columns}
    )


def _too_big(limits: Limits) -> ImportFileError:
    return ImportFileError(
        _("The workbook unpacks to more than %(size)s MB.") % {"size": limits.unpacked_bytes // 2**20}
    )


def _damaged() -> ImportFileError:
    return ImportFileError(_("The file is not a readable .xlsx workbook."))


def _filled(value) -> bool:
    return value is not None and (not isinstance(value, str) or value.strip() != "")


def _row_cells(found: dict[int, object], line: int, limits: Limits) -> list:
    """Cells by 1-based column → a list up to the last filled column."""
    if not found:
        return []
    last = max(found)
    if last > limits.columns:
        raise _too_many_columns(limits, line)
    cells = [None] * last
    for column, value in found.items():
        cells[column - 1] = value
    return cells


# CSV ----------------------------------------------------------------------

ENCODINGS = ("utf-8-sig", "gb18030")


def _csv_encoding(content: bytes) -> str:
    """The first of ENCODINGS that decodes the whole file, checked in pieces (no decoded copy)."""
    view = memoryview(content)
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for start in range(0, len(view), 1 << 20):
                decoder.decode(view[start : start + (1 << 20)])
            decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("The CSV file is neither UTF-8 nor GB18030/GBK encoded."))


def _csv_rows(content: bytes, limits: Limits) -> Iterator[tuple[int, list]]:
    encoding = _csv_encoding(content)
    if b"\x00" in content:
        raise ImportFileError(_("The file is not a text CSV file."))
    stream = io.TextIOWrapper(io.BytesIO(content), encoding=encoding, newline="")
    reader = csv.reader(stream)
    filled_rows = 0
    try:
        for line, cells in enumerate(reader, start=1):
            found = {i: c for i, c in enumerate(cells, start=1) if c and not c.isspace()}
            if not found:
                continue
            filled_rows += 1
            if filled_rows > limits.rows + HEADER_ROWS:
                raise too_many_rows(limits)
            yield line, _row_cells(found, line, limits)
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from None


# The rows a header may be preceded by: title rows, notes, blank lines.
HEADER_ROWS = 10


# XLSX ---------------------------------------------------------------------

REL_OFFICE_DOCUMENT = "/officeDocument"
REL_WORKSHEET = "/worksheet"
REL_SHARED_STRINGS = "/sharedStrings"
REL_STYLES = "/styles"
# Built-in number formats that show a date or time; 27–36 and 50–58 are the
# East Asian ones Excel writes on Chinese Windows (e.g. 31: yyyy"年"m"月"d"日").
DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_REF_RE = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


def _local(tag) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


# The elements the row and string readers act on, in both namespaces Excel writes.
_V, _T, _C, _ROW, _SI, _PHONETIC, _SHEET_DATA = "v", "t", "c", "row", "si", "rPh", "sheetData"
_KINDS = {
    f"{{{namespace}}}{name}": name
    for namespace in (
        "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "http://purl.oclc.org/ooxml/spreadsheetml/main",
    )
    for name in (_V, _T, _C, _ROW, _SI, _PHONETIC, _SHEET_DATA)
}


def _syntax_error(exc) -> ImportFileError:
    if "huge" in str(exc).lower():  # libxml2 refuses a text node of more than 10 MB
        return ImportFileError(
            _("A text cell is longer than %(count)s characters.") % {"count": MAX_CELL_CHARS}
        )
    return _damaged()


def _row_number(cell, line: int) -> int:
    row = cell.getparent()
    number = row.get("r") if row is not None else None
    return int(number) if number and number.isdigit() else line + 1


class _Budget:
    """Bytes actually unpacked so far, across every part of one workbook."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.left = limits.unpacked_bytes

    def take(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise _too_big(self.limits)


class _CountingReader(io.RawIOBase):
    """A zip member read through the workbook's budget and its own declared size."""

    def __init__(self, member, declared: int, budget: _Budget):
        self.member, self.declared, self.budget, self.read_so_far = member, declared, budget, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.member.read(len(buffer))
        self.read_so_far += len(data)
        if self.read_so_far > self.declared:
            raise _damaged()
        self.budget.take(len(data))
        buffer[: len(data)] = data
        return len(data)

    def close(self):
        self.member.close()
        super().close()


def _iterparse(source, events=("end",)):
    return etree.iterparse(
        source,
        events=events,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def _forget(element) -> None:
    """Free what the parser built for an element already used."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


class _Workbook:
    def __init__(self, content: bytes, limits: Limits):
        self.limits = limits
        try:
            self.archive = zipfile.ZipFile(io.BytesIO(content))
            infos = self.archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise _damaged() from None
        if len(infos) > MAX_ZIP_MEMBERS:
            raise _damaged()
        if sum(info.file_size for info in infos) > limits.unpacked_bytes:
            raise _too_big(limits)
        self.sizes = {info.filename: info.file_size for info in infos}
        self.budget = _Budget(limits)

    def open(self, name: str):
        if name not in self.sizes:
            raise _damaged()
        try:
            member = self.archive.open(name)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError):
            raise _damaged() from None
        return io.BufferedReader(_CountingReader(member, self.sizes[name], self.budget), 1 << 16)

    def tree(self, name: str):
        """A small part (workbook, relationships, styles) parsed whole."""
        if self.sizes.get(name, 0) > MAX_PART_BYTES:
            raise _too_big(self.limits)
        with self.open(name) as source:
            data = source.read()
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        return etree.fromstring(data, parser)

    def relationships(self, part: str) -> list[tuple[str, str, str]]:
        """`(id, type, target path)` of a part's relationships."""
        folder, _slash, name = part.rpartition("/")
        rels = f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"
        if rels not in self.sizes:
            return []
        found = []
        for element in self.tree(rels):
            if _local(element.tag) != "Relationship":
                continue
            target = element.get("Target", "")
            if element.get("TargetMode") == "External":
                continue
            if target.startswith("/"):
                path = target[1:]
            else:
                parts = folder.split("/") if folder else []
                for piece in target.split("/"):
                    if piece == "..":
                        parts = parts[:-1]
                    elif piece and piece != ".":
                        parts.append(piece)
                path = "/".join(parts)
            found.append((element.get("Id", ""), element.get("Type", ""), path))
        return found

    def read(self) -> list[Sheet]:
        office = [t for _i, kind, t in self.relationships("") if kind.endswith(REL_OFFICE_DOCUMENT)]
        workbook_part = office[0] if office else "xl/workbook.xml"
        workbook = self.tree(workbook_part)
        rels = {rid: (kind, target) for rid, kind, target in self.relationships(workbook_part)}
        epoch_1904 = False
        declared = []
        for element in workbook.iter():
            tag = _local(element.tag)
            if tag == "workbookPr":
                epoch_1904 = element.get("date1904", "0").lower() in ("1", "true")
            elif tag == "sheet":
                rid = next((v for k, v in element.attrib.items() if _local(k) == "id"), None)
                kind, target = rels.get(rid, ("", ""))
                if kind.endswith(REL_WORKSHEET) and target in self.sizes:
                    declared.append((element.get("name", ""), target))
        self.epoch = datetime.datetime(1904, 1, 1) if epoch_1904 else datetime.datetime(1899, 12, 30)
        self.date_styles = set()
        self.strings = []
        for _rid, (kind, target) in rels.items():
            if kind.endswith(REL_STYLES) and target in self.sizes:
                self.date_styles = self._date_styles(target)
            elif kind.endswith(REL_SHARED_STRINGS) and target in self.sizes:
                self.strings = self._shared_strings(target)
        return [Sheet(name, lambda target=target: self._rows(target)) for name, target in declared]

    def _date_styles(self, part: str) -> set[int]:
        from openpyxl.styles.numbers import is_date_format

        styles = self.tree(part)
        custom = {}
        date_styles = set()
        for element in styles.iter():
            if _local(element.tag) == "numFmt":
                custom[element.get("numFmtId")] = element.get("formatCode", "")
        for element in styles.iter():
            if _local(element.tag) != "cellXfs":
                continue
            for index, xf in enumerate(x for x in element if _local(x.tag) == "xf"):
                format_id = xf.get("numFmtId", "0")
                if format_id in custom:
                    is_date = is_date_format(custom[format_id])
                else:
                    is_date = format_id.isdigit() and int(format_id) in DATE_FORMAT_IDS
                if is_date:
                    date_styles.add(index)
        return date_styles

    def _count_strings(self, part: str) -> int:
        """How many `<si` a shared-strings part holds, counted on the bytes (fast) before parsing."""
        count, tail = 0, b""
        with self.archive.open(part) as source:
            while chunk := source.read(1 << 20):
                buffer = tail + chunk
                cut = buffer.rfind(b">") + 1
                count += buffer.count(b"<si>", 0, cut) + buffer.count(b"<si ", 0, cut)
                count += buffer.count(b":si>", 0, cut) + buffer.count(b":si ", 0, cut)
                tail = buffer[cut:][-16:]
        return count

    def _too_many_strings(self) -> ImportFileError:
        return ImportFileError(
            _("The workbook holds more than %(count)s different texts or %(chars)s characters of text.")
            % {"count": self.limits.shared_strings, "chars": self.limits.shared_string_chars}
        )

    def _shared_strings(self, part: str) -> list[str]:
        limits = self.limits
        try:
            if self._count_strings(part) > limits.shared_strings:
                raise self._too_many_strings()
        except (zipfile.BadZipFile, OSError, EOFError):
            raise _damaged() from None
        strings, chars, current = [], 0, []
        with self.open(part) as source:
            try:
                for _event, element in _iterparse(source):
                    kind = _KINDS.get(element.tag)
                    if kind is _T:
                        if _KINDS.get(element.getparent().tag) is not _PHONETIC:
                            current.append(element.text or "")
                    elif kind is _SI:
                        value = "".join(current)
                        current = []
                        chars += len(value)
                        if len(value) > MAX_CELL_CHARS:
                            raise ImportFileError(
                                _("A text cell is longer than %(count)s characters.")
                                % {"count": MAX_CELL_CHARS}
                            )
                        if len(strings) >= limits.shared_strings or chars > limits.shared_string_chars:
                            raise self._too_many_strings()
                        strings.append(value)
                    _forget(element)
            except etree.XMLSyntaxError as exc:
                raise _syntax_error(exc) from None
        return strings

    def _rows(self, part: str) -> Iterator[tuple[int, list]]:
        """Rows as stored, on `end` events only: a cell's value and text are taken as they close,
        and every element is freed once used, so no part of the sheet piles up in memory."""
        limits = self.limits
        line = filled_rows = column = cells_in_row = 0
        found = {}
        value_text, inline = None, []
        with self.open(part) as source:
            try:
                for _event, element in _iterparse(source):
                    kind = _KINDS.get(element.tag)
                    if kind is _V:
                        value_text = element.text
                    elif kind is _T:
                        if _KINDS.get(element.getparent().tag) is not _PHONETIC:
                            inline.append(element.text or "")
                    elif kind is _C:
                        ref = element.get("r")
                        match = _REF_RE.match(ref) if ref else None
                        column = _column_index(match[1]) if match else column + 1
                        cells_in_row += 1
                        if column > EXCEL_MAX_COLUMNS or cells_in_row > EXCEL_MAX_COLUMNS:
                            raise _damaged()
                        value = self._cell_value(
                            element.get("t", "n"), element.get("s", "0"), value_text, inline
                        )
                        value_text, inline = None, []
                        if value is not None and (value.__class__ is not str or value.strip()):
                            if column > limits.columns:
                                raise _too_many_columns(limits, _row_number(element, line))
                            found[column] = value
                    elif kind is _ROW:
                        number = element.get("r")
                        line = int(number) if number and number.isdigit() else line + 1
                        if line > EXCEL_MAX_ROWS:
                            raise _damaged()
                        if found:
                            filled_rows += 1
                            if filled_rows > limits.rows + HEADER_ROWS:
                                raise too_many_rows(limits)
                            yield line, _row_cells(found, line, limits)
                            found = {}
                        column = cells_in_row = 0
                    elif kind is _SHEET_DATA:
                        break  # what follows the rows (links, merges, validations) is not read
                    _forget(element)
            except etree.XMLSyntaxError as exc:
                raise _syntax_error(exc) from None

    def _cell_value(self, cell_type, style, text, inline):
        if cell_type == "inlineStr":
            return "".join(inline)
        if text is None:
            return None
        try:
            if cell_type == "s":
                return self.strings[int(text)]
            if cell_type in ("str", "e"):
                return text
            if cell_type == "b":
                return text.strip() in ("1", "true")
            if cell_type == "d":
                return datetime.datetime.fromisoformat(text.strip())
            number = float(text) if any(c in text for c in ".eE") else int(text)
            if style.isdigit() and int(style) in self.date_styles:
                return _from_excel(number, self.epoch)
            return number
        except (ValueError, IndexError, OverflowError):
            raise _damaged() from None


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - ord("A") + 1
    return index


def _from_excel(number, epoch: datetime.datetime):
    """An Excel serial day number as a datetime (with the 1900 leap-year bug of Excel)."""
    if epoch.year == 1899 and number < 60:
        number += 1
    moment = epoch + datetime.timedelta(days=number)
    return moment.replace(microsecond=0) if moment.microsecond >= 999_000 else moment


def _xlsx_sheets(content: bytes, limits: Limits) -> Iterator[Sheet]:
    workbook = _Workbook(content, limits)
    found = workbook.read()
    if not found:
        raise _damaged()
    return iter(found)


# XLS (Excel 97–2003) ------------------------------------------------------


def _xls_sheets(content: bytes, limits: Limits) -> Iterator[Sheet]:
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=content, on_demand=True, ragged_rows=True)
    except Exception:  # xlrd raises many types for a damaged or foreign file
        raise ImportFileError(_("The file is not a readable .xls workbook.")) from None

    def rows(index):
        try:
            sheet = book.sheet_by_index(index)
        except Exception:
            raise ImportFileError(_("The file is not a readable .xls workbook.")) from None
        filled_rows = 0
        for row_index in range(sheet.nrows):
            found = {}
            for col_index, cell in enumerate(sheet.row(row_index), start=1):
                value = _xls_value(cell, book.datemode)
                if _filled(value):
                    found[col_index] = value
            if not found:
                continue
            filled_rows += 1
            if filled_rows > limits.rows + HEADER_ROWS:
                raise too_many_rows(limits)
            yield row_index + 1, _row_cells(found, row_index + 1, limits)
        book.unload_sheet(index)

    return iter([Sheet(name, lambda i=i: rows(i)) for i, name in enumerate(book.sheet_names())])


def _xls_value(cell, datemode):
    import xlrd

    if cell.ctype == xlrd.XL_CELL_DATE:
        try:
            return xlrd.xldate.xldate_as_datetime(cell.value, datemode)
        except (xlrd.xldate.XLDateError, OverflowError, ValueError):
            return cell.value
    if cell.ctype == xlrd.XL_CELL_NUMBER:
        return int(cell.value) if float(cell.value).is_integer() else cell.value
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return bool(cell.value)
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "#ERROR")
    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return None
    return cell.value
