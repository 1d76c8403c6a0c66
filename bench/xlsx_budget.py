"""Hostile spreadsheets against the import's reading budget, and the worker memory they cost.

    .venv/bin/python bench/xlsx_budget.py            # prints one line per file

Builds a ~200 KB XLSX whose sheet inflates to 200 MB, a "billion laughs" XLSX (nested entities),
and a sheet declaring a million blank rows; posts each to POST /api/v1/enterprises/import of an
app on a scratch SQLite database, in this process, and prints the status and the growth of the
process's peak resident memory (VmHWM) over its resident memory before the request.
tests/test_import_budget.py runs it and asserts 413 and growth under 30 MB.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import zipfile
from pathlib import Path

import openpyxl

SHEET = "xl/worksheets/sheet1.xml"
_SHEET_START = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_END = b"</sheetData></worksheet>"


def _with_sheet(chunks) -> bytes:
    """A valid workbook whose first sheet is replaced by the XML `chunks` yield."""
    workbook = openpyxl.Workbook()
    workbook.active.append(["企业名称", "统一社会信用代码"])
    template = io.BytesIO()
    workbook.save(template)
    output = io.BytesIO()
    target = zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=9)
    with zipfile.ZipFile(template) as source, target:
        for info in source.infolist():
            if info.filename == SHEET:
                with target.open(SHEET, "w", force_zip64=True) as sheet:
                    for chunk in chunks:
                        sheet.write(chunk)
            else:
                target.writestr(info, source.read(info.filename))
    return output.getvalue()


def inflating_xlsx(inflated_bytes: int = 200 * 1024 * 1024) -> bytes:
    """About 200 KB that inflate to `inflated_bytes`: one header row, then one cell of spaces."""
    def chunks():
        yield _SHEET_START + b'<row r="1"><c r="A1" t="inlineStr"><is><t>'
        block = b" " * (1024 * 1024)
        for _ in range(inflated_bytes // len(block)):
            yield block
        yield b"</t></is></c></row>" + _SHEET_END
    return _with_sheet(chunks())


def billion_laughs_xlsx() -> bytes:
    entities = [b'<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10}">'.encode() for n in range(1, 10)
    ]
    doctype = b"<!DOCTYPE worksheet [" + b"".join(entities) + b"]>"
    start = _SHEET_START.replace(b"<worksheet", doctype + b"<worksheet", 1)
    return _with_sheet([start + b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>' + _SHEET_END])


def blank_rows_xlsx(rows: int = 1_000_000) -> bytes:
    """A header and one cell in the last of `rows` rows: readers pad the gap with blank rows."""
    return _with_sheet([
        _SHEET_START + b'<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>'
        + f'<row r="{rows}"><c r="A{rows}" t="inlineStr"><is><t>y</t></is></c></row>'.encode() + _SHEET_END
    ])


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current VmRSS (Linux ≥ 4.0)


def measure() -> list[dict]:
    from flask_migrate import upgrade

    from service_app import create_app
    from service_app.auth import passwords
    from service_app.auth.models import User
    from service_app.extensions import db

    results = []
    with tempfile.TemporaryDirectory() as directory:
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory}/budget.db", "APP_ENV": "testing", "TESTING": True,
            "ACCESS_LOG": False, "LOG_JSON": False, "LOG_LEVEL": "ERROR", "RATELIMIT_ENABLED": False,
            "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_COST": 1024,
        })
        with app.app_context():
            upgrade()
            db.session.add(User(username="budget-admin", name="预算", role="admin",
                                password_hash=passwords.hash_password("Budget@2026")))
            db.session.commit()
        client = app.test_client()
        credentials = {"username": "budget-admin", "password": "Budget@2026"}
        token = client.post("/api/v1/auth/login", json=credentials).get_json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        files = {
            "inflates_to_200MB": inflating_xlsx(),
            "billion_laughs": billion_laughs_xlsx(),
            "million_blank_rows": blank_rows_xlsx(),
        }
        for name, data in [("warm_up", billion_laughs_xlsx()), *files.items()]:
            _reset_peak()
            before = _status_kib("VmRSS")
            response = client.post(
                "/api/v1/enterprises/import?kind=enterprises", headers=headers, content_type="multipart/form-data",
                data={"file": (io.BytesIO(data), f"{name}.xlsx")},
            )
            growth = (_status_kib("VmHWM") - before) / 1024
            if name != "warm_up":
                body = response.get_json()
                results.append({"file": name, "size_kb": round(len(data) / 1024), "status": response.status_code,
                                "error_code": body.get("error_code"), "rss_growth_mb": round(growth, 1)})
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    for result in measure():
        print(json.dumps(result, ensure_ascii=False))
