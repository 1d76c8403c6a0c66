"""Spreadsheet files in: CSV and XLSX, recognised by their content, never by a file name.

Reading accepts CSV in UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text") and GBK/GB18030
(what Excel in China saves), separated by commas, tabs or semicolons, and XLSX (openpyxl, read-only).
Row numbers are those a spreadsheet shows: the header is row 1. Blank rows are skipped, not renumbered.

Reading runs on a budget, checked while the file is read so that memory stays bounded: the bytes
an XLSX inflates to (every zip member is metered as it is decompressed, and declared sizes are
checked first), the rows and the cells read (blank ones too: a sheet can declare a million empty
rows in a few bytes). Beyond it the file is refused with 413; an XML document type (the entity
declarations of a "billion laughs" file) is refused the same way. Any parser error of a damaged
file is a 422 naming the file.

Files are written by `common.tabular`, whose leading apostrophe on formula-like text reading removes again.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError

from service_app.common.i18n import bilingual
from service_app.common.tabular import FORMULA_START
from service_app.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

# Rows and cells read, blank ones included, per data row allowed (a budget, not a format limit).
ROWS_READ_PER_DATA_ROW = 2
CELLS_READ_PER_DATA_ROW = 64
# What a damaged file can make the zip, XML and spreadsheet readers raise (openpyxl's own
# InvalidFileException is added where openpyxl is imported: only when an XLSX is read).
_PARSER_ERRORS = (
    zipfile.BadZipFile, zlib.error, ParseError, KeyError, IndexError, ValueError,
    TypeError, AttributeError, OSError, EOFError,
)


def _parser_errors() -> tuple[type[Exception], ...]:
    """_PARSER_ERRORS and openpyxl's own (an `except` evaluates this only when something was raised)."""
    from openpyxl.utils.exceptions import InvalidFileException

    return (*_PARSER_ERRORS, InvalidFileException)
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"Rar!", b"7z\xbc\xaf")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass
class Table:
    headers: list[Any]
    rows: list[tuple[int, list[Any]]]  # (row number as in the spreadsheet, cell values)


def _malformed(zh: str, en: str) -> ValidationFailed:
    return ValidationFailed("import_malformed_file", zh=zh, en=en, errors={"file": [bilingual(zh, en)]})


def _unsupported() -> UnsupportedMediaType:
    zh, en = "仅支持 CSV 或 XLSX 文件", "Only CSV and XLSX files are supported"
    return UnsupportedMediaType("import_unsupported_file", zh=zh, en=en, errors={"file": [bilingual(zh, en)]})


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_START:
            return value[1:]
    return value


@dataclass(frozen=True)
class Budget:
    """What reading one file may cost: data rows (beyond: 422, split the file), and inflated bytes,
    rows and cells read (beyond: 413)."""

    max_rows: int
    max_inflated_bytes: int

    @property
    def max_rows_read(self) -> int:
        return self.max_rows * ROWS_READ_PER_DATA_ROW + 100

    @property
    def max_cells_read(self) -> int:
        return self.max_rows * CELLS_READ_PER_DATA_ROW + 10_000


def over_budget() -> PayloadTooLarge:
    zh, en = "文件解压或展开后超出导入上限，请拆分文件", "The file expands beyond the import limits; split it"
    return PayloadTooLarge("import_over_budget", zh=zh, en=en, errors={"file": [bilingual(zh, en)]})


def read_table(data: bytes, *, budget: Budget) -> Table:
    """The header and the non-blank rows of the first sheet of a CSV or XLSX file."""
    if not data.strip():
        raise _malformed("文件为空", "The file is empty")
    if data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(data, budget)
    elif data.startswith(_OLE_MAGIC):
        zh, en = (
            "不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 CSV",
            "Legacy Excel (.xls) is not supported; save as .xlsx or CSV",
        )
        raise UnsupportedMediaType("import_unsupported_file", zh=zh, en=en, errors={"file": [bilingual(zh, en)]})
    elif data.startswith(_BINARY_MAGIC) or (b"\x00" in data[:4096] and not data.startswith(_UTF16_BOMS)):
        raise _unsupported()
    else:
        rows = _csv_rows(_decode(data))
    return _collect(rows, budget=budget)


