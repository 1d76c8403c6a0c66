"""Bulk import and export: formats, encodings, the per-row report, all-or-nothing, limits, round trips."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from sqlalchemy import func, select

from service_app.auth.models import Role
from service_app.enterprises.models import FULL_YEAR, EnterpriseIndicator
from service_app.extensions import db
from service_app.org import credit_code
from service_app.org.models import Chain, Enterprise, Park
from tests.conftest import count_queries
from tests.factories import (
    AdminFactory,
    EnterpriseFactory,
    EnterpriseUserFactory,
    LinkFactory,
    UserFactory,
    new_credit_code,
)
from tests.factories_enterprises import IndicatorFactory
from tests.helpers import assert_error, auth_headers

HEADERS = ["企业名称", "统一社会信用代码", "园区", "产业链", "规模", "地址", "纬度", "经度", "联系人", "联系电话"]


def csv_bytes(rows: list[list], *, encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_values(data: bytes) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(data), read_only=True).worksheets[0]
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def post_import(
    client, headers, data: bytes, *, kind: str = "enterprises", partial: bool = False, filename: str = "upload.bin"
):
    return client.post(
        f"/api/v1/enterprises/import?kind={kind}&partial={'true' if partial else 'false'}",
        data={"file": (io.BytesIO(data), filename)},
        headers=headers,
        content_type="multipart/form-data",
    )


def bad_code() -> str:
    code = new_credit_code()
    return code[:17] + ("0" if code[17] != "0" else "1")


def enterprise_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Enterprise))


def by_code(code: str) -> Enterprise:
    db.session.expire_all()
    return db.session.scalar(select(Enterprise).where(Enterprise.credit_code == code))


def _reference(model, code: str) -> int:
    return db.session.scalar(select(model.id).where(model.code == code))


# --- good files -------------------------------------------------------------------------------


def test_csv_with_chinese_headers(client, admin_headers):
    codes = [new_credit_code() for _ in range(3)]
    rows = [
        HEADERS,
        [
            "株洲导入一号科技有限公司",
            codes[0],
            "天易科技城",
            "electronics",
            "小型",
            "天易路1号",
            "27.80",
            "113.07",
            "王一",
            "13900000001",
        ],
        ["株洲导入二号材料有限公司", codes[1].lower(), "xinma", "新材料", "medium", "", "", "", "", ""],
        [
            "株洲导入三号物流有限公司",
            f" {codes[2]} ",
            "动力谷自主创新园",
            "现代服务业",
            "微型",
            "栗雨路9号",
            "27.85",
            "113.08",
            "赵三",
            "0731-2868003",
        ],
    ]
    response = post_import(client, admin_headers, csv_bytes(rows), filename="enterprises.csv")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["created"], report["updated"], report["skipped"], report["imported"]) == (3, 0, 0, True)
    assert report["columns"]["credit_code"] == "统一社会信用代码" and report["errors"] == []
    first, second = by_code(codes[0]), by_code(codes[1])
    assert (first.name, first.scale, first.lat, first.contact_phone) == (
        "株洲导入一号科技有限公司",
        "small",
        27.80,
        "13900000001",
    )
    assert first.park_id == _reference(Park, "tianyi") and first.chain_id == _reference(Chain, "electronics")
    assert (second.park_id, second.chain_id, second.scale, second.address) == (
        _reference(Park, "xinma"),
        _reference(Chain, "new_materials"),
        "medium",
        None,
    )
    assert by_code(codes[2]).scale == "micro"


def test_csv_with_bom_and_english_headers(client, admin_headers):
    code = new_credit_code()
    rows = [
        ["Enterprise Name", "Credit Code", "Park", "Chain", "Scale", "Latitude", "Longitude", "Contact phone"],
        [
            "株洲英文表头有限公司",
            code,
            "Xinma Industrial Park",
            "Electronic information",
            "large",
            "27.8",
            "113.1",
            "13900000009",
        ],
    ]
    response = post_import(client, admin_headers, b"\xef\xbb\xbf" + csv_bytes(rows))
    assert response.status_code == 200, response.get_json()
    enterprise = by_code(code)
    assert (enterprise.name, enterprise.scale, enterprise.park_id) == (
        "株洲英文表头有限公司",
        "large",
        _reference(Park, "xinma"),
    )


def test_utf16_tab_separated_text_as_excel_unicode_text_saves_it(client, admin_headers):
    code = new_credit_code()
    text = "企业名称\t统一社会信用代码\t规模\r\n株洲制表符分隔有限公司\t" + code + "\t小型\r\n"
    response = post_import(client, admin_headers, text.encode("utf-16"))
    assert response.status_code == 200, response.get_json()
    assert by_code(code).name == "株洲制表符分隔有限公司"


def test_gbk_csv_as_excel_in_china_saves_it(client, admin_headers):
    code = new_credit_code()
    rows = [
        HEADERS,
        [
            "株洲国标编码机电设备有限公司",
            code,
            "轨道交通城",
            "轨道交通及通用航空",
            "中型",
            "湖南省株洲市天元区",
            "27.81",
            "113.15",
            "欧阳明",
            "13900000002",
        ],
    ]
    data = csv_bytes(rows, encoding="gbk").replace(b"\n", b"\r\n")
    response = post_import(client, admin_headers, data, filename="企业.csv")
    assert response.status_code == 200, response.get_json()
    enterprise = by_code(code)
    assert (enterprise.name, enterprise.contact_name, enterprise.address) == (
        "株洲国标编码机电设备有限公司",
        "欧阳明",
        "湖南省株洲市天元区",
    )
    assert enterprise.chain_id == _reference(Chain, "rail_aviation")


def test_xlsx_with_typed_cells(client, admin_headers):
    code = new_credit_code()
    rows = [
        HEADERS + ["成立日期", "序号"],
        [
            "株洲表格导入有限公司",
            code,
            "栗雨工业园",
            "新能源",
            "小型",
            "栗雨路2号",
            27.856,
            113.066,
            "钱五",
            13900000003,
            datetime(2012, 5, 17),
            1,
        ],
        [None] * 12,  # blank rows are skipped but still counted
    ]
    response = post_import(client, admin_headers, xlsx_bytes(rows), filename="enterprises.xlsx")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["total_rows"] == 1
    enterprise = by_code(code)
    assert (enterprise.lat, enterprise.lng, enterprise.contact_phone, enterprise.established_on) == (
        27.856,
        113.066,
        "13900000003",
        date(2012, 5, 17),
    )


def test_reimport_updates_by_credit_code(client, admin_headers):
    existing = EnterpriseFactory(name="株洲旧名称有限公司", address="旧地址", contact_name="旧联系人", lat=27.8)
    rows = [
        ["企业名称", "统一社会信用代码", "地址", "联系人"],
        ["株洲新名称有限公司", existing.credit_code, "新地址", ""],
    ]
    response = post_import(client, admin_headers, csv_bytes(rows))
    assert (response.get_json()["created"], response.get_json()["updated"]) == (0, 1)
    updated = by_code(existing.credit_code)
    # Columns in the file change (a blank cell clears); columns not in the file stay.
    assert (updated.name, updated.address, updated.contact_name, updated.lat) == (
        "株洲新名称有限公司",
        "新地址",
        None,
        27.8,
    )


# --- bad rows -----------------------------------------------------------------------------------


def _bad_file() -> tuple[bytes, str]:
    good, duplicate = new_credit_code(), new_credit_code()
    rows = [
        HEADERS,
        ["株洲合格企业有限公司", good, "天易科技城", "电子信息", "小型", "", "27.8", "113.0", "", ""],  # row 2
        ["株洲校验位错误有限公司", bad_code(), "天易科技城", "", "", "", "", "", "", ""],  # row 3
        ["株洲未知园区有限公司", new_credit_code(), "火星园区", "", "", "", "", "", "", ""],  # row 4
        ["株洲坐标错误有限公司", new_credit_code(), "", "", "巨型", "", "95", "东经113", "", ""],  # row 5
        ["株洲重复一号有限公司", duplicate, "", "", "", "", "", "", "", ""],  # row 6
        ["", new_credit_code(), "", "", "", "", "", "", "", "phone?"],  # row 7
        ["株洲重复二号有限公司", duplicate, "", "", "", "", "", "", "", ""],  # row 8
    ]
    return csv_bytes(rows), good


EXPECTED_BAD = {
    "3": {"credit_code"},
    "4": {"park"},
    "5": {"scale", "lat", "lng"},
    "7": {"name", "contact_phone"},
    "8": {"credit_code"},
}


def test_bad_rows_are_reported_and_nothing_is_written(client, admin_headers):
    data, good = _bad_file()
    before = enterprise_count()
    body = assert_error(post_import(client, admin_headers, data), 422, "import_rejected")
    assert {row: set(fields) for row, fields in body["errors"].items()} == EXPECTED_BAD
    assert "校验位" in body["errors"]["3"]["credit_code"][0]
    assert "火星园区" in body["errors"]["4"]["park"][0]
    assert "第 6 行" in body["errors"]["8"]["credit_code"][0]
    assert body["errors"]["7"]["name"] == ["必填字段"]
    report = body["report"]
    assert [entry["row"] for entry in report["errors"]] == [3, 4, 5, 7, 8]
    assert (report["imported"], report["total_rows"], report["valid_rows"], report["created"]) == (False, 7, 2, 0)
    assert enterprise_count() == before and by_code(good) is None


def test_bad_rows_in_english(client, admin_headers):
    data, _good = _bad_file()
    headers = {**admin_headers, "Accept-Language": "en"}
    body = assert_error(post_import(client, headers, data), 422)
    assert body["message"] == "5 row(s) have errors; nothing was imported"
    assert body["errors"]["7"]["name"] == ["Missing data for required field."]
    assert body["errors"]["8"]["credit_code"] == ["Same as row 6"]


def test_partial_import_writes_the_valid_rows(client, admin_headers):
    data, good = _bad_file()
    before = enterprise_count()
    response = post_import(client, admin_headers, data, partial=True)
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["imported"], report["created"], report["skipped"], report["valid_rows"]) == (True, 2, 5, 2)
    assert {str(entry["row"]): set(entry["errors"]) for entry in report["errors"]} == EXPECTED_BAD
    assert enterprise_count() == before + 2 and by_code(good) is not None


def test_500_row_xlsx_with_three_bad_rows_names_exactly_those_rows(client, app, admin_headers):
    """The issue's acceptance test."""
    parks = ["天易科技城", "新马工业园", "动力谷自主创新园"]
    chains = ["电子信息", "新材料", "汽车及新能源汽车"]
    rows = [HEADERS]
    for n in range(1, 501):
        rows.append(
            [
                f"株洲验收测试{n:03d}号有限公司",
                credit_code.make(f"91430211MA7T{n:05d}"),
                parks[n % 3],
                chains[n % 3],
                ["大型", "中型", "小型", "微型"][n % 4],
                f"验收路{n}号",
                27.8 + n / 10000,
                113.05 + n / 10000,
                f"联系人{n}",
                f"139{n:08d}",
            ]
        )
    rows[57][1] = rows[57][1][:17] + ("0" if rows[57][1][17] != "0" else "1")  # spreadsheet row 58
    rows[249][6] = "北纬27度"  # row 250
    rows[432][2] = "不存在的园区"  # row 433
    data = xlsx_bytes(rows)
    before = enterprise_count()

    body = assert_error(post_import(client, admin_headers, data, filename="验收.xlsx"), 422, "import_rejected")
    assert {row: set(fields) for row, fields in body["errors"].items()} == {
        "58": {"credit_code"},
        "250": {"lat"},
        "433": {"park"},
    }
    assert (body["report"]["total_rows"], body["report"]["valid_rows"]) == (500, 497)
    assert enterprise_count() == before

    with count_queries(app) as statements:
        report = post_import(client, admin_headers, data, partial=True).get_json()
    assert (report["created"], report["skipped"]) == (497, 3)
    assert enterprise_count() == before + 497
    # Look-ups and batched writes, not a statement per row.
    assert len(statements) <= 12, len(statements)


