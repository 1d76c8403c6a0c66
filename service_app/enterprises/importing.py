"""Bulk import of enterprises and of their indicators from CSV or XLSX, all or nothing.

Every row is checked (the same schemas as the JSON API, plus reference look-ups and duplicates
inside the file) and every error is reported with its spreadsheet row number and field. A file with
errors imports nothing, unless `partial` asks for the valid rows; either way the writes happen in one
transaction. Enterprises are upserted by credit code, indicators by (enterprise, period).

A column the file does not have leaves that field untouched; a blank cell in a column it has clears
the field (the file is the truth for its columns), so an export imported again changes nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import IO, Any

from flask import current_app
from marshmallow import Schema as MarshmallowSchema
from marshmallow import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from service_app.auth.models import User
from service_app.common.i18n import bilingual, translate_errors
from service_app.common.schemas import text_input
from service_app.common.time import SHANGHAI, utcnow
from service_app.enterprises import columns as cols
from service_app.enterprises import history, metrics, tabular
from service_app.enterprises.models import EnterpriseIndicator
from service_app.enterprises.schemas import IndicatorWriteSchema
from service_app.enterprises.service import FIGURES, check_period_started
from service_app.errors import Conflict, PayloadTooLarge, ValidationFailed
from service_app.extensions import db
from service_app.org import credit_code
from service_app.org.models import SCALE_LABELS, Chain, Enterprise, Park
from service_app.org.schemas import EnterpriseCreateSchema

IN_CHUNK = 500
SCALES = {**{label: code for code, label in SCALE_LABELS.items()}, **{code: code for code in SCALE_LABELS}}
SCALES.update({label[0]: code for code, label in SCALE_LABELS.items()})  # 大 / 中 / 小 / 微
FULL_YEAR_WORDS = frozenset({"全年", "年度", "全年度", "fullyear", "year", "annual", "fy"})  # compared without spaces
_QUARTER = re.compile(r"^(?:第)?([1-4一二三四])(?:季度|季)?$|^q([1-4])$")
_CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}
_DATE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T].*)?$")
_INTEGER = re.compile(r"^\d+(?:\.0*)?$")


@dataclass
class Plan:
    """The outcome of checking a file: rows ready to write and the rows that failed."""

    kind: str
    columns: dict[str, str]
    total_rows: int
    valid: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)

    def report(self, *, imported: bool, created: int = 0, updated: int = 0) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "imported": imported,
            "total_rows": self.total_rows,
            "valid_rows": len(self.valid),
            "created": created,
            "updated": updated,
            "skipped": len(self.errors),
            "columns": self.columns,
            "errors": self.errors,
        }


def import_file(actor: User, *, kind: str, stream: IO[bytes], partial: bool = False) -> dict[str, Any]:
    """Check a whole CSV/XLSX file of `kind` (enterprises | indicators) and write it in one transaction.

    Raises 413 beyond IMPORT_MAX_BYTES or the reading budget (tabular.Budget), 415 for a file that is
    not CSV or XLSX, 422 for a malformed file, and 422 with the row report when rows are bad and
    `partial` is false.
    """
    budget = tabular.Budget(
        max_rows=current_app.config["IMPORT_MAX_ROWS"],
        max_inflated_bytes=current_app.config["IMPORT_MAX_INFLATED_BYTES"],
    )
    table = tabular.read_table(_read_limited(stream), budget=budget)
    match = cols.match_headers(table.headers, cols.COLUMNS[kind])
    if match.errors:
        zh, en = "表头有误，未导入任何数据", "The header row is wrong; nothing was imported"
        raise ValidationFailed("import_bad_header", zh=zh, en=en, errors={"header": match.errors})
    plan = Plan(kind=kind, columns=match.found, total_rows=len(table.rows))
    check = _check_enterprises if kind == "enterprises" else _check_indicators
    check(plan, _records(table, match))
    if plan.errors and not partial:
        raise _rejected(plan)
    try:
        if kind == "enterprises":
            created, updated = _write_enterprises(plan.valid)
        else:
            created, updated = _write_indicators(plan.valid, actor=actor)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(
            zh="数据被同时修改，请重新导入", en="The data changed meanwhile; import the file again"
        ) from None
    return plan.report(imported=bool(plan.valid), created=created, updated=updated)


def _rejected(plan: Plan) -> ValidationFailed:
    """422 naming every bad row (as in the spreadsheet) and field; the full report rides along."""
    n = len(plan.errors)
    return ValidationFailed(
        "import_rejected",
        zh=f"{n} 行数据有误，未导入任何数据",
        en=f"{n} row(s) have errors; nothing was imported",
        errors={str(entry["row"]): entry["errors"] for entry in plan.errors},
        extra={"report": plan.report(imported=False)},
    )


def file_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        "import_file_too_large",
        zh=f"文件超过 {limit:,} 字节的上限",
        en=f"The file exceeds the limit of {limit:,} bytes",
    )


def _read_limited(stream: IO[bytes]) -> bytes:
    limit = current_app.config["IMPORT_MAX_BYTES"]
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise file_too_large(limit)
    return data


def _records(table: tabular.Table, match: cols.HeaderMatch) -> Iterator[tuple[int, dict[str, Any]]]:
    """(row number, {field: cell}) for the columns to import; short rows read as blank cells."""
    for number, cells in table.rows:
        yield (
            number,
            {column.field: cells[index] if index < len(cells) else None for index, column in match.by_index.items()},
        )


def _load(
    schema: MarshmallowSchema,
    payload: dict[str, Any],
    *,
    errors: dict[str, list[str]],
    rename: dict[str, str] | None = None,
) -> dict[str, Any] | None:
    """Validate with the API's own schema; its messages join `errors` under the file's field names."""
    try:
        with text_input():  # cells are text, or numbers a spreadsheet typed
            loaded = schema.load(payload)
    except ValidationError as error:
        for name, messages in translate_errors(error.normalized_messages()).items():
            messages = messages if isinstance(messages, list) else [str(messages)]
            errors.setdefault((rename or {}).get(name, name), []).extend(messages)
        return None
    return None if errors else loaded


# Cell conversions. Spreadsheets hand over numbers, dates and text in many spellings; these bring
# them to what the JSON schemas accept, leaving anything unrecognised for the schema to reject.


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a phone number or code typed into a number cell
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value).strip() or None


def _plain(value: Any) -> Any:
    """Full-width digits and letters to ASCII, thousands separators and spaces removed."""
    if isinstance(value, str):
        return re.sub(r"[,\s]", "", unicodedata.normalize("NFKC", value))
    return value


def _decimal(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return value


def _integer(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.match(value):
        return int(value.split(".")[0])
    return value


def _year(value: Any) -> Any:
    return _integer(value.strip().removesuffix("年") if isinstance(value, str) else value)


def _date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = _plain(_text(value))
    if isinstance(text, str):
        found = _DATE.match(text)
        if found:
            try:
                return date(*(int(part) for part in found.groups())).isoformat()
            except ValueError:
                return text
    return text


def _quarter(value: Any) -> tuple[int | None, str | None]:
    """(quarter or None for the full year, error)."""
    if value is None or _plain(str(value)).lower() in FULL_YEAR_WORDS:
        return None, None
    number = _integer(value)
    if isinstance(number, int) and 1 <= number <= 4:
        return number, None
    text = _plain(str(value)).lower()
    found = _QUARTER.match(text)
    if found:
        digit = found.group(1) or found.group(2)
        return _CHINESE_DIGITS.get(digit) or int(digit), None
    return None, bilingual("季度须为 1-4（或“全年”）", "Quarter must be 1-4 (or blank for the full year)")


def _reference_ids(model) -> dict[str, int]:
    """Look-up of parks or chains by name, English name or code, ignoring case and full-width forms."""
    index: dict[str, int] = {}
    for row in db.session.execute(select(model.id, model.code, model.name, model.name_en)):
        for key in (row.code, row.name, row.name_en):
            if key:
                index[cols.normalise_header(key)] = row.id
    return index


def _check_enterprises(plan: Plan, records: Iterator[tuple[int, dict[str, Any]]]) -> None:
    parks, chains = _reference_ids(Park), _reference_ids(Chain)
    schema = EnterpriseCreateSchema()
    seen: dict[str, int] = {}
    for number, cells in records:
        errors: dict[str, list[str]] = {}
        payload = _enterprise_payload(cells, parks=parks, chains=chains, errors=errors)
        loaded = _load(schema, payload, errors=errors, rename={"park_id": "park", "chain_id": "chain"})
        if loaded is not None and loaded["credit_code"] in seen:
            first = seen[loaded["credit_code"]]
            errors["credit_code"] = [bilingual(f"与第 {first} 行重复", f"Same as row {first}")]
        if errors:
            plan.errors.append({"row": number, "errors": errors})
            continue
        seen[loaded["credit_code"]] = number
        plan.valid.append(loaded)


def _enterprise_payload(
    cells: dict[str, Any], *, parks: dict[str, int], chains: dict[str, int], errors: dict[str, list[str]]
) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for name, value in cells.items():
        if name in ("park", "chain"):
            index, label = (parks, ("园区", "park")) if name == "park" else (chains, ("产业链", "industry chain"))
            text = _text(value)
            if text is not None and cols.normalise_header(text) not in index:
                errors[name] = [bilingual(f"{label[0]}不存在：{text}", f"No such {label[1]}: {text}")]
                continue
            payload[f"{name}_id"] = None if text is None else index[cols.normalise_header(text)]
        elif name == "scale":
            text = _text(value)
            code = None if text is None else SCALES.get(text.lower())
            if text is not None and code is None:
                errors[name] = [
                    bilingual("规模须为 大型、中型、小型 或 微型", "Scale must be large, medium, small or micro")
                ]
                continue
            payload[name] = code
        elif name in ("lat", "lng"):
            payload[name] = _decimal(value)
        elif name == "established_on":
            payload[name] = _date(value)
        elif name == "credit_code":
            code = _credit_code(value)
            if code is not None:
                payload[name] = code
        elif name == "name":
            text = _text(value)
            if text is not None:
                payload[name] = text
        else:
            payload[name] = _text(value)
    return payload


def _enterprise_ids(codes: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(codes))):
        query = select(Enterprise.credit_code, Enterprise.id).where(Enterprise.credit_code.in_(chunk))
        found.update(db.session.execute(query).tuples().all())
    return found


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(values), IN_CHUNK):
        yield values[start : start + IN_CHUNK]


def _write_enterprises(rows: list[dict[str, Any]]) -> tuple[int, int]:
    existing = _enterprise_ids([row["credit_code"] for row in rows])
    now = utcnow()
    inserts = [{**row, "created_at": now, "updated_at": now} for row in rows if row["credit_code"] not in existing]
    updates = [
        {**row, "id": existing[row["credit_code"]], "updated_at": now} for row in rows if row["credit_code"] in existing
    ]
    history.record_bulk_updates(updates)
    _bulk(Enterprise, inserts, updates)
    return len(inserts), len(updates)


def _bulk(model, inserts: list[dict[str, Any]], updates: list[dict[str, Any]]) -> None:
    if inserts:
        # render_nulls keeps rows with blank cells in one batched INSERT instead of one per NULL pattern.
        db.session.execute(insert(model).execution_options(render_nulls=True), inserts)
    if updates:
        db.session.execute(update(model), updates)


def _check_indicators(plan: Plan, records: Iterator[tuple[int, dict[str, Any]]]) -> None:
    records = list(records)
    codes = (_credit_code(cells.get("credit_code")) for _number, cells in records)
    enterprises = _enterprise_ids([code for code in codes if code and credit_code.is_valid(code)])
    today = utcnow().astimezone(SHANGHAI).date()
    schema = IndicatorWriteSchema()
    seen: dict[tuple[int, int, int], int] = {}
    for number, cells in records:
        errors: dict[str, list[str]] = {}
        enterprise_id = _indicator_enterprise(cells.get("credit_code"), enterprises=enterprises, errors=errors)
        quarter, quarter_error = _quarter(cells.get("quarter"))
        if quarter_error:
            errors["quarter"] = [quarter_error]
        payload = {"year": _year(cells.get("year")), "quarter": quarter}
        for name in FIGURES:
            if name in cells:
                payload[name] = _integer(cells[name]) if name in ("employees", "patents") else _decimal(cells[name])
        if payload["year"] is None:
            del payload["year"]  # reported as a missing required value
        loaded = _load(schema, payload, errors=errors)
        if loaded is not None:
            errors.update(check_period_started(loaded["year"], loaded["quarter"], today=today))
        if not errors:
            key = (enterprise_id, loaded["year"], metrics.stored_quarter(loaded["quarter"]))
            if key in seen:
                message = bilingual(f"与第 {seen[key]} 行的报告期重复", f"Same period as row {seen[key]}")
                errors["quarter" if "quarter" in cells else "year"] = [message]
            else:
                seen[key] = number
        if errors:
            plan.errors.append({"row": number, "errors": errors})
            continue
        plan.valid.append({**loaded, "enterprise_id": enterprise_id})


def _credit_code(value: Any) -> str | None:
    code = _plain(_text(value))
    return None if code is None else credit_code.normalise(code)


def _indicator_enterprise(value: Any, *, enterprises: dict[str, int], errors: dict[str, list[str]]) -> int | None:
    code = _credit_code(value)
    if code is None:
        errors["credit_code"] = [bilingual("必填字段", "Missing data for required field.")]
        return None
    if not credit_code.is_valid(code):
        errors["credit_code"] = [
            bilingual(
                "统一社会信用代码无效（格式或校验位错误）",
                "Invalid unified social credit code (format or check character)",
            )
        ]
        return None
    if code not in enterprises:
        errors["credit_code"] = [bilingual("没有该信用代码的企业", "No enterprise has this credit code")]
        return None
    return enterprises[code]


def _existing_periods(enterprise_ids: list[int]) -> dict[tuple[int, int, int], int]:
    found: dict[tuple[int, int, int], int] = {}
    for chunk in _chunks(sorted(set(enterprise_ids))):
        rows = db.session.execute(
            select(
                EnterpriseIndicator.enterprise_id,
                EnterpriseIndicator.year,
                EnterpriseIndicator.quarter,
                EnterpriseIndicator.id,
            ).where(EnterpriseIndicator.enterprise_id.in_(chunk))
        )
        found.update({(r.enterprise_id, r.year, r.quarter): r.id for r in rows})
    return found


def _write_indicators(rows: list[dict[str, Any]], *, actor: User) -> tuple[int, int]:
    existing = _existing_periods([row["enterprise_id"] for row in rows])
    now = utcnow()
    stamp = {"source": "import", "reported_by_id": actor.id, "reported_at": now, "updated_at": now}
    inserts, updates = [], []
    for row in rows:
        quarter = metrics.stored_quarter(row.pop("quarter"))
        row_id = existing.get((row["enterprise_id"], row["year"], quarter))
        if row_id is None:
            inserts.append({**row, "quarter": quarter, **stamp, "created_at": now})
        else:
            figures = {name: row[name] for name in FIGURES if name in row}
            updates.append({"id": row_id, **figures, **stamp})
    _bulk(EnterpriseIndicator, inserts, updates)
    return len(inserts), len(updates)
