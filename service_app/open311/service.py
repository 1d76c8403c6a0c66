"""The gateway's rules (DESIGN.md §13, §15): services are the problem categories, a request is a problem.

Mapping: `service_request_id` = problem code; `status` open/closed (closed = resolved, closed, rejected,
withdrawn); `status_notes` = the latest public comment, resolution or rejection; `agency_responsible` =
the department; `requested_datetime` / `updated_datetime` / `expected_datetime` = created_at /
updated_at / due_at; `address`, `lat`, `long` = the enterprise's. A keyless reader (public read) gets
status, dates, category and department only: no description, notes, contact, enterprise or location.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select

from service_app.common.i18n import bilingual, language
from service_app.common.time import SHANGHAI, utcnow
from service_app.errors import BadRequest, Forbidden, NotFound, ValidationFailed
from service_app.extensions import db
from service_app.open311.models import ApiClient
from service_app.org import credit_code as credit_codes
from service_app.org.models import Category, Department, Enterprise
from service_app.problems.models import Problem, ProblemEvent
from service_app.problems.service import file_problem

CLOSED_STATUSES = ("resolved", "closed", "rejected", "withdrawn")
PUBLIC_NOTE_ACTIONS = ("comment", "resolve", "reject")
MAX_WINDOW = timedelta(days=90)
MAX_PAGE_SIZE = 1000
MAX_IDS = 200
DESCRIPTION_MAX = 4000
TITLE_MAX = 120
_EARLIEST, _LATEST = datetime(1900, 1, 1, tzinfo=SHANGHAI), datetime(2100, 1, 1, tzinfo=SHANGHAI)
_URL = re.compile(r"^https?://[^\s]+$")


def bad(field_name: str, zh: str, en: str) -> BadRequest:
    """400 naming the parameter."""
    return BadRequest(errors={field_name: [bilingual(zh, en)]})


def _forbidden(zh: str, en: str) -> Forbidden:
    return Forbidden("api_key", zh=zh, en=en)


SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-01T00:00:00+08:00"  # when this endpoint's behaviour last changed


# --- services -------------------------------------------------------------------------------------

def discovery(*, url: str, contact: str) -> dict[str, Any]:
    """The Service Discovery document of this one GeoReport v2 endpoint."""
    endpoint = {
        "specification": SPEC_URL, "url": url, "changeset": CHANGESET, "type": "production",
        "formats": ["text/xml", "application/json"],
    }
    return {
        "changeset": CHANGESET,
        "contact": contact or bilingual("园区管理员", "The zone's administrator"),
        "key_service": bilingual("向园区管理员申请 api_key", "Ask the zone's administrator for an api_key"),
        "endpoints": [endpoint],
    }


def _active_categories() -> Select:
    return select(Category).where(Category.is_active.is_(True)).order_by(Category.sort_order, Category.id)


def list_services() -> list[dict[str, Any]]:
    """Every active problem category as a realtime service with metadata (the credit code attribute)."""
    return [_service_item(category) for category in db.session.scalars(_active_categories())]


def _service_item(category: Category) -> dict[str, Any]:
    english_name = category.name_en or category.name
    return {
        "service_code": category.code,
        "service_name": english_name if language() == "en" else category.name,
        "description": bilingual(f"企业问题：{category.name}", f"Enterprise problem: {english_name}"),
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(filter(None, (category.name, category.name_en))),
        "group": bilingual("企业诉求", "Enterprise requests"),
    }


def _service(service_code: str) -> Category:
    category = db.session.scalar(_active_categories().where(Category.code == service_code))
    if category is None:
        raise NotFound("service_code", zh=f"服务类型不存在：{service_code}", en=f"No such service_code: {service_code}")
    return category


def _attribute(code: str, order: int, *, required: bool, zh: str, en: str, hint_zh: str, hint_en: str) -> dict:
    return {
        "variable": True, "code": code, "datatype": "string", "required": required,
        "datatype_description": bilingual(hint_zh, hint_en), "order": order, "description": bilingual(zh, en),
    }


def service_definition(*, service_code: str) -> dict[str, Any]:
    """The attributes a request of this service carries: the enterprise's credit code and a contact."""
    category = _service(service_code)
    return {
        "service_code": category.code,
        "attributes": [
            _attribute("credit_code", 1, required=True, zh="反映问题的企业的统一社会信用代码",
                       en="Unified social credit code of the enterprise the request is about",
                       hint_zh="18 位，含校验位", hint_en="18 characters with the check character"),
            _attribute("contact_name", 2, required=False, zh="企业联系人", en="Contact person at the enterprise",
                       hint_zh="不超过 64 个字符", hint_en="Up to 64 characters"),
            _attribute("contact_phone", 3, required=False, zh="联系电话", en="Contact phone number",
                       hint_zh="不超过 32 个字符", hint_en="Up to 32 characters"),
        ],
    }


