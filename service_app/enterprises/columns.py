"""The spreadsheet shapes of enterprises and of indicators, shared by import and export.

Exports write the Chinese header of each column; imports recognise it, its aliases and the English
names, ignoring case, spacing, full-width characters and a trailing unit in parentheses
("营业收入（万元）" = "营业收入" = "Revenue"). Unknown columns are refused rather than silently
ignored, so a misspelt header cannot drop a column's data without anyone noticing.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from service_app.common.i18n import bilingual


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False  # the file must have this column
    export_only: bool = False  # derived figures: written by exports, ignored by imports


ENTERPRISE_COLUMNS: tuple[Column, ...] = (
    Column("name", "企业名称", ("名称", "企业", "公司名称", "enterprise", "enterprise name", "company"), required=True),
    Column("credit_code", "统一社会信用代码", ("信用代码", "社会信用代码", "credit code", "uscc"), required=True),
    Column("park", "园区", ("所属园区", "park")),
    Column("chain", "产业链", ("所属产业链", "chain", "industry chain")),
    Column("scale", "规模", ("企业规模", "scale", "size")),
    Column("industry", "行业", ("所属行业", "industry")),
    Column("address", "地址", ("详细地址", "企业地址", "address")),
    Column("lat", "纬度", ("lat", "latitude")),
    Column("lng", "经度", ("lng", "lon", "longitude")),
    Column("legal_representative", "法定代表人", ("法人", "法人代表", "legal representative")),
    Column("contact_name", "联系人", ("contact", "contact name")),
    Column("contact_phone", "联系电话", ("电话", "手机", "联系方式", "contact phone", "phone")),
    Column("established_on", "成立日期", ("成立时间", "established", "established on")),
    Column("description", "简介", ("企业简介", "description")),
)

INDICATOR_COLUMNS: tuple[Column, ...] = (
    Column("credit_code", "统一社会信用代码", ("信用代码", "社会信用代码", "credit code", "uscc"), required=True),
    # The name helps a reader of the file; the credit code identifies the enterprise.
    Column(
        "name", "企业名称", ("名称", "企业", "公司名称", "enterprise", "enterprise name", "company"), export_only=True
    ),
    Column("year", "年度", ("年份", "年", "year"), required=True),
    Column("quarter", "季度", ("quarter",)),
    Column("revenue", "营业收入(万元)", ("营业收入", "主营业务收入", "revenue")),
    Column("tax_paid", "实缴税金(万元)", ("实缴税金", "税收", "纳税", "纳税总额", "税收总额", "tax", "tax paid")),
    Column("industrial_output", "工业总产值(万元)", ("工业总产值", "产值", "industrial output", "output")),
    Column("land_area_mu", "用地面积(亩)", ("用地面积", "占地面积", "land area", "land area mu")),
    Column("employees", "从业人数", ("员工人数", "职工人数", "从业人员", "employees")),
    Column("rd_spend", "研发投入(万元)", ("研发投入", "研发经费", "r&d", "r&d spend", "rd spend")),
    Column("patents", "专利数", ("专利", "有效专利数", "patents")),
    Column("tax_per_mu", "亩均税收(万元/亩)", ("亩均税收", "tax per mu"), export_only=True),
    Column("output_per_mu", "亩均产值(万元/亩)", ("亩均产值", "output per mu"), export_only=True),
)

COLUMNS = {"enterprises": ENTERPRISE_COLUMNS, "indicators": INDICATOR_COLUMNS}
# Columns people add to a sheet for themselves.
IGNORED = frozenset({"序号", "编号", "no", "no.", "#", "备注", "remark", "remarks"})


def normalise_header(text: object) -> str:
    value = unicodedata.normalize("NFKC", str(text)).strip().lower()
    value = re.sub(r"[\s_\-]+", " ", value).strip()
    return re.sub(r"\s*\([^()]*\)$", "", value).strip()


def _lookup(columns: tuple[Column, ...]) -> dict[str, Column]:
    names: dict[str, Column] = {}
    for column in columns:
        for name in (column.field, column.header, *column.aliases):
            names[normalise_header(name)] = column
    return names


@dataclass
class HeaderMatch:
    by_index: dict[int, Column]  # position in the row -> column to import
    found: dict[str, str]  # field -> header as written in the file
    errors: list[str]


def match_headers(headers: list[object], columns: tuple[Column, ...]) -> HeaderMatch:
    """Map the file's header row onto `columns`; unknown, repeated and missing columns are errors."""
    names = _lookup(columns)
    match = HeaderMatch(by_index={}, found={}, errors=[])
    for index, raw in enumerate(headers):
        if raw is None or not str(raw).strip():
            continue
        key = normalise_header(raw)
        column = names.get(key)
        if column is None:
            if key not in IGNORED:
                match.errors.append(bilingual(f"无法识别的列：{raw}", f"Unknown column: {raw}"))
            continue
        if column.field in match.found:
            match.errors.append(bilingual(f"列重复：{raw}", f"Repeated column: {raw}"))
            continue
        match.found[column.field] = str(raw).strip()
        if not column.export_only:
            match.by_index[index] = column
    for column in columns:
        if column.required and column.field not in match.found:
            match.errors.append(
                bilingual(f"缺少必需的列：{column.header}", f"Missing required column: {column.header}")
            )
    return match
