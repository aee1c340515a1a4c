"""The one XLSX writer (complaints/xlsx.py): streamed, typed cells, safe text, more sheets
past Excel's row limit; read back with openpyxl."""

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal

import openpyxl

from complaints import xlsx


def read(data: bytes):
    return openpyxl.load_workbook(io.BytesIO(data))


def test_cells_are_typed_and_text_is_safe():
    rows = [
        ["a<b & c>", 3, Decimal("1.50"), True, datetime(2026, 3, 10, 10, 30), date(2026, 1, 2)],
        [None, "", "控制\x01字符\x1f", "=1+1", xlsx.ExcelDate(46091.4375), "x" * 40_000],
    ]
    book = read(xlsx.workbook(["A", "B", "C", "D", "E", "F"], rows, sheet="报告"))
    sheet = book.active
    assert book.sheetnames == ["报告"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == ["A", "B", "C", "D", "E", "F"]
    assert values[1][:5] == ["a<b & c>", 3, 1.5, True, datetime(2026, 3, 10, 10, 30)]
    assert values[1][5].date() == date(2026, 1, 2)
    assert values[2][:5] == [None, None, "控制字符", "=1+1", datetime(2026, 3, 10, 10, 30)]
    assert sheet["D3"].data_type == "s"  # a formula-looking text stays text
    assert len(values[2][5]) == xlsx.MAX_TEXT
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:F3"
    assert sheet["A1"].font.b


def test_rows_past_the_limit_continue_on_another_sheet(monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 3)  # header + 2 rows per sheet
    data = b"".join(xlsx.stream_workbook(["n"], ([i] for i in range(5)), sheet="投诉"))
    book = read(data)
    assert book.sheetnames == ["投诉", "投诉 (2)", "投诉 (3)"]
    values = [[r[0] for r in s.iter_rows(values_only=True)] for s in book.worksheets]
    assert values == [["n", 0, 1], ["n", 2, 3], ["n", 4]]


def test_the_stream_is_produced_while_rows_are_consumed():
    consumed = []

    def rows():
        for i in range(50_000):
            consumed.append(i)
            yield [i, f"row {i}"]

    stream = xlsx.stream_workbook(["n", "text"], rows())
    first = next(stream)
    assert first[:2] == b"PK"
    assert len(consumed) < 50_000  # the first bytes came before the last row was read
    rest = b"".join(stream)
    with zipfile.ZipFile(io.BytesIO(first + rest)) as archive:
        assert archive.testzip() is None


def test_empty_table():
    book = read(xlsx.workbook(["only a header"], []))
    assert [list(r) for r in book.active.iter_rows(values_only=True)] == [["only a header"]]
