"""Spreadsheet files in: CSV and XLSX, recognised by their content, never by a file name.

Reading accepts CSV in UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text") and GBK/GB18030
(what Excel in China saves), separated by commas, tabs or semicolons, and XLSX (openpyxl, read-only).
Row numbers are those a spreadsheet shows: the header is row 1. Blank rows are skipped, not renumbered.

Files are written by `common.tabular`, whose leading apostrophe on formula-like text reading removes again.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from service_app.common.i18n import bilingual
from service_app.common.tabular import FORMULA_START
from service_app.errors import UnsupportedMediaType, ValidationFailed

# A zip whose members inflate beyond this is refused before any XML is parsed (zip bombs).
MAX_INFLATED_BYTES = 200 * 1024 * 1024
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


def read_table(data: bytes, *, max_rows: int) -> Table:
    """The header and the non-blank rows of the first sheet of a CSV or XLSX file."""
    if not data.strip():
        raise _malformed("文件为空", "The file is empty")
    if data.startswith(b"PK\x03\x04"):
        rows = _xlsx_rows(data)
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
    return _collect(rows, max_rows=max_rows)


def _collect(rows: Iterator[Sequence[Any]], *, max_rows: int) -> Table:
    try:
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
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError):
        # openpyxl parses the sheet lazily, so a damaged XLSX can fail while rows are read.
        raise _malformed("XLSX 文件已损坏，无法读取", "The XLSX file is damaged and cannot be read") from None
    if not table.rows:
        raise _malformed("文件中没有数据行", "The file has no data rows")
    return table


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


def _xlsx_rows(data: bytes) -> Iterator[Sequence[Any]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            inflated = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise _malformed("XLSX 文件已损坏，无法读取", "The XLSX file is damaged and cannot be read") from None
    if "xl/workbook.xml" not in names:
        raise _unsupported()
    if inflated > MAX_INFLATED_BYTES:
        raise _malformed("XLSX 文件解压后过大", "The XLSX file inflates to too much data")
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, EOFError):
        raise _malformed("XLSX 文件已损坏，无法读取", "The XLSX file is damaged and cannot be read") from None
    return _sheet_rows(workbook)


def _sheet_rows(workbook) -> Iterator[Sequence[Any]]:
    try:
        if not workbook.worksheets:
            return
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    finally:
        workbook.close()
