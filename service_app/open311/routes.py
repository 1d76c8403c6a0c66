"""/open311/v2/: the GeoReport v2 document, not /api/v1's. Its own error shape `[{"code", "description"}]`
with 400, 403 and 404 (429 when a caller exceeds its rate limit), in the format the URL asks for; never a 5xx."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, request
from werkzeug.exceptions import HTTPException

from service_app.common.http import accepts_form
from service_app.common.i18n import bilingual
from service_app.common.net import client_address
from service_app.errors import AppError, Forbidden, NotFound
from service_app.extensions import limiter
from service_app.open311 import service
from service_app.open311.clients import authenticate
from service_app.open311.formats import render
from service_app.open311.models import ApiClient

log = logging.getLogger(__name__)

blp = Blueprint("open311", __name__, url_prefix="/open311/v2")
FORMAT = "<any(json,xml):fmt>"


# --- who is calling -------------------------------------------------------------------------------

def _presented_client() -> ApiClient | None:
    """The active client whose api_key came with the request (looked up once per request: the rate limit
    and the view both ask; kept in the WSGI environ, which, unlike `g`, never outlives the request)."""
    environ = request.environ
    if "open311.client" not in environ:
        key = request.values.get("api_key")
        environ["open311.key_given"] = bool(key)
        environ["open311.client"] = authenticate(key) if key else None
    return environ["open311.client"]


def current_client() -> ApiClient | None:
    """None without a key; 403 for a wrong or revoked key, whatever the endpoint (even under public read)."""
    client = _presented_client()
    if request.environ["open311.key_given"] and client is None:
        raise Forbidden("api_key", zh="api_key 无效或已吊销", en="Invalid or revoked api_key")
    return client


def _limit_key() -> str:
    client = _presented_client()
    return f"client:{client.id}" if client is not None else f"address:{client_address()}"


def _limit_value() -> str:
    client = _presented_client()
    return client.rate_limit if client is not None else current_app.config["OPEN311_PUBLIC_RATE_LIMIT"]


limited = limiter.limit(_limit_value, key_func=_limit_key, scope="open311")


def _check_jurisdiction() -> None:
    given = request.values.get("jurisdiction_id")
    if given and given != current_app.config["OPEN311_JURISDICTION_ID"]:
        raise NotFound("jurisdiction_id", zh=f"jurisdiction_id 不存在：{given}", en=f"No such jurisdiction_id: {given}")


def _list(name: str) -> list[str]:
    return [part.strip() for part in request.args.get(name, "").split(",") if part.strip()]


def _positive(name: str, default: int, maximum: int) -> int:
    raw = request.args.get(name)
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 7 and 1 <= int(raw) <= maximum):
        raise service.bad(name, f"须为 1 到 {maximum} 的整数", f"Must be an integer from 1 to {maximum}")
    return int(raw)


# --- endpoints ------------------------------------------------------------------------------------

@blp.route(f"/discovery.{FORMAT}")
@limited
def discovery(fmt: str):
    """Service discovery: where this GeoReport v2 endpoint is and which formats it speaks."""
    current_client()
    document = service.discovery(url=request.url_root.rstrip("/") + blp.url_prefix,
                                 contact=current_app.config["OPEN311_CONTACT"])
    return render(document, fmt=fmt, root="discovery")


@blp.route(f"/services.{FORMAT}")
@limited
def services(fmt: str):
    """The service list: the active problem categories."""
    current_client()
    _check_jurisdiction()
    return render(service.list_services(), fmt=fmt, root="services")


@blp.route(f"/services/<string:service_code>.{FORMAT}")
@limited
def service_definition(service_code: str, fmt: str):
    """A service definition: the attributes a request of this service carries."""
    current_client()
    _check_jurisdiction()
    return render(service.service_definition(service_code=service_code), fmt=fmt, root="service_definition")


@blp.route(f"/requests.{FORMAT}", methods=["GET"])
@limited
def requests_list(fmt: str):
    """Requests the caller may read, filtered by the spec's parameters."""
    who = service.reader(client=current_client(), public_read=current_app.config["OPEN311_PUBLIC_READ"])
    _check_jurisdiction()
    statuses = _list("status")
    if set(statuses) - {"open", "closed"}:
        raise service.bad("status", "须为 open 或 closed", "Must be open or closed")
    items = service.list_requests(
        who=who,
        service_request_ids=_list("service_request_id"),
        service_codes=_list("service_code"),
        statuses=statuses,
        start_date=service.parse_date(request.args.get("start_date"), "start_date"),
        end_date=service.parse_date(request.args.get("end_date"), "end_date"),
        page=_positive("page", 1, 1_000_000),
        page_size=_positive("page_size", service.MAX_PAGE_SIZE, service.MAX_PAGE_SIZE),
    )
    return render(items, fmt=fmt, root="service_requests")


