"""Reading spreadsheets on a budget (issue 16): damaged files are a 422 naming the file, files that
inflate or expand beyond the budget a 413, and the worker's memory stays bounded while refusing them."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from bench.xlsx_budget import SHEET, billion_laughs_xlsx, blank_rows_xlsx, inflating_xlsx
from service_app.enterprises import tabular
from service_app.errors import PayloadTooLarge, ValidationFailed
from tests.factories import AdminFactory
from tests.helpers import assert_error, auth_headers

ROOT = Path(__file__).resolve().parent.parent
BUDGET = tabular.Budget(max_rows=10000, max_inflated_bytes=32 * 1024 * 1024)


def _valid_xlsx() -> bytes:
    workbook = openpyxl.Workbook()
    workbook.active.append(["企业名称", "统一社会信用代码"])
    workbook.active.append(["株洲预算企业有限公司", "91430200MA4L000000"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _with_member(data: bytes, name: str, content: bytes) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, content if info.filename == name else source.read(info.filename))
    return output.getvalue()


@pytest.mark.parametrize(
    "build",
    [
        lambda: _valid_xlsx()[: len(_valid_xlsx()) // 2],  # truncated: no central directory
        lambda: _valid_xlsx()[:-30],  # the end of the central directory cut off
        lambda: _with_member(_valid_xlsx(), SHEET, b"<worksheet><sheetData><row><c>"),  # XML ends early
        lambda: _with_member(_valid_xlsx(), SHEET, b"\xff\xfe<not xml"),
        lambda: _with_member(_valid_xlsx(), "xl/styles.xml", b"<styleSheet><fonts count=\"x\"><broken"),
        lambda: _with_member(_valid_xlsx(), "xl/workbook.xml", b"<workbook/>"),
        lambda: _with_member(_valid_xlsx(), "[Content_Types].xml", b"garbage"),
    ],
    ids=["truncated", "no-end-record", "xml-ends-early", "not-xml", "bad-styles", "empty-workbook", "bad-manifest"],
)
def test_damaged_xlsx_is_422_naming_the_file(build):
    with pytest.raises(ValidationFailed) as raised:
        tabular.read_table(build(), budget=BUDGET)
    assert list(raised.value.errors) == ["file"]


@pytest.mark.parametrize(
    "build", [inflating_xlsx, billion_laughs_xlsx, blank_rows_xlsx],
    ids=["inflates-200MB", "billion-laughs", "blank-rows"],
)
def test_files_beyond_the_budget_are_413(build):
    data = build()
    assert len(data) < 300 * 1024
    with pytest.raises(PayloadTooLarge) as raised:
        tabular.read_table(data, budget=BUDGET)
    assert raised.value.error_code == "payload_too_large" and list(raised.value.errors) == ["file"]


def test_members_are_metered_as_they_inflate():
    """The budget holds for what is read, not only for the sizes the zip declares."""
    archive = tabular._MeteredZip(io.BytesIO(_valid_xlsx()), budget=200)
    with pytest.raises(PayloadTooLarge):
        archive.read(SHEET)


def test_wide_csv_rows_count_against_the_cell_budget():
    data = ("名称," * 200_000 + "\n" + "甲," * 200_000 + "\n").encode()
    with pytest.raises(PayloadTooLarge):
        tabular.read_table(data, budget=tabular.Budget(max_rows=100, max_inflated_bytes=1024))


def test_the_import_endpoint_answers_413_and_422_in_the_error_shape(client, app_ctx):
    headers = auth_headers(client, AdminFactory())

    def post(data: bytes):
        return client.post("/api/v1/enterprises/import?kind=enterprises", headers=headers,
                           content_type="multipart/form-data", data={"file": (io.BytesIO(data), "upload.xlsx")})

    assert "file" in assert_error(post(billion_laughs_xlsx()), 413, "import_over_budget")["errors"]
    assert "file" in assert_error(post(_valid_xlsx()[:-30]), 422, "import_malformed_file")["errors"]


def test_worker_memory_stays_bounded_while_refusing_hostile_files():
    """Runs bench/xlsx_budget.py in a fresh process (its own peak-memory reading) and prints its lines."""
    command = [sys.executable, "bench/xlsx_budget.py"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    print(result.stdout)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert {line["file"] for line in lines} == {"inflates_to_200MB", "billion_laughs", "million_blank_rows"}
    for line in lines:
        assert line["status"] == 413 and line["error_code"] == "import_over_budget", line
        assert line["rss_growth_mb"] < 30, line