# --- indicators -----------------------------------------------------------------------------------


INDICATOR_HEADERS = [
    "统一社会信用代码",
    "企业名称",
    "年度",
    "季度",
    "营业收入（万元）",
    "实缴税金(万元)",
    "工业总产值(万元)",
    "用地面积(亩)",
    "从业人数",
    "研发投入(万元)",
    "专利数",
]


def test_indicator_import_upserts_by_enterprise_and_period(client, app_ctx):
    admin_user = AdminFactory()
    headers = auth_headers(client, admin_user)
    one, two = EnterpriseFactory(), EnterpriseFactory()
    IndicatorFactory(enterprise=one, year=2018, revenue=1, tax_paid=1, patents=9)
    rows = [
        INDICATOR_HEADERS,
        [
            one.credit_code,
            one.name,
            "2018",
            "全年",
            "1,200.50",
            "60",
            "1000",
            "20",
            "150",
            "36",
            "",
        ],
        [one.credit_code, one.name, "2019年", "Q1", "300", "15", "", "20", "150", "9", "10"],
        [f" {two.credit_code.lower()}", "", "2019", "一季度", "80", "4", "70", "", "12", "", "0"],
        [two.credit_code, "", 2018, "", "320", "16", "280", "8", "12", "", "0"],
    ]
    response = post_import(client, headers, csv_bytes(rows), kind="indicators")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert (report["created"], report["updated"]) == (3, 1)
    db.session.expire_all()
    stored = {(r.enterprise_id, r.year, r.quarter): r for r in db.session.scalars(select(EnterpriseIndicator))}
    updated = stored[(one.id, 2018, FULL_YEAR)]
    assert (updated.revenue, updated.tax_paid, updated.land_area_mu, updated.patents) == (
        Decimal("1200.50"),
        Decimal("60.00"),
        Decimal("20.00"),
        None,
    )
    assert (updated.source, updated.reported_by_id) == ("import", admin_user.id)
    assert stored[(one.id, 2019, 1)].industrial_output is None and stored[(two.id, 2019, 1)].revenue == Decimal("80.00")
    assert stored[(two.id, 2018, FULL_YEAR)].tax_paid == Decimal("16.00")


