"""Spreadsheet files out, CSV and XLSX: the one writer every export uses.

CSV is UTF-8 with a BOM, so Excel opens the Chinese right. Text a spreadsheet would run as a
formula — a cell starting with = + - @, a tab or a carriage return (OWASP, "CSV Injection") — is
defused: a CSV cell gets a leading apostrophe (the import removes it again), an XLSX cell is stored
as text, never as a formula. Numbers, dates and None are written as values. Control characters XML
cannot hold (stored text may carry them) become U+FFFD in XLSX instead of failing the whole file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import Response, send_file

from service_app.common.time import SHANGHAI, utcnow

if TYPE_CHECKING:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# send_file adds "; charset=utf-8" to text types itself (naming it here sent it twice).
MIMETYPES = {"csv": CSV_MIMETYPE, "xlsx": XLSX_MIMETYPE}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PERCENT_FORMAT = "0.00%"


@dataclass(frozen=True)
class Sheet:
    """One table: a title (the XLSX sheet's name), the header row and the rows of values."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    percent_columns: frozenset[int] = frozenset()  # indexes of fractions XLSX shows as percentages


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    mimetype: str
    filename: str

    def response(self) -> Response:
        """The file as a download."""
        return send_file(
            io.BytesIO(self.content), mimetype=self.mimetype, as_attachment=True, download_name=self.filename
        )


def export_file(sheets: Sequence[Sheet], *, file_format: str, name: str) -> ExportFile:
    """`sheets` as a CSV or XLSX file named `name-YYYYMMDD-HHMM` (Shanghai time)."""
    content = write_xlsx(sheets) if file_format == "xlsx" else write_csv(sheets)
    stamp = utcnow().astimezone(SHANGHAI).strftime("%Y%m%d-%H%M")
    return ExportFile(content=content, mimetype=MIMETYPES[file_format], filename=f"{name}-{stamp}.{file_format}")


def defuse(value: Any) -> Any:
    """Text a spreadsheet would run as a formula, made literal with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(sheets: Sequence[Sheet]) -> bytes:
    """One sheet is a plain table, header first, that the import reads back. Several follow each
    other as sections, each headed by its title and separated by a blank row."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    for index, sheet in enumerate(sheets):
        if len(sheets) > 1:
            if index:
                writer.writerow([])
            writer.writerow([defuse(sheet.title)])
        writer.writerow([defuse(header) for header in sheet.headers])
        for row in sheet.rows:
            writer.writerow([defuse(_csv_value(value)) for value in row])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def write_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """One worksheet per sheet, with a bold, frozen header row."""
    # openpyxl is imported when a spreadsheet is written: it would add about 6 MB to every web
    # worker, which serves exports rarely (DESIGN §14 keeps workers under 120 MB).
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        worksheet = workbook.create_sheet(title=sheet.title[:31])
        worksheet.freeze_panes = "A2"
        for index, header in enumerate(sheet.headers):
            worksheet.column_dimensions[get_column_letter(index + 1)].width = max(10, min(40, len(header) * 2 + 4))
        worksheet.append([_xlsx_cell(worksheet, header, font=bold) for header in sheet.headers])
        for row in sheet.rows:
            worksheet.append(
                [
                    _xlsx_cell(
                        worksheet, value, number_format=PERCENT_FORMAT if index in sheet.percent_columns else None
                    )
                    for index, value in enumerate(row)
                ]
            )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_cell(worksheet, value: Any, *, font: Font | None = None, number_format: str | None = None) -> WriteOnlyCell:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    cell = WriteOnlyCell(worksheet, value=value)
    if isinstance(value, str) and value.startswith(FORMULA_START):
        cell.data_type = "s"  # text, not a formula
    if font is not None:
        cell.font = font
    if number_format is not None and isinstance(value, (int, float, Decimal)):
        cell.number_format = number_format
    return cell
