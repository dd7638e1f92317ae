import datetime
import io
from decimal import Decimal

import pytest
from django.utils import translation
from openpyxl import Workbook, load_workbook

from evalsys.tabular import (
    CellError,
    Column,
    Importer,
    ImportFileError,
    choice,
    duplicates_in_file,
    export_cell,
    parse_amount,
    parse_date,
    parse_decimal,
    parse_int,
    parse_month_cell,
    parse_quarter_cell,
    read_table,
    write_table,
)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


class FruitImporter(Importer):
    """A small importer to drive the framework: no database."""

    columns = (
        Column("code", "编码"),
        Column("price", "价格", parse=parse_amount),
        Column("note", "备注", required=False),
    )

    def check(self, rows):
        duplicates_in_file(rows, lambda r: r.values["code"], "code")
        for row in rows:
            row.action = "new"

    def save(self, rows):
        self.saved = [row.values for row in rows]
        return {"new": len(rows)}


CSV_TEXT = "编码,价格,备注\n苹果,3.5,红富士\n梨,12,\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_is_read_in_every_encoding_excel_writes(encoding):
    headers, rows = read_table(CSV_TEXT.encode(encoding), "fruit.csv")
    assert headers == ["编码", "价格", "备注"]
    assert rows == [(2, ["苹果", "3.5", "红富士"]), (3, ["梨", "12", ""])]


def test_a_csv_in_another_encoding_is_refused():
    with pytest.raises(ImportFileError, match="neither UTF-8 nor GB18030"):
        read_table("code\n\udcff".encode("utf-16", "surrogatepass"), "fruit.csv")


def test_chinese_and_english_headers_map_to_the_same_columns():
    english = FruitImporter().parse(b"Code,PRICE\nx,1\n", "f.csv")
    chinese = FruitImporter().parse("编码,价格\nx,1\n".encode(), "f.csv")
    assert english.rows[0].values == chinese.rows[0].values == {"code": "x", "price": Decimal("1.00")}


def test_missing_required_columns_are_named():
    result = FruitImporter().parse(b"note\nx\n", "f.csv")
    assert result.file_errors == ["Missing columns: code/编码, price/价格. Headers seen: note"]
    assert not result.ok


def test_an_empty_file_is_refused():
    assert FruitImporter().parse(b"", "f.csv").file_errors == ["The file is empty."]
    assert FruitImporter().parse(b"\n,,\n", "f.csv").file_errors == ["The file is empty."]


def test_a_header_only_file_is_refused():
    result = FruitImporter().parse(b"code,price\n", "f.csv")
    assert result.file_errors == ["The file has a header but no rows."]


def test_bytes_that_are_no_workbook_named_xlsx_are_refused():
    result = FruitImporter().parse(b"code,price\nx,1\n", "f.xlsx")
    assert result.file_errors == ["The file is not a readable Excel workbook (.xlsx or .xls)."]


def test_other_file_types_are_refused():
    result = FruitImporter().parse(b"code,price\nx,1\n", "f.txt")
    assert result.file_errors == ["Only .xlsx, .xls and .csv files can be imported."]


def test_binary_content_named_csv_is_refused():
    result = FruitImporter().parse(b"code\x00price\n", "f.csv")
    assert result.file_errors == ["The file is not a text CSV file."]


def test_an_xlsx_first_sheet_is_read_with_line_numbers_skipping_blank_rows():
    # given
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["code", "price"])
    sheet.append(["a", 1.5])
    sheet.append([None, None])
    sheet.append([1001, 2])
    buffer = io.BytesIO()
    workbook.save(buffer)
    # when
    result = FruitImporter().parse(buffer.getvalue(), "f.xlsx")
    # then
    assert [(r.line, r.values) for r in result.rows] == [
        (2, {"code": "a", "price": Decimal("1.50")}),
        (4, {"code": "1001", "price": Decimal("2.00")}),
    ]


def test_cell_errors_name_the_column_and_every_bad_row_is_reported():
    result = FruitImporter().parse(b"code,price\na,-1\n,x\nb,2\nb,3\n", "f.csv")
    assert result.errors == [
        (2, "price: must not be negative: -1"),
        (3, "code: required"),
        (3, "price: not a number: x"),
        (5, "duplicate code, already on line 4"),
    ]


def test_run_saves_nothing_when_any_row_is_bad():
    importer = FruitImporter()
    result = importer.run(b"code,price\na,1\nb,x\n", "f.csv")
    assert not result.saved
    assert not hasattr(importer, "saved")


@pytest.mark.django_db
def test_run_saves_a_good_file_and_a_dry_run_does_not():
    dry = FruitImporter()
    assert not dry.run(b"code,price\na,1\n", "f.csv", dry_run=True).saved
    assert not hasattr(dry, "saved")
    real = FruitImporter()
    result = real.run(b"code,price\na,1\n", "f.csv")
    assert result.saved
    assert result.counts == {"new": 1}
    assert real.saved == [{"code": "a", "price": Decimal("1.00")}]


# Cell parsers


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.565", Decimal("1234.57")),
        ("1，000", Decimal("1000.00")),
        (2.005, Decimal("2.01")),
        (" -3 ", Decimal("-3.00")),
        (7, Decimal("7.00")),
    ],
)
def test_decimals_are_read_with_two_places_rounded_half_up(raw, expected):
    assert parse_decimal(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "NaN", "1e13", True, "Infinity"])
def test_non_numbers_are_refused(raw):
    with pytest.raises(CellError):
        parse_decimal(raw)