def test_indicator_bad_rows(client, admin_headers):
    enterprise = EnterpriseFactory()
    code = enterprise.credit_code
    next_year = date.today().year + 1
    rows = [
        ["统一社会信用代码", "年度", "季度", "营业收入", "从业人数"],
        [code, "2018", "", "100", "10"],  # row 2: good
        [new_credit_code(), "2018", "", "100", "10"],  # row 3: unknown enterprise
        [code, "2018", "Q5", "100", "10"],  # row 4: bad quarter
        [code, "2017", "", "-5", "十人"],  # row 5: negative, not a number
        [code, str(next_year), "", "1", "1"],  # row 6: not started yet
        [code, "2018", "全年", "100", "10"],  # row 7: same period as row 2
        [bad_code(), "", "", "", ""],  # row 8: bad code, no year
    ]
    body = assert_error(post_import(client, admin_headers, csv_bytes(rows), kind="indicators"), 422, "import_rejected")
    assert {row: set(fields) for row, fields in body["errors"].items()} == {
        "3": {"credit_code"},
        "4": {"quarter"},
        "5": {"revenue", "employees"},
        "6": {"year"},
        "7": {"quarter"},
        "8": {"credit_code", "year"},
    }
    assert db.session.scalar(select(func.count()).select_from(EnterpriseIndicator)) == 0


