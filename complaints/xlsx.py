# ruff: noqa: E501  (the fixed XML parts read better unwrapped)
"""The one XLSX (Office Open XML) writer: streamed, flat memory at any number of rows.

`stream_workbook(header, rows)` yields the bytes of an .xlsx file while `rows` (any iterable)
is consumed: each row becomes one `<row>` of XML, compressed on the fly by stream-zip (no
temporary file, nothing kept per row). The parts whose content depends on the rows
(workbook.xml with the sheet names, [Content_Types].xml) come after the sheets in the archive,
so a result longer than a sheet's 1,048,576 rows continues on a second sheet. Readers find the
parts through the archive's central directory; their order does not matter.

Values: str (inline strings; characters XML cannot carry are dropped, long texts cut at
Excel's 32,767), int/float/Decimal (numbers), bool (TRUE/FALSE), datetime (an Excel date
number shown as yyyy-mm-dd hh:mm, in the datetime's own wall-clock time: pass local times),
date, None (an empty cell). The header row is bold and frozen, with an autofilter.

`workbook(...)` returns the whole file as bytes for small tables (the monthly report).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from itertools import chain, islice
from stat import S_IFREG
from xml.sax.saxutils import escape

from stream_zip import ZIP_32, stream_zip

MAX_ROWS = 1_048_576  # Excel's limit per sheet, header included
MAX_TEXT = 32_767
CHUNK_BYTES = 64 * 1024
EPOCH = datetime(1899, 12, 30)
# Characters XML 1.0 cannot carry (controls other than tab, newline, carriage return).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_MODE = S_IFREG | 0o600
_STYLE_BOLD, _STYLE_DATETIME, _STYLE_DATE = 1, 2, 3
STYLE_DATETIME = _STYLE_DATETIME
# In raw rows: stands for the row number (a character XML cannot contain, so never data).
ROW_NUMBER = b"\x03"
ILLEGAL_CODES = [*range(1, 9), 11, 12, *range(14, 32), 0xFFFE, 0xFFFF]

_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd\\ hh:mm"/><numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd"/></numFmts>
<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/><xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/><xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
</styleSheet>"""
_SHEET_START = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><cols>{cols}</cols><sheetData>"""


class ExcelDate(float):
    """A date-time already given as Excel's day number (e.g. computed by the database):
    written as a number with the date-time format."""


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def excel_number(value: datetime | date) -> float:
    """Days since 1899-12-30 (Excel's date numbers), wall-clock time of `value`."""
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    delta = value.replace(tzinfo=None) - EPOCH
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86_400_000_000


def clean_text(value: str) -> str:
    if not value.isprintable():  # fast path: most texts have no control characters
        value = _ILLEGAL.sub("", value)
    return value[:MAX_TEXT] if len(value) > MAX_TEXT else value


def _text(value: str) -> str:
    value = clean_text(value)
    if "&" in value or "<" in value or ">" in value:
        value = escape(value)
    return value


def _cell(ref: str, value, style: int = 0) -> str:
    if value is None or value == "":
        return ""
    s = f' s="{style}"' if style else ""
    kind = type(value)
    if kind is str:
        return (
            f'<c r="{ref}" t="inlineStr"{s}><is><t xml:space="preserve">{_text(value)}</t></is></c>'
        )
    if kind is ExcelDate:
        return f'<c r="{ref}" s="{_STYLE_DATETIME}"><v>{value:.10g}</v></c>'
    if kind is bool:
        return f'<c r="{ref}" t="b"{s}><v>{int(value)}</v></c>'
    if kind is int or kind is float or kind is Decimal:
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    if kind is datetime:
        return f'<c r="{ref}" s="{_STYLE_DATETIME}"><v>{excel_number(value):.10g}</v></c>'
    if kind is date:
        return f'<c r="{ref}" s="{_STYLE_DATE}"><v>{excel_number(value):.10g}</v></c>'
    if isinstance(value, bool):
        return _cell(ref, bool(value), style)
    if isinstance(value, (int, float, Decimal)):
        return f'<c r="{ref}"{s}><v>{value}</v></c>'
    if isinstance(value, datetime):
        return _cell(ref, datetime.fromisoformat(value.isoformat()), style)
    if isinstance(value, date):
        return _cell(ref, date(value.year, value.month, value.day), style)
    return _cell(ref, str(value), style)


def _sheet(
    header: Sequence[str], rows: Iterator, widths: Sequence[int] | None, raw: bool = False
) -> Iterator[bytes]:
    """One worksheet: the header and at most MAX_ROWS - 1 rows taken from `rows` (values, or
    with `raw` the rows' cells already as XML bytes, ROW_NUMBER standing for the row number
    in their references)."""
    letters = [column_letter(i) for i in range(len(header))]
    widths = widths or [max(10, min(len(str(h)) * 2 + 2, 40)) for h in header]
    cols = "".join(
        f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>'
        for i, w in enumerate(widths)
    )
    head = "".join(_cell(f"{c}1", h, _STYLE_BOLD) for c, h in zip(letters, header, strict=False))
    parts = [_SHEET_START.format(cols=cols), f'<row r="1">{head}</row>']
    size = 0
    number = 1
    if raw:
        chunk = bytearray("".join(parts).encode())
        for number, cells in enumerate(islice(rows, MAX_ROWS - 1), start=2):
            ref = b"%d" % number
            chunk += b'<row r="' + ref + b'">' + cells.replace(ROW_NUMBER, ref) + b"</row>"
            if len(chunk) >= CHUNK_BYTES:
                yield bytes(chunk)
                chunk.clear()
        last = f"{letters[-1]}{max(number, 1)}" if letters else "A1"
        yield bytes(chunk) + f'</sheetData><autoFilter ref="A1:{last}"/></worksheet>'.encode()
        return
    for number, values in enumerate(islice(rows, MAX_ROWS - 1), start=2):
        cells = "".join(
            _cell(f"{c}{number}", v) for c, v in zip(letters, values, strict=False) if v is not None
        )
        line = f'<row r="{number}">{cells}</row>'
        parts.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield "".join(parts).encode()
            parts.clear()
            size = 0
    last = f"{letters[-1]}{max(number, 1)}" if letters else "A1"
    parts.append(f'</sheetData><autoFilter ref="A1:{last}"/></worksheet>')
    yield "".join(parts).encode()


def _workbook_xml(names: list[str]) -> bytes:
    sheets = "".join(
        f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, name in enumerate(names, start=1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f"<sheets>{sheets}</sheets></workbook>"
    ).encode()


def _workbook_rels(count: int) -> bytes:
    sheets = "".join(
        f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, count + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'{sheets}<Relationship Id="rId{count + 1}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        "</Relationships>"
    ).encode()


def _content_types(count: int) -> bytes:
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, count + 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f"{sheets}</Types>"
    ).encode()


def _sheet_name(base: str, number: int) -> str:
    base = re.sub(r"[\[\]:*?/\\]", " ", base).strip() or "Sheet"
    name = base if number == 1 else f"{base} ({number})"
    return name[:31]


def stream_workbook(
    header: Sequence[str],
    rows: Iterable[Sequence],
    *,
    sheet: str = "Sheet",
    widths: Sequence[int] | None = None,
    now: datetime | None = None,
    compress_level: int = 1,
    raw: bool = False,
) -> Iterator[bytes]:
    """The .xlsx file of `header` and `rows` as chunks of bytes, produced while `rows` is
    consumed (a generator stays a generator: flat memory). `raw`: each row is its cells'
    XML as bytes (e.g. written by the database), with ROW_NUMBER where the row number goes
    in the cell references (`<c r="A\x03" ...>`)."""
    rows = iter(rows)
    modified = (now or datetime.now()).replace(tzinfo=None, microsecond=0)
    names: list[str] = []

    def members():
        pending = rows
        while True:
            number = len(names) + 1
            if number > 1:
                try:
                    first = next(pending)
                except StopIteration:
                    break
                pending = chain([first], pending)
            names.append(_sheet_name(sheet, number))
            yield (
                f"xl/worksheets/sheet{number}.xml",
                modified,
                _MODE,
                ZIP_32,
                _sheet(header, pending, widths, raw),
            )
            # The sheet took at most MAX_ROWS - 1 rows; whatever is left goes on the next.
        yield "xl/styles.xml", modified, _MODE, ZIP_32, (_STYLES.encode(),)
        yield "xl/workbook.xml", modified, _MODE, ZIP_32, (_workbook_xml(names),)
        yield "xl/_rels/workbook.xml.rels", modified, _MODE, ZIP_32, (_workbook_rels(len(names)),)
        yield "_rels/.rels", modified, _MODE, ZIP_32, (_RELS.encode(),)
        yield "[Content_Types].xml", modified, _MODE, ZIP_32, (_content_types(len(names)),)

    return stream_zip(
        members(),
        chunk_size=CHUNK_BYTES,
        get_compressobj=lambda: zlib.compressobj(wbits=-zlib.MAX_WBITS, level=compress_level),
        extended_timestamps=False,
    )


def workbook(header: Sequence[str], rows: Iterable[Sequence], *, sheet: str = "Report") -> bytes:
    """The bytes of a whole .xlsx file (small tables)."""
    return b"".join(stream_workbook(header, rows, sheet=sheet, compress_level=6))