def test_whole_numbers_must_be_whole():
    assert parse_int("12") == 12
    with pytest.raises(CellError, match="not a whole number"):
        parse_int("1.5")


@pytest.mark.parametrize(
    "raw", ["2026-09-30", "2026/9/30", "2026.09.30", "2026年9月30日", datetime.datetime(2026, 9, 30, 0, 0)]
)
def test_dates_are_read_in_the_spellings_offices_use(raw):
    assert parse_date(raw) == datetime.date(2026, 9, 30)


@pytest.mark.parametrize("raw", ["2026-02-30", "30/09/2026", "tomorrow"])
def test_impossible_dates_are_refused(raw):
    with pytest.raises(CellError, match="not a date"):
        parse_date(raw)


def test_months_and_quarters_are_read():
    assert parse_month_cell("2026-09") == datetime.date(2026, 9, 1)
    assert str(parse_quarter_cell("2026Q3")) == "2026Q3"
    with pytest.raises(CellError, match="not a month"):
        parse_month_cell("2026-13")
    with pytest.raises(CellError, match="not a quarter"):
        parse_quarter_cell("2026Q5")


def test_choices_accept_english_and_chinese_spellings_in_any_case():
    parse = choice({"exclusive": "exclusive", "专营": "exclusive"})
    assert parse("Exclusive") == parse("专营") == "exclusive"
    with pytest.raises(CellError, match="retail is not one of: exclusive, 专营"):
        parse("retail")


# Exports


def test_export_cells_follow_the_export_rules():
    assert export_cell(None) == ""
    assert export_cell(True) == "yes"
    assert export_cell(False) == "no"
    assert export_cell(Decimal("1.005")) == Decimal("1.01")
    assert export_cell(Decimal("3")) == Decimal("3.00")
    assert export_cell(42) == 42
    assert export_cell(datetime.date(2026, 9, 1)) == "2026-09-01"
    for dangerous in ("=1+1", "+1", "-2", "@SUM(A1)"):
        assert export_cell(dangerous) == "'" + dangerous
    assert export_cell("上海") == "上海"


ROWS = [
    ["SH001", Decimal("1234.5"), 3, True, None, '=HYPERLINK("x")', Decimal("-0.125")],
    ["SH002", Decimal("0"), 0, False, "备注", "-", None],
]
COLUMNS = ["dealer", "amount", "count", "flag", "note", "text", "score"]


def test_csv_exports_have_a_bom_two_place_decimals_and_escaped_formulas():
    # when
    buffer = io.BytesIO()
    write_table(COLUMNS, ROWS, buffer)
    # then
    content = buffer.getvalue()
    assert content.startswith(b"\xef\xbb\xbf")
    assert content.decode("utf-8-sig").splitlines() == [
        "dealer,amount,count,flag,note,text,score",
        'SH001,1234.50,3,yes,,"\'=HYPERLINK(""x"")",-0.13',
        "SH002,0.00,0,no,备注,'-,",
    ]


def test_xlsx_exports_keep_numbers_as_numbers_with_number_formats():
    # when
    buffer = io.BytesIO()
    write_table(COLUMNS, ROWS, buffer, xlsx=True)
    # then
    sheet = load_workbook(io.BytesIO(buffer.getvalue())).worksheets[0]
    header, first, second = sheet.iter_rows()
    assert [c.value for c in header] == COLUMNS
    assert [c.value for c in first] == ["SH001", 1234.5, 3, "yes", None, '\'=HYPERLINK("x")', -0.13]
    assert first[1].data_type == "n" and first[1].number_format == "0.00"
    assert first[2].data_type == "n" and first[2].number_format == "0"
    assert first[6].number_format == "0.00"
    assert first[5].data_type == "s"
    assert [c.value for c in second][:4] == ["SH002", 0, 0, "no"]


def test_an_export_reads_back_through_the_import_reader():
    buffer = io.BytesIO()
    write_table(COLUMNS, ROWS, buffer)
    headers, rows = read_table(buffer.getvalue(), "x.csv")
    assert headers == COLUMNS
    assert rows[0][1][:4] == ["SH001", "1234.50", "3", "yes"]


def test_cell_errors_name_the_column_in_the_readers_language():
    with translation.override("zh-hans"):
        result = FruitImporter().parse("code,price\n苹果,贵\n".encode(), "f.csv")
    assert result.errors == [(2, "价格：不是数字：贵")]
    with translation.override("en"):
        result = FruitImporter().parse("code,price\n苹果,贵\n".encode(), "f.csv")
    assert result.errors == [(2, "price: not a number: 贵")]


def test_a_repeated_month_is_read_once_and_each_bad_one_still_named(db, monkeypatch):
    # given a sales file whose 300 rows share two months, one of them out of range
    from dealers.targets.imports import SalesImporter
    from evalsys import periods

    calls = []
    original = periods.parse_month_input

    def counting(value):
        calls.append(value)
        return original(value)

    monkeypatch.setattr(periods, "parse_month_input", counting)
    lines = ["经销商编码,月份,销售额"] + [
        f"X{n:03d},{'2026-09' if n % 2 else '1999-09'},100" for n in range(300)
    ]
    result = SalesImporter().parse(("\n".join(lines) + "\n").encode(), "sales.csv")
    # then each distinct month was parsed once, and every row with the bad month has its error
    assert len(calls) == 2
    bad = [row for row in result.rows if any("1999" in e for e in row.errors)]
    assert len(bad) == 150