# --- file-level problems ------------------------------------------------------------------------


def test_file_over_the_import_limit_is_413(client, admin_headers, app):
    saved = app.config["IMPORT_MAX_BYTES"]
    app.config["IMPORT_MAX_BYTES"] = 2000
    before = enterprise_count()
    try:
        slightly = csv_bytes([HEADERS] + [["株洲超限企业有限公司", new_credit_code()] + [""] * 8] * 60)
        assert 2000 < len(slightly) < 2000 + 64 * 1024
        assert_error(post_import(client, admin_headers, slightly), 413, "import_file_too_large")
        huge = b"a" * (200 * 1024)
        assert_error(post_import(client, admin_headers, huge), 413, "import_file_too_large")
    finally:
        app.config["IMPORT_MAX_BYTES"] = saved
    assert enterprise_count() == before


def test_too_many_rows_is_422(client, admin_headers, app):
    saved = app.config["IMPORT_MAX_ROWS"]
    app.config["IMPORT_MAX_ROWS"] = 3
    try:
        rows = [HEADERS] + [[f"株洲行数企业{n}有限公司", new_credit_code()] + [""] * 8 for n in range(4)]
        body = assert_error(post_import(client, admin_headers, csv_bytes(rows)), 422, "import_too_many_rows")
        assert "file" in body["errors"]
    finally:
        app.config["IMPORT_MAX_ROWS"] = saved


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, 415, "import_unsupported_file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, 415, "import_unsupported_file"),
        (b"PK\x03\x04" + b"\x13garbage" * 50, 422, "import_malformed_file"),
        (b"", 422, "import_malformed_file"),
        ("企业名称,统一社会信用代码\n".encode(), 422, "import_malformed_file"),
        ('企业名称,统一社会信用代码\n"株洲引号"错误,91430211MT9X000018\n'.encode(), 422, "import_malformed_file"),
        (b"\xff\xfe\xfa" + b"\x81\x30" * 7, 422, "import_malformed_file"),
        (
            "企业名称,统一社会信用代码,火星编号\n株洲某企业有限公司,91430211MT9X000018,1\n".encode(),
            422,
            "import_bad_header",
        ),
        ("企业名称,地址\n株洲某企业有限公司,某地\n".encode(), 422, "import_bad_header"),
    ],
    ids=[
        "png",
        "legacy-xls",
        "damaged-xlsx",
        "empty",
        "header-only",
        "bad-quoting",
        "bad-encoding",
        "unknown-column",
        "missing-column",
    ],
)
def test_malformed_or_unsupported_files_get_a_clear_error(client, admin_headers, data, status, code):
    body = assert_error(post_import(client, admin_headers, data), status, code)
    assert body["errors"]