# --- filing ---------------------------------------------------------------------------------------

@dataclass
class RequestForm:
    """A POST /requests as the spec sends it (form fields, `attribute[code]` flattened into attributes)."""

    service_code: str | None
    description: str | None
    attributes: dict[str, str] = field(default_factory=dict)
    title: str | None = None
    lat: str | None = None
    long: str | None = None
    address_string: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    email: str | None = None
    media_url: str | None = None


def _text(value: str | None, name: str, limit: int) -> str | None:
    value = (value or "").strip()
    if "\x00" in value:
        raise bad(name, "不能包含空字符（NUL）", "Must not contain NUL characters")
    if len(value) > limit:
        raise bad(name, f"长度不能超过 {limit}", f"Longer than {limit} characters")
    return value or None


def _enterprise(code: str | None) -> Enterprise:
    name = "attribute[credit_code]"
    if not code:
        raise bad(name, "必填：企业的统一社会信用代码", "Required: the enterprise's unified social credit code")
    code = credit_codes.normalise(code)
    if not credit_codes.is_valid(code):
        raise bad(name, f"统一社会信用代码无效：{code}", f"Invalid unified social credit code: {code}")
    enterprise = db.session.scalar(select(Enterprise).where(Enterprise.credit_code == code))
    if enterprise is None:
        raise bad(name, f"本园区没有该信用代码的企业：{code}", f"No enterprise here has credit code {code}")
    return enterprise


def _location(form: RequestForm) -> str | None:
    """The location the partner reported (optional): kept in the description for the handler."""
    if (form.lat is None) != (form.long is None):
        raise bad("lat" if form.lat is None else "long", "lat 与 long 须同时提供", "lat and long go together")
    if form.lat is None:
        return None
    try:
        lat, lng = float(form.lat), float(form.long)
    except ValueError:
        raise bad("lat", "lat/long 须为数字", "lat/long must be numbers") from None
    if not (math.isfinite(lat) and math.isfinite(lng) and -90 <= lat <= 90 and -180 <= lng <= 180):
        raise bad("lat", "lat 须在 ±90 之间，long 在 ±180 之间", "lat must be within ±90, long within ±180")
    return f"{lat:.6f}, {lng:.6f}"


def _details(form: RequestForm) -> list[str]:
    """Contact, location and media lines appended to the description the handler reads."""
    contact_name = _text(form.attributes.get("contact_name"), "attribute[contact_name]", 64) or _text(
        " ".join(filter(None, (form.last_name, form.first_name))), "first_name", 64)
    contact_phone = _text(form.attributes.get("contact_phone"), "attribute[contact_phone]", 32) or _text(
        form.phone, "phone", 32)
    email = _text(form.email, "email", 254)
    address = _text(form.address_string, "address_string", 255)
    media_url = _text(form.media_url, "media_url", 2048)
    if media_url and not _URL.match(media_url):
        raise bad("media_url", "须为 http(s) 链接", "Must be an http(s) URL")
    location = _location(form)
    lines = [
        ("联系人", " ".join(filter(None, (contact_name, contact_phone, email)))),
        ("地点", " ".join(filter(None, (address, f"({location})" if location else None)))),
        ("附件", media_url),
    ]
    return [f"{label}：{value}" for label, value in lines if value]


