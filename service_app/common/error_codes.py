"""The error-code catalogue: every `error_code` the API answers with, its HTTP status and its message.

Clients switch on `error_code`; the OpenAPI Error schema publishes these codes as an enum and the
README's table is generated from here
(`python -m service_app.common.error_codes`). A raise site may pass a more specific
message, never a code missing here: in testing mode the error handler refuses one, and a test scans
the source for codes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ErrorCode:
    status: int
    zh: str
    en: str


CATALOGUE: dict[str, ErrorCode] = {
    # HTTP-level
    "bad_request": ErrorCode(400, "请求格式错误", "Bad request"),
    "invalid_json": ErrorCode(400, "请求体不是有效的 JSON", "The request body is not valid JSON"),
    "unauthorized": ErrorCode(401, "未登录或登录已失效", "Authentication required"),
    "token_expired": ErrorCode(401, "登录已过期，请重新登录", "The token has expired"),
    "token_invalid": ErrorCode(401, "令牌无效", "The token is invalid"),
    "token_revoked": ErrorCode(401, "令牌已失效，请重新登录", "The token has been revoked"),
    "user_inactive": ErrorCode(401, "账号不存在或已停用", "The account does not exist or is disabled"),
    "forbidden": ErrorCode(403, "无权执行此操作", "You are not allowed to do this"),
    "not_found": ErrorCode(404, "资源不存在", "Not found"),
    "method_not_allowed": ErrorCode(405, "不支持该请求方法", "Method not allowed"),
    "conflict": ErrorCode(409, "操作与当前状态冲突", "The request conflicts with the current state"),
    "precondition_failed": ErrorCode(
        412, "数据已被他人修改，请刷新后重试", "The resource has changed; reload and retry"
    ),
    "payload_too_large": ErrorCode(413, "请求内容过大", "The request body is too large"),
    "unsupported_media_type": ErrorCode(415, "不支持的内容类型", "Unsupported content type"),
    "validation_failed": ErrorCode(422, "提交的数据有误", "Some fields are invalid"),
    "too_many_requests": ErrorCode(429, "请求过于频繁，请稍后再试", "Too many requests; try again later"),
    "internal_error": ErrorCode(500, "服务器内部错误", "Internal server error"),
    "service_unavailable": ErrorCode(503, "服务暂不可用", "Service unavailable"),
    # idempotency
    "idempotency_key_reused": ErrorCode(
        422, "幂等键已用于内容不同的请求", "The Idempotency-Key was already used with a different request"
    ),
    "idempotency_in_progress": ErrorCode(
        409, "相同请求正在处理，请稍后重试", "The same request is still being processed; retry shortly"
    ),
    # auth
    "bad_credentials": ErrorCode(401, "用户名或密码错误", "Wrong username or password"),
    "username_taken": ErrorCode(409, "用户名已存在", "This username is taken"),
    "password_change_required": ErrorCode(403, "请先修改密码", "Change your password first"),
    "bad_sms_code": ErrorCode(401, "手机号或验证码错误", "Wrong phone number or code"),
    "phone_taken": ErrorCode(409, "该手机号已被其他账号使用", "Another account has this phone number"),
    # org
    "credit_code_taken": ErrorCode(
        409, "统一社会信用代码已存在", "This unified social credit code is already registered"
    ),
    "link_exists": ErrorCode(409, "该干部已与该企业结对", "This cadre is already linked to this enterprise"),
    "invalid_reference": ErrorCode(422, "引用的对象不存在", "A referenced object does not exist"),
    # enterprise import
    "import_malformed_file": ErrorCode(422, "文件无法读取", "The file cannot be read"),
    "import_unsupported_file": ErrorCode(415, "仅支持 CSV 或 XLSX 文件", "Only CSV or XLSX files are accepted"),
    "import_too_many_rows": ErrorCode(422, "文件行数过多", "The file has too many rows"),
    "import_bad_header": ErrorCode(422, "表头不正确", "The header row is wrong"),
    "import_rejected": ErrorCode(422, "部分行数据有误，未导入任何数据", "Some rows have errors; nothing was imported"),
    "import_over_budget": ErrorCode(
        413, "文件展开后超出导入上限，请拆分文件", "The file expands beyond the import limits"
    ),
    "import_file_too_large": ErrorCode(413, "文件超过大小上限", "The file exceeds the size limit"),
    # attachments
    "unsupported_file_type": ErrorCode(
        415,
        "仅支持 JPEG、PNG、WebP、HEIC 图片和 PDF 文件",
        "Only JPEG, PNG, WebP and HEIC images and PDF documents are accepted",
    ),
    # Open311 API clients (/api/v1/api-clients; GeoReport itself has its own error shape)
    "api_client_name_taken": ErrorCode(409, "该名称的客户端已存在", "A client of this name exists"),
    # problems
    "invalid_transition": ErrorCode(
        409, "当前状态下不能执行该操作", "This action is not possible in the current state"
    ),
    "internal_comment_forbidden": ErrorCode(403, "企业不能发表内部意见", "Enterprises cannot post internal comments"),
    "already_rated": ErrorCode(409, "本次办理结果已评价过", "This resolution has already been rated"),
    # workflow guards: a 409 beyond the state, with `current_status` and `allowed_actions`
    "already_supervised": ErrorCode(409, "该问题已在督办中", "The problem is already supervised"),
    "deadline_passed": ErrorCode(
        409, "办理时限已过，不能再延期", "The deadline has passed; it can no longer be extended"
    ),
    "extension_pending": ErrorCode(409, "已有一个延期申请待审批", "An extension request is already pending"),
    "no_extension_request": ErrorCode(409, "没有待审批的延期申请", "There is no pending extension request"),
    "already_urged_today": ErrorCode(
        409, "今天已催办过，请明天再催办", "Already urged today; you may urge again tomorrow (`next_allowed_at`)"
    ),
    # visits
    "visit_checked_out": ErrorCode(409, "该走访已签退", "This visit is already checked out"),
    "visit_not_flagged": ErrorCode(
        409, "该签到未被标记，无需审核", "This check-in is not flagged; there is nothing to review"
    ),
    "visit_already_reviewed": ErrorCode(409, "该签到已审核", "This check-in has already been reviewed"),
}


def readme_table() -> str:
    """The Markdown table of the README's error-code section."""
    lines = ["| error_code | HTTP | 中文 | English |", "|---|---|---|---|"]
    lines += [f"| `{code}` | {entry.status} | {entry.zh} | {entry.en} |" for code, entry in CATALOGUE.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(readme_table(), end="")