def test_zip_that_is_not_a_workbook_is_415(client, admin_headers):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert_error(post_import(client, admin_headers, buffer.getvalue()), 415, "import_unsupported_file")


def test_import_needs_multipart_a_file_and_an_admin(client, app_ctx, admin_headers):
    assert_error(client.post("/api/v1/enterprises/import", json={"file": "x"}, headers=admin_headers), 415)
    body = assert_error(
        client.post(
            "/api/v1/enterprises/import", data={"other": "x"}, headers=admin_headers, content_type="multipart/form-data"
        ),
        422,
    )
    assert "file" in body["errors"]
    assert "kind" in assert_error(post_import(client, admin_headers, b"x", kind="people"), 422)["errors"]
    for user in (UserFactory(role=Role.MANAGER.value), LinkFactory().cadre, EnterpriseUserFactory()):
        assert_error(post_import(client, auth_headers(client, user), csv_bytes([HEADERS])), 403)


# --- export and round trips ---------------------------------------------------------------------------


@pytest.fixture
def catalogue(app_ctx):
    tianyi, electronics = _reference(Park, "tianyi"), _reference(Chain, "electronics")
    first = EnterpriseFactory(
        name="=株洲公式测试有限公司",
        park_id=tianyi,
        chain_id=electronics,
        scale="large",
        contact_phone="+86 731 2868000",
        established_on=date(2001, 2, 3),
        lat=27.812345,
        lng=113.054321,
        legal_representative="周董",
    )
    second = EnterpriseFactory(name="株洲（集团）有限公司", scale=None, address=None, description="多行\n简介")
    IndicatorFactory(enterprise=first, year=2018, revenue=Decimal("1234.56"), land_area_mu=Decimal("12.50"))
    IndicatorFactory(enterprise=first, year=2019, quarter=1, industrial_output=None, patents=None)
    IndicatorFactory(enterprise=second, year=2018, land_area_mu=None)
    return first, second