def file_request(*, client: ApiClient, form: RequestForm, now: datetime | None = None) -> list[dict[str, Any]]:
    """POST /requests: a problem for the enterprise named by its credit code, filed by the one filing service."""
    if "write" not in client.scope_set:
        raise _forbidden("该 api_key 无提交权限（需要 write）", "This api_key may not file requests (needs write)")
    if not form.service_code:
        raise bad("service_code", "必填", "Required")
    category = _service(form.service_code)
    enterprise = _enterprise(form.attributes.get("credit_code"))
    description = _text(form.description, "description", DESCRIPTION_MAX)
    if description is None:
        raise bad("description", "必填：问题描述", "Required: what the problem is")
    details = _details(form)
    title = _text(form.title, "title", TITLE_MAX) or f"{category.name}：{description}"[:TITLE_MAX]
    stored = description + ("\n\n" + "\n".join(details) if details else "")
    try:
        view = file_problem(None, title=title, description=stored, category_id=category.id,
                            enterprise_id=enterprise.id, source=client.source, now=now)
    except ValidationFailed as error:  # the filing service's own checks, in the gateway's 400
        raise BadRequest(errors=error.errors) from None
    notice = bilingual(f"已转至园区联企干部受理，办理时限 {_w3(view.due_at)}",
                       f"Forwarded to the zone's liaison cadre; due by {_w3(view.due_at)}")
    return [{"service_request_id": view.code, "service_notice": notice, "account_id": None}]


# --- reading --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Reader:
    """Who reads: a client (its own requests, or all with read_all) or, with public read, anyone."""

    client: ApiClient | None

    @property
    def full(self) -> bool:
        return self.client is not None


def reader(*, client: ApiClient | None, public_read: bool) -> Reader:
    """403 unless the caller may read requests at all."""
    if client is None:
        if not public_read:
            raise _forbidden("需要 api_key", "An api_key is required")
        return Reader(None)
    if not client.scope_set & {"read", "read_all"}:
        raise _forbidden("该 api_key 无读取权限（需要 read）", "This api_key may not read requests (needs read)")
    return Reader(client)


def _visible(who: Reader) -> Select:
    query = (
        select(Problem.id, Problem.code, Problem.status, Problem.description, Problem.created_at, Problem.updated_at,
               Problem.due_at, Category.code.label("service_code"), Category.name.label("service_name"),
               Category.name_en.label("service_name_en"), Department.name.label("department"),
               Enterprise.address, Enterprise.lat, Enterprise.lng)
        .join(Category, Category.id == Problem.category_id)
        .join(Enterprise, Enterprise.id == Problem.enterprise_id)
        .outerjoin(Department, Department.id == Problem.department_id)
    )
    if who.client is not None and "read_all" not in who.client.scope_set:
        query = query.where(Problem.source == who.client.source)
    return query


def parse_date(value: str | None, name: str) -> datetime | None:
    """A w3 date-time; without an offset it is read as UTC. Outside [1900, 2100) is a 400."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        example = "2026-01-01T00:00:00Z"
        raise bad(name, f"须为 W3C 日期时间，如 {example}", f"Must be a w3 date-time like {example}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if not _EARLIEST <= parsed < _LATEST:
        raise bad(name, "须在 1900-01-01 与 2100-01-01 之间", "Must be between 1900-01-01 and 2100-01-01")
    return parsed


def _window(start: datetime | None, end: datetime | None, now: datetime) -> tuple[datetime, datetime]:
    """The spec's window: the last 90 days by default, never more than 90 days."""
    if start is not None and end is None:
        end = min(start + MAX_WINDOW, max(now, start))
    end = end or now
    start = start or end - MAX_WINDOW
    if end < start:
        raise bad("end_date", "end_date 不能早于 start_date", "end_date is before start_date")
    if end - start > MAX_WINDOW:
        raise bad("start_date", "start_date 与 end_date 相隔不能超过 90 天", "The window may span 90 days at most")
    return start, end