@blp.route(f"/requests.{FORMAT}", methods=["POST"])
@limited
@accepts_form
def requests_create(fmt: str):
    """File a request (form-encoded, with a write key): a problem of the enterprise named by its credit code."""
    client = current_client()
    if client is None:
        raise Forbidden("api_key", zh="提交请求需要 api_key", en="Filing a request needs an api_key")
    _check_jurisdiction()
    form = request.form
    fields = ("service_code", "description", "title", "lat", "long", "address_string", "first_name", "last_name",
              "phone", "email", "media_url")
    attributes = {key[len("attribute["):-1]: value for key, value in form.items() if key.startswith("attribute[")
                  and key.endswith("]")}
    data = service.RequestForm(attributes=attributes, **{name: form.get(name) for name in fields})
    return render(service.file_request(client=client, form=data), fmt=fmt, root="service_requests")


@blp.route(f"/requests/<string:service_request_id>.{FORMAT}")
@limited
def request_one(service_request_id: str, fmt: str):
    """One request, as a one-item list."""
    who = service.reader(client=current_client(), public_read=current_app.config["OPEN311_PUBLIC_READ"])
    _check_jurisdiction()
    return render(service.get_request(who=who, service_request_id=service_request_id), fmt=fmt, root="service_requests")


@blp.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@blp.route("/<path:path>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(path: str):
    """Anything else under the base: the spec's 404 (or 400 for a method it does not define)."""
    if request.method not in ("GET", "POST"):
        return _errors([(400, bilingual("不支持该请求方法", "Method not supported"))])
    return _errors([(404, bilingual("资源不存在", "No such resource"))])


# --- errors ---------------------------------------------------------------------------------------

def _format() -> str:
    return "xml" if request.path.endswith(".xml") else "json"


def _errors(entries: list[tuple[int, str]], *, headers: dict | None = None):
    status = entries[0][0]
    payload = [{"code": code, "description": description} for code, description in entries]
    return render(payload, fmt=_format(), root="errors", status=status, headers=headers)


def _http_status(status: int) -> int:
    """The spec's statuses: 403 for keys, 404 for what does not exist, 400 for anything else."""
    return status if status in (403, 404, 429) else 400


@blp.errorhandler(AppError)
def _app_error(error: AppError):
    status = _http_status(error.http_status)
    if error.errors:
        entries = [(status, f"{name}: {'; '.join(map(str, messages))}") for name, messages in error.errors.items()]
    else:
        entries = [(status, error.message)]
    return _errors(entries, headers=error.headers)


@blp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    status = _http_status(error.code or 400)
    return _errors([(status, error.description or error.name)])


@blp.errorhandler(Exception)
def _unexpected(error: Exception):
    # The spec's "general service error": the client notifies the operator, who has the log line.
    log.exception("open311_error")
    return _errors([(400, bilingual("服务处理失败，请联系园区管理员", "General service error; notify the operator"))])
