"""Hostile spreadsheets built in the test, a few KB each (issue 11, DESIGN.md §6.2 limits)."""

import io
import zipfile

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
SALES_HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>dealer</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>month</t></is></c>'
    '<c r="C1" t="inlineStr"><is><t>amount</t></is></c></row>'
)


def _pack(parts: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _chunks(*pieces):
    """Stream parts into the zip without building them in memory."""
    for piece in pieces:
        yield piece.encode() if isinstance(piece, str) else piece


def workbook(sheet_xml_pieces, shared_strings_pieces=None) -> bytes:
    """An xlsx whose sheet (and shared strings) are written from the given pieces, streamed."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", ROOT_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            for piece in _chunks(*sheet_xml_pieces):
                member.write(piece)
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as member:
            pieces = shared_strings_pieces or [
                '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="0"/>'
            ]
            for piece in _chunks(*pieces):
                member.write(piece)
    return buffer.getvalue()


def _repeat(piece: str, times: int, batch: int = 10_000):
    chunk = piece * batch
    for _ in range(times // batch):
        yield chunk
    yield piece * (times % batch)


def declared_whole_sheet() -> bytes:
    """Declares A1:XFD1048576 and holds one cell in its very last row and column."""
    return workbook(
        [
            SHEET_HEAD,
            '<dimension ref="A1:XFD1048576"/><sheetData>',
            SALES_HEADER_ROW,
            '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
            "</sheetData></worksheet>",
        ]
    )


def declared_whole_sheet_far_row() -> bytes:
    """Declares A1:XFD1048576; one data row in the last row, within the columns."""
    return workbook(
        [
            SHEET_HEAD,
            '<dimension ref="A1:XFD1048576"/><sheetData>',
            SALES_HEADER_ROW,
            '<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>SH001</t></is></c>'
            '<c r="B1048576" t="inlineStr"><is><t>2026-01</t></is></c><c r="C1048576"><v>5</v></c></row>',
            "</sheetData></worksheet>",
        ]
    )


def huge_shared_strings(count: int = 3_000_000) -> bytes:
    """Millions of tiny shared strings (the table alone, not the sheet, is the bomb)."""
    return workbook(
        [SHEET_HEAD, "<sheetData>", SALES_HEADER_ROW, "</sheetData></worksheet>"],
        [
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">',
            *_repeat("<si><t>x</t></si>", count),
            "</sst>",
        ],
    )


def long_shared_string(chars: int = 150_000_000) -> bytes:
    """One shared string of 150 million characters."""
    return workbook(
        [SHEET_HEAD, "<sheetData>", SALES_HEADER_ROW, "</sheetData></worksheet>"],
        [
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>',
            *_repeat("x", chars, batch=1_000_000),
            "</t></si></sst>",
        ],
    )


def many_rows(rows: int) -> bytes:
    """A sales sheet with `rows` data rows (the same row, so it packs to a few KB)."""
    row = (
        '<row><c t="inlineStr"><is><t>SH001</t></is></c><c t="inlineStr"><is><t>2026-01</t></is></c>'
        "<c><v>5</v></c></row>"
    )
    return workbook(
        [SHEET_HEAD, "<sheetData>", SALES_HEADER_ROW, *_repeat(row, rows), "</sheetData></worksheet>"]
    )


def zip_bomb(unpacked: int = 300_000_000) -> bytes:
    """A sheet padded with 300 MB of spaces between its elements (packs to about 300 KB)."""
    return workbook(
        [
            SHEET_HEAD,
            "<sheetData>",
            SALES_HEADER_ROW,
            *_repeat(" ", unpacked, batch=10_000_000),
            "</sheetData></worksheet>",
        ]
    )


def hyperlink_bomb(count: int = 5_000_000) -> bytes:
    """Millions of elements outside the rows, which a whole-element reader would hold at once."""
    return workbook(
        [
            SHEET_HEAD,
            "<sheetData>",
            SALES_HEADER_ROW,
            "</sheetData><hyperlinks>",
            *_repeat('<hyperlink ref="A1"/>', count),
            "</hyperlinks></worksheet>",
        ]
    )


def wide_row() -> bytes:
    """A filled cell in column 60 (BH)."""
    return workbook(
        [
            SHEET_HEAD,
            "<sheetData>",
            SALES_HEADER_ROW,
            '<row r="2"><c r="A2" t="inlineStr"><is><t>SH001</t></is></c><c r="BH2"><v>1</v></c></row>',
            "</sheetData></worksheet>",
        ]
    )