def list_requests(
    *,
    who: Reader,
    service_request_ids: Sequence[str] = (),
    service_codes: Sequence[str] = (),
    statuses: Sequence[str] = (),
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    page: int = 1,
    page_size: int = MAX_PAGE_SIZE,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """GET /requests: newest first; a list of ids overrides every other filter (the spec's rule)."""
    query = _visible(who)
    if service_request_ids:
        if len(service_request_ids) > MAX_IDS:
            raise bad("service_request_id", f"一次最多 {MAX_IDS} 个", f"At most {MAX_IDS} at once")
        query = query.where(Problem.code.in_(service_request_ids))
    else:
        start, end = _window(start_date, end_date, now or utcnow())
        query = query.where(Problem.created_at >= start, Problem.created_at <= end)
        if service_codes:
            query = query.where(Category.code.in_(service_codes))
        if set(statuses) == {"open"}:
            query = query.where(Problem.status.not_in(CLOSED_STATUSES))
        elif set(statuses) == {"closed"}:
            query = query.where(Problem.status.in_(CLOSED_STATUSES))
    rows = db.session.execute(query.order_by(Problem.id.desc()).limit(page_size).offset((page - 1) * page_size)).all()
    return _requests(rows, who)


def get_request(*, who: Reader, service_request_id: str) -> list[dict[str, Any]]:
    """GET /requests/{id}: a one-item list, or 404 when it does not exist or is not the reader's."""
    rows = db.session.execute(_visible(who).where(Problem.code == service_request_id)).all()
    if not rows:
        raise NotFound("service_request_id", zh=f"请求不存在：{service_request_id}",
                       en=f"No such service_request_id: {service_request_id}")
    return _requests(rows, who)


def _w3(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat(timespec="seconds") if value is not None else None


def _latest_notes(problem_ids: list[int]) -> dict[int, str]:
    """The latest public note (comment, resolution, rejection) of each problem, in one statement."""
    if not problem_ids:
        return {}
    rows = db.session.execute(
        select(ProblemEvent.problem_id, ProblemEvent.note)
        .where(ProblemEvent.problem_id.in_(problem_ids), ProblemEvent.action.in_(PUBLIC_NOTE_ACTIONS),
               ProblemEvent.internal.is_(False), ProblemEvent.note.is_not(None))
        .order_by(ProblemEvent.problem_id, ProblemEvent.id.desc())
    )
    notes: dict[int, str] = {}
    for problem_id, note in rows:
        notes.setdefault(problem_id, note)
    return notes


def _requests(rows, who: Reader) -> list[dict[str, Any]]:
    """Each row in the spec's field order; the reader-only fields only for a client."""
    english = language() == "en"
    notes = _latest_notes([row.id for row in rows]) if who.full else {}
    items = []
    for row in rows:
        full = {
            "status_notes": notes.get(row.id),
            "description": row.description[:DESCRIPTION_MAX],
            "address": row.address, "lat": row.lat, "long": row.lng,
        } if who.full else {}
        item = {
            "service_request_id": row.code,
            "status": "closed" if row.status in CLOSED_STATUSES else "open",
            "status_notes": full.get("status_notes"),
            "service_name": (row.service_name_en or row.service_name) if english else row.service_name,
            "service_code": row.service_code,
            "description": full.get("description"),
            "agency_responsible": row.department,
            "requested_datetime": _w3(row.created_at),
            "updated_datetime": _w3(row.updated_at),
            "expected_datetime": _w3(row.due_at),
            "address": full.get("address"),
            "lat": full.get("lat"),
            "long": full.get("long"),
        }
        items.append({key: value for key, value in item.items() if key not in _READER_ONLY or who.full})
    return items


_READER_ONLY = frozenset({"status_notes", "description", "address", "lat", "long"})