def _export(client, headers, query: str):
    response = client.get(f"/api/v1/enterprises/export?{query}", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response


def test_csv_export_shape(client, manager_headers, catalogue):
    first, _second = catalogue
    response = _export(client, manager_headers, "kind=enterprises&format=csv")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["企业名称", "统一社会信用代码", "园区"]
    exported = dict(zip(rows[0], rows[1], strict=True))
    # Formula-like text is defused for spreadsheets; the import undoes it.
    assert exported["企业名称"] == "'=株洲公式测试有限公司" and exported["联系电话"] == "'+86 731 2868000"
    assert (exported["园区"], exported["产业链"], exported["规模"], exported["成立日期"]) == (
        "天易科技城",
        "电子信息",
        "大型",
        "2001-02-03",
    )
    indicators = list(
        csv.reader(
            io.StringIO(
                _export(client, manager_headers, "kind=indicators&format=csv&year=2018").data.decode("utf-8-sig")
            )
        )
    )
    assert indicators[0][-2:] == ["亩均税收(万元/亩)", "亩均产值(万元/亩)"]
    assert [(r[0], r[2], r[3], r[-2]) for r in indicators[1:]] == [
        (first.credit_code, "2018", "全年", "4.00"),
        (catalogue[1].credit_code, "2018", "全年", ""),
    ]


def test_xlsx_export_types_formula_text_as_text(client, manager_headers, catalogue):
    response = _export(client, manager_headers, "kind=enterprises&format=xlsx")
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
    assert sheet["A2"].value == "=株洲公式测试有限公司" and sheet["A2"].data_type == "s"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_changes_nothing(client, manager_headers, admin_headers, catalogue, fmt):
    first, second = catalogue
    enterprises = _export(client, manager_headers, f"kind=enterprises&format={fmt}").data
    indicators = _export(client, manager_headers, f"kind=indicators&format={fmt}").data
    # Damage what the files hold, then import them back.
    first.address, first.contact_phone, first.scale, first.lat, second.description = (
        "被改地址",
        "000000",
        "micro",
        1.0,
        "改",
    )
    db.session.execute(EnterpriseIndicator.__table__.update().values(revenue=1, tax_paid=None, patents=99))
    db.session.flush()

    for kind, data in (("enterprises", enterprises), ("indicators", indicators)):
        response = post_import(client, admin_headers, data, kind=kind)
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["created"] == 0

    again_enterprises = _export(client, manager_headers, f"kind=enterprises&format={fmt}").data
    again_indicators = _export(client, manager_headers, f"kind=indicators&format={fmt}").data
    if fmt == "csv":
        assert (again_enterprises, again_indicators) == (enterprises, indicators)
    else:
        assert xlsx_values(again_enterprises) == xlsx_values(enterprises)
        assert xlsx_values(again_indicators) == xlsx_values(indicators)
    restored = by_code(first.credit_code)
    assert (restored.contact_phone, restored.scale, restored.lat, restored.name) == (
        "+86 731 2868000",
        "large",
        27.812345,
        "=株洲公式测试有限公司",
    )
    assert by_code(second.credit_code).description == "多行\n简介"


def test_export_is_for_managers_and_admins(client, app_ctx, catalogue):
    for user in (LinkFactory(enterprise=catalogue[0]).cadre, EnterpriseUserFactory(enterprise=catalogue[0])):
        assert_error(client.get("/api/v1/enterprises/export", headers=auth_headers(client, user)), 403)
    admin_headers = auth_headers(client, AdminFactory())
    assert (
        "format"
        in assert_error(client.get("/api/v1/enterprises/export?format=pdf", headers=admin_headers), 422)["errors"]
    )