def _collect(rows: Iterator[Sequence[Any]], *, budget: Budget) -> Table:
    max_rows = budget.max_rows
    try:
        rows = _metered_rows(rows, budget)
        first = next(rows, None)
        headers = [_clean(value) for value in first] if first else []
        if not any(h is not None for h in headers):
            raise _malformed("第 1 行应为表头", "Row 1 must be the header row")
        table = Table(headers=headers, rows=[])
        for number, cells in enumerate(rows, start=2):
            values = [_clean(value) for value in cells]
            if all(value is None for value in values):
                continue
            if len(table.rows) >= max_rows:
                zh, en = f"数据行数超过上限 {max_rows}，请拆分文件", f"More than {max_rows} data rows; split the file"
                raise ValidationFailed("import_too_many_rows", zh=zh, en=en, errors={"file": [bilingual(zh, en)]})
            table.rows.append((number, values))
    except csv.Error as error:
        raise _malformed(f"CSV 格式错误：{error}", f"Malformed CSV: {error}") from None
    except _parser_errors():
        # openpyxl parses the sheet lazily, so a damaged XLSX can fail while rows are read.
        raise _damaged_xlsx() from None
    if not table.rows:
        raise _malformed("文件中没有数据行", "The file has no data rows")
    return table


def _metered_rows(rows: Iterator[Sequence[Any]], budget: Budget) -> Iterator[Sequence[Any]]:
    read = cells = 0
    for row in rows:
        read += 1
        cells += len(row)
        if read > budget.max_rows_read or cells > budget.max_cells_read:
            raise over_budget()
        yield row


def _damaged_xlsx() -> ValidationFailed:
    return _malformed("XLSX 文件已损坏，无法读取", "The XLSX file is damaged and cannot be read")


def _decode(data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="strict")
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise _malformed("文件编码无法识别", "Unrecognised text encoding") from None
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _malformed(
        "文件编码无法识别（支持 UTF-8 与 GBK）", "Unrecognised text encoding (UTF-8 and GBK are supported)"
    )


def _csv_rows(text: str) -> Iterator[list[str]]:
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)


def _xlsx_rows(data: bytes, budget: Budget) -> Iterator[Sequence[Any]]:
    # Imported here, not with the module: web workers import the importer but rarely read an XLSX.
    from openpyxl.reader.excel import ExcelReader

    try:
        archive = _MeteredZip(io.BytesIO(data), budget=budget.max_inflated_bytes)
    except _parser_errors():
        raise _damaged_xlsx() from None
    if "xl/workbook.xml" not in archive.namelist():
        raise _unsupported()
    if sum(info.file_size for info in archive.infolist()) > budget.max_inflated_bytes:
        raise over_budget()
    try:
        reader = ExcelReader(io.BytesIO(data), read_only=True, data_only=True)
        reader.archive = archive  # every part openpyxl reads, now or lazily, passes the meter
        reader.read()
    except _parser_errors():
        raise _damaged_xlsx() from None
    return _sheet_rows(reader.wb)


class _MeteredZip(zipfile.ZipFile):
    """A zip archive whose members count the bytes they inflate against one shared budget.

    zipfile never inflates a member beyond its declared size (the CRC check fails first), and the
    declared sizes are checked up front; the meter also holds for what is read lazily.
    """

    def __init__(self, file, *, budget: int) -> None:
        super().__init__(file)
        self.inflated_budget = budget

    def open(self, name, mode="r", pwd=None, **kwargs):
        member = super().open(name, mode, pwd=pwd, **kwargs)
        return _MeteredMember(member, self) if mode == "r" else member


class _MeteredMember(io.RawIOBase):
    """A member being inflated: counts its bytes and refuses an XML document type (DTD), which no
    spreadsheet part has and which is how entity-expansion ("billion laughs") files work."""

    def __init__(self, member, archive: _MeteredZip) -> None:
        super().__init__()
        self._member, self._archive, self._tail = member, archive, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._member.read(len(buffer))
        self._archive.inflated_budget -= len(data)
        if self._archive.inflated_budget < 0 or b"<!DOCTYPE" in self._tail + data:
            raise over_budget()
        self._tail = data[-16:]
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        self._member.close()
        super().close()


def _sheet_rows(workbook) -> Iterator[Sequence[Any]]:
    try:
        if not workbook.worksheets:
            return
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()
